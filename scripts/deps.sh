#!/usr/bin/env bash
# Installs the Debian 12 packages revsd builds against (the Swift 6 toolchain
# itself is expected on PATH, e.g. /opt/swift/usr/bin).
set -euo pipefail
packages=(libopenblas-dev libdnnl-dev libsystemd-dev zlib1g-dev libpng-dev libturbojpeg0-dev libwebp-dev pkg-config python3-pip wordnet-base)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null || { echo "deps: swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }
