#!/usr/bin/env bash
# sFlow interface counters reconciled with the flow samples (issue 22 item 4).
#
# ringflow-gen --protocol sflow sends, per agent, a counter datagram every
# --counter-every datagrams: one generic interface record per source (ifIndex
# 1..N) whose ifInOctets counts, for every packet the source sampled, `rate`
# packets of that packet's frame length (src/gen/generator_sflow.cc). The flow
# samples' input ifIndex is their source's. ringflow's ordered stage sums the
# flow samples' frame_length x rate per input interface between two counter
# samples of that interface and compares it with the counter's delta
# (src/decode/sflow_if_table.h).
#
# Run "agree": no loss, no agent drops; 5 % of the flow datagrams sent twice
# (a duplicated sample is behind its source's sequence: its bytes must not be
# summed twice); each agent restarts after 50 datagrams (--reset-every:
# uptime, sequences and counters from 0), about 15 ms later than its last
# start at these rates: too soon for the uptime to show it, and its sources'
# sample sequences are within their reorder window, so only the datagram
# sequence tracker's restart candidates find it (src/decode/sequence_tracker.h)
# and reset the sources and interfaces (src/decode/sessions.cc). Before that,
# the restarted sources' samples read as late and half the bytes were left
# out of the reconciliation. The generator's counters count exactly
# the sampled packets scaled by their rate, so the sampling error is zero by
# construction: coverage must be exactly 1 (flow bytes == counted octets, an
# integer equality, the tightest bound there is), on /metrics and in every
# row of the counters CSV. (Against a real agent sampling 1 in R at random,
# the flow estimate of an interface's octets has a relative standard error of
# about sqrt(R / packets): the bound the second run uses for its drops.)
#
# Run "drops": the agents drop a share f = 0.2 of their flow samples (--drops:
# counted in the counters, in sample_pool and in `drops`, not sent). Each
# sample is dropped independently with probability f, so the kept share of
# the bytes has mean 1 - f and variance f(1 - f) sum(w_i^2) / (sum w_i)^2 for
# sample weights w_i = frame length x rate. With every w_i <= w_max = 1518 x
# rate (IP packets of at most 1500 bytes, src/gen/traffic.h, in untagged
# Ethernet with FCS), sum(w_i^2) <= w_max sum(w_i), so the standard deviation
# is at most sigma = sqrt(f (1 - f) w_max / octets), octets = sum(w_i) being
# the counted octets. The coverage must be within 4 sigma of 1 - f, and well
# below 1 (the gap shows). The run writes JSON lines rows.
# Usage: e2e_sflow_counters_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

pps=3000
if rf_sanitized; then pps=800; fi
rate=64

truth_sum() {  # truth_sum COLUMN FILE
  awk -F'\t' -v col="$1" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
       $1 != "total" && (col in c) { s += $c[col] } END { printf "%.0f\n", s }' "$2"
}

