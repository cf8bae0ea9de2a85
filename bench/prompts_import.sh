#!/usr/bin/env bash
# Benchmark of `revsdctl prompts import` (issue #13): a real revsdd on a fresh
# temporary state dir (learning on, nothing watched), the corpus imported
# through revsdctl, timed end to end (reading the file, the requests,
# embedding, SQLite); then the same file again (every prompt already in the
# bank: the dedupe path). Prints prompts/s for both.
#
#   bench/prompts_import.sh [bin-dir] [corpus]
#
# bin-dir: where revsdd and revsdctl are (default: .build/release, built
# first). corpus: default ../shared/fixtures/prompts/real-sd-prompts.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
corpus="${2:-../shared/fixtures/prompts/real-sd-prompts.tsv}"
if [ -z "$bin" ]; then
    swift build -c release --product revsdd >/dev/null  # one --product per call: SwiftPM builds only the last one given
    swift build -c release --product revsdctl >/dev/null
    bin="$PWD/.build/release"
fi
[ -f "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 1; }

work="$(mktemp -d)"; trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/watch" "$work/state"
printf '[learning]\nretrain_after = 0\n' > "$work/revsd.toml"
"$bin/revsdd" --watch "$work/watch" --state-dir "$work/state" --socket "$work/s.sock" --config "$work/revsd.toml" >"$work/log" 2>&1 &
echo $! > "$work/pid"
until "$bin/revsdctl" status --socket "$work/s.sock" --json >/dev/null 2>&1; do sleep 0.2; done

run() {  # label
    local t0 t1 out
    t0=$(date +%s.%N)
    out="$("$bin/revsdctl" prompts import --socket "$work/s.sock" --json "$corpus")"
    t1=$(date +%s.%N)
    python3 - "$1" "$out" "$(echo "$t1 - $t0" | bc)" <<'PY'
import json, sys
r = json.loads(sys.argv[2]); s = float(sys.argv[3])
print(f"{sys.argv[1]}: read {r['read']}, added {r['added']}, bank {r['prompt_bank']}: {s:.1f} s, {r['read'] / s:.0f} prompts/s")
PY
}
echo "load before: $(cut -d" " -f1-3 /proc/loadavg)"
run "fresh bank"
run "again (all already in the bank)"
echo "load after: $(cut -d" " -f1-3 /proc/loadavg)"
