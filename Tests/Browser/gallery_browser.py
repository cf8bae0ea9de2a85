#!/usr/bin/python3
"""The gallery in a real browser (issue #14): Debian's chromium, driven by
selenium through Debian's chromium-driver, against the real revsdd and
revsd-web on a temporary library of the shared SD fixtures.

It loads the page with the token URL revsd-web prints, checks that the
library grid shows thumbnails, types a word that stands in one fixture's
prompt into the search box (search as you type), checks the rendered results
(the thumbnail is loaded and the prompt is on the card, with its badge),
opens that image's page (picture, prompt, parameters), checks that a
prompt holding <script> shows as text, and saves screenshots.

    Tests/Browser/gallery_browser.py --bin .build/debug [--screenshots DIR]
    Tests/Browser/gallery_browser.py --bin .build/debug --synthetic 24 --screenshots docs/screenshots

With --synthetic N the library is N synthetic images (revsd-bench synth:
drawn shapes with their prompts) instead of the fixtures, and the searched
word is "circle": what the screenshots in docs/ show, so that no fixture
image is copied into the repository.

Exits 0 when every check passed, 1 on a failed check (named), and 0 with a
"skipped:" line when chromium, its driver or the fixtures are absent.
"""
import argparse, os, shutil, signal, struct, subprocess, sys, tempfile, time, zlib, json

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "fixtures", "sd-meta")
# The image whose prompt holds the searched word, and the word.
WORD, WITH_WORD = "galaxy", "comfyex__sdturbo_sdxlturbo_example.png"
# A few more real fixtures, so the grid is a grid and the search has something to pass over.
OTHERS = ["comfyex__inpaint_inpain_model_cat.png", "comfyex__lcm_lcm_basic_example.png",
          "comfyex__sd3_sd3.5_simple_example.png", "comfyex__hypernetworks_hypernetwork_example_output.png",
          "cdtuner__sample2.jpg", "cdtuner__sample3.jpg"]
HOSTILE = "a red circle <script>alert(1)</script> on white"


def skip(why):
    print(f"browser test: skipped: {why}")
    sys.exit(0)


def fail(what):
    print(f"browser test: FAILED: {what}", file=sys.stderr)
    sys.exit(1)


