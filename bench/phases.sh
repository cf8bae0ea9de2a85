#!/usr/bin/env bash
# Issue #13, two phases: N labelled images (default 2,000; 512 px PNGs with
# A1111 parameters written by the synthetic generator, 4 seed variations per
# prompt) dropped at once into the folder the real revsdd watches (one
# rename each), then the time until all are searchable by their prompt
# (phase 1: hash, metadata, the prompt's embedding) and until all are
# analysed (phase 2: decode, encoders, prediction, thumbnail); beside the
# bare in-process pipeline (revsd-bench analyze, one file after another, on
# 200 of the same files) in the same run. Release builds. With `record`,
# rewrites the "phases" section of bench/RESULTS.md.
#   bench/phases.sh [record] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
record=""; [ "${1:-}" = record ] && { record=1; shift; }
n="${1:-2000}"
for p in revsdd revsdctl revsd-bench; do swift build -c release --product "$p" >/dev/null; done
bin=.build/release
"$bin/revsdctl" models fetch >/dev/null
work="$(mktemp -d /tmp/revsd-phases.XXXXXX)"
trap 'kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
t0=$(date +%s.%N)
"$bin/revsd-bench" synth --out "$work/staging" --count "$n" --seed 11 --size 512 --variations 4 >/dev/null
gen=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
ls "$work"/staging/*.png | sed -n 1,200p > "$work/sample.txt"
bare="$("$bin/revsd-bench" analyze --images "$work/sample.txt")"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$work/watch"
: > "$work/revsdd.toml"
"$bin/revsdd" --watch "$work/watch" --state-dir "$work/state" --socket "$work/s.sock" --config "$work/revsdd.toml" > "$work/log" 2>&1 &
echo $! > "$work/pid"
until "$bin/revsdctl" --socket "$work/s.sock" status --json >/dev/null 2>&1; do sleep 0.1; done
python3 - "$bin/revsdctl" "$work" "$n" "$gen" "$bare" "$load_before" "$(python3 bench/results.py --machine)" "$(git rev-parse --short HEAD)" > "$work/report.md" <<'PY'
import json, os, subprocess, sys, time
ctl, work, n, gen, bare, load_before, machine, commit = sys.argv[1:]
n = int(n); bare = json.loads(bare)
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
load_after = open("/proc/loadavg").read().split()[:3]
print("## Two phases: labelled images searchable by their prompt, then analysed\n")
print(f"Run {machine}; commit {commit}; release builds. Load average (1, 5, 15 min) before: {load_before}, after: {' '.join(load_after)}.\n")
print(f"{n:,} labelled PNGs, 512 × 512, with A1111 parameters, {n // 4:,} prompts × 4 seed variations (`revsd-bench synth --size 512 --variations 4`, "
      f"written in {gen} s), renamed one by one into the folder revsdd watches ({dropped:.2f} s for all); status polled every 20 ms until all were searchable, then every 0.25 s (each poll is a revsdctl process). "
      f"revsdd as shipped: 2 workers, an empty configuration, the three EfficientNet-Lite encoders.\n")
print("| measure | revsd | goal / peer |")
print("|---|---:|---|")
print(f"| all {n:,} searchable by their prompt (phase 1) | {searchable_at:.1f} s: **{n / searchable_at:.0f} images/s** | goal ≥ 200 images/s; "
      "Infinite Image Browsing's published figure, metadata only and no embeddings: about 440 images/s |")
print(f"| all {n:,} analysed (phase 2: decode, 3 encoders, prediction, thumbnail) | {analysed_at:.1f} s: **{n / analysed_at:.1f} images/s** | goal ≥ 25 images/s |")
print(f"| the bare pipeline in-process (`revsd-bench analyze`: decode, metadata, encoders, prediction, one file after another, 1 thread) on 200 of the same files | {bare['images_per_s']:.1f} images/s | |")
print(f"| failed | {s['failed']} | 0 |")
print()
print("Reproduce: `bench/phases.sh record [N]`.")
PY
if [ -n "$record" ]; then python3 bench/results.py phases < "$work/report.md"; else cat "$work/report.md"; fi
