#!/usr/bin/env bash
# The Exporters page as a browser renders it (issue 24; docs/api.md): Debian's
# chromium, headless, loads http://<metrics.listen>/#exporters and
# /#exporter/<id> from a collector that received ringflow-gen's v9 stream
# with faults (loss, restarts, template redefinitions, a clock 43 s behind,
# samplers announced while the records carry no sampler id). The page's
# numbers must equal GET /api/v1/exporters and /api/v1/exporters/<id>: the
# list row (datagrams, flows, lost, resets, sampling, quirks), the detail's
# datagrams, flows and sampling, its quirks (ids and sentences, in order), its
# template rows and the interfaces its options data named (--interface-names). The page must log no console error and no failed
# request. Screenshots of both views are kept in the work directory
# (KEEP=1 keeps them after a pass). The browser is kept off the network as
# in e2e_live_browser_test.sh.
#
# Usage: e2e_live_exporters_browser_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
# shellcheck source=tests/support/live_browser.sh
. "$(dirname "$0")/support/live_browser.sh"
rf_live_start
api() { curl -fsS -m 5 "$base/api/v1/$1"; }

"$gen" --target "127.0.0.1:$RF_PORT" --protocol v9 --pps 500 --count 600 --seed 12 --quiet \
  --loss 0.05 --reset-every 150 --redefine-every 40 --clock-offset -43 --samplers 100,1000 \
  --no-sampler-id --interface-names --truth "$work/truth.tsv"
dg=$(rf_truth_total "$work/truth.tsv" datagrams)
dom=$(awk -F'\t' 'NR == 2 { print $8 }' "$work/truth.tsv")
id="127.0.0.1-9-$dom"
row() { api exporters | jq -c --arg id "$id" '.exporters[] | select(.id == $id)'; }
# Every datagram counted and a snapshot published after the last.
settled() { [ "$(row | jq -r .datagrams)" = "$dg" ]; }
rf_wait 30 "the API's row = truth ($dg datagrams)" settled || fail "row $(row), truth $dg"

rf_browser --dump-dom "$base/#exporters" >"$work/list.html" ||
  fail "chromium --dump-dom failed: $(tail -5 "$work/chromium.log")"
rf_browser --dump-dom "$base/#exporter/$id" >"$work/detail.html" ||
  fail "chromium --dump-dom failed: $(tail -5 "$work/chromium.log")"
rf_browser --screenshot="$work/exporters.png" "$base/#exporters" >/dev/null &&
  rf_browser --screenshot="$work/exporter.png" "$base/#exporter/$id" >/dev/null ||
  fail "chromium --screenshot failed: $(tail -5 "$work/chromium.log")"
[ -s "$work/exporters.png" ] && [ -s "$work/exporter.png" ] || fail "no screenshot"
echo "screenshots: $work/exporters.png $work/exporter.png"
r=$(row)
p=$(api "exporters/$id")

# No console error, no failed request (chromium logs both as console lines).
rf_browser_clean

# The list view: the page's script rendered and shows the API's row.
grep -q '<section id="page-exporters" data-rendered="[0-9]' "$work/list.html" ||
  fail "the Exporters page did not render: $(grep -o '<div id="exporters-status"[^<]*' "$work/list.html")"
# Attribute order follows the order the scripts ran in: the overview's poll
# may stamp data-rendered before the router adds the class.
grep -Eq '<body [^>]*class="([^"]* )?view-exporters[ "]' "$work/list.html" ||
  fail "#exporters did not switch the view: $(grep -o '<body[^>]*>' "$work/list.html")"
grep -Eo '<button [^>]*data-page="exporters"[^>]*>' "$work/list.html" | grep -q 'class="[^"]*current' ||
  fail "the nav does not mark Exporters as the current page: $(grep -Eo '<button [^>]*data-page="[a-z]*"[^>]*>' "$work/list.html" | tr '\n' ' ')"
cells=$(grep -o "<tr data-id=\"$id\">.*" "$work/list.html" | sed 's#</tr>.*##' |
  sed -E 's#<[^>]*>#|#g; s#\|+#|#g; s#^\|##; s#\|$##')
want=$(jq -r '[.id, .format, .datagrams, .flows, "\(.lost) \(.lost_unit)", "\(.loss_ratio * 100 * 100 | round / 100 | tostring)",
               .resets, .sampling_rate, .sampling_source] | map(tostring) | join("|")' <<<"$r")
