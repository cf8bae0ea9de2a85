#!/usr/bin/python3
"""Driver of bench/web.sh (issue #14): the gallery's latency and its thumbnail
cache, against the real revsdd and revsd-web, printed as the markdown of the
"web" section of bench/RESULTS.md.

For each N (10,000 and 100,000): `revsd-bench galleryindex` writes a state
folder with N synthetic indexed images under a folder that does not exist,
revsdd starts on it (watching that folder), revsd-web over its socket; then
- curl, one connection per request: time to first byte and total of `/?q=`
  (the page) and `/grid?q=` (the fragment search-as-you-type fetches);
- the same search sent straight to the control socket (what revsd-web asks
  revsdd), so that the page's time splits into the daemon's and revsd-web's;
- headless chromium (selenium, Debian's chromium-driver): the navigation
  timing of `/?q=` (first byte, DOMContentLoaded: the grid parsed) and the
  time from the last key typed into the search box to the grid replaced and
  painted, the debounce apart. Thumbnails are blocked in the browser (the
  synthetic images have no files).
Then a real library (copies of the sd-meta fixtures) indexed by revsdd: each
`/thumb/ID` from the cache, then revalidated with If-None-Match (304), and
the thumbnail cache's size on disk per 1,000 images.

    bench/web.py --bin DIR --fixtures DIR --prompts TSV --work DIR --machine TEXT --commit HASH
"""
import argparse, json, os, re, shutil, socket, statistics, subprocess, sys, time, urllib.parse

QUERIES = ["portrait of a beautiful woman", "cyberpunk city at night", "a cat", "mountain lake landscape", "anime girl",
           "dragon", "oil painting by greg rutkowski", "spaceship concept art", "dark forest", "highly detailed digital painting"]
SIZES = [10_000, 100_000]
REPEATS = 5          # curl requests per query and endpoint
BROWSER_REPEATS = 2  # page loads and typed searches per query
THUMB_IMAGES = 50


def log(*a):
    print("web:", *a, file=sys.stderr, flush=True)


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def ms(xs):
    """'p50 / p95' in ms of a list of seconds."""
    return f"{pct(xs, 50) * 1000:.1f} / {pct(xs, 95) * 1000:.1f}"


