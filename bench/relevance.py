#!/usr/bin/env python3
"""Relevance benchmark of revsd's search (issue #12), driven by bench/relevance.sh.

Builds a library in --work from the sd-meta fixtures (a deterministic ~60 % copied as
they are, the rest with their metadata stripped) plus stripped synthetic images, starts
the real revsdd on it, and scores the queries of bench/relevance_queries.tsv (binary
relevance: the query's regex over each image's TRUE prompt) for five systems measured in
this one run: revsd before and after `revsdctl train`, BM25-only (SQLite FTS5 over the
prompts revsd knows), known-only (MiniLM cosine over the prompts revsd knows) and the
oracle (MiniLM over every image's true prompt). Progress goes to stderr; the markdown
report (the bench/RESULTS.md section body) to stdout."""
import argparse, hashlib, json, math, os, re, shutil, sqlite3, struct, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--fixtures", required=True)
ap.add_argument("--synth", required=True, help="folder written by `revsd-bench synth --stripped` (with prompts.tsv)")
ap.add_argument("--queries", required=True)
ap.add_argument("--model", required=True, help="the all-MiniLM-L6-v2 folder (sentence-transformers format)")
ap.add_argument("--work", required=True)
ap.add_argument("--machine", default="")
ap.add_argument("--commit", default="")
ap.add_argument("--keep", default=None, help="folder to keep the index before and after training in, with each image's truth (for analysis)")
ap.add_argument("--lexical-weights", default="0,0.1,0.2,0.3,0.5",
                help="after training, the daemon is restarted with each [search] lexical_weight and measured again")
a = ap.parse_args()
a.work = os.path.realpath(a.work)
T0 = time.time()
LABELLED_PERCENT = 60
K = 10


def log(msg):
    print(f"relevance: {msg}", file=sys.stderr, flush=True)


# ---- stripping metadata -------------------------------------------------------------
def strip_png(b):
    out, i = [b[:8]], 8
    while i + 8 <= len(b):
        n, kind = struct.unpack(">I4s", b[i:i + 8])
        if kind not in (b"tEXt", b"zTXt", b"iTXt", b"eXIf"):
            out.append(b[i:i + 12 + n])
        i += 12 + n
    return b"".join(out)


def strip_jpeg(b):
    out, i = [b[:2]], 2
    while i + 4 <= len(b):
        if b[i] != 0xFF: raise ValueError("bad JPEG marker")
        m = b[i + 1]
        if m == 0xFF: i += 1; continue                      # fill byte
        if m in (0x01,) or 0xD0 <= m <= 0xD7: out.append(b[i:i + 2]); i += 2; continue
        if m == 0xDA: out.append(b[i:]); break              # start of scan: the rest is image data
        n = struct.unpack(">H", b[i + 2:i + 4])[0]
        if not (0xE1 <= m <= 0xEF or m == 0xFE):            # keep all but APP1..APP15 and COM
            out.append(b[i:i + 2 + n])
        i += 2 + n
    return b"".join(out)


def strip_webp(b):
    out, i = [], 12
    while i + 8 <= len(b):
        kind, n = b[i:i + 4], struct.unpack("<I", b[i + 4:i + 8])[0]
        chunk = b[i:i + 8 + n + (n & 1)]
        if kind == b"VP8X":                                  # clear the EXIF (0x08) and XMP (0x04) flags
            chunk = chunk[:8] + bytes([chunk[8] & ~0x0C]) + chunk[9:]
        if kind not in (b"EXIF", b"XMP "):
            out.append(chunk)
        i += 8 + n + (n & 1)
    body = b"WEBP" + b"".join(out)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def strip(data, ext):
    if data[:8] == b"\x89PNG\r\n\x1a\n": return strip_png(data)
    if data[:2] == b"\xff\xd8": return strip_jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP": return strip_webp(data)
    raise ValueError(f"unknown format ({ext})")


def unescape(s):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}.get(m.group(1), m.group(0)), s)