echo "page row: $cells"
# The loss column is formatted by the page (toFixed(2)); compare the rest.
IFS='|' read -ra c <<<"$cells"
IFS='|' read -ra w <<<"$want"
for i in 0 1 2 3 4 6 7 8; do
  [ "${c[$i]}" = "${w[$i]}" ] || fail "list column $i: the page shows '${c[$i]}', the API '${w[$i]}'"
done
[ "${c[11]}" = "$(jq -r '.quirks | join(" ")' <<<"$r")" ] ||
  fail "list quirks: the page shows '${c[11]}', the API $(jq -c .quirks <<<"$r")"
[ "${c[2]}" = "$dg" ] || fail "the page shows ${c[2]} datagrams, the truth $dg"

# The detail view.
grep -q "<div id=\"exporter-detail\" data-id=\"$id\">" "$work/detail.html" ||
  fail "the detail of $id did not render"
fact() { grep -o "<dd data-key=\"$1\">[^<]*" "$work/detail.html" | sed 's/.*>//'; }
[ "$(fact datagrams)" = "$(jq .sequence.datagrams <<<"$p")" ] || fail "detail datagrams: $(fact datagrams)"
[ "$(fact flows)" = "$(jq .sequence.flows <<<"$p")" ] || fail "detail flows: $(fact flows)"
[ "$(fact sampling)" = "$(jq -r '"\(.sampling.rate) from \(.sampling.source)"' <<<"$p")" ] ||
  fail "detail sampling: $(fact sampling)"
[ "$(fact resets)" = "$(jq -r '"\(.sequence.resets) / \(.sequence.resyncs)"' <<<"$p")" ] ||
  fail "detail resets: $(fact resets)"
# Quirks: ids and sentences, in the API's order.
grep -o '<div class="quirk [a-z]*" data-quirk="[a-z_]*"><b>[a-z_]*</b>[^<]*' "$work/detail.html" |
  sed -E 's#.*data-quirk="([a-z_]*)"><b>[a-z_]*</b>(.*)#\1 \2#' | sed 's/&amp;/\&/g' >"$work/quirks.page"
jq -r '.quirks[] | "\(.id) \(.message)"' <<<"$p" >"$work/quirks.api"
[ -s "$work/quirks.api" ] || fail "the API raised no quirk for a faulty exporter"
diff "$work/quirks.api" "$work/quirks.page" >&2 || fail "the page's quirks differ from the API's (< API, > page)"
# Template rows: id and redefinitions.
{ grep -o '<tr data-template="[0-9]*">\(<td[^>]*>[^<]*</td>\)\{5\}' "$work/detail.html" || true; } |
  sed -E 's#<tr data-template="([0-9]*)">.*<td class="n">([0-9]*)</td>$#\1 \2#' >"$work/templates.page"
jq -r '.templates.list[] | "\(.id) \(.redefinitions)"' <<<"$p" >"$work/templates.api"
diff "$work/templates.api" "$work/templates.page" >&2 ||
  fail "the page's templates differ from the API's (< API, > page)"
# The interfaces the stream's options data named (gen --interface-names):
# index, name and description, in the API's order.
{ grep -o '<tr data-if-index="[0-9]*"><td[^>]*>[0-9]*</td><td[^>]*>[^<]*</td><td[^>]*>[^<]*</td>' \
    "$work/detail.html" || true; } |
  sed -E 's#<tr data-if-index="[0-9]*"><td[^>]*>([0-9]*)</td><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>#\1|\2|\3#' \
  >"$work/interfaces.page"
jq -r '.interfaces[] | "\(.index)|\(.name)|\(.description)"' <<<"$p" >"$work/interfaces.api"
[ "$(wc -l <"$work/interfaces.api")" -ge 8 ] ||
  fail "the API lists $(wc -l <"$work/interfaces.api") named interfaces for gen --interface-names"
diff "$work/interfaces.api" "$work/interfaces.page" >&2 ||
  fail "the page's interfaces differ from the API's (< API, > page)"
rf_stop_collector
echo "ok: the Exporters page shows the API's numbers, $(wc -l <"$work/quirks.api") quirks, the templates and $(wc -l <"$work/interfaces.api") named interfaces"
