#!/usr/bin/env bash
# The Overview page as a browser renders it (issue 24 item 1; docs/api.md):
# Debian's chromium, headless, loads http://<metrics.listen>/ from a running
# collector that has received ringflow-gen's v5 traffic with malformed
# datagrams among it, runs the page's script (virtual time: 5 s) and dumps
# the DOM. The numbers the page shows must equal GET /api/v1/overview's and
# the truth's: the totals, the status sentence (up to its window length) and
# every row of the losses table; each of the four charts must have been
# drawn by dygraphs (its title and axis labels are in the DOM). A screenshot
# is kept in the test's work directory (KEEP=1 keeps it after a pass).
#
# The browser is sandboxed from the network by flags: no QUIC, no background
# networking, updates or sync, and a fresh profile; it only talks to the
# collector on loopback.
#
# Usage: e2e_live_browser_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
# shellcheck source=tests/support/live_browser.sh
. "$(dirname "$0")/support/live_browser.sh"
rf_live_start
overview() { curl -fsS -m 5 "$base/api/v1/overview"; }

"$gen" --target "127.0.0.1:$RF_PORT" --pps 1000 --duration 1.5 --seed 5 --quiet \
  --malformed 0.05 --malformed-class too_short,count_zero --truth "$work/truth.tsv"
dg=$(rf_truth_total "$work/truth.tsv" datagrams)
fl=$(rf_truth_total "$work/truth.tsv" flows)
bad=$(rf_truth_total "$work/truth.tsv" malformed)
[ "$bad" -gt 0 ] || fail "the generator sent no malformed datagram"
want="$((dg + bad)) $fl $bad"
got() { overview | jq -r '"\(.totals.datagrams) \(.totals.flows) \(.totals.lost)"'; }
totals_match() { [ "$(got)" = "$want" ]; }
rf_wait 30 "API totals = truth ($want)" totals_match ||
  fail "API totals $(got), truth $want"

rf_browser --dump-dom "$base/" >"$work/dom.html" || fail "chromium --dump-dom failed: $(tail -5 "$work/chromium.log")"
rf_browser --screenshot="$work/overview.png" "$base/" >/dev/null ||
  fail "chromium --screenshot failed: $(tail -5 "$work/chromium.log")"
[ -s "$work/overview.png" ] || fail "no screenshot"
echo "screenshot: $work/overview.png"
rf_browser_clean
o=$(overview)

# The page rendered an answer (render() stamps the body).
grep -Eq '<body [^>]*data-rendered="[0-9]' "$work/dom.html" ||
  fail "the page's script did not render an answer: $(grep -o '<div id="status"[^<]*' "$work/dom.html")"
shown() { grep -o "id=\"$1\">[^<]*" "$work/dom.html" | sed 's/.*>//'; }
for k in datagrams flows bytes lost; do
  api=$(jq ".totals.$k" <<<"$o")
  [ "$(shown "total-$k")" = "$api" ] || fail "the page shows $k = '$(shown "total-$k")', the API $api"
done
[ "$(shown total-datagrams)" = $((dg + bad)) ] && [ "$(shown total-flows)" = "$fl" ] &&
  [ "$(shown total-lost)" = "$bad" ] || fail "the page's totals differ from the truth ($want)"
# The sentence, its window length ("last N s") aside: it moves with time.
norm() { sed -E 's/last [0-9]+ s/last N s/g'; }
page_sentence=$(grep -o '<div id="status" class="[a-z]*">[^<]*' "$work/dom.html" | sed 's/.*>//')
api_sentence=$(jq -r .status.sentence <<<"$o")
echo "page: $page_sentence"
[ "$(norm <<<"$page_sentence")" = "$(norm <<<"$api_sentence")" ] ||
  fail "status: the page says '$page_sentence', the API '$api_sentence'"
grep -q '<div id="status" class="losing">' "$work/dom.html" || fail "the status is not shown as losing"
# Every loss row: stage, reason, total.
grep -o '<tr[^>]*data-stage=[^>]*><td>[^<]*</td><td>[^<]*</td><td class="n">[0-9]*' "$work/dom.html" |
  sed -E 's/.*<td>([^<]*)<\/td><td>([^<]*)<\/td><td class="n">([0-9]*)/\1 \2 \3/' >"$work/losses.page"
jq -r '.losses[] | "\(.stage) \(.reason) \(.total)"' <<<"$o" >"$work/losses.api"
diff "$work/losses.api" "$work/losses.page" >&2 || fail "the losses table differs from the API (< API, > page)"
grep -q "^decode too_short $(rf_truth_total "$work/truth.tsv" malformed_too_short)\$" "$work/losses.page" ||
  fail "too_short on the page differs from the truth"
# Four charts drawn by dygraphs: a title each, and axis labels.
[ "$(grep -o 'class="dygraph-label dygraph-title"' "$work/dom.html" | wc -l)" = 4 ] ||
  fail "not four dygraphs charts: $(grep -o 'class="dygraph-label[^"]*"' "$work/dom.html" | sort | uniq -c)"
[ "$(grep -o 'class="dygraph-axis-label dygraph-axis-label-x' "$work/dom.html" | wc -l)" -ge 4 ] ||
  fail "the charts have no time axis"
rf_stop_collector
echo "ok: the page shows the API's numbers ($want) and four charts"
