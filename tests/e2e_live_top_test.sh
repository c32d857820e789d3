#!/usr/bin/env bash
# The web view's Top API (issue 24 item 1 "Top"; docs/api.md, GET /api/v1/top),
# end to end: a running collector keyed on the 5-tuple and the exporter gets
# ringflow-gen's v5 (two exporters), v9 (two exporters, samplers 1:10 and
# 1:100, a third of the keys IPv6) and IPFIX (sampler 1:10) traffic with its
# truth files. Once every flow is flushed (the API's totals over the kept
# intervals equal the truth's), the top N of
#   by=src_addr sort=bytes, by=dst_addr sort=packets, by=proto_port
#   sort=flows, by=exporter sort=bytes, by=src_addr sort=flows
# equals the top N computed here from the generator's truth (per 5-tuple for
# the addresses and ports, per stream for the exporters; packets and bytes
# scaled by each key's sampling rate): the same values in the same order,
# and every row's three counters equal its truth. Ties make the order of
# equal values free, so the keys are checked by value, not by position.
# Also: the answer's shape equals docs/api.md's example; bad parameters are
# 400 with a JSON sentence; the number of distinct rows equals the truth's.
#
# Usage: e2e_live_top_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool jq "Debian's jq package"
rf_need_tool curl "Debian's curl package"

rf_start_toml top '[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = 1
key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "exporter"]
[output]
directory = "'"$work"'/top/out"
[metrics]
listen = "127.0.0.1:0"
top_k = 1000
top_intervals = 120
[log]
stats_interval = 0'
base=${RF_MURL%/metrics}
port=$RF_PORT
api() { curl -fsS -m 5 "$base/api/v1/top?$1"; }

# Before any traffic: a valid answer without rows (intervals are flushed,
# empty, every second).
o=$(api "by=src_addr")
[ "$(jq -c '[.rows, .totals.flows, .distinct]' <<<"$o")" = '[[],0,0]' ] ||
  fail "before traffic: $o"

common=(--target "127.0.0.1:$port" --pps 400 --duration 1 --keys 150 --zipf 1.1 --quiet)
"$gen" "${common[@]}" --protocol v5 --exporters 2 --seed 31 \
  --truth "$work/t5.tsv" --truth-keys "$work/k5.tsv"
"$gen" "${common[@]}" --protocol v9 --exporters 2 --seed 32 --samplers 10,100 --ipv6-share 0.3 \
  --truth "$work/t9.tsv" --truth-keys "$work/k9.tsv"
"$gen" "${common[@]}" --protocol ipfix --exporters 1 --seed 33 --samplers 10 \
  --truth "$work/t10.tsv" --truth-keys "$work/k10.tsv"

# Per 5-tuple, scaled: src dst sport dport proto flows packets bytes.
{
  tail -n +2 "$work/k5.tsv" | awk -F'\t' -v OFS='\t' '{ print $1, $2, $3, $4, $5, $6, $7, $8 }'
  for f in k9 k10; do
    tail -n +2 "$work/$f.tsv" | awk -F'\t' -v OFS='\t' '{ printf "%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\n", $1, $2, $3, $4, $5, $6, $7 * $9, $8 * $9 }'
  done
} >"$work/keys.tsv"
# Per exporter address, from the per-stream truth: exporter flows packets bytes.
for f in t5 t9 t10; do
  awk -F'\t' -v OFS='\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $1 != "total" { print $c["exporter"], $c["flows"], $c["packets_scaled"], $c["bytes_scaled"] }' "$work/$f.tsv"
done >"$work/exporters.tsv"
flows=$(awk -F'\t' '{ s += $6 } END { printf "%.0f", s }' "$work/keys.tsv")
[ "$flows" = "$(awk -F'\t' '{ s += $2 } END { printf "%.0f", s }' "$work/exporters.tsv")" ] ||
  fail "the truth files disagree on the flows"