# ---- the library --------------------------------------------------------------------
def build_library(lib):
    """Returns {library path: {"name", "truth", "part"}}; part is labelled/stripped/synthetic."""
    rows = [l.split("\t") for l in open(os.path.join(a.fixtures, "expected.tsv"), encoding="utf-8").read().splitlines()]
    col = rows[0].index("positive_prompt")
    items = {}
    os.makedirs(lib)
    for n, r in enumerate(sorted(rows[1:], key=lambda r: r[0])):
        name, truth = r[0], unescape(r[col]) if len(r) > col else ""
        ext = os.path.splitext(name)[1].lower()
        data = open(os.path.join(a.fixtures, name), "rb").read()
        labelled = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 100 < LABELLED_PERCENT
        path = os.path.join(lib, f"f{n:03d}{ext}")         # neutral names: no words of the prompt in the path
        open(path, "wb").write(data if labelled else strip(data, ext))
        items[path] = {"name": name, "truth": truth, "part": "labelled" if labelled else "stripped"}
    synth = dict(l.split("\t", 1) for l in open(os.path.join(a.synth, "prompts.tsv"), encoding="utf-8").read().splitlines()[1:])
    for n, (name, truth) in enumerate(sorted(synth.items())):
        path = os.path.join(lib, f"s{n:03d}.png")
        open(path, "wb").write(strip_png(open(os.path.join(a.synth, name), "rb").read()))
        items[path] = {"name": "synthetic/" + name, "truth": truth, "part": "synthetic"}
    return items


# ---- the daemon ---------------------------------------------------------------------
SOCK = os.path.join(a.work, "s.sock")


def ctl(*args, check=True):
    r = subprocess.run([os.path.join(a.bin, "revsdctl"), *args, "--socket", SOCK], capture_output=True, text=True)
    if check and r.returncode != 0: raise SystemExit(f"relevance: revsdctl {' '.join(args)} failed: {r.stderr.strip()}")
    return r


def status():
    r = ctl("status", "--json", check=False)
    try: return json.loads(r.stdout) if r.returncode == 0 else None
    except ValueError: return None


def settle(expected, timeout=1800):
    deadline, calm = time.time() + timeout, 0
    while time.time() < deadline:
        s = status()
        if daemon.poll() is not None: raise SystemExit(f"relevance: revsdd exited ({daemon.returncode}); log {a.work}/revsdd.log")
        ok = s and s["queued"] == 0 and s.get("analysis_queued", 0) == 0 and s["indexed"] + s["failed"] >= expected and (s.get("learning") or {}).get("state", "idle") == "idle"
        calm = calm + 1 if ok else 0
        if calm >= 3: return s
        time.sleep(1)
    raise SystemExit(f"relevance: revsdd did not settle within {timeout} s (last status {json.dumps(s)[:300]})")


def revsd_search(q):
    hits = json.loads(ctl("search", q, "-k", str(K), "--json").stdout)["results"]
    ranked = []
    for h in hits:                      # identical copies and variations of a prompt are one hit: listed in its place
        for p in map(os.path.realpath, [h["path"]] + (h.get("paths") or []) + (h.get("variations") or [])):
            if p not in ranked: ranked.append(p)
    return ranked[:K]


# ---- baselines ----------------------------------------------------------------------
def bm25_system(known):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE doc USING fts5(path UNINDEXED, prompt)")
    db.executemany("INSERT INTO doc VALUES (?, ?)", known.items())
    def search(q):
        terms = re.findall(r"\w+", q.lower())
        if not terms: return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        return [p for (p,) in db.execute("SELECT path FROM doc WHERE doc MATCH ? ORDER BY bm25(doc), path LIMIT ?", (match, K))]
    return search


def cosine_system(model, texts):
    paths = sorted(texts)
    if not paths: return lambda q: []
    m = model.encode([texts[p] for p in paths], normalize_embeddings=True, batch_size=32)
    def search(q):
        s = m @ model.encode([q], normalize_embeddings=True)[0]
        return [paths[i] for i in sorted(range(len(paths)), key=lambda i: (-s[i], paths[i]))[:K]]
    return search


