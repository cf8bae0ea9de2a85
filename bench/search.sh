#!/usr/bin/env bash
# Search at 100k and 1M images, the index as it is and the float32 exact
# scan (--exact), and the index's part of the daemon's start at 1M images
# (a store written once to $db, then read row by row and in bulk). Prints
# one JSON line per run; the search section of bench/RESULTS.md is written
# from them by hand. About 15 minutes on 2 cores (the 1M store: 3 minutes
# and 2.9 GB the first time).
#
#   bench/search.sh [store path]
set -euo pipefail
cd "$(dirname "$0")/.."
db="${1:-/tmp/revsd-search-1m.sqlite}"
swift build -c release --product revsd-bench >/dev/null
python3 bench/results.py --machine
for n in 100000 1000000; do
    for way in "" "--exact"; do
        echo "load $(cut -d' ' -f1 /proc/loadavg)" >&2
        .build/release/revsd-bench search --n "$n" --queries 200 $way
    done
done
for way in rows bulk; do .build/release/revsd-bench searchstart --n 1000000 --db "$db" --way "$way"; done
