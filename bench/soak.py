#!/usr/bin/env python3
"""Randomised soak test of the real revsdd (bench/soak.sh runs it).

Drives seeded random operations on a temporary library that one revsdd
watches: copies of images (new and identical), renames, moves between
folders, deletes, in-place rewrites written in several pieces, bursts of
files, `revsdctl reindex` (whole and sub-folder), `revsdctl train`, SIGTERM
and kill -9 restarts on the same state directory. Every few operations, and
at the end, it lets the daemon settle (queued == 0 and analysis_queued == 0,
learning idle) and checks:

  I1 status: queued == 0, failed == 0, indexed == number of image files on disk,
     analysed == searchable == indexed (both phases done);
  I2 search --json -k N for N in 1, 10, 100, all (1000): no path that is gone
     from disk, no path twice (a result's own path and its "paths" for
     identical copies both count), len(results) == min(N, entries);
  I3 with k = all: every image file on disk appears exactly once.

Bounded: stops after SECONDS (then a final check) or MAX_OPS operations, the
library is capped at 900 files so that k = 1000 is "all". Prints one line
`soak: N passed, M failed` and exits 1 when a check failed, listing the
violating paths and the operations since the previous passing check.
Usage: soak.py SECONDS SEED --bin DIR --pool DIR --work DIR
"""
import argparse, json, os, random, shutil, signal, subprocess, sys, time

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp")
MAX_FILES = 900
KS = [1, 10, 100, 1000]

p = argparse.ArgumentParser()
p.add_argument("seconds", type=float)
p.add_argument("seed", type=int)
p.add_argument("--bin", required=True)
p.add_argument("--pool", required=True)
p.add_argument("--work", required=True)
p.add_argument("--burst", type=int, default=500)
p.add_argument("--check-every", type=int, default=12)
p.add_argument("--max-ops", type=int, default=100000)
p.add_argument("--settle-timeout", type=float, default=300)
a = p.parse_args()

rng = random.Random(a.seed)
lib = os.path.join(a.work, "library")
state = os.path.join(a.work, "state")
outside = os.path.join(a.work, "outside")
sock = os.path.join(a.work, "revsdd.sock")
for d in (lib, state, outside):
    os.makedirs(d, exist_ok=True)
pool = sorted(os.path.join(a.pool, f) for f in os.listdir(a.pool) if f.lower().endswith(IMAGE_EXT))
assert pool, "empty image pool"
ctl = os.path.join(a.bin, "revsdctl")
daemon = None
daemon_log = open(os.path.join(a.work, "revsdd.log"), "ab")
ops = []            # every operation, in order
since_check = []    # operations since the last passing check
counter = [0]
stats = {"passed": 0, "failed": 0}
failures = []


def log(msg):
    print(msg, flush=True)


def note(op):
    ops.append(op); since_check.append(op)


def run_ctl(*args, timeout=120):
    r = subprocess.run([ctl, *args, "--socket", sock], capture_output=True, text=True, timeout=timeout)
    return r


def status():
    try:
        r = run_ctl("status", "--json", timeout=30)
    except subprocess.TimeoutExpired:
        return None
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def start_daemon():
    global daemon
    daemon = subprocess.Popen([os.path.join(a.bin, "revsdd"), "--watch", lib, "--state-dir", state,
                               "--socket", sock, "--config", "/dev/null"], stdout=daemon_log, stderr=daemon_log)
    deadline = time.time() + 120
    while time.time() < deadline:
        if daemon.poll() is not None:
            raise SystemExit(f"soak: revsdd exited with {daemon.returncode} on start (log {daemon_log.name})")
        if status() is not None:
            return
        time.sleep(0.2)
    raise SystemExit("soak: revsdd did not answer within 120 s")


def stop_daemon(sig):
    daemon.send_signal(sig)
    try:
        daemon.wait(timeout=60)
    except subprocess.TimeoutExpired:
        daemon.kill(); daemon.wait()
        note("(SIGTERM did not stop revsdd within 60 s: killed)")


def disk_files():
    out = set()
    for root, _, files in os.walk(lib):
        for f in files:
            if f.lower().endswith(IMAGE_EXT):
                out.add(os.path.join(root, f))
    return out


def folders():
    out = [lib]
    for root, dirs, _ in os.walk(lib):
        out += [os.path.join(root, d) for d in dirs]
    return out


def fresh_name(folder, ext=".png"):
    counter[0] += 1
    return os.path.join(folder, f"img-{counter[0]:06d}{ext}")


