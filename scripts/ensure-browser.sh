#!/usr/bin/env bash
# Make sure a headless browser and its WebDriver are here for the browser tests (tests/browser/):
# Debian's chromium and chromium-driver, installed with apt-get when missing and we may (root).
# Selenium is pointed at /usr/bin/chromedriver and never downloads a browser or driver itself.
set -euo pipefail
browser=${SAFETHINK_TEST_CHROMIUM:-/usr/bin/chromium}
driver=${SAFETHINK_TEST_CHROMEDRIVER:-/usr/bin/chromedriver}

present() { [ -x "$browser" ] && [ -x "$driver" ]; }

present && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
present && exit 0
echo "the browser tests need chromium and its driver ($browser, $driver):" >&2
echo "  on Debian/Ubuntu: sudo apt-get install chromium chromium-driver" >&2
echo "  elsewhere: install Chromium and the matching chromedriver, and set" >&2
echo "  SAFETHINK_TEST_CHROMIUM and SAFETHINK_TEST_CHROMEDRIVER to their paths" >&2
exit 1
