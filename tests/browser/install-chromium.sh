#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/browser), if it is not there yet.
# Playwright drives this system browser; it never downloads one (`playwright install` is not used).
# Never fails the build: if Chromium cannot be installed, it says why and the browser tests skip.
set -u

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" != "0" ]; then
    echo "install-chromium: $CHROMIUM is missing and this is not root, so it cannot be installed;" \
        "the browser tests will be skipped (as root: apt-get install chromium)." >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: $CHROMIUM is missing and there is no apt-get on this machine;" \
        "the browser tests will be skipped." >&2
    exit 0
fi

echo "install-chromium: installing Debian's chromium (about half a minute)..."
log=$(mktemp)
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>"$log" 2>&1 \
    && [ -x "$CHROMIUM" ]; then
    echo "install-chromium: installed $("$CHROMIUM" --version 2>/dev/null)"
else
    echo "install-chromium: could not install chromium; the browser tests will be skipped. Last lines of apt's output:" >&2
    tail -n 15 "$log" >&2
fi
rm -f "$log"
exit 0