def wait(what, timeout, check, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        r = check()
        if r:
            return r
        time.sleep(step)
    raise SystemExit(f"web: timed out after {timeout} s waiting for {what}")


class Daemon:
    """revsdd on a state folder, and revsd-web over its socket."""

    def __init__(self, bin_dir, work, state, watch):
        self.bin, self.state, self.sock = bin_dir, state, os.path.join(work, "revsdd.sock")
        config = os.path.join(work, "revsdd.toml")
        open(config, "w").close()
        self.log = open(os.path.join(work, "revsdd.log"), "w")
        self.started = time.time()
        self.proc = subprocess.Popen([os.path.join(bin_dir, "revsdd"), "--watch", watch, "--state-dir", state,
                                      "--socket", self.sock, "--config", config], stdout=self.log, stderr=self.log)
        self.web = None

    def status(self):
        r = subprocess.run([os.path.join(self.bin, "revsdctl"), "--socket", self.sock, "status", "--json"], capture_output=True, text=True)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def start_web(self, work):
        self.weblog = open(os.path.join(work, "revsd-web.log"), "w")
        self.web = subprocess.Popen([os.path.join(self.bin, "revsd-web"), "--socket", self.sock, "--listen", "127.0.0.1:0",
                                     "--token-file", os.path.join(self.state, "web-token")],
                                    stdout=subprocess.PIPE, stderr=self.weblog, text=True)
        self.url = self.web.stdout.readline().strip()
        if "token=" not in self.url:
            raise SystemExit(f"web: revsd-web's first line is not its URL with the token: {self.url!r}")
        self.base = self.url.split("/?")[0]
        self.jar = os.path.join(work, "cookies")
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-c", self.jar, self.url], check=True)

    def call(self, request, ok=True):
        """One request on a new connection to the control socket, as revsd-web makes it: (seconds, result, bytes)."""
        start = time.perf_counter()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.sock)
        s.sendall((json.dumps(request) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
        s.close()
        secs = time.perf_counter() - start
        r = json.loads(buf)
        if not ok:
            return secs, r, len(buf)
        if not r.get("ok"):
            raise SystemExit(f"web: revsdd answered {request['op']} with {r.get('error')}")
        return secs, r["result"], len(buf)

    def ping(self):
        """An operation revsdd does not know, answered with an error at once: the socket's own cost."""
        secs, r, _ = self.call({"v": 1, "op": "bench_ping"}, ok=False)
        if r.get("error", {}).get("code") != "unknown_operation":
            raise SystemExit(f"web: an unknown operation was answered with {r}")
        return secs

    def call_file(self, image_id):
        """image_file of a thumbnail on a new connection, the passed descriptor read to its end: (seconds, bytes)."""
        start = time.perf_counter()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.sock)
        s.sendall((json.dumps({"v": 1, "op": "image_file", "image_id": image_id, "kind": "thumbnail"}) + "\n").encode())
        buf, fds = b"", []
        while not buf.endswith(b"\n"):
            chunk, got, _, _ = socket.recv_fds(s, 1 << 16, 4)
            if not chunk:
                break
            buf += chunk; fds += got
        s.close()
        if not json.loads(buf).get("ok") or len(fds) != 1:
            raise SystemExit(f"web: image_file of {image_id} answered {buf[:200]!r} with {len(fds)} descriptors")
        with os.fdopen(fds[0], "rb") as f:
            n = len(f.read())
        return time.perf_counter() - start, n

    def stop(self):
        for p in (self.web, self.proc):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()


def curl(d, path, headers=()):
    """(status, ttfb s, total s, bytes, response headers) of one GET on a new connection."""
    h = []
    for x in headers:
        h += ["-H", x]
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-D", "-", "-b", d.jar, *h, "-w", "\n%{http_code} %{time_starttransfer} %{time_total} %{size_download}",
                        d.base + path], capture_output=True, text=True, check=True)
    head, last = r.stdout.rsplit("\n", 1)
    code, ttfb, total, size = last.split()
    return int(code), float(ttfb), float(total), int(size), head


def measure_http(d):
    out = {}
    for name, path in (("page", "/?q="), ("grid", "/grid?q=")):
        ttfb, total, sizes = [], [], []
        for q in QUERIES:
            url = path + urllib.parse.quote(q)
            curl(d, url)   # warm: the first search of a text
            for _ in range(REPEATS):
                code, a, b, n, _ = curl(d, url)
                if code != 200:
                    raise SystemExit(f"web: {url} answered {code}")
                ttfb.append(a); total.append(b); sizes.append(n)
        out[name] = {"ttfb": ttfb, "total": total, "bytes": statistics.median(sizes)}
    # The same searches straight to revsdd: the daemon's share of the page.
    rtt, hits, sizes = [], [], []
    for q in QUERIES:
        for _ in range(REPEATS):
            secs, result, n = d.call({"v": 1, "op": "search", "query": q, "k": 60})
            rtt.append(secs); hits.append(len(result["results"])); sizes.append(n)
    out["socket"] = {"total": rtt, "hits": statistics.median(hits), "bytes": statistics.median(sizes)}
    out["ping"] = [d.ping() for _ in range(len(QUERIES) * REPEATS)]
    out["status"] = [d.call({"v": 1, "op": "status"})[0] for _ in range(len(QUERIES) * REPEATS)]
    return out


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    o = Options()
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--disable-dev-shm-usage"]:
        o.add_argument(a)
    o.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    driver.set_page_load_timeout(60)
    # The synthetic rows have no files: thumbnails are not fetched at all.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/thumb/*"]})
    return driver


