#!/usr/bin/env bash
# Runs the whole test suite on a fresh clone: system packages, the models the
# golden tests compare against (pinned, verified; a no-op when installed),
# then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
.build/debug/revsdctl models fetch
if [ ! -d ../shared/fixtures ]; then
    echo "test: ../shared/fixtures is absent: tests on the shared fixtures will be skipped, each with its reason" >&2
fi
swift test --skip-build
