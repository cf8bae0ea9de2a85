#!/usr/bin/env bash
# Issue #13, two phases: N labelled images (default 2,000; 512 px PNGs with
# A1111 parameters written by the synthetic generator, 4 seed variations per
# prompt) dropped at once into the folder the real revsdd watches (one
# rename each), then the time until all are searchable by their prompt
# (phase 1: hash, metadata, the prompt's embedding) and until all are
# analysed (phase 2: decode, encoders, prediction, thumbnail); beside the
# bare in-process pipeline (revsd-bench analyze, two files at a time as the
# daemon's two phase-2 workers, on 200 of the same files) in the same run.
# Release builds. With BEFORE-BIN-DIR (the bin directory of an earlier
# release build of revsdd, revsdctl and revsd-bench), the same images go
# through that build first, then through this one, in alternation for
# ROUNDS rounds (default 1), and the report has a column for each (the best
# round of each). With `record`, rewrites the "phases" section of
# bench/RESULTS.md.
#   bench/phases.sh [record] [N] [BEFORE-BIN-DIR [ROUNDS]]
set -euo pipefail
cd "$(dirname "$0")/.."
record=""; [ "${1:-}" = record ] && { record=1; shift; }
n="${1:-2000}"; before="${2:-}"; rounds="${3:-1}"
[ -n "$before" ] && before="$(cd "$before" && pwd)"
for p in revsdd revsdctl revsd-bench; do swift build -c release --product "$p" >/dev/null; done
now="$PWD/.build/release"
"$now/revsdctl" models fetch >/dev/null
work="$(mktemp -d /tmp/revsd-phases.XXXXXX)"
trap 'kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
t0=$(date +%s.%N)
"$now/revsd-bench" synth --out "$work/images" --count "$n" --seed 11 --size 512 --variations 4 >/dev/null
gen=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
ls "$work"/images/*.png | sed -n 1,200p > "$work/sample.txt"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# One run of a build: a fresh state, the images dropped, status polled.
# Appends one JSON line to $work/runs.jsonl.
run() {
  local which="$1" bin="$2"
  rm -rf "$work/watch" "$work/state" "$work/staging" "$work/s.sock"
  mkdir -p "$work/watch"
  cp -al "$work/images" "$work/staging"      # links: each rename moves one, the originals stay
  local bare
  bare="$("$bin/revsd-bench" analyze --images "$work/sample.txt" --threads 2)"
  : > "$work/revsdd.toml"
  "$bin/revsdd" --watch "$work/watch" --state-dir "$work/state" --socket "$work/s.sock" --config "$work/revsdd.toml" > "$work/log-$which" 2>&1 &
  echo $! > "$work/pid"
  until "$bin/revsdctl" --socket "$work/s.sock" status --json >/dev/null 2>&1; do sleep 0.1; done
  python3 - "$bin/revsdctl" "$work" "$n" "$which" "$bare" >> "$work/runs.jsonl" <<'PY'
import json, os, subprocess, sys, time
ctl, work, n, which, bare = sys.argv[1:]
n = int(n)
def status():
    return json.loads(subprocess.run([ctl, "--socket", f"{work}/s.sock", "status", "--json"], capture_output=True, text=True, check=True).stdout)
names = sorted(os.listdir(f"{work}/staging"))
start = time.time()
for name in names:                     # dropped at once: one rename each
    os.rename(f"{work}/staging/{name}", f"{work}/watch/{name}")
dropped = time.time() - start
searchable_at = analysed_at = None
while analysed_at is None:
    s = status()
    now = time.time() - start
    if searchable_at is None and s.get("searchable", 0) >= n:
        searchable_at = now
    if s.get("analysed", 0) + s["failed"] >= n and s.get("analysis_queued", 1) == 0 and s["queued"] == 0:
        analysed_at = now
    if now > 3600:
        sys.exit("phases: not done after an hour")
    # Each poll starts a revsdctl process, which costs the daemon CPU: every
    # 20 ms until all are searchable (phase 1 takes seconds), then every 0.25 s.
    time.sleep(0.02 if searchable_at is None else 0.25)
s = status()
print(json.dumps({"build": which, "dropped": dropped, "searchable_at": searchable_at, "analysed_at": analysed_at,
                  "failed": s["failed"], "bare": json.loads(bare)["images_per_s"]}))
PY
  kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true
}

for r in $(seq "$rounds"); do
  [ -n "$before" ] && run before "$before"
  run now "$now"
done
python3 - "$work/runs.jsonl" "$n" "$gen" "$load_before" "$(python3 bench/results.py --machine)" "$(git rev-parse --short HEAD)" "$before" "$rounds" > "$work/report.md" <<'PY'
import json, sys
runs, n, gen, load_before, machine, commit, before, rounds = sys.argv[1:]
n = int(n); rounds = int(rounds)
runs = [json.loads(l) for l in open(runs)]
def best(which, key, fastest=min):
    vals = [r[key] for r in runs if r["build"] == which]
    return fastest(vals) if vals else None
builds = ["before", "now"] if before else ["now"]
load_after = open("/proc/loadavg").read().split()[:3]
print("## Two phases: labelled images searchable by their prompt, then analysed\n")
who = f"now: commit {commit}" + (f"; before: the release build in `{before}`, the same images first through it, the builds alternating for {rounds} round{'s' if rounds > 1 else ''}, best round of each" if before else "")
print(f"Run {machine}; {who}; release builds. Load average (1, 5, 15 min) before: {load_before}, after: {' '.join(load_after)}.\n")
print(f"{n:,} labelled PNGs, 512 × 512, with A1111 parameters, {n // 4:,} prompts × 4 seed variations (`revsd-bench synth --size 512 --variations 4`, "
      f"written in {gen} s), renamed one by one into the folder revsdd watches ({max(r['dropped'] for r in runs):.2f} s for all at most); status polled every 20 ms until all were searchable, then every 0.25 s (each poll is a revsdctl process). "
      f"revsdd as shipped: 2 workers, an empty configuration, the three EfficientNet-Lite encoders; a fresh state directory for each run.\n")
head = " | ".join(["measure"] + (["before", "now"] if before else ["revsd"]) + ["goal / peer"])
print(f"| {head} |")
print("|---|" + "---:|" * len(builds) + "---|")
def cells(f):
    return " | ".join(f(b) for b in builds)
print(f"| all {n:,} searchable by their prompt (phase 1) | " + cells(lambda b: f"{best(b, 'searchable_at'):.1f} s: **{n / best(b, 'searchable_at'):.0f} images/s**")
      + " | goal ≥ 200 images/s; Infinite Image Browsing's published figure, metadata only and no embeddings: about 440 images/s |")
print(f"| all {n:,} analysed (phase 2: decode, 3 encoders, prediction, thumbnail) | " + cells(lambda b: f"{best(b, 'analysed_at'):.1f} s: **{n / best(b, 'analysed_at'):.1f} images/s**")
      + " | goal ≥ 25 images/s |")
print("| the bare pipeline in-process (`revsd-bench analyze --threads 2`: decode, metadata, encoders, prediction, two files at a time, no thumbnail, nothing stored) on 200 of the same files, just before the daemon | "
      + cells(lambda b: f"{best(b, 'bare', max):.1f} images/s") + " | |")
print("| failed | " + cells(lambda b: f"{best(b, 'failed', max)}") + " | 0 |")
print()
print("Reproduce: `bench/phases.sh record [N] [BEFORE-BIN-DIR [ROUNDS]]`.")
PY
if [ -n "$record" ]; then python3 bench/results.py phases < "$work/report.md"; else cat "$work/report.md"; fi
