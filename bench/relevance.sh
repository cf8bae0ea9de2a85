#!/usr/bin/env bash
# Relevance benchmark of revsd's search (issue #12): a library of the sd-meta fixtures
# (~60 % with their metadata, the rest and 40 synthetic images stripped), the queries of
# bench/relevance_queries.tsv, nDCG@10 / P@5 of revsd before and after `revsdctl train`
# against BM25-only, known-prompts-only MiniLM and an oracle, all in one run (driver:
# bench/relevance.py). With `record`, rewrites the relevance section of bench/RESULTS.md.
#   bench/relevance.sh [record]
# REVSD_RELEVANCE_NOTE=FILE: markdown added to the report before its last line (what a change
# tried, measured by earlier runs). REVSD_RELEVANCE_KEEP=DIR: keep the index before and after
# training there, with each image's truth (bench/relevance_replay.py DIR replays ranking rules on it).
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=../shared/fixtures/sd-meta
if [ ! -f "$fixtures/expected.tsv" ]; then
    echo "relevance: skipped: $fixtures (the shared SD fixtures) is absent" >&2; exit 0
fi
# The peer's virtual environment (bench/minilm.sh makes it); in a git worktree, the main checkout's.
venv="${REVSD_VENV:-bench/.venv}"
[ -x "$venv/bin/python" ] || venv="$(git rev-parse --git-common-dir)/../bench/.venv"
[ -x "$venv/bin/python" ] || { echo "relevance: $venv (torch, sentence-transformers) is missing; see bench/minilm.sh" >&2; exit 1; }
bin="${REVSD_BIN:-.build/debug}"
for p in revsdd revsdctl revsd-bench; do [ -x "$bin/$p" ] || swift build --product "$p" >/dev/null; done
"$bin/revsdctl" models fetch >/dev/null
model="$("$bin/revsdctl" models list --json | python3 -c 'import json,sys; print(next(m["path"] for m in json.load(sys.stdin)["models"] if m["model"] == "all-MiniLM-L6-v2"))')"
work="$(mktemp -d /tmp/revsd-relevance.XXXXXX)"; trap 'rm -rf "$work"' EXIT
"$bin/revsd-bench" synth --out "$work/synth" --count 40 --seed 7 --stripped >/dev/null
"$venv/bin/python" bench/relevance.py --bin "$bin" --fixtures "$fixtures" --synth "$work/synth" \
    --queries bench/relevance_queries.tsv --model "$model" --work "$work" \
    --machine "$(python3 bench/results.py --machine)" --commit "$(git rev-parse --short HEAD)" \
    ${REVSD_RELEVANCE_KEEP:+--keep "$REVSD_RELEVANCE_KEEP"} > "$work/report.md"
if [ -n "${REVSD_RELEVANCE_NOTE:-}" ]; then
    { sed '$d' "$work/report.md"; cat "$REVSD_RELEVANCE_NOTE"; echo; tail -n 1 "$work/report.md"; } > "$work/noted.md"
    mv "$work/noted.md" "$work/report.md"
fi
if [ "${1:-}" = record ]; then python3 bench/results.py relevance < "$work/report.md"; else cat "$work/report.md"; fi
