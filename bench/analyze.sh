#!/usr/bin/env bash
# Phase 2's work in-process, before and after a change, in one run: the bare
# pipeline (`revsd-bench analyze`: decode, metadata, the three EfficientNet
# encoders, prediction, known-prompt embedding) over the same N labelled
# 512 px synthetic images, with 1 thread (one file after another, each pass
# split over the cores) and with 2 threads (two files at once, as the
# daemon's two phase-2 workers run them), alternating the two builds for
# ROUNDS rounds; the best round of each is reported.
# BEFORE is the bin directory of an earlier release build of revsd-bench.
# With `record`, rewrites the "analyze" section of bench/RESULTS.md.
#   bench/analyze.sh [record] BEFORE-BIN-DIR [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
record=""; [ "${1:-}" = record ] && { record=1; shift; }
before="${1:?usage: bench/analyze.sh [record] BEFORE-BIN-DIR [N] [ROUNDS]}"; n="${2:-200}"; rounds="${3:-3}"
before="$(cd "$before" && pwd)"
swift build -c release --product revsd-bench >/dev/null
now="$PWD/.build/release"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
"$now/revsd-bench" synth --out "$work/img" --count "$n" --seed 11 --size 512 --variations 4 >/dev/null
ls "$work"/img/*.png > "$work/list.txt"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for which in before now; do
    bin="$before"; [ "$which" = now ] && bin="$now"
    for t in 1 2; do echo "{\"build\":\"$which\",\"round\":$r,\"run\":$("$bin/revsd-bench" analyze --images "$work/list.txt" --threads "$t")}" >> "$work/runs.jsonl"; done
  done
done
python3 - "$work/runs.jsonl" "$n" "$before" "$(git rev-parse --short HEAD)" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(python3 bench/results.py --machine)" > "$work/report.md" <<'PY'
import json, sys
runs, n, before, commit, lb, la, machine = sys.argv[1:]
best = {}
for line in open(runs):
    r = json.loads(line); key = (r["build"], r["run"]["threads"])
    best[key] = max(best.get(key, 0), r["run"]["images_per_s"])
print("## Phase 2's work in-process, before and after (`revsd-bench analyze`)\n")
print(f"Run {machine}; now: commit {commit}; before: the release build in `{before}`. Load average before: {lb}, after: {la}.\n")
print(f"{n} labelled 512 × 512 PNGs (`revsd-bench synth --size 512 --variations 4`): decode, metadata, the three EfficientNet-Lite encoders, the prediction and the known prompt's embedding, no thumbnail; best of the rounds, the builds alternating.\n")
print("| threads | before (images/s) | now (images/s) | now / before |")
print("|---:|---:|---:|---:|")
for t in (1, 2):
    b, a = best[("before", t)], best[("now", t)]
    print(f"| {t} | {b:.1f} | {a:.1f} | {a / b:.2f}× |")
print("\nReproduce: `bench/analyze.sh BEFORE-BIN-DIR [N] [ROUNDS]`.")
PY
cat "$work/report.md"
[ -n "$record" ] && python3 bench/results.py analyze < "$work/report.md" >/dev/null
exit 0
