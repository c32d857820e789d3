#!/usr/bin/env bash
# The web view's Overview API and page (issue 24 item 1; docs/api.md), end to
# end: a running collector, ringflow-gen's v5 traffic with its truth file.
#
# 1. Before any traffic: GET /api/v1/overview says nothing is lost and nothing
#    arrives; its shape (every key and its JSON type) equals the example in
#    docs/api.md, and its losses list exactly the stages and reasons of the
#    table there, in that order.
# 2. Clean traffic: the totals equal the truth (datagrams, flows) and the
#    bytes equal what v5 sends for them (24 + 48 per record, a fact of the
#    format, not of the generator); nothing is lost and the sentence says so.
#    The history adds up to the totals: the sum over each series of rate x
#    step equals the counters' growth (recent at 1 s, hour at the interval).
# 3. Malformed datagrams (too_short, bad_version): losses "decode too_short"
#    and "decode bad_version" equal the truth's malformed counts, status.losing
#    is true and the sentence names both reasons with their counts.
# 4. The page: GET / is HTML that loads only its own /assets (no external
#    URL); /assets/dygraph.min.js is Debian's libjs-dygraphs byte for byte,
#    and its licence is served; metrics.web = false serves none of these.
#
# Usage: e2e_live_overview_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool jq "Debian's jq package"
rf_need_tool curl "Debian's curl package"

interval=2
config() {
  cat <<EOF2
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = $interval
[output]
directory = "$work/$1/out"
[metrics]
listen = "127.0.0.1:0"
web = $2
[log]
stats_interval = 0
EOF2
}

rf_start_toml live "$(config live true)"
port=$RF_PORT
base=${RF_MURL%/metrics}
overview() { curl -fsS -m 5 "$base/api/v1/overview"; }
# The keys and JSON types of a document, arrays by their first element.
shape='def shape: if type == "object" then with_entries(.value |= shape)
                   elif type == "array" then (if length > 0 then [.[0] | shape] else [] end)
                   else type end; shape'

# --- 1. before any traffic
o=$(overview) || fail "GET /api/v1/overview failed"
[ "$(jq -r .status.losing <<<"$o")" = false ] || fail "losing before any traffic: $o"
jq -r .status.sentence <<<"$o" | grep -q '^Nothing lost: .*No datagram arrived' ||
  fail "idle sentence: $(jq -r .status.sentence <<<"$o")"
[ "$(jq -c .totals <<<"$o")" = '{"datagrams":0,"bytes":0,"accepted":0,"flows":0,"lost":0}' ] ||
  fail "totals before traffic: $(jq -c .totals <<<"$o")"
# The documented example (the first ```json block of docs/api.md).
awk '/^```json$/ { on = 1; next } on && /^```$/ { exit } on' "$src/docs/api.md" >"$work/example.json"
jq -e . "$work/example.json" >/dev/null || fail "docs/api.md's example is not JSON"
jq -r '.losses[] | "\(.stage) \(.reason)"' <<<"$o" >"$work/losses.api"
awk -F' *[|] *' '/^[|] (kernel|receive|handoff|decode) [|]/ { print $2, $3 }' "$src/docs/api.md" \
  >"$work/losses.doc"
diff "$work/losses.doc" "$work/losses.api" >&2 ||
  fail "losses: the API's stages and reasons differ from docs/api.md's table (< doc, > API)"

# --- 2. clean traffic
"$gen" --target "127.0.0.1:$port" --pps 1500 --duration 2 --exporters 2 --seed 11 --quiet \
  --truth "$work/clean.tsv"
dg=$(rf_truth_total "$work/clean.tsv" datagrams)
fl=$(rf_truth_total "$work/clean.tsv" flows)
[ "$dg" -gt 1000 ] || fail "the generator sent only $dg datagrams"
totals_are() { [ "$(overview | jq -r '"\(.totals.datagrams) \(.totals.flows)"')" = "$1 $2" ]; }
rf_wait 30 "API totals = truth ($dg datagrams, $fl flows)" totals_are "$dg" "$fl" ||
  fail "API totals $(overview | jq -c .totals), truth $dg datagrams $fl flows"
o=$(overview)
[ "$(jq .totals.bytes <<<"$o")" = $((24 * dg + 48 * fl)) ] ||
  fail "bytes $(jq .totals.bytes <<<"$o") != 24 x $dg + 48 x $fl (v5)"
