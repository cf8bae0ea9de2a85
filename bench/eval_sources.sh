#!/usr/bin/env bash
# `revsdctl eval` on a held-out folder from other sources than the library
# (issue #12): a real revsdd watches a temporary folder holding the fixtures
# of some front-ends (../shared/fixtures/sd-meta, files named
# `<front-end>__…`), trains, and evaluates a folder of the other front-ends'
# fixtures. Images under 32 px on a side (the 1×1 fixtures) are left out of
# both sides. Prints the library, then every row of the eval table (each
# learned row, the ensemble, the constant, zero-shot) and the excluded counts.
# Does not write bench/RESULTS.md.
#   bench/eval_sources.sh [library-front-ends, comma-separated; default enslo]
# REVSD_CONFIGURATION=debug uses the debug build (the numbers are the same;
# inference and learning are optimised in debug builds too); REVSD_BIN=DIR
# uses the revsdd and revsdctl there instead (an earlier build, to compare).
set -euo pipefail
cd "$(dirname "$0")/.."
sources="${1:-enslo}"
configuration="${REVSD_CONFIGURATION:-release}"
fixtures="../shared/fixtures/sd-meta"
[ -f "$fixtures/expected.tsv" ] || { echo "bench/eval_sources.sh: $fixtures/expected.tsv is absent (the shared fixtures are needed)" >&2; exit 1; }
if [ -n "${REVSD_BIN:-}" ]; then
  bin="$(cd "$REVSD_BIN" && pwd)"
else
  swift build -c "$configuration" --product revsdd >/dev/null
  swift build -c "$configuration" --product revsdctl >/dev/null
  bin="$PWD/.build/$configuration"
fi
"$bin/revsdctl" models fetch >/dev/null

work="$(mktemp -d)"; trap 'kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/library" "$work/eval"
# expected.tsv: filename, container, width, height, … (header first).
# Files in sub-folders (negative-controls/: no prompt) are left out.
awk -F'\t' 'NR > 1 && $3 >= 32 && $4 >= 32 && $1 !~ /\// {print $1}' "$fixtures/expected.tsv" | while read -r f; do
  [ -f "$fixtures/$f" ] || continue
  prefix="${f%%__*}"
  if [[ ",$sources," == *",$prefix,"* ]]; then cp "$fixtures/$f" "$work/library/"; else cp "$fixtures/$f" "$work/eval/"; fi
done
count="$(ls "$work/library" | wc -l)"
echo "library: $count files of $sources; evaluated: $(ls "$work/eval" | wc -l) files of the other front-ends ($(ls "$work/eval" | sed 's/__.*//' | sort -u | tr '\n' ' '))"

sock="$work/s.sock"
printf '[learning]\nretrain_after = 0\n' > "$work/config.toml"
"$bin/revsdd" --watch "$work/library" --state-dir "$work/state" --socket "$sock" --config "$work/config.toml" >"$work/log" 2>&1 &
echo $! > "$work/pid"
until "$bin/revsdctl" status --socket "$sock" --json >/dev/null 2>&1; do sleep 0.2; done
until [ "$("$bin/revsdctl" status --socket "$sock" --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(int(s["queued"]==0 and s.get("analysis_queued", 0)==0 and s["indexed"]+s["failed"]>='"$count"'))')" = 1 ]; do sleep 0.5; done
"$bin/revsdctl" train --socket "$sock" --json > "$work/train.json"
echo "train: $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$work/train.json" | cut -c1-400)"
"$bin/revsdctl" eval --socket "$sock" "$work/eval" 2>"$work/eval.err" || { cat "$work/eval.err" >&2; exit 1; }
grep -c . "$work/eval.err" >/dev/null && echo "($(grep -c 'revsdctl:' "$work/eval.err") evaluated files left out by revsdctl: $(sed 's/^revsdctl: //' "$work/eval.err" | cut -c1-120 | sort -u | head -3 | tr '\n' ';'))" || true
kill -TERM "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true
