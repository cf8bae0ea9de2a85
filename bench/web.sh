#!/usr/bin/env bash
# The gallery's benchmark (issue #14): time to first byte and to a rendered results grid for
# a search at 10k and 100k synthetic images (curl and headless chromium against the real
# revsdd and revsd-web), each thumbnail from the cache and revalidated on a library of the
# sd-meta fixtures, the thumbnail cache's size per 1,000 images (driver: bench/web.py).
# Self-contained: everything is made in a temporary folder and removed. With `record`,
# rewrites the "web" section of bench/RESULTS.md.
#   bench/web.sh [record]
# REVSD_BIN=DIR: binaries to use (default .build/release, built when missing);
# REVSD_WEB_SIZES=10000,100000: the synthetic index sizes;
# REVSD_WEB_NOTE=FILE: markdown added to the report before its last line (findings of a run).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
fixtures=../shared/fixtures/sd-meta
prompts=../shared/fixtures/prompts/real-sd-prompts.tsv
for f in "$fixtures/expected.tsv" "$prompts"; do
    [ -f "$f" ] || { echo "web: skipped: $f (the shared fixtures) is absent" >&2; exit 0; }
done
for exe in /usr/bin/chromium /usr/bin/chromedriver /usr/bin/curl; do
    [ -x "$exe" ] || { echo "web: $exe is missing (Debian packages chromium, chromium-driver, curl)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || { echo "web: python3-selenium is missing" >&2; exit 1; }
bin="${REVSD_BIN:-.build/release}"
build=release; case "$bin" in *debug*) build=debug;; esac
for p in revsdd revsdctl revsd-web revsd-bench; do
    [ -x "$bin/$p" ] || { [ -z "${REVSD_BIN:-}" ] && swift build -c release --product "$p" >/dev/null; } || { echo "web: $bin/$p is missing" >&2; exit 1; }
done
"$bin/revsdctl" models fetch >/dev/null
work="$(mktemp -d /tmp/revsd-web-bench.XXXXXX)"; trap 'rm -rf "$work"' EXIT
/usr/bin/python3 bench/web.py --bin "$bin" --build "$build" --fixtures "$fixtures" --prompts "$prompts" --work "$work/run" \
    --sizes "${REVSD_WEB_SIZES:-10000,100000}" \
    --machine "$(python3 bench/results.py --machine)" --commit "$(git rev-parse --short HEAD)" > "$work/report.md"
if [ -n "${REVSD_WEB_NOTE:-}" ]; then
    { sed '$d' "$work/report.md"; cat "$REVSD_WEB_NOTE"; echo; tail -n 1 "$work/report.md"; } > "$work/noted.md"
    mv "$work/noted.md" "$work/report.md"
fi
if [ "${1:-}" = record ]; then python3 bench/results.py web < "$work/report.md"; else cat "$work/report.md"; fi
echo "web: took $(( $(date +%s) - start )) s" >&2
