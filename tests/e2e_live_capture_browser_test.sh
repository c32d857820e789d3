#!/usr/bin/env bash
# The Capture page as a browser renders it (issue 24; docs/api.md,
# "Capture"): Debian's chromium, headless, loads http://<metrics.listen>/#capture
# from a collector keeping the last 10 datagrams per stream, fed by
# ringflow-gen (v5 and IPFIX). Each stream's row shows what GET
# /api/v1/capture says (id, format, captured, kept), and its download link
# is the API's pcap path, which serves a pcap file (its magic) holding the
# kept frames (tshark counts them). The page logs no console error and no
# failed request; a screenshot is kept in the work directory (KEEP=1 keeps
# it after a pass).
#
# Usage: e2e_live_capture_browser_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
# shellcheck source=tests/support/live_browser.sh
. "$(dirname "$0")/support/live_browser.sh"
rf_need_tool tshark "Debian's tshark package"
rf_live_start 'capture_datagrams = 10'
api() { curl -fsS -m 5 "$base/api/v1/$1"; }

"$gen" --target "127.0.0.1:$RF_PORT" --protocol v5 --pps 0 --count 600 --seed 3 --quiet \
  --truth "$work/v5.tsv"
"$gen" --target "127.0.0.1:$RF_PORT" --protocol ipfix --pps 0 --count 200 --seed 4 --quiet \
  --truth "$work/ipfix.tsv"
want=$(($(rf_truth_total "$work/v5.tsv" datagrams) + $(rf_truth_total "$work/ipfix.tsv" datagrams)))
all_in() { [ "$(api capture | jq .captured)" = "$want" ]; }
rf_wait 20 "$want datagrams captured" all_in || fail "captured $(api capture | jq -c .)"
list=$(api capture)
[ "$(jq '.streams | length' <<<"$list")" = 2 ] || fail "two streams expected: $list"

rf_browser --dump-dom "$base/#capture" >"$work/capture.html" ||
  fail "chromium --dump-dom failed: $(tail -5 "$work/chromium.log")"
rf_browser --screenshot="$work/capture.png" "$base/#capture" >/dev/null ||
  fail "chromium --screenshot failed: $(tail -5 "$work/chromium.log")"
[ -s "$work/capture.png" ] || fail "no screenshot"
echo "screenshot: $work/capture.png"
rf_browser_clean
grep -q '<section id="page-capture" data-rendered="[0-9]' "$work/capture.html" ||
  fail "the Capture page did not render: $(grep -o '<div id="capture-status"[^<]*' "$work/capture.html")"
grep -Eq '<body [^>]*class="([^"]* )?view-capture[ "]' "$work/capture.html" ||
  fail "#capture did not switch the view: $(grep -o '<body[^>]*>' "$work/capture.html")"
for id in $(jq -r '.streams[].id' <<<"$list"); do
  s=$(jq -c --arg id "$id" '.streams[] | select(.id == $id)' <<<"$list")
  row=$(grep -o "<tr data-id=\"$id\">.*" "$work/capture.html" | sed 's#</tr>.*##')
  [ -n "$row" ] || fail "no row for $id on the page"
  cells=$(sed -E 's#<[^>]*>#|#g; s#\|+#|#g; s#^\|##; s#\|$##' <<<"$row" | cut -d'|' -f1-4)
  [ "$cells" = "$(jq -r '[.id, .format, .captured, .kept] | map(tostring) | join("|")' <<<"$s")" ] ||
    fail "$id: the page shows '$cells', the API $s"
  href=$(grep -o 'href="[^"]*"' <<<"$row" | head -1 | sed 's/^href="//; s/"$//')
  [ "$href" = "$(jq -r .pcap <<<"$s")" ] || fail "$id: link $href, API $(jq -r .pcap <<<"$s")"
  curl -fsS -m 5 -o "$work/$id.pcap" "$base$href" || fail "$id: $href not served"
  [ "$(head -c 4 "$work/$id.pcap" | od -An -tx1 | tr -d ' ')" = 4d3cb2a1 ] ||
    fail "$id: not a pcap file"
  n=$(tshark -r "$work/$id.pcap" -T fields -e frame.number 2>/dev/null | wc -l)
  [ "$n" = "$(jq .kept <<<"$s")" ] || fail "$id: $n frames in the file, the page says $(jq .kept <<<"$s") kept"
  echo "$id: $cells, $n frames in $href"
done
echo "PASS"
