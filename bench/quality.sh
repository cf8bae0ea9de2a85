#!/usr/bin/env bash
# Quality before and after a change, in one run (issue #13: "no change in
# quality"): `revsdctl eval` with two builds on the same data —
#  - the generated set (N labelled synthetic images as the library, M
#    held-out stripped ones evaluated);
#  - ../shared/fixtures/sd-meta split by file hash (as bench/learning.sh);
#  - the fixtures split by prompt (no prompt on both sides: issue #12);
#  - the fixtures split by prompt family (no near-identical prompt on both
#    sides: what the library's own grouped folds see, `split_fixtures`);
#  - the first 40 fixtures by name as the library, the next 40 held out (a
#    user who trains on one batch and asks about the next: most held-out
#    files share a library prompt as other pictures).
# BEFORE is the bin directory of an earlier release build (e.g. a worktree
# of the commit before the change, built with `swift build -c release`).
# With `record`, rewrites the "quality" section of bench/RESULTS.md.
#   bench/quality.sh [record] BEFORE-BIN-DIR [N] [M]
set -euo pipefail
cd "$(dirname "$0")/.."
record=""; [ "${1:-}" = record ] && { record=1; shift; }
before="${1:?usage: bench/quality.sh [record] BEFORE-BIN-DIR [N] [M]}"; n="${2:-500}"; m="${3:-100}"
before="$(cd "$before" && pwd)"
for p in revsdd revsdctl revsd-bench; do swift build -c release --product "$p" >/dev/null; done
now="$PWD/.build/release"
"$now/revsdctl" models fetch >/dev/null
work="$(mktemp -d)"; trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/eval_lib.sh

"$now/revsd-bench" synth --out "$work/gen-lib" --count "$n" --seed 1 >/dev/null
"$now/revsd-bench" synth --out "$work/gen-eval" --count "$m" --seed 2 --stripped >/dev/null
sets="generated"
if [ -d ../shared/fixtures/sd-meta ]; then
  split_fixtures hash "$work/fxh-lib" "$work/fxh-eval" > "$work/fxh.count"
  split_fixtures prompt "$work/fxp-lib" "$work/fxp-eval" > "$work/fxp.count"
  split_fixtures family "$work/fxf-lib" "$work/fxf-eval" > "$work/fxf.count"
  split_fixtures order "$work/fxu-lib" "$work/fxu-eval" > "$work/fxu.count"
  sets="generated fxh fxp fxf fxu"
else
  echo "quality: ../shared/fixtures/sd-meta is absent; only the generated set is measured" >&2
fi
for which in before now; do
  bin="$before"; [ "$which" = now ] && bin="$now"
  evaluate "$bin" "$which-generated" "$work/gen-lib" "$work/gen-eval" "$n"
  for s in fxh fxp fxf fxu; do
    [ -f "$work/$s.count" ] && evaluate "$bin" "$which-$s" "$work/$s-lib" "$work/$s-eval" "$(cat "$work/$s.count")"
  done
done
python3 - "$work" "$n" "$m" "$sets" "$before" "$(git rev-parse --short HEAD)" "$(python3 bench/results.py --machine)" > "$work/report.md" <<'PY'
import json, os, sys
work, n, m, sets, before, commit, machine = sys.argv[1:]
titles = {"generated": f"generated set ({n} labelled, {m} held-out stripped)",
          "fxh": "fixtures, split by file hash", "fxp": "fixtures, split by prompt (none on both sides)",
          "fxf": "fixtures, split by prompt family (no near-identical prompt on both sides)",
          "fxu": "fixtures, the first 40 by name as the library, the next 40 held out"}
print("## Quality before and after: `revsdctl eval` with two builds, same data\n")
print(f"Run {machine}. Before: the release build in `{before}`; now: commit {commit}. Release builds.\n")
print("| set | build | images | ensemble | best member | zero-shot | constant | 1-NN caption cosine | adopted |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
for s in sets.split():
    for which in ("before", "now"):
        ev = json.load(open(os.path.join(work, f"{which}-{s}.eval.json")))
        tr = json.load(open(os.path.join(work, f"{which}-{s}.train.json")))
        best = max(ev["rows"], key=lambda r: r["mean_cosine"])
        zs = ev.get("zero_shot", {}).get("mean_cosine")
        adopted = "yes" if tr.get("adopted", True) else "no: " + tr.get("not_adopted_reason", "")
        print(f"| {titles[s]} | {which} | {ev['images']} | **{ev['ensemble']['mean_cosine']:.4f}** | {best['mean_cosine']:.4f} "
              f"({best['encoder']} {best['head']}) | {zs:.4f} | {ev['constant']['mean_cosine']:.4f} | {ev['caption']['mean_cosine']:.4f} | {adopted} |"
              if zs is not None else
              f"| {titles[s]} | {which} | {ev['images']} | **{ev['ensemble']['mean_cosine']:.4f}** | {best['mean_cosine']:.4f} "
              f"({best['encoder']} {best['head']}) | – | {ev['constant']['mean_cosine']:.4f} | {ev['caption']['mean_cosine']:.4f} | {adopted} |")
print(f"\nReproduce: `bench/quality.sh BEFORE-BIN-DIR [{n}] [{m}]`.")
PY
cat "$work/report.md"
[ -n "$record" ] && python3 bench/results.py quality < "$work/report.md"
exit 0