def png_with_parameters(path, text, size=96):
    """A small RGB PNG carrying A1111 parameters (a tEXt chunk)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes([200, 40, 40]) * size for _ in range(size))
    params = f"{text}\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: {size}x{size}, Model: browsertest"
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
                + chunk(b"tEXt", b"parameters\x00" + params.encode("latin-1"))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def wait(what, timeout, check):
    """Polls check() until it returns something true. Search as you type
    replaces the grid under the test (a slow keystroke shows a prefix's
    results first), so an element that went stale mid-check means
    "not yet", not a failure."""
    from selenium.common.exceptions import StaleElementReferenceException
    end = time.time() + timeout
    while time.time() < end:
        try:
            r = check()
        except StaleElementReferenceException:
            r = None
        if r:
            return r
        time.sleep(0.2)
    fail(f"timed out after {timeout} s waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/debug")
    ap.add_argument("--screenshots", default=None, help="folder for the PNG screenshots (default: the temporary folder, kept on failure)")
    ap.add_argument("--synthetic", type=int, default=0, help="a library of N synthetic images instead of the fixtures")
    args = ap.parse_args()
    global WORD
    bin_dir = os.path.abspath(args.bin)
    for exe in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.access(exe, os.X_OK):
            skip(f"{exe} is not installed (Debian packages chromium and chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
    except ImportError:
        skip("python3-selenium is not installed (Debian package python3-selenium)")
    fixtures = os.path.abspath(FIXTURES)
    if not args.synthetic and not os.path.isfile(os.path.join(fixtures, WITH_WORD)):
        skip(f"{fixtures} (the shared SD fixtures) is absent")

    work = tempfile.mkdtemp(prefix="revsd-browser.")
    shots = os.path.abspath(args.screenshots or os.path.join(work, "screenshots"))
    os.makedirs(shots, exist_ok=True)
    lib, state, sock = os.path.join(work, "library"), os.path.join(work, "state"), os.path.join(work, "revsdd.sock")
    os.makedirs(lib)
    if args.synthetic:
        subprocess.run([os.path.join(bin_dir, "revsd-bench"), "synth", "--out", lib, "--count", str(args.synthetic), "--seed", "5"],
                       check=True, stdout=subprocess.DEVNULL)
        WORD = "circle"
        expected = args.synthetic + 1
    else:
        for name in [WITH_WORD] + OTHERS:
            shutil.copy(os.path.join(fixtures, name), lib)
        expected = len(OTHERS) + 2
    png_with_parameters(os.path.join(lib, "hostile.png"), HOSTILE)
    procs = []
    driver = None
    ok = False
    try:
        log = open(os.path.join(work, "revsdd.log"), "w")
        with open(os.path.join(work, "revsdd.toml"), "w"):
            pass
        procs.append(subprocess.Popen([os.path.join(bin_dir, "revsdd"), "--watch", lib, "--state-dir", state, "--socket", sock,
                                       "--config", os.path.join(work, "revsdd.toml")], stdout=log, stderr=log))
        ctl = [os.path.join(bin_dir, "revsdctl"), "--socket", sock]

        def indexed():
            r = subprocess.run(ctl + ["status", "--json"], capture_output=True, text=True)
            if r.returncode != 0:
                return False
            s = json.loads(r.stdout)
            return s["indexed"] >= expected and s["queued"] == 0
        wait(f"revsdd to index the {expected} images", 600, indexed)

        weblog = open(os.path.join(work, "revsd-web.log"), "w")
        web = subprocess.Popen([os.path.join(bin_dir, "revsd-web"), "--socket", sock, "--listen", "127.0.0.1:0",
                                "--token-file", os.path.join(state, "web-token")], stdout=subprocess.PIPE, stderr=weblog, text=True)
        procs.append(web)
        url = web.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:") or "token=" not in url:
            fail(f"revsd-web's first line is not its URL with the token: {url!r}")
        base = url.split("/?")[0]

        o = Options()
        for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--disable-dev-shm-usage"]:
            o.add_argument(a)
        o.binary_location = "/usr/bin/chromium"
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
        driver.set_page_load_timeout(60)

        def loaded_thumbnails():
            imgs = driver.find_elements(By.CSS_SELECTOR, ".grid img")
            return [i for i in imgs if driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", i)]

        # The library: the token URL sets the cookie and leads to the grid of thumbnails.
        driver.get(url)
        if "token=" in driver.current_url:
            fail(f"the token stayed in the address bar: {driver.current_url}")
        thumbs = wait("the library grid's thumbnails to load", 60, lambda: (t := loaded_thumbnails()) and len(t) >= min(expected, 60) and t)
        for t in thumbs:
            if not t.get_attribute("src").startswith(base + "/thumb/"):
                fail(f"a grid image is not a thumbnail of the gallery: {t.get_attribute('src')}")
        driver.save_screenshot(os.path.join(shots, "library.png"))

        # Search as you type: the word of one prompt, typed into the box.
        box = driver.find_element(By.CSS_SELECTOR, "input#q")
        box.send_keys(WORD)

        def results():
            # The grid is the search's once the summary names the query (the
            # library's newest image may hold the word too).
            summary = driver.find_elements(By.CSS_SELECTOR, "p.summary")
            if not summary or f"for “{WORD}”" not in summary[0].text:
                return None
            cards = driver.find_elements(By.CSS_SELECTOR, ".grid .card")
            if not cards or WORD not in cards[0].text.lower():
                return None
            return cards
        cards = wait(f"the results of '{WORD}' to replace the grid as it is typed", 30, results)
        first = cards[0]
        img = first.find_element(By.CSS_SELECTOR, "img")
        wait("the first result's thumbnail to load", 30,
             lambda: driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img))
        if "prompt" not in " ".join(b.text.lower() for b in first.find_elements(By.CSS_SELECTOR, ".badge")):
            fail(f"the first result of '{WORD}' is not marked as matched by its own prompt: {first.text!r}")
        if "q=" + WORD not in driver.current_url:
            fail(f"the address does not follow the search (so it cannot be shared or reloaded): {driver.current_url}")
        driver.save_screenshot(os.path.join(shots, "search.png"))

        # Its page: the picture, its prompt and parameters.
        first.find_element(By.CSS_SELECTOR, "a").click()
        wait("the image page", 30, lambda: "/image/" in driver.current_url)
        picture = wait("the picture to load", 30, lambda: [i for i in driver.find_elements(By.CSS_SELECTOR, "figure.original img")
                                                           if driver.execute_script("return arguments[0].naturalWidth > 0", i)])
        page = driver.find_element(By.TAG_NAME, "body").text
        if WORD not in page.lower():
            fail("the image page does not show the prompt the file carries")
        for word in ("Steps", "Sampler", "Seed"):
            if word.lower() not in page.lower():
                fail(f"the image page does not show the parameter {word}")
        driver.set_window_size(1280, 1300)   # the prediction and its candidates too
        driver.save_screenshot(os.path.join(shots, "image.png"))

        # A prompt is user data: <script> in it is text, and runs nothing.
        driver.get(base + "/?q=" + "red circle")
        card = wait("the hostile prompt's card", 30, lambda: [c for c in driver.find_elements(By.CSS_SELECTOR, ".grid .card")
                                                             if "<script>alert(1)</script>" in c.text])
        if driver.execute_script("return document.querySelectorAll('.grid script').length") != 0:
            fail("a prompt's <script> became an element of the page")
        ok = True
        print(f"browser test: passed (library, search as you type for '{WORD}', image page, escaped prompt); screenshots in {shots}")
    finally:
        if driver is not None:
            driver.quit()
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        if ok and args.screenshots is None:
            shutil.rmtree(work, ignore_errors=True)
        elif not ok:
            print(f"browser test: kept {work} (logs, screenshots)", file=sys.stderr)


if __name__ == "__main__":
    main()
