#!/usr/bin/env bash
# The browser test's packages (Tests/Browser/gallery_browser.py): Debian's
# chromium, its WebDriver and selenium. Test-only: revsd never needs them.
set -euo pipefail
packages=(chromium chromium-driver python3-selenium)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
