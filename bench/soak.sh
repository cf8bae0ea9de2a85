#!/usr/bin/env bash
# Randomised soak test of the real revsdd on a temporary library (driver:
# bench/soak.py; what it does and the invariants it checks are described
# there). Images: labelled synthetic PNGs from `revsd-bench synth`.
# Prints `soak: N passed, M failed` and exits 1 on a violation. With `record`,
# the run is appended to the soak section of bench/RESULTS.md.
# Usage: bench/soak.sh [seconds, default 600] [seed, default 1] [record]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
seed="${2:-1}"
record="${3:-}"
bin="${REVSD_BIN:-.build/debug}"
for p in revsdd revsdctl revsd-bench; do
    [ -x "$bin/$p" ] || swift build --product "$p" >/dev/null
done
"$bin/revsdctl" models fetch >/dev/null
# Bursts of 500 files in the long run; a CI-sized run indexes smaller ones.
burst=500; every=12
if [ "$seconds" -lt 300 ]; then burst=60; every=8; fi
work="$(mktemp -d /tmp/revsd-soak.XXXXXX)"
keep=0
trap '[ "$keep" = 1 ] || rm -rf "$work"' EXIT
"$bin/revsd-bench" synth --out "$work/pool" --count 48 --seed "$seed" >/dev/null
rc=0
python3 bench/soak.py "$seconds" "$seed" --bin "$bin" --pool "$work/pool" --work "$work" \
    --burst "$burst" --check-every "$every" 2>&1 | tee "$work/soak.out" || rc=$?
if [ "$rc" -ne 0 ]; then
    keep=1
    echo "soak: failed (seed $seed); library, state and revsdd.log kept in $work" >&2
fi
if [ "$record" = record ]; then
    python3 - "$seconds" "$seed" "$rc" "$work/soak.out" "$(python3 bench/results.py --machine)" <<'PY'
import re, sys, os
seconds, seed, rc, out, machine = sys.argv[1:]
lines = open(out).read().splitlines()
summary = next((l for l in reversed(lines) if l.startswith("soak: ") and "passed" in l), "soak: no summary")
opsline = next((l for l in lines if l.startswith("soak: operations:")), "")
kinds = [("I1 did not settle", "did not settle"), ("I1 queued ≠ 0", "I1 queued ="), ("I1 failed ≠ 0", "I1 failed ="),
         ("I1 indexed ≠ files", "I1 status indexed"), ("I2 path gone from disk", "not on disk"),
         ("I2 path twice", "more than once"), ("I2 fewer than min(k, entries) results", "results, expected"),
         ("I3 file on disk missing", "missing:")]
counts = {name: 0 for name, _ in kinds}
check_lines = []
for l in lines + ["soak: check end"]:
    if l.startswith("soak: check"):
        for name, needle in kinds:
            if any(needle in c for c in check_lines): counts[name] += 1
        check_lines = []
    elif l.startswith("  I"):
        check_lines.append(l)
found = "; ".join(f"{name}: {n} check(s)" for name, n in counts.items() if n) or "no violation"
path = os.path.join("bench", "RESULTS.md")
text = open(path).read()
entry = f"- {machine}; `bench/soak.sh {seconds} {seed}`: **{summary[6:]}**. {opsline[6:].strip()}. Failed checks by invariant: {found}.\n"
begin = "<!-- soak:begin (written by bench/soak.sh) -->"
if begin not in text:
    text = text.rstrip() + f"\n\n{begin}\n## Soak: random file operations, reindex, train and restarts against revsdd\n\nInvariants (bench/soak.py): I1 status queued = failed = 0 and indexed = image files on disk; I2 `search --json -k N` (N = 1, 10, 100, 1000) lists no path gone from disk and none twice, and min(N, entries) results; I3 with k = 1000 every file on disk appears. Runs, newest last:\n\n<!-- soak:end -->\n"
text = text.replace("<!-- soak:end -->", entry + "<!-- soak:end -->")
open(path, "w").write(text)
PY
fi
exit "$rc"