INSTALL = """
if (!window.__benchInstalled) {
  window.__benchInstalled = true;
  var f = window.fetch;
  window.fetch = function (u) { if (String(u).indexOf('/grid') === 0) window.__bench.fetch = performance.now(); return f.apply(this, arguments); };
  document.getElementById('q').addEventListener('input', function () { window.__bench.input = performance.now(); });
  new MutationObserver(function () {
    var b = window.__bench;
    if (b.replaced) return;
    b.replaced = performance.now();
    requestAnimationFrame(function () { requestAnimationFrame(function () { b.painted = performance.now(); }); });
  }).observe(document.getElementById('results'), {childList: true});
}
window.__bench = {};
document.getElementById('q').value = '';
performance.clearResourceTimings();
"""

READ = """
var b = window.__bench;
if (!b.painted) return null;
var g = performance.getEntriesByType('resource').filter(function (e) { return e.name.indexOf('/grid') >= 0; }).pop();
var s = document.querySelector('#results p.summary');
return {input: b.input, fetch: b.fetch, replaced: b.replaced, painted: b.painted,
        ttfb: g ? g.responseStart - g.startTime : null, response: g ? g.responseEnd - g.startTime : null,
        summary: s ? s.textContent : ''};
"""


def measure_browser(d, driver):
    from selenium.webdriver.common.by import By
    driver.get(d.url)   # the token sets the cookie
    nav = {"ttfb": [], "dcl": [], "cards": 0}
    for q in QUERIES:
        for _ in range(BROWSER_REPEATS):
            driver.get(d.base + "/?q=" + urllib.parse.quote(q))
            t = wait("the navigation timing", 30, lambda: driver.execute_script(
                "var n = performance.getEntriesByType('navigation')[0]; return n && n.domContentLoadedEventEnd > 0 ? "
                "[n.responseStart - n.startTime, n.domContentLoadedEventEnd - n.startTime] : null"))
            nav["ttfb"].append(t[0] / 1000); nav["dcl"].append(t[1] / 1000)
            nav["cards"] = len(driver.find_elements(By.CSS_SELECTOR, "#grid .card"))
    typed = {"total": [], "debounce": [], "after": [], "ttfb": [], "response": []}
    driver.get(d.base + "/")
    box = driver.find_element(By.CSS_SELECTOR, "input#q")
    for q in QUERIES:
        for _ in range(BROWSER_REPEATS):
            driver.execute_script(INSTALL)
            box.send_keys(q)
            r = wait(f"the grid of '{q}' typed", 30, lambda: driver.execute_script(READ), step=0.02)
            if q not in r["summary"]:
                raise SystemExit(f"web: the grid after typing '{q}' is not its results: {r['summary']!r}")
            typed["total"].append((r["painted"] - r["input"]) / 1000)
            typed["debounce"].append((r["fetch"] - r["input"]) / 1000)
            typed["after"].append((r["painted"] - r["fetch"]) / 1000)
            typed["ttfb"].append(r["ttfb"] / 1000); typed["response"].append(r["response"] / 1000)
    return nav, typed


def synthetic(args, n, driver):
    work = os.path.join(args.work, f"n{n}")
    state, missing = os.path.join(work, "state"), os.path.join(work, "library-that-does-not-exist")
    os.makedirs(work)
    t = time.time()
    r = subprocess.run([os.path.join(args.bin, "revsd-bench"), "galleryindex", "--n", str(n), "--state", state,
                        "--root", missing, "--prompts", args.prompts], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"web: galleryindex failed: {r.stderr}")
    written = json.loads(r.stdout)
    written["wall"] = time.time() - t
    log(f"{n}: wrote the index in {written['wall']:.0f} s ({written['with_prompt']} with a prompt)")
    d = Daemon(args.bin, work, state, missing)
    try:
        s = wait(f"revsdd to answer with the {n} images", 300,
                 lambda: (x := d.status()) and x["indexed"] == n and x["queued"] == 0 and x)
        start = time.time() - d.started
        d.start_web(work)
        http = measure_http(d)
        log(f"{n}: http done")
        nav, typed = measure_browser(d, driver)
        log(f"{n}: browser done")
        db_mib = os.path.getsize(os.path.join(state, "index.sqlite")) / 2**20
        return {"n": n, "written": written, "start": start, "status": s, "http": http, "nav": nav, "typed": typed, "db_mib": db_mib}
    finally:
        d.stop()


