# Shared start of the web view's browser tests (tests/e2e_live*_browser_test.sh),
# sourced after tests/support/e2e.sh and rf_setup:
#   rf_live_start [LINES]  needs chromium, jq and curl (skips without them),
#                          starts a collector "live" on loopback with a
#                          1-second interval, /metrics and the web view, LINES
#                          added to its [metrics] table; sets $base to the
#                          server's root URL (http://127.0.0.1:PORT).
#   rf_browser ARGS...     Debian's chromium, headless, with a fresh profile,
#                          5 s of virtual time, a 1280x1400 window, its console
#                          logged to $work/chromium.log; ARGS as chromium's
#                          (--dump-dom URL, --screenshot=FILE URL).
#   rf_browser_clean       fails the test when chromium logged a console error,
#                          an uncaught exception or a failed request.
# shellcheck shell=bash

rf_live_start() {
  rf_need_tool chromium "Debian's chromium package"
  rf_need_tool jq "Debian's jq package"
  rf_need_tool curl "Debian's curl package"
  rf_start_toml live '[receive]
listen = ["127.0.0.1:0"]
[aggregate]
interval = 1
[output]
directory = "'"$work"'/live/out"
[metrics]
listen = "127.0.0.1:0"
'"${1:-}"'
[log]
stats_interval = 0'
  base=${RF_MURL%/metrics}
}

rf_browser() {
  local profile
  profile=$(mktemp -d "$work/chromium.XXXXXX")
  timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --enable-logging=stderr --v=0 \
    --user-data-dir="$profile" --virtual-time-budget=5000 --window-size=1280,1400 "$@" \
    2>>"$work/chromium.log"
}

rf_browser_clean() {
  if grep -E 'CONSOLE|Uncaught|Failed to load resource' "$work/chromium.log" | grep -Eiq 'error|uncaught|failed'; then
    grep -E 'CONSOLE|Uncaught|Failed to load' "$work/chromium.log" >&2
    fail "the page logged errors"
  fi
}
