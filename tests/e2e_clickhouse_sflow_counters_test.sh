#!/usr/bin/env bash
# sFlow interface counter rows in ClickHouse (output.counters = "clickhouse";
# issue 22 item 4, docs/config.md): a private ClickHouse server, a collector
# with a clickhouse sink, ringflow-gen's sFlow stream with counter samples
# whose octets equal its sampled flows scaled by their rate (as in
# e2e_sflow_counters_test.sh, "agree": coverage exactly 1, no sampling error
# by construction).
#  - the table <table>_counters is created by ringflow;
#  - its rows sum to the octets and flow bytes the collector's metrics count,
#    every row with octets has in_coverage = 1, and the 12 interfaces
#    (2 agents x 2 sub-agents x 3 ifIndexes) are all there;
#  - the rows ringflow says it wrote are the rows the table holds;
#  - without a clickhouse sink, output.counters = "clickhouse" is a config
#    error naming the key.
# Usage: e2e_clickhouse_sflow_counters_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/ch_e2e.sh
. "$(dirname "$0")/support/ch_e2e.sh"
ch_setup "$@"

log "output.counters = \"clickhouse\" without a clickhouse sink is refused"
cat >"$WORK/bad.toml" <<EOF
[output]
directory = "$WORK/out-bad"
counters = "clickhouse"
[[sink]]
type = "csv"
EOF
if "$RINGFLOW" --check-config "$WORK/bad.toml" >"$WORK/bad.out" 2>&1; then
  fail "--check-config accepted output.counters = clickhouse without a clickhouse sink"
fi
grep -q 'output.counters.*clickhouse' "$WORK/bad.out" || fail "the error does not name output.counters: $(cat "$WORK/bad.out")"

CH=$WORK/server
ch_server "$CH"
URL=$CH_URL
chq "$URL" "CREATE DATABASE IF NOT EXISTS ringflow_e2e" >/dev/null
UDP=$(rf_udp_port)
cat >"$WORK/rf.toml" <<EOF
[receive]
listen = ["127.0.0.1:$UDP"]
reactors = 1
workers = 1
[decode]
versions = ["sflow"]
[aggregate]
interval = 1
[output]
directory = "$WORK/out"
counters = "clickhouse"
[[sink]]
type = "clickhouse"
name = "ch"
url = "$URL"
database = "ringflow_e2e"
table = "sflow_flows"
spool_dir = "$WORK/spool"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
EOF
log "ringflow-gen sFlow with counter samples -> ringflow -> ClickHouse"
start_ringflow rf "$WORK/rf.toml" "$WORK/rf.log"
MURL=$(rf_serving_url "$WORK/rf.log")
pps=1500
if rf_sanitized; then pps=600; fi
"$GEN" --protocol sflow --seed 23 --samplers 64,64,64 --exporters 2 --sub-agents 2 --counter-every 4 \
  --target "127.0.0.1:$UDP" --pps "$pps" --duration 2 --keys 400 --quiet --truth "$WORK/truth.tsv"
want=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                   $1 != "total" { s += $c["counter_samples"] } END { print s + 0 }' "$WORK/truth.tsv")
[ "$want" -gt 20 ] || fail "the generator sent only $want counter samples"
rf_wait 20 "$want counter samples" rf_metric_is "$MURL" ringflow_sflow_polled_samples_total "$want" ||
  fail "counter samples $(rf_metric "$MURL" ringflow_sflow_polled_samples_total), want $want"
live=$(rf_metric "$MURL" ringflow_sflow_if_octets_total)
rf_wait 10 "snapshot at $live octets" rf_metric_is "$MURL" ringflow_sflow_interface_octets_total "$live" ||
  fail "published octets $(rf_metric "$MURL" ringflow_sflow_interface_octets_total), live $live"
f0=$(rf_metric "$MURL" ringflow_flushes_total)
rf_wait 10 "two more flushes" rf_metric_at_least "$MURL" ringflow_flushes_total $((f0 + 2)) || fail "no flush"
rf_wait 10 "no counter row pending" rf_metric_is "$MURL" ringflow_sflow_counter_rows_pending 0 ||
  fail "$(rf_metric "$MURL" ringflow_sflow_counter_rows_pending) counter rows still pending"
rf_scrape "$MURL" >"$WORK/metrics"
stop_ringflow rf "$WORK/rf.log"
m() { rf_page_sum "$WORK/metrics" "$@"; }
in_oct=$(m ringflow_sflow_if_octets_total 'direction="in"')
in_flow=$(m ringflow_sflow_if_flow_bytes_total 'direction="in"')
written=$(m ringflow_sflow_counter_rows_total 'outcome="written"')
[ "$in_oct" -gt 0 ] || fail "no octets counted"
[ "$in_flow" = "$in_oct" ] || fail "the metrics: flow bytes $in_flow != octets $in_oct"
[ "$(m ringflow_sflow_counter_write_errors_total)" = 0 ] || fail "counter row write errors"
[ "$(m ringflow_sflow_counter_rows_total 'outcome="dropped"')" = 0 ] || fail "counter rows dropped"

log "the rows in ringflow_e2e.sflow_flows_counters"
chq "$URL" "SELECT type FROM system.columns WHERE database = 'ringflow_e2e' AND table = 'sflow_flows_counters'
            AND name = 'in_coverage'" >"$WORK/type"
[ "$(cat "$WORK/type")" = "Nullable(Float64)" ] || fail "in_coverage is '$(cat "$WORK/type")'"
read -r rows oct flow bad ifs < <(chq "$URL" "SELECT count(), sum(in_octets), sum(flow_in_bytes),
    countIf(in_octets > 0 AND in_coverage != 1), uniqExact(agent, sub_agent, if_index)
    FROM ringflow_e2e.sflow_flows_counters FORMAT TabSeparated")
echo "ClickHouse: $rows rows over $ifs interfaces, octets $oct, flow bytes $flow; metrics: $in_oct octets, $written rows written"
[ "$rows" = "$written" ] || fail "the table holds $rows rows, ringflow wrote $written"
[ "$rows" -gt 12 ] || fail "only $rows rows"
[ "$oct" = "$in_oct" ] || fail "the rows sum to $oct octets, the metrics $in_oct"
[ "$flow" = "$in_oct" ] || fail "the rows' flow bytes $flow, want $in_oct"
[ "$bad" = 0 ] || fail "$bad rows with octets and in_coverage != 1"
[ "$ifs" = 12 ] || fail "$ifs interfaces, want 12"
# The interval bounds are those of the 1 s intervals.
span=$(chq "$URL" "SELECT countIf(toUInt32(interval_end) - toUInt32(interval_start) != 1)
                   FROM ringflow_e2e.sflow_flows_counters FORMAT TabSeparated")
[ "$span" = 0 ] || fail "$span rows whose interval is not 1 s"
echo "ok: $rows counter rows in ClickHouse equal the collector's octets and flow bytes (coverage 1)"
