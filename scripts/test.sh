#!/usr/bin/env bash
# Runs the whole test suite on a fresh clone: system packages, the models the
# golden tests compare against (pinned, verified; a no-op when installed),
# then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
.build/debug/revsdctl models fetch
# The test process runs the OpenBLAS kernels this CPU warrants, as revsd's
# executables do (Daemon/BLASKernels.swift: Debian 12's OpenBLAS falls back to
# SSE3 kernels on CPUs newer than it); the test of that restart unsets it.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    OPENBLAS_CORETYPE="$(.build/debug/revsd-bench blas | sed -n 's/.*"kernels":"\([^"]*\)".*/\1/p')"
    export OPENBLAS_CORETYPE
fi
if [ ! -d ../shared/fixtures ]; then
    echo "test: ../shared/fixtures is absent: tests on the shared fixtures will be skipped, each with its reason" >&2
fi
swift test --skip-build
# Issue #14: the gallery in a real browser (Debian's chromium, driven by
# selenium through chromium-driver), installed here for the tests only; the
# test skips with its reason where they cannot be installed.
scripts/browser-deps.sh || echo "browser test: chromium could not be installed; the test will say it is skipped" >&2
Tests/Browser/gallery_browser.py --bin .build/debug
# Issue #11: each libFuzzer target for 60 s (its own build in .build-fuzz);
# a crash fails the run.
bench/fuzz.sh 60
# Issue #11: the randomised soak against the real revsdd, 60 s on seed 1
# (REVSD_SOAK_SEED for another); a violated invariant fails the run and
# keeps the library, state and log. REVSD_SOAK=0 skips it (say so when you do).
if [ "${REVSD_SOAK:-1}" = 1 ]; then bench/soak.sh 60 "${REVSD_SOAK_SEED:-1}"; else echo "soak: skipped (REVSD_SOAK=0)"; fi
# The install target, into a scratch root.
root="$(mktemp -d)"
make install DESTDIR="$root" >/dev/null
for f in usr/local/bin/revsdd usr/local/bin/revsdctl usr/local/bin/revsd-web etc/systemd/system/revsdd.service etc/systemd/system/revsdd.socket \
         etc/systemd/system/revsd-web.service etc/systemd/system/revsd-web.socket etc/systemd/system/revsd-web-proxy.service \
         usr/local/lib/systemd/user/revsdd.service usr/local/lib/systemd/user/revsd-web.socket etc/revsd/revsdd.toml \
         usr/local/share/bash-completion/completions/revsdctl; do
    [ -e "$root/$f" ] || { echo "make install: $f is missing" >&2; exit 1; }
done
[ "$(stat -c %a "$root/etc/revsd/web-token")" = 640 ] && [ "$(wc -c < "$root/etc/revsd/web-token")" = 64 ] \
    || { echo "make install: etc/revsd/web-token is not 64 hex characters of mode 0640" >&2; exit 1; }
rm -rf "$root"
echo "make install: ok"