[ "$(jq .totals.accepted <<<"$o")" = "$dg" ] || fail "accepted $(jq .totals.accepted <<<"$o") != $dg"
[ "$(jq .totals.lost <<<"$o")" = 0 ] || fail "lost clean traffic: $(jq -c .losses <<<"$o")"
[ "$(jq -r .status.losing <<<"$o")" = false ] || fail "losing on clean traffic: $o"
jq -r .status.sentence <<<"$o" | grep -q '^Nothing lost: every datagram' ||
  fail "clean sentence: $(jq -r .status.sentence <<<"$o")"
# Every key and type as documented (now that every series has points).
jq "$shape" "$work/example.json" >"$work/shape.doc"
jq "$shape" <<<"$o" >"$work/shape.api"
diff "$work/shape.doc" "$work/shape.api" >&2 ||
  fail "GET /api/v1/overview's shape differs from docs/api.md's example (< doc, > API)"
# The history adds up: sum(rate x step) over a series = the totals' growth
# once a snapshot after the last datagram is in it. Each point is the rate
# from the previous snapshot (the series' from_ms for the first) to its
# time_ms; rates are printed to 1/1000, so allow 0.001 per point.
sums() {
  jq -r --arg s "$1" '.history[$s] as $h | $h.points as $p
    | [range(0; $p | length) as $i
       | (($p[$i][0] - (if $i == 0 then $h.from_ms else $p[$i - 1][0] end)) / 1000) as $dt
       | [$p[$i][1] * $dt, $p[$i][2] * $dt]] as $steps
    | "\($steps | map(.[0]) | add // 0) \($steps | map(.[1]) | add // 0) \($p | length)"' <<<"$2"
}
adds_up() {
  local o s d f n
  o=$(overview)
  s=$(sums "$1" "$o")
  read -r d f n <<<"$s"
  awk -v d="$d" -v f="$f" -v n="$n" -v D="$dg" -v F="$fl" \
    'BEGIN { e = 0.001 * n + 0.01; exit !((d - D) ^ 2 <= e * e && (f - F) ^ 2 <= e * e) }'
}
rf_wait 10 "history.recent adds up to $dg datagrams, $fl flows" adds_up recent ||
  fail "history.recent adds up to $(sums recent "$(overview)"), not $dg $fl"
rf_wait 10 "history.hour adds up to $dg datagrams, $fl flows" adds_up hour ||
  fail "history.hour adds up to $(sums hour "$(overview)"), not $dg $fl"
[ "$(jq .history.hour.resolution_s <<<"$o")" = $interval ] || fail "hour resolution != $interval"
# The rates now: the last step's, after the traffic stopped: zero.
api_is() { [ "$(overview | jq "$1")" = "$2" ]; }
rf_wait 10 "datagrams_per_s = 0 after the traffic" api_is .rates.datagrams_per_s 0 ||
  fail "rates after the traffic: $(overview | jq -c .rates)"

# --- 3. malformed datagrams
"$gen" --target "127.0.0.1:$port" --pps 500 --duration 1 --seed 12 --quiet \
  --malformed 0.1 --malformed-class too_short,bad_version --truth "$work/bad.tsv"
short=$(rf_truth_total "$work/bad.tsv" malformed_too_short)
badv=$(rf_truth_total "$work/bad.tsv" malformed_bad_version)
[ "$short" -gt 0 ] && [ "$badv" -gt 0 ] || fail "the generator sent no malformed datagram"
dg2=$((dg + $(rf_truth_total "$work/bad.tsv" datagrams) + short + badv))
rf_wait 30 "API datagrams = $dg2" api_is .totals.datagrams "$dg2" ||
  fail "API datagrams $(overview | jq .totals.datagrams), sent $dg2"
o=$(overview)
loss() { jq --arg s "$1" --arg r "$2" ".losses[] | select(.stage == \$s and .reason == \$r) | .$3" <<<"$o"; }
[ "$(loss decode too_short total)" = "$short" ] || fail "too_short $(loss decode too_short total) != $short"
[ "$(loss decode bad_version total)" = "$badv" ] || fail "bad_version $(loss decode bad_version total) != $badv"
[ "$(loss decode too_short in_window)" = "$short" ] || fail "too_short in the window: $(loss decode too_short in_window)"
[ "$(jq .totals.lost <<<"$o")" = $((short + badv)) ] || fail "lost $(jq .totals.lost <<<"$o") != $((short + badv))"
[ "$(jq -r .status.losing <<<"$o")" = true ] || fail "not losing after malformed datagrams: $o"
sentence=$(jq -r .status.sentence <<<"$o")
echo "status: $sentence"
grep -q "^Losing datagrams: $((short + badv)) datagrams lost in the last " <<<"$sentence" &&
  grep -q "decode too_short $short" <<<"$sentence" && grep -q "decode bad_version $badv" <<<"$sentence" ||
  fail "sentence does not say what was lost where: $sentence"