# ---- metrics ------------------------------------------------------------------------
def ndcg(ranked, rel):
    dcg = sum(1 / math.log2(i + 2) for i, p in enumerate(ranked[:K]) if p in rel)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(rel), K)))
    return dcg / ideal if ideal else 0.0


def p_at_5(ranked, rel): return sum(p in rel for p in ranked[:5]) / 5


def main():
    global daemon
    items = build_library(os.path.join(a.work, "lib"))
    lib = os.path.join(a.work, "lib")
    queries = [l.split("\t") for l in open(a.queries, encoding="utf-8").read().splitlines() if l and not l.startswith("#")][1:]
    rel = {q: {p for p, it in items.items() if re.search(rule, it["truth"], re.I)} for q, _, rule in queries}
    for q, kind, _ in queries:
        if not rel[q]: raise SystemExit(f"relevance: query {q!r} has no relevant image; fix its rule")

    log(f"library: {len(items)} images; starting revsdd")
    os.makedirs(os.path.join(a.work, "state"))
    def start(config="/dev/null"):
        return subprocess.Popen([os.path.join(a.bin, "revsdd"), "--watch", lib, "--state-dir", os.path.join(a.work, "state"),
                                 "--socket", SOCK, "--config", config],
                                stdout=open(os.path.join(a.work, "revsdd.log"), "ab"), stderr=subprocess.STDOUT)

    def stop():
        daemon.terminate()
        try: daemon.wait(timeout=60)
        except subprocess.TimeoutExpired: daemon.kill()

    def snapshot(name):
        # A consistent copy of the live index (SQLite's backup API), and what the bench knows.
        if not a.keep: return
        os.makedirs(a.keep, exist_ok=True)
        src = sqlite3.connect(os.path.join(a.work, "state", "index.sqlite"))
        dst = sqlite3.connect(os.path.join(a.keep, f"{name}.sqlite"))
        src.backup(dst); dst.close(); src.close()
        json.dump({"items": {os.path.realpath(p): it for p, it in items.items()}, "queries": queries},
                  open(os.path.join(a.keep, "truth.json"), "w"), ensure_ascii=False)

    daemon = start()
    sweep = {}
    try:
        t = time.time()
        s = settle(len(items))
        index_s = time.time() - t
        log(f"indexed {s['indexed']} (failed {s['failed']}) in {index_s:.0f} s")
        # The daemon's view: every record and its known prompt (k = 1000 lists them all).
        seen = {}
        for h in json.loads(ctl("search", "image", "-k", "1000", "--all", "--json").stdout)["results"]:
            for p in [h["path"]] + (h.get("paths") or []):
                seen[os.path.realpath(p)] = h.get("prompt")
        known = {p: pr for p, pr in seen.items() if pr}
        labelled = set(known)
        runs = {"before": {q: revsd_search(q) for q, _, _ in queries}}
        snapshot("before")
        log("training")
        t = time.time()
        tr = ctl("train", "--json", check=False)
        try: train = json.loads(tr.stdout)
        except ValueError: train = {"last_error": (tr.stderr or tr.stdout).strip() or f"exit {tr.returncode}"}
        settle(len(items))
        train_s = time.time() - t
        train_note = (f"failed: {train['last_error']}" if train.get("last_error") else
                      f"trained on {train.get('examples')} labelled images in {train_s:.0f} s (validation mean cosine "
                      f"{train.get('validation_mean_cosine', 0):.3f}, constant {train.get('constant_mean_cosine', 0):.3f}; "
                      f"members {', '.join(train.get('members') or [])})")
        log(f"train: {train_note}")
        runs["after"] = {q: revsd_search(q) for q, _, _ in queries}
        snapshot("after")
        if a.keep: json.dump(train, open(os.path.join(a.keep, "train.json"), "w"))
        # The lexical weight, measured: the same index and model, one restart per weight.
        for w in [float(x) for x in a.lexical_weights.split(",") if x.strip()]:
            stop()
            config = os.path.join(a.work, f"lexical-{w}.toml")
            open(config, "w").write(f"[search]\nlexical_weight = {w}\n")
            daemon = start(config)
            settle(len(items))
            sweep[w] = {q: revsd_search(q) for q, _, _ in queries}
    finally:
        stop()

    log("baselines")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(a.model, device="cpu")
    systems = {"BM25-only": bm25_system(known), "known-only": cosine_system(model, known),
               "oracle": cosine_system(model, {p: it["truth"] for p, it in items.items()})}
    results = {name: {q: f(q) for q, _, _ in queries} for name, f in systems.items()}
    results = {"BM25-only": results["BM25-only"], "known-only": results["known-only"],
               "revsd before train": runs["before"], "revsd after train": runs["after"], "oracle": results["oracle"]}
    score = {name: {q: ndcg(r[q], rel[q]) for q, _, _ in queries} for name, r in results.items()}
    mean = {name: sum(v.values()) / len(v) for name, v in score.items()}
    p5 = {name: sum(p_at_5(r[q], rel[q]) for q, _, _ in queries) / len(queries) for name, r in results.items()}
    unl = {name: sum(len(set(r[q]) & rel[q] - labelled) for q, _, _ in queries) for name, r in results.items()}
    unl_total = sum(len(rel[q] - labelled) for q, _, _ in queries)

    def wins(sys_a, sys_b):
        d = [score[sys_a][q] - score[sys_b][q] for q, _, _ in queries]
        return sum(x > 1e-9 for x in d), sum(abs(x) <= 1e-9 for x in d), sum(x < -1e-9 for x in d)

    parts = {k: sum(it["part"] == k for it in items.values()) for k in ("labelled", "stripped", "synthetic")}
    still = [it["name"] for p, it in items.items() if it["part"] != "labelled" and p in labelled]
    missing = [items[p]["name"] for p, it in items.items() if it["part"] == "labelled" and p not in labelled]
    nq = len(queries)
    kinds = {}
    for _, k, _ in queries: kinds[k] = kinds.get(k, 0) + 1
    out = ["## Relevance: revsd's search against BM25, known-prompts-only and an oracle (issue #12)", "",
           f"Run {a.machine}; commit {a.commit}; debug build; one run, all systems measured on the same library. "
           f"Bench took {time.time() - T0:.0f} s (indexing {index_s:.0f} s, training + re-predicting {train_s:.0f} s).", "",
           f"Library ({len(items)} images): {parts['labelled']} sd-meta fixtures copied as they are (a deterministic "
           f"{LABELLED_PERCENT} % by name hash), {parts['stripped']} fixtures with their metadata stripped, "
           f"{parts['synthetic']} synthetic images (`revsd-bench synth --count 40 --seed 7`) stripped. "
           f"As revsd sees it: {len(labelled)} labelled, {len(items) - len(labelled)} unlabelled "
           f"({len(still)} stripped files still carry a prompt it reads: {', '.join(still)}; {len(missing)} copied-as-is files without one"
           f"{': ' + ', '.join(missing) if missing else ''}). Training: {train_note}.", "",
           f"{nq} queries (bench/relevance_queries.tsv; kinds: {', '.join(f'{k} {n}' for k, n in kinds.items())}); "
           f"relevance is binary, the query's regex over each image's true prompt; {unl_total} relevant (query, unlabelled "
           "image) pairs in all. BM25-only: SQLite FTS5 bm25 over the prompts revsd knows, query words quoted and OR-ed. "
           "known-only: all-MiniLM-L6-v2 (sentence-transformers, the same model folder revsd uses) cosine between the query "
           "and the prompts revsd knows. oracle: the same over every image's true prompt. revsd: `revsdctl search Q -k 10 "
           "--json` (identical copies and variations of one prompt, one hit, are listed in its place).", "",
           "| system | mean nDCG@10 | mean P@5 | relevant unlabelled images in the top 10s |", "|---|---:|---:|---:|"]
    for name in results:
        out.append(f"| {name} | {mean[name]:.3f} | {p5[name]:.3f} | {unl[name]} of {unl_total} |")
    if sweep:
        out += ["", "revsd after train, by `[search] lexical_weight` (the same index and model, the daemon restarted for each):", "",
                "| lexical_weight | mean nDCG@10 | mean P@5 | relevant unlabelled in the top 10s | queries above known-only |",
                "|---:|---:|---:|---:|---:|"]
        for w, r in sweep.items():
            sc = {q: ndcg(r[q], rel[q]) for q, _, _ in queries}
            above = sum(sc[q] > score["known-only"][q] + 1e-9 for q, _, _ in queries)
            out.append(f"| {w:g} | {sum(sc.values()) / nq:.3f} | {sum(p_at_5(r[q], rel[q]) for q, _, _ in queries) / nq:.3f} | "
                       f"{sum(len(set(r[q]) & rel[q] - labelled) for q, _, _ in queries)} | {above} of {nq} |")
    for when in ("before", "after"):
        w = [wins(f"revsd {when} train", b) for b in ("BM25-only", "known-only")]
        out.append(f"\nrevsd {when} train, per query (wins / ties / losses): against BM25-only {'/'.join(map(str, w[0]))}, "
                   f"against known-only {'/'.join(map(str, w[1]))}.")
    after, before = "revsd after train", "revsd before train"
    wb, wk = wins(after, "BM25-only"), wins(after, "known-only")
    lowered = sum(score[after][q] < score[before][q] - 1e-9 for q, _, _ in queries)
    goals = [(f"revsd (after train) above BM25-only on the mean ({mean[after]:.3f} vs {mean['BM25-only']:.3f})", mean[after] > mean["BM25-only"]),
             (f"revsd above known-only on the mean ({mean[after]:.3f} vs {mean['known-only']:.3f})", mean[after] > mean["known-only"]),
             (f"revsd above BM25-only on most queries (above on {wb[0]} of {nq})", wb[0] > nq / 2),
             (f"revsd above known-only on most queries (above on {wk[0]} of {nq})", wk[0] > nq / 2),
             (f"revsd within 0.2 of the oracle ({mean['oracle']:.3f} − {mean[after]:.3f} = {mean['oracle'] - mean[after]:.3f})", mean["oracle"] - mean[after] <= 0.2),
             (f"training never lowers it (mean {mean[before]:.3f} → {mean[after]:.3f}; lower on {lowered} of {nq} queries)",
              mean[after] >= mean[before] - 1e-9 and lowered == 0)]
    out += ["", "Goals (issue #12):", ""] + [f"- {'PASS' if ok else 'FAIL'}: {g}" for g, ok in goals]
    out += ["", "Per query nDCG@10 (relevant: all / of them unlabelled as revsd sees it):", "",
            "| query | kind | relevant | BM25-only | known-only | revsd before | revsd after | oracle |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for q, kind, _ in queries:
        out.append(f"| {q} | {kind} | {len(rel[q])} / {len(rel[q] - labelled)} | " +
                   " | ".join(f"{score[n][q]:.2f}" for n in results) + " |")
    losses = [q for q, _, _ in queries if score[after][q] < max(score["BM25-only"][q], score["known-only"][q]) - 1e-9]
    out += ["", f"Queries where revsd (after train) is below a baseline, with its top 3 (fixture name, R = relevant, "
            f"L = labelled): {len(losses)}", ""]
    for q in losses:
        top = ", ".join(f"{items[p]['name'] if p in items else p} ({'R' if p in rel[q] else '-'}{'L' if p in labelled else ''})"
                        for p in runs["after"][q][:3])
        out.append(f"- {q}: {top}")
    out.append("\nReproduce: `bench/relevance.sh [record]` (needs ../shared/fixtures/sd-meta and bench/.venv).")
    print("\n".join(out))
    log(f"done in {time.time() - T0:.0f} s")


main()