def write_pieces(path, data, pieces):
    """Writes data into path (truncating it) in several write(2)s with pauses between."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            os.write(fd, data[i:i + step])
            time.sleep(rng.uniform(0, 0.05))
    finally:
        os.close(fd)


# The operations. Each returns a description, or None when it did not apply.
def op_copy_new():
    if len(disk_files()) >= MAX_FILES: return None
    src = rng.choice(pool); dst = fresh_name(rng.choice(folders()), os.path.splitext(src)[1])
    shutil.copyfile(src, dst); return f"copy {os.path.basename(src)} -> {dst}"

def op_copy_identical():
    files = sorted(disk_files())
    if not files or len(files) >= MAX_FILES: return None
    src = rng.choice(files); dst = fresh_name(rng.choice(folders()), os.path.splitext(src)[1])
    shutil.copyfile(src, dst); return f"identical copy {src} -> {dst}"

def op_rename():
    files = sorted(disk_files())
    if not files: return None
    src = rng.choice(files); dst = fresh_name(os.path.dirname(src), os.path.splitext(src)[1])
    os.rename(src, dst); return f"rename {src} -> {dst}"

def op_move():
    files = sorted(disk_files())
    if not files: return None
    src = rng.choice(files); dst = fresh_name(rng.choice(folders()), os.path.splitext(src)[1])
    os.rename(src, dst); return f"move {src} -> {dst}"

def op_mkdir():
    parent = rng.choice(folders())
    if parent.count(os.sep) - lib.count(os.sep) >= 3: return None
    counter[0] += 1; d = os.path.join(parent, f"dir-{counter[0]:06d}")
    os.mkdir(d); return f"mkdir {d}"

def op_move_folder():
    subs = [f for f in folders() if f != lib]
    if not subs: return None
    src = rng.choice(subs)
    targets = [f for f in folders() if not (f + os.sep).startswith(src + os.sep)]
    counter[0] += 1; dst = os.path.join(rng.choice(targets), f"moved-{counter[0]:06d}")
    os.rename(src, dst); return f"move folder {src} -> {dst}"

def op_move_out():
    files = sorted(disk_files())
    if not files: return None
    src = rng.choice(files); dst = fresh_name(outside, os.path.splitext(src)[1])
    os.rename(src, dst); return f"move out of the library {src} -> {dst}"

def op_move_in():
    if len(disk_files()) >= MAX_FILES: return None
    outs = sorted(os.path.join(outside, f) for f in os.listdir(outside))
    if not outs: return None
    src = rng.choice(outs); dst = fresh_name(rng.choice(folders()), os.path.splitext(src)[1])
    os.rename(src, dst); return f"move into the library {src} -> {dst}"

def op_delete():
    files = sorted(disk_files())
    if not files: return None
    victim = rng.choice(files); os.unlink(victim); return f"delete {victim}"

def op_delete_folder():
    subs = [f for f in folders() if f != lib]
    if not subs: return None
    victim = rng.choice(subs); shutil.rmtree(victim); return f"delete folder {victim}"

def op_rewrite():
    files = sorted(f for f in disk_files() if f.endswith(".png"))
    if not files: return None
    victim = rng.choice(files); src = rng.choice([f for f in pool if f.endswith(".png")])
    pieces = rng.choice([1, 2, 4])
    write_pieces(victim, open(src, "rb").read(), pieces)
    return f"rewrite in place {victim} with {os.path.basename(src)} in {pieces} write(s)"

def op_burst():
    room = MAX_FILES - len(disk_files())
    n = min(a.burst, room)
    if n < 10: return None
    counter[0] += 1; d = os.path.join(lib, f"burst-{counter[0]:06d}")
    os.mkdir(d)
    for _ in range(n):
        src = rng.choice(pool); shutil.copyfile(src, fresh_name(d, os.path.splitext(src)[1]))
    return f"burst of {n} files into {d}"

def op_reindex_all():
    r = run_ctl("reindex", "--json"); return f"reindex (whole library): rc {r.returncode} {r.stdout.strip()[:80]}"

def op_reindex_sub():
    subs = [f for f in folders() if f != lib]
    if not subs: return None
    d = rng.choice(subs); r = run_ctl("reindex", d, "--json")
    return f"reindex {d}: rc {r.returncode} {r.stdout.strip()[:80]}"

def op_train():
    r = run_ctl("train", "--no-wait", "--json"); return f"train: rc {r.returncode} {(r.stdout or r.stderr).strip()[:80]}"

def op_sigterm_restart():
    stop_daemon(signal.SIGTERM); start_daemon(); return "SIGTERM restart"

def op_kill9_restart():
    stop_daemon(signal.SIGKILL); start_daemon(); return "kill -9 restart"


OPERATIONS = [  # (weight, function)
    (10, op_copy_new), (4, op_copy_identical), (5, op_rename), (5, op_move), (2, op_mkdir), (2, op_move_folder),
    (2, op_move_out), (2, op_move_in), (5, op_delete), (1, op_delete_folder), (4, op_rewrite), (1, op_burst),
    (2, op_reindex_all), (2, op_reindex_sub), (1, op_train), (1, op_sigterm_restart), (1, op_kill9_restart),
]


def settle():
    """Waits until revsdd reports nothing queued (either phase) and no training, twice in a row."""
    deadline = time.time() + a.settle_timeout
    calm = 0
    last = None
    while time.time() < deadline:
        s = status()
        last = s
        if s and s.get("queued") == 0 and s.get("analysis_queued", 0) == 0 \
                and (s.get("learning") or {}).get("state", "idle") == "idle":
            calm += 1
            if calm >= 2: return s, None
        else:
            calm = 0
        time.sleep(1.0)
    return last, f"did not settle within {a.settle_timeout:.0f} s (last status: {json.dumps(last)[:300]})"


def result_paths(r):
    ps = [r["path"]] + [q for q in (r.get("paths") or []) if q != r["path"]]
    return ps


def check(label):
    s, problem = settle()
    on_disk = disk_files()
    violations = []
    if problem:
        violations.append(f"I1 {problem}")
    if s:
        if s.get("queued") != 0: violations.append(f"I1 queued = {s.get('queued')}")
        if s.get("failed") != 0: violations.append(f"I1 failed = {s.get('failed')} (every soak image decodes)")
        if s.get("indexed") != len(on_disk):
            violations.append(f"I1 status indexed = {s.get('indexed')}, files on disk = {len(on_disk)}")
        for key in ("analysed", "searchable"):
            if key in s and s.get(key) != s.get("indexed"):
                violations.append(f"I1 status {key} = {s.get(key)}, indexed = {s.get('indexed')}")
    elif not problem:
        violations.append("I1 status did not answer")
    entries = None
    ranked = []
    for k in sorted(KS, reverse=True):  # all first: it gives the number of entries
        r = run_ctl("search", "an image", "-k", str(k), "--json")
        if r.returncode != 0:
            violations.append(f"I2 search -k {k}: rc {r.returncode}: {r.stderr.strip()[:200]}"); continue
        results = json.loads(r.stdout)["results"]
        seen = {}
        for res in results:
            for path in result_paths(res):
                seen[path] = seen.get(path, 0) + 1
        gone = sorted(path for path in seen if path not in on_disk)
        twice = sorted(path for path, n in seen.items() if n > 1)
        if gone: violations.append(f"I2 search -k {k}: {len(gone)} path(s) not on disk: {gone[:20]}")
        if twice: violations.append(f"I2 search -k {k}: {len(twice)} path(s) more than once: {twice[:20]}")
        if k == max(KS):
            entries = len(results)
            ranked = [res["path"] for res in results]
            missing = sorted(on_disk - set(seen))
            if missing: violations.append(f"I3 search -k all: {len(missing)} file(s) on disk missing: {missing[:20]}")
        elif entries is not None and len(results) != min(k, entries):
            got = {res["path"] for res in results}
            absent = [q for q in ranked[:k] if q not in got]
            violations.append(f"I2 search -k {k}: {len(results)} results, expected {min(k, entries)}; "
                              f"of the first {k} of -k all, absent: {absent[:10]}")
    if violations:
        stats["failed"] += 1
        failures.append((label, violations, list(since_check)))
        log(f"soak: check {label}: FAILED after {len(ops)} operations")
        for v in violations: log(f"  {v}")
        log("  operations since the previous passing check:")
        for o in since_check: log(f"    {o}")
    else:
        stats["passed"] += 1
        log(f"soak: check {label}: ok ({len(on_disk)} files, {len(ops)} operations)")
    since_check.clear()


def main():
    # A starting library: a few folders and images.
    for i in range(3):
        os.makedirs(os.path.join(lib, f"start-{i}"), exist_ok=True)
    for i, src in enumerate(rng.sample(pool, min(12, len(pool)))):
        shutil.copyfile(src, os.path.join(lib, f"start-{i % 3}", f"seed-{i:03d}{os.path.splitext(src)[1]}"))
    start_daemon()
    note("start: 12 images in 3 folders")
    check("start")
    end = time.time() + a.seconds
    weights = [w for w, _ in OPERATIONS]
    n = 0
    while time.time() < end and n < a.max_ops:
        f = rng.choices([f for _, f in OPERATIONS], weights)[0]
        try:
            d = f()
        except OSError as e:
            d = f"{f.__name__}: {e}"
        if d is None: continue
        n += 1
        note(d)
        time.sleep(rng.uniform(0, 0.3))
        if n % a.check_every == 0:
            check(f"#{stats['passed'] + stats['failed']}")
    check("final")
    stop_daemon(signal.SIGTERM)
    kinds = {}
    for o in ops:
        key = o.split(" ")[0] if not o.startswith(("SIGTERM", "kill")) else o
        kinds[key] = kinds.get(key, 0) + 1
    log("soak: operations: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    log(f"soak: {stats['passed']} passed, {stats['failed']} failed")
    sys.exit(1 if stats["failed"] else 0)


try:
    main()
finally:
    if daemon and daemon.poll() is None:
        daemon.kill(); daemon.wait()