def thumbnails(args):
    work = os.path.join(args.work, "thumbs")
    lib, state = os.path.join(work, "library"), os.path.join(work, "state")
    os.makedirs(lib)
    names = sorted(f for f in os.listdir(args.fixtures) if f.lower().endswith((".png", ".jpg", ".jpeg", ".webp")))[:THUMB_IMAGES]
    for f in names:
        shutil.copy(os.path.join(args.fixtures, f), lib)
    d = Daemon(args.bin, work, state, lib)
    try:
        t = time.time()
        s = wait(f"revsdd to index the {len(names)} fixtures", 600,
                 lambda: (x := d.status()) and x["queued"] == 0 and x["indexed"] + x["failed"] >= len(names) and x, step=0.2)
        index_s = time.time() - t
        tdir = os.path.join(state, "thumbnails")

        def files():
            return [os.path.join(r, f) for r, _, fs in os.walk(tdir) for f in fs]
        # The worker writes a thumbnail after its commit: wait for the count to settle.
        last = [-1, time.time()]

        def settled():
            c = len(files())
            if c != last[0]:
                last[:] = [c, time.time()]
            return time.time() - last[1] > 1.5
        wait("the thumbnails to be written", 60, settled)
        d.start_web(work)
        page = subprocess.run(["curl", "-s", "-b", d.jar, d.base + "/"], capture_output=True, text=True, check=True).stdout
        ids = sorted(set(int(x) for x in re.findall(r'/thumb/(\d+)"', page)))
        first, again, cond, sizes = [], [], [], []
        for i in ids:
            code, _, total, n, head = curl(d, f"/thumb/{i}")
            if code != 200:
                raise SystemExit(f"web: /thumb/{i} answered {code}")
            first.append(total); sizes.append(n)
            etag = re.search(r"(?im)^etag:\s*(.+?)\s*$", head).group(1)
            for _ in range(3):
                code, _, total, _, _ = curl(d, f"/thumb/{i}")
                again.append(total)
                code, _, total, _, _ = curl(d, f"/thumb/{i}", [f"If-None-Match: {etag}"])
                if code != 304:
                    raise SystemExit(f"web: /thumb/{i} with If-None-Match answered {code}")
                cond.append(total)
        direct = [d.call_file(i)[0] for i in ids for _ in range(3)]
        ping = [d.ping() for _ in range(len(ids) * 3)]
        fs = files()
        du_kib = int(subprocess.run(["du", "-sk", tdir], capture_output=True, text=True, check=True).stdout.split()[0])
        apparent = sum(os.path.getsize(f) for f in fs)
        return {"copied": len(names), "status": s, "index_s": index_s, "ids": len(ids), "first": first, "again": again,
                "cond": cond, "direct": direct, "ping": ping, "bytes": statistics.median(sizes), "files": len(fs), "du_kib": du_kib, "apparent": apparent}
    finally:
        d.stop()


def debounce_ms():
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "Gallery", "StaticAssets.swift")).read()
    m = re.search(r"setTimeout\(search,\s*(\d+)\)", src)
    return int(m.group(1)) if m else None


def verdict(x, goal):
    return "✅" if x <= goal else "❌"