# run NAME DROPS DUPLICATES RESET_EVERY FORMAT: one collector, one generator;
# leaves $dir/metrics.
run() {
  run=$1
  local drops=$2 dups=$3 reset=$4 format=$5
  dir=$work/$run
  mkdir -p "$dir"
  cat > "$dir/netflow.toml" << EOF
[receive]
listen = ["127.0.0.1:0"]
reactors = 1
workers = 1
[decode]
versions = ["sflow"]
[aggregate]
interval = 1
[output]
directory = "$dir/out"
counters = "$format"
[[sink]]
type = "csv"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
EOF
  rf_start_collector "$run" -c "$dir/netflow.toml"
  local murl=$RF_MURL
  "$gen" --protocol sflow --seed 21 --samplers "$rate,$rate,$rate" --exporters 2 --sub-agents 2 \
    --counter-every 4 --drops "$drops" --duplicate "$dups" --reset-every "$reset" --target "127.0.0.1:$RF_PORT" --pps "$pps" \
    --duration 2 --keys 500 --quiet --truth "$dir/truth.tsv"
  local want
  want=$(truth_sum counter_samples "$dir/truth.tsv")
  [ "$want" -gt 20 ] || fail "$run: the generator sent only $want counter samples"
  rf_wait 20 "$want counter samples" rf_metric_is "$murl" ringflow_sflow_polled_samples_total \
    "$want" || fail "$run: counter samples $(rf_metric "$murl" ringflow_sflow_polled_samples_total), want $want"
  # The per-interface series come from the once-a-second snapshot the flusher
  # also reads: wait until it has caught up with the live totals, then for two
  # more flushes, so the rows hold every delta before the stop.
  local live
  live=$(rf_metric "$murl" ringflow_sflow_if_octets_total)
  rf_wait 10 "snapshot at $live octets" rf_metric_is "$murl" ringflow_sflow_interface_octets_total \
    "$live" || fail "$run: published octets $(rf_metric "$murl" ringflow_sflow_interface_octets_total), live $live"
  local f0
  f0=$(rf_metric "$murl" ringflow_flushes_total)
  rf_wait 10 "two more flushes" rf_metric_at_least "$murl" ringflow_flushes_total $((f0 + 2)) ||
    fail "$run: no flush"
  rf_scrape "$murl" > "$dir/metrics"
  rf_stop_collector
  # Coverage is only exact if every flow datagram arrived: a loss on loopback
  # (a saturated socket buffer) is named as such, not read as a coverage error.
  local lost
  lost=$(rf_page_sum "$dir/metrics" ringflow_sflow_samples_lost_total)
  [ "$lost" = 0 ] || fail "$run: $lost flow samples lost before ringflow (kernel drops: $(rf_page_sum "$dir/metrics" ringflow_receive_kernel_drops_total)); the coverage below needs every one"
}

m() { rf_page_sum "$dir/metrics" "$@"; }

# --- agree ---
run agree 0 0.05 50 csv
in_oct=$(m ringflow_sflow_if_octets_total 'direction="in"')
in_flow=$(m ringflow_sflow_if_flow_bytes_total 'direction="in"')
deltas=$(m ringflow_sflow_if_samples_total 'result="delta"')
echo "agree: $deltas deltas, in octets $in_oct, flow-estimated $in_flow"
[ "$deltas" -gt 0 ] || fail "agree: no counter deltas"
[ "$(m ringflow_sflow_samples_late_total)" -gt 0 ] || fail "agree: no duplicated flow sample seen"
[ "$in_oct" -gt 0 ] || fail "agree: no octets counted"
[ "$in_flow" = "$in_oct" ] || fail "agree: flow bytes $in_flow != counted octets $in_oct (coverage must be exactly 1)"
# Each agent restart (uptime and sequences from 0, counters from 0) re-baselines
# its 3 interfaces: no delta across it, and the coverage stays exact.
resets=$(truth_sum resets "$dir/truth.tsv")
[ "$resets" -gt 10 ] || fail "agree: the generator restarted its agents only $resets times"
[ "$(m ringflow_stream_resets_total)" = "$resets" ] ||
  fail "agree: $(m ringflow_stream_resets_total) stream resets, truth $resets"
[ "$(m ringflow_stream_duplicates_total)" = "$(truth_sum duplicates "$dir/truth.tsv")" ] ||
  fail "agree: $(m ringflow_stream_duplicates_total) duplicate datagrams, truth $(truth_sum duplicates "$dir/truth.tsv")"
[ "$(m ringflow_sflow_if_samples_total 'result="restart"')" = $((3 * resets)) ] ||
  fail "agree: $(m ringflow_sflow_if_samples_total 'result="restart"') restarts read, want 3 x $resets"
echo "agree: $resets agent restarts, each re-baselined its 3 interfaces"
for r in duplicate late reset table_full; do
  [ "$(m ringflow_sflow_if_samples_total "result=\"$r\"")" = 0 ] ||
    fail "agree: $(m ringflow_sflow_if_samples_total "result=\"$r\"") counter samples read as $r"