# --- 4. the page and its assets
curl -fsS -m 5 "$base/" >"$work/index.html" || fail "GET / failed"
grep -q '<script src="/assets/dygraph.min.js">' "$work/index.html" || fail "/ does not load dygraphs"
# (in-page links, href="#...", switch pages and load nothing)
! grep -Eo '(src|href)="[^"]*"' "$work/index.html" | grep -vE '="(/assets/|#)' ||
  fail "/ loads something from outside its /assets"
! grep -Eq "(fetch|import)\\([\"']https?:" "$work/index.html" || fail "/ fetches from outside"
curl -fsS -m 5 "$base/assets/dygraph.min.js" >"$work/dygraph.min.js"
cmp "$work/dygraph.min.js" /usr/share/javascript/dygraphs/dygraph.min.js ||
  fail "/assets/dygraph.min.js is not libjs-dygraphs' file"
curl -fsS -m 5 "$base/assets/dygraphs-copyright.txt" | grep -q "MIT" || fail "dygraphs' licence not served"
type=$(curl -fsS -m 5 -o /dev/null -w '%{content_type}' "$base/api/v1/overview")
[ "$type" = application/json ] || fail "content type $type"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "$base/api/v1/overview")
[ "$code" = 405 ] || fail "POST /api/v1/overview: $code, not 405"
rf_stop_collector

rf_start_toml off "$(config off false)"
base=${RF_MURL%/metrics}
for p in / /api/v1/overview /assets/dygraph.min.js; do
  code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$base$p")
  [ "$code" = 404 ] || fail "metrics.web = false: GET $p answered $code, not 404"
done
rf_metric_is "$RF_MURL" ringflow_receive_datagrams_total 0 || fail "/metrics gone with metrics.web = false"
rf_stop_collector

# --- 5. kernel drops: a burst into a 64 KiB socket buffer. The loss row
# "kernel socket_buffer_full" must equal the socket's drops as the kernel
# itself reports them (/proc/net/udp), and the sentence must name them.
rf_start_toml burst "$(config burst true | sed 's/^workers = 2$/workers = 1\nsocket_buffer = 65536\nqueue_depth = 256/')"
base=${RF_MURL%/metrics}
"$gen" --target "127.0.0.1:$RF_PORT" --pps 0 --count 40000 --seed 13 --quiet --truth "$work/burst.tsv"
sent=$(rf_truth_total "$work/burst.tsv" datagrams)
port_hex=$(printf '%04X' "$RF_PORT")
proc_drops() { awk -v p=":$port_hex" '$2 ~ p "$" { print $NF; exit }' /proc/net/udp; }
kernel_caught_up() {
  o=$(overview)
  [ "$(jq '.losses[0].total' <<<"$o")" = "$(proc_drops)" ] &&
    [ $(($(jq .totals.datagrams <<<"$o") + $(proc_drops))) = "$sent" ]
}
rf_wait 30 "the API's kernel drops = /proc/net/udp's ($(proc_drops)), received + dropped = $sent" \
  kernel_caught_up || fail "API: $(overview | jq -c '[.totals, .losses[0]]'), /proc/net/udp drops $(proc_drops), sent $sent"
kd=$(proc_drops)
[ "$kd" -gt 0 ] || fail "the burst of $sent datagrams did not overflow a 64 KiB socket buffer"
o=$(overview)
sentence=$(jq -r .status.sentence <<<"$o")
echo "burst: $sentence"
[ "$(jq -r .status.losing <<<"$o")" = true ] && grep -q "kernel socket_buffer_full $kd" <<<"$sentence" ||
  fail "the sentence does not name the kernel drops ($kd): $sentence"
rf_stop_collector
echo "ok: overview totals = truth ($dg datagrams, $fl flows), losses by reason, shape as documented"