def report(args, runs, th, load_before, load_after, seconds):
    deb = debounce_ms()
    big = runs[-1]
    print("## Gallery (revsd-web): search latency at 10k and 100k images, thumbnails from the cache\n")
    print(f"Run {args.machine}; commit {args.commit}; {args.build} build; `bench/web.sh` took {seconds:.0f} s. "
          f"Load average (1, 5, 15 min) before: {load_before}, after: {load_after}.")
    if max(float(load_before.split(",")[0]), float(load_after.split(",")[0])) > 1.5:
        print("**The machine was not quiet** (load above 1.5 on 2 cores: other builds ran meanwhile); "
              "the figures are upper bounds, to be recorded again with `bench/web.sh record` on a quiet machine.")
    print()
    print(f"Synthetic indexes written through `IndexStore` (`revsd-bench galleryindex`: distinct contents, increasing mtimes, "
          f"a third with a real prompt of ../shared/fixtures/prompts/real-sd-prompts.tsv and its known-prompt rows, every image a "
          f"predicted row and a caption; rows under a watched folder that does not exist). revsdd and revsd-web as shipped, "
          f"an empty configuration. {len(QUERIES)} queries; curl: {REPEATS} requests per query after one to warm, a new "
          f"connection each; chromium: {BROWSER_REPEATS} per query. Figures are p50 / p95 in ms.\n")
    print("| measure | " + " | ".join(f"{r['n']:,} images" for r in runs) + " | goal |")
    print("|---|" + "---:|" * len(runs) + "---|")

    def row(label, f, goal=""):
        print(f"| {label} | " + " | ".join(f(r) for r in runs) + f" | {goal} |")
    row("index written (`galleryindex`), s; index.sqlite", lambda r: f"{r['written']['wall']:.0f} s, {r['db_mib']:.0f} MiB")
    row("revsdd start → answering (search matrix and prompt bank loaded)", lambda r: f"{r['start']:.1f} s")
    row("search on the control socket (k = 60, as revsd-web asks), total", lambda r: ms(r["http"]["socket"]["total"]))
    row("an unknown operation on the control socket (the socket's own cost: connect, a line each way)", lambda r: ms(r["http"]["ping"]))
    row("`status` on the control socket", lambda r: ms(r["http"]["status"]))
    row("`/grid?q=` (the fragment), first byte", lambda r: ms(r["http"]["grid"]["ttfb"]))
    row("`/grid?q=`, total", lambda r: ms(r["http"]["grid"]["total"]))
    row("`/?q=` (the page), first byte", lambda r: ms(r["http"]["page"]["ttfb"]))
    row("`/?q=`, total", lambda r: ms(r["http"]["page"]["total"]))
    row("chromium `/?q=`: first byte (navigation timing)", lambda r: ms(r["nav"]["ttfb"]))
    row("chromium `/?q=`: DOMContentLoaded (the results grid parsed, thumbnails blocked)", lambda r: ms(r["nav"]["dcl"]),
        f"≤ 150 at 100k: {verdict(pct(big['nav']['dcl'], 50) * 1000, 150)}")
    row(f"chromium, typed into `input#q`: last key → grid replaced and painted (debounce {deb} ms included)",
        lambda r: ms(r["typed"]["total"]))
    row("… of which the debounce (last key → fetch of `/grid`)", lambda r: ms(r["typed"]["debounce"]))
    row("… after the debounce (fetch → grid painted)", lambda r: ms(r["typed"]["after"]),
        f"≤ 150 at 100k: {verdict(pct(big['typed']['after'], 50) * 1000, 150)}")
    row("… the fetch's first byte / response end (resource timing)",
        lambda r: f"{pct(r['typed']['ttfb'], 50) * 1000:.1f} / {pct(r['typed']['response'], 50) * 1000:.1f} (p50s)")
    row("response sizes: socket result, `/grid`, page", lambda r: f"{r['http']['socket']['bytes'] / 1024:.0f}, "
        f"{r['http']['grid']['bytes'] / 1024:.0f}, {r['http']['page']['bytes'] / 1024:.0f} KiB ({r['http']['socket']['hits']:.0f} hits, {r['nav']['cards']} cards)")
    print()
    g, sock = big["http"]["grid"], big["http"]["socket"]
    share = pct(sock["total"], 50) / pct(g["ttfb"], 50) * 100
    print(f"**Where the time goes at {big['n']:,}** (p50s): the daemon's search, asked straight on the socket, "
          f"{pct(sock['total'], 50) * 1000:.1f} ms of the {pct(g['ttfb'], 50) * 1000:.1f} ms to `/grid`'s first byte ({share:.0f} %); "
          f"the rest, {(pct(g['ttfb'], 50) - pct(sock['total'], 50)) * 1000:.1f} ms, is revsd-web (its socket call, decoding the result, the HTML) and HTTP. "
          f"In the browser, {pct(big['typed']['after'], 50) * 1000 - pct(big['typed']['response'], 50) * 1000:.1f} ms go from the response's end "
          f"to the painted grid (innerHTML of {big['nav']['cards']} cards, layout, paint).\n")
    if all("status" in r["http"] for r in runs) and len(runs) > 1:
        a, b = runs[0], runs[-1]
        print(f"`status` (what `revsdctl status` and the status page ask) takes {pct(a['http']['status'], 50) * 1000:.1f} ms at {a['n']:,} and "
              f"{pct(b['http']['status'], 50) * 1000:.1f} ms at {b['n']:,} (its list of the latest failed files reads the partial index "
              f"`image_failed_by_time`, migration v9; before it, 2.2 ms at 10,000 and 25.6 ms at 100,000 on this machine, a full scan).\n")
    s = th["status"]
    per_k = th["du_kib"] / max(th["files"], 1) * 1000 / 1024
    print(f"**Thumbnails from the cache.** {th['copied']} of ../shared/fixtures/sd-meta copied into a folder, indexed by revsdd "
          f"({s['indexed']} indexed, {s['failed']} failed, {th['index_s']:.0f} s), {th['files']} thumbnails in STATE/thumbnails; "
          f"each `/thumb/ID` of the library page's {th['ids']} cards (one per content), by curl on a new connection:\n")
    print("| measure | p50 / p95 ms | goal |")
    print("|---|---:|---|")
    print(f"| first request of each thumbnail (made while indexing: from the cache), total | {ms(th['first'])} | ≤ 5: {verdict(pct(th['first'], 50) * 1000, 5)} |")
    print(f"| the same again, 3 times each, total | {ms(th['again'])} | ≤ 5: {verdict(pct(th['again'], 50) * 1000, 5)} |")
    print(f"| revalidated with If-None-Match (304), 3 times each | {ms(th['cond'])} | |")
    print(f"| `image_file` (thumbnail) straight on the control socket, the passed file read | {ms(th['direct'])} | |")
    print(f"| an unknown operation on the control socket (the socket's own cost) | {ms(th['ping'])} | |")
    print()
    print(f"Of a thumbnail's {pct(th['first'], 50) * 1000:.1f} ms, revsdd's part (`image_file` on the socket, the file passed and read) is "
          f"{pct(th['direct'], 50) * 1000:.1f} ms; the rest is revsd-web and HTTP (a 304 costs about as much as a 200: revsd-web asks revsdd "
          f"for the file's etag first).\n")
    print(f"Thumbnail median {th['bytes'] / 1024:.1f} KiB. **Cache size: {th['du_kib']:,} KiB on disk (du) for {th['files']} thumbnails: "
          f"{per_k:.1f} MiB per 1,000 images** ({th['apparent'] / max(th['files'], 1) * 1000 / 2**20:.1f} MiB of file bytes per 1,000).\n")
    print(f"Reproduce: `bench/web.sh record` (REVSD_BIN=DIR for other binaries; the build is {args.build}).")


def main():
    ap = argparse.ArgumentParser()
    for a in ("--bin", "--fixtures", "--prompts", "--work", "--machine", "--commit"):
        ap.add_argument(a, required=True)
    ap.add_argument("--build", default="release")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    t0 = time.time()
    load = lambda: ", ".join(open("/proc/loadavg").read().split()[:3])
    load_before = load()
    th = thumbnails(args)
    log("thumbnails done")
    driver = browser()
    try:
        runs = [synthetic(args, int(n), driver) for n in args.sizes.split(",")]
    finally:
        driver.quit()
    report(args, runs, th, load_before, load(), time.time() - t0)


if __name__ == "__main__":
    main()