[ "$(cut -f1 "$work/exporters.tsv" | sort -u | wc -l)" = 2 ] || fail "expected two exporter addresses"

flushed() { [ "$(api "by=src_addr&intervals=120" | jq .totals.flows)" = "$flows" ]; }
rf_wait 30 "the kept intervals hold the truth's $flows flows" flushed ||
  fail "the API's totals $(api "by=src_addr&intervals=120" | jq -c .totals), truth $flows flows"
o=$(api "by=src_addr&intervals=120")
[ "$(jq .complete <<<"$o")" = true ] || fail "an interval had more than K rows: $(jq -c .intervals <<<"$o")"

# truth PROJECTION: label \t flows \t packets \t bytes, summed per label.
truth() {
  case $1 in
    src_addr) awk -F'\t' -v OFS='\t' '{ print $1, $6, $7, $8 }' "$work/keys.tsv" ;;
    dst_addr) awk -F'\t' -v OFS='\t' '{ print $2, $6, $7, $8 }' "$work/keys.tsv" ;;
    proto_port) awk -F'\t' -v OFS='\t' '{ print $5 " " $4, $6, $7, $8 }' "$work/keys.tsv" ;;
    exporter) cat "$work/exporters.tsv" ;;
  esac | awk -F'\t' -v OFS='\t' '{ f[$1] += $2; p[$1] += $3; b[$1] += $4 }
    END { for (k in f) printf "%s\t%.0f\t%.0f\t%.0f\n", k, f[k], p[k], b[k] }' | sort
}
col() { case $1 in flows) echo 2 ;; packets) echo 3 ;; bytes) echo 4 ;; esac; }

n=10
checked=0
for case in "src_addr bytes" "dst_addr packets" "proto_port flows" "exporter bytes" "src_addr flows"; do
  read -r by sort <<<"$case"
  truth "$by" >"$work/truth.$by"
  o=$(api "by=$by&sort=$sort&intervals=120&limit=$n")
  # The values of the top N, in order: the API's and the truth's.
  jq -r --arg s "$sort" '.rows[] | .[$s]' <<<"$o" >"$work/api.values"
  sort -t$'\t' -k"$(col "$sort")","$(col "$sort")"nr "$work/truth.$by" | awk -v n="$n" 'NR <= n' |
    cut -f"$(col "$sort")" >"$work/truth.values"
  diff "$work/truth.values" "$work/api.values" >&2 ||
    fail "by=$by sort=$sort: the top $n values differ from the truth's (< truth, > API)"
  # Every row's counters equal its key's truth.
  jq -r '.rows[] | "\(.label)\t\(.flows)\t\(.packets)\t\(.bytes)"' <<<"$o" | sort >"$work/api.rows"
  awk -F'\t' 'NR == FNR { t[$1] = $0; next }
               !($1 in t) { print "not in the truth: " $0; next }
               t[$1] != $0 { print "API " $0 " truth " t[$1] }' "$work/truth.$by" "$work/api.rows" \
    >"$work/wrong"
  [ ! -s "$work/wrong" ] || fail "by=$by sort=$sort: $(head -3 "$work/wrong")"
  [ "$(jq .distinct <<<"$o")" = "$(wc -l <"$work/truth.$by")" ] ||
    fail "by=$by: $(jq .distinct <<<"$o") distinct rows, the truth has $(wc -l <"$work/truth.$by")"
  [ "$(jq '.rows | length' <<<"$o")" = "$(( $(wc -l <"$work/truth.$by") < n ? $(wc -l <"$work/truth.$by") : n ))" ] ||
    fail "by=$by: $(jq '.rows | length' <<<"$o") rows"
  echo "ok: by=$by sort=$sort: top $(jq '.rows | length' <<<"$o") of $(wc -l <"$work/truth.$by") = truth (first: $(head -1 "$work/api.rows" | tr '\t' ' '))"
  checked=$((checked + 1))
