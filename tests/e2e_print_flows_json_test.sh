#!/usr/bin/env bash
# --print-flows=json (issue 24 item 4; docs/config.md, "Command line"): one
# JSON object per decoded flow, with the fields of the text form.
#
# The same datagrams (a pcap ringflow-gen wrote once: v5, and v9 with
# sampling 1:10, IPv6 keys and templates, so both address families and the
# "template" field occur) are replayed to a collector run with --print-flows
# and to one run with --print-flows=json. Every JSON line parses (jq), there
# is one per flow of the truth, and rebuilt in the text form's layout the
# JSON lines equal the text lines, line for line (sorted: the two workers
# interleave differently).
#
# Usage: e2e_print_flows_json_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool jq "Debian's jq package"

"$gen" --protocol v5 --count 30 --pps 0 --seed 41 --quiet --write-pcap "$work/v5.pcap" \
  --truth "$work/t5.tsv"
"$gen" --protocol v9 --count 30 --pps 0 --seed 42 --quiet --samplers 10 --ipv6-share 0.5 \
  --write-pcap "$work/v9.pcap" --truth "$work/t9.tsv"
flows=$(($(rf_truth_total "$work/t5.tsv" flows) + $(rf_truth_total "$work/t9.tsv" flows)))
[ "$flows" -gt 100 ] || fail "the generator made only $flows flows"

config='sink = []
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = 1
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0'

# run NAME FLAG: the collector's stdout for both captures.
run() {
  mkdir -p "$work/$1"
  printf '%s\n' "$config" >"$work/$1/netflow.toml"
  rf_start_collector "$1" -c "$work/$1/netflow.toml" "$2"
  for p in v5 v9; do
    "$gen" --target "127.0.0.1:$RF_PORT" --replay "$work/$p.pcap" --replay-speed 0 --pps 2000 --quiet
  done
  rf_wait 30 "$1: $flows flows decoded" rf_metric_is "$RF_MURL" ringflow_decode_flows_total "$flows" ||
    fail "$1: decoded $(rf_metric "$RF_MURL" ringflow_decode_flows_total) of $flows flows"
  rf_stop_collector
}
run text --print-flows
run json --print-flows=json

[ "$(wc -l <"$work/text/stdout")" = "$flows" ] || fail "text: $(wc -l <"$work/text/stdout") lines, $flows flows"
[ "$(wc -l <"$work/json/stdout")" = "$flows" ] || fail "json: $(wc -l <"$work/json/stdout") lines, $flows flows"
# Every line one JSON object with exactly these keys (template: templated records only).
jq -e -s 'length' "$work/json/stdout" >/dev/null || fail "a --print-flows=json line is not JSON"
bad=$(jq -c 'select((keys - ["template"]) != (["bytes","dst","dst_port","end","packets","proto","src","src_port","start","version"] | sort)
                    or (.src | type) != "string" or (.bytes | type) != "number")' "$work/json/stdout" | head -3)
[ -z "$bad" ] || fail "objects with other keys or types: $bad"
jq -e -s '[.[] | select(.version == 9 and .template == null)] | length == 0' "$work/json/stdout" >/dev/null ||
  fail "a v9 record without its template"
jq -e -s '[.[] | select(.src | contains(":"))] | length > 0' "$work/json/stdout" >/dev/null ||
  fail "no IPv6 record: the test lost its IPv6 case"
# The text form rebuilt from the JSON equals the text run's lines.
jq -r 'def ep(a; p): if (a | contains(":")) then "[\(a)]:\(p)" else "\(a):\(p)" end;
  "\(ep(.src; .src_port)) -> \(ep(.dst; .dst_port)) proto \(.proto) packets \(.packets) bytes \(.bytes) start \(.start) end \(.end) version \(.version)"
  + (if .template then " template \(.template)" else "" end)' "$work/json/stdout" | sort >"$work/from_json"
sort "$work/text/stdout" >"$work/text.sorted"
diff "$work/text.sorted" "$work/from_json" | head -10 >&2
cmp -s "$work/text.sorted" "$work/from_json" || fail "the JSON lines differ from the text lines (< text, > JSON)"
echo "ok: $flows flows, every --print-flows=json line parses and equals its text line"
