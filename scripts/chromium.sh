#!/usr/bin/env bash
# Makes sure Debian's chromium and chromium-driver are installed (apt-get, as root) for the console's
# browser tests (tests/e2e/test_console.py). Nothing is downloaded at test time: selenium is given
# /usr/bin/chromedriver.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: installing chromium and chromium-driver (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; } >&2 \
        || { echo "chromium.sh: apt-get install chromium chromium-driver failed" >&2; exit 1; }
    exit 0
fi
echo "chromium.sh: chromium and chromedriver are required (apt-get install chromium chromium-driver)" >&2
exit 1
