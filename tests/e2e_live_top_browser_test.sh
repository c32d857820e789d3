#!/usr/bin/env bash
# The Top page as a browser renders it (issue 24 item 1 "Top"; docs/api.md):
# Debian's chromium, headless, loads /#top?by=...&sort=... from a running
# collector that has received ringflow-gen's v5 and v9 (sampled) traffic,
# runs the page's script (virtual time: 5 s) and dumps the DOM. For two
# projection/sort pairs, every row of the table (rank, key fields, bytes,
# packets, flows) must equal GET /api/v1/top's rows for the same
# parameters, and those must hold the truth's flows; the time-series chart
# must have been drawn by dygraphs (its title is in the DOM). The test fails
# on any script error the page caught (data-js-error) and on any console
# message chromium logged. A screenshot of the page is saved in the test's
# work directory (KEEP=1 keeps it after a pass).
#
# Usage: e2e_live_top_browser_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
# shellcheck source=tests/support/live_browser.sh
. "$(dirname "$0")/support/live_browser.sh"
rf_live_start 'top_intervals = 600'
api() { curl -fsS -m 5 "$base/api/v1/top?$1"; }

"$gen" --target "127.0.0.1:$RF_PORT" --pps 800 --duration 1 --seed 5 --keys 100 --quiet \
  --truth "$work/t5.tsv"
"$gen" --target "127.0.0.1:$RF_PORT" --protocol v9 --samplers 10 --ipv6-share 0.3 --pps 800 \
  --duration 1 --seed 6 --keys 100 --quiet --truth "$work/t9.tsv"
fl=$(($(rf_truth_total "$work/t5.tsv" flows) + $(rf_truth_total "$work/t9.tsv" flows)))
flushed() { [ "$(api "intervals=600" | jq .totals.flows)" = "$fl" ]; }
rf_wait 30 "the Top API holds the truth's $fl flows" flushed ||
  fail "the Top API's totals $(api "intervals=600" | jq -c .totals), truth $fl flows"


for case in "src_addr packets" "key bytes"; do
  read -r by sort <<<"$case"
  q="by=$by&sort=$sort&intervals=600&limit=15"
  rf_browser --dump-dom "$base/#top?$q" >"$work/dom.$by.html" ||
    fail "chromium --dump-dom failed: $(tail -5 "$work/chromium.log")"
  o=$(api "$q")
  grep -q "<section class=\"page\" id=\"page-top\" data-rendered=\"[0-9]*:$by:$sort\"" "$work/dom.$by.html" ||
    fail "$by/$sort: the Top page did not render an answer: $(grep -o '<div id="top-status"[^<]*' "$work/dom.$by.html")"
  ! grep -o 'data-js-error="[^"]*"' "$work/dom.$by.html" || fail "$by/$sort: a script error on the page"
  # The table: one line per row, its cells separated by spaces.
  grep -o '<tr data-rank="[0-9]*">.*</tr>' "$work/dom.$by.html" | sed 's#</tr>#\n#g' |
    sed -E 's#<tr data-rank="[0-9]*">##; s#<td[^>]*>([^<]*)</td>#\1 #g; s# $##' | grep -v '^$' |
    awk '{ NF = NF - 1; print }' >"$work/page.$by"
  jq -r '.rows | to_entries[] | "\(.key + 1) \(.value.key | [.[]] | join(" ")) \(.value.bytes) \(.value.packets) \(.value.flows)"' \
    <<<"$o" >"$work/api.$by"
  [ "$(wc -l <"$work/api.$by")" = 15 ] || fail "$by/$sort: the API gave $(wc -l <"$work/api.$by") rows, not 15"
  diff "$work/api.$by" "$work/page.$by" >&2 || fail "$by/$sort: the table differs from the API (< API, > page)"
  [ "$(jq .totals.flows <<<"$o")" = "$fl" ] || fail "$by/$sort: the API's flows differ from the truth"
  grep -q "class=\"dygraph-label dygraph-title\">top 10 by $sort per interval<" "$work/dom.$by.html" ||
    fail "$by/$sort: no dygraphs chart of the top 10"
  echo "ok: $by/$sort: the page's 15 rows = the API's (first: $(head -1 "$work/page.$by"))"
done
rf_browser --screenshot="$work/top.png" "$base/#top?by=src_addr&sort=bytes&intervals=600&limit=15" >/dev/null ||
  fail "chromium --screenshot failed: $(tail -5 "$work/chromium.log")"
[ -s "$work/top.png" ] || fail "no screenshot"
echo "screenshot: $work/top.png"
if grep -a 'CONSOLE' "$work/chromium.log" >&2; then fail "the page logged to the console (above)"; fi
rf_stop_collector
echo "ok: the Top page shows the API's rows for two projections and sorts"