done
# 2 agents x 2 sub-agents x 3 interfaces, each exported as its own series.
[ "$(m ringflow_sflow_interfaces_tracked)" = 12 ] || fail "agree: interfaces tracked $(m ringflow_sflow_interfaces_tracked), want 12"
[ "$(grep -c '^ringflow_sflow_interface_octets_total{.*direction="in"' "$dir/metrics")" = 12 ] ||
  fail "agree: per-interface series"
[ "$(m ringflow_sflow_interface_flow_bytes_total 'direction="in"')" = "$in_oct" ] ||
  fail "agree: per-interface flow bytes do not sum to $in_oct"
csv=$dir/out/counters.csv
[ -s "$csv" ] || fail "agree: no $csv"
head -n 1 "$csv" | grep -q '^interval_start,interval_end,agent,sub_agent,if_index,' || fail "agree: CSV header"
read -r rows csv_oct csv_flow bad < <(awk -F, 'NR > 1 { n++; o += $7; f += $15;
    if ($7 > 0 && $17 != "1.000000") bad++ } END { printf "%d %.0f %.0f %d\n", n, o, f, bad }' "$csv")
echo "agree: $rows rows, octets $csv_oct, flow $csv_flow"
[ "$rows" -gt 12 ] || fail "agree: only $rows counter rows"
[ "$csv_oct" = "$in_oct" ] || fail "agree: CSV rows sum to $csv_oct octets, metrics $in_oct"
[ "$csv_flow" = "$in_oct" ] || fail "agree: CSV flow bytes $csv_flow, want $in_oct"
[ "$bad" = 0 ] || fail "agree: $bad rows with in_coverage != 1"

# --- drops ---
f=0.2
run drops "$f" 0 0 jsonl
in_oct=$(m ringflow_sflow_if_octets_total 'direction="in"')
in_flow=$(m ringflow_sflow_if_flow_bytes_total 'direction="in"')
[ "$in_oct" -gt 0 ] || fail "drops: no octets counted"
[ "$(m ringflow_sflow_drops_total)" -gt 0 ] || fail "drops: the agents' drops were not seen"
read -r cov lo hi sigma < <(awk -v o="$in_oct" -v fl="$in_flow" -v f="$f" -v r="$rate" 'BEGIN {
    c = fl / o; s = sqrt(f * (1 - f) * 1518 * r / o)
    printf "%.6f %.6f %.6f %.6f\n", c, 1 - f - 4 * s, 1 - f + 4 * s, s }')
echo "drops: coverage $cov (octets $in_oct, flow $in_flow); want 1 - $f within 4 sigma = [$lo, $hi]"
awk -v c="$cov" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(c >= lo && c <= hi) }' ||
  fail "drops: coverage $cov outside [$lo, $hi]"
awk -v hi="$hi" 'BEGIN { exit !(hi < 0.95) }' || fail "drops: bound too loose to show a gap ($hi)"
jl=$dir/out/counters.jsonl
[ -s "$jl" ] || fail "drops: no $jl"
read -r jrows joct jflow < <(sed -n 's/.*"in_octets":\([0-9]*\).*"flow_in_bytes":\([0-9]*\).*/\1 \2/p' "$jl" |
  awk '{ n++; o += $1; f += $2 } END { printf "%d %.0f %.0f\n", n, o, f }')
echo "drops: $jrows JSON rows, octets $joct, flow $jflow"
[ "$jrows" -gt 12 ] || fail "drops: only $jrows JSON rows"
[ "$joct" = "$in_oct" ] && [ "$jflow" = "$in_flow" ] || fail "drops: JSON rows ($joct, $jflow) != metrics ($in_oct, $in_flow)"
grep -q '"in_coverage":0\.[0-9]*' "$jl" || fail "drops: no row shows in_coverage below 1"
echo "PASS"