done
[ "$checked" = 5 ] || fail "checked $checked cases"
grep -q ':' "$work/truth.src_addr" || fail "no IPv6 source in the truth: the test lost its IPv6 rows"

# The series: the first 10 of the ranking, one point per kept interval,
# each point's values adding up (over the intervals) to the rows' sums.
o=$(api "by=src_addr&sort=bytes&intervals=120&limit=10")
jq -e '(.series.labels == [.rows[:10][] | .label]) and (.series.points | length) == .intervals.kept' \
  <<<"$o" >/dev/null || fail "series labels or points: $(jq -c '.series.labels, (.series.points | length), .intervals' <<<"$o")"
jq -e '[range(0; .series.labels | length) as $i | ([.series.points[][$i + 1]] | add) == .rows[$i].bytes] | all' \
  <<<"$o" >/dev/null || fail "the series do not add up to the rows' bytes"

# The shape: every key and JSON type as docs/api.md's example (arrays by their first element).
shape='def shape: if type == "object" then with_entries(.value |= shape)
                   elif type == "array" then (if length > 0 then [.[0] | shape] else [] end)
                   else type end; shape'
awk '/^## GET \/api\/v1\/top/ { sec = 1 } sec && /^```json$/ { on = 1; next } on && /^```$/ { exit } on' \
  "$src/docs/api.md" >"$work/example.json"
jq -e . "$work/example.json" >/dev/null || fail "docs/api.md's /api/v1/top example is not JSON"
jq "$shape" "$work/example.json" >"$work/shape.doc"
api "by=src_addr&sort=bytes&intervals=120&limit=2" | jq "$shape" >"$work/shape.api"
diff "$work/shape.doc" "$work/shape.api" >&2 ||
  fail "GET /api/v1/top's shape differs from docs/api.md's example (< doc, > API)"
[ "$(jq -c '[.projections[] | [.by, .available]]' <<<"$o")" = \
  '[["key",true],["src_addr",true],["dst_addr",true],["proto_port",true],["exporter",true],["src_port",true],["dst_port",true],["protocol",true]]' ] ||
  fail "projections: $(jq -c .projections <<<"$o")"

# Bad parameters: 400, a JSON error naming the problem.
bad() {
  local code body
  body=$(curl -s -m 5 -w '\n%{http_code}' "$base/api/v1/top?$1")
  code=${body##*$'\n'}
  body=${body%$'\n'*}
  [ "$code" = 400 ] || fail "?$1: HTTP $code, not 400"
  jq -r .error <<<"$body" | grep -qF "$2" || fail "?$1: error '$(jq -r .error <<<"$body")' does not say '$2'"
}
bad "by=nope" "by=nope: unknown projection; expected one of key, src_addr, dst_addr, proto_port, exporter, src_port, dst_port, protocol"
bad "sort=octets" "sort=octets: expected bytes, packets or flows"
bad "intervals=121" "intervals=121: expected a whole number in 1..120 (metrics.top_intervals)"
bad "limit=0" "limit=0: expected a whole number in 1..1000 (metrics.top_k)"
bad "limit=10&limit=20" 'parameter "limit" given twice'
bad "top=5" 'unknown parameter "top"'
bad "by=src%20addr" "by=src addr: unknown projection"
rf_stop_collector

# A key without exporter: by=exporter is a 400 that says how to get it.
rf_start_toml noexp '[receive]
listen = ["127.0.0.1:0"]
[aggregate]
interval = 1
[output]
directory = "'"$work"'/noexp/out"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0'
base=${RF_MURL%/metrics}
bad "by=exporter" 'by=exporter needs the key field(s) exporter in aggregate.key, which is "src_addr,dst_addr,src_port,dst_port,protocol"'
rf_stop_collector
echo "ok: /api/v1/top = the truth's top $n for 5 projection/sort pairs; shape as documented; 400s"
