#!/usr/bin/env bash
# Conservation with sFlow v5 beside NetFlow v5, v9 and IPFIX on ONE port
# (issue 22): ringflow-gen sends each protocol in turn to the same listen
# address (each with its own faults: lost datagrams everywhere, agent drops
# and malformed samples for sFlow) while ringflow aggregates 1-second
# intervals. After SIGTERM, every CSV file summed must equal the sum of the
# four truth files exactly: flows, packets_scaled and bytes_scaled in total,
# and per 5-tuple row by row (each key's packets and bytes times its rate).
# The faults are checked where ringflow counts them, on /metrics: sFlow
# datagrams rejected = the malformed ones sent, each under its own reason,
# lost sFlow datagrams (the agents' sequence) = the truth's, the agents'
# drops, and sFlow streams keyed by agent. A second run cuts raw headers:
# ringflow_decode_sflow_cut_headers_total = the truth's cut_headers, and the
# totals still hold (a cut sample is counted, under the key it reached).
# Usage: e2e_conservation_sflow_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

pps=2000
if rf_sanitized; then pps=600; fi

scrape() { curl -fsS -m 5 "$1"; }
# metric PAGE NAME [LABEL_REGEX]: rf_page_sum (tests/support/e2e.sh).
metric() { rf_page_sum "$@"; }
# truth_sum COLUMN FILE...: COLUMN summed over the stream rows of truth files.
truth_sum() {
  local col=$1
  shift
  local f t=0
  for f in "$@"; do
    t=$((t + $(awk -F'\t' -v col="$col" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                 $1 != "total" && (col in c) { s += $c[col] } END { printf "%.0f\n", s }' "$f")))
  done
  echo "$t"
}
check() {  # check WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$run: $1: ringflow says $2, the truth $3"
  echo "  ok  $1 = $3"
}

# run NAME CUT_HEADERS: the four protocols to one port.
run() {
  run=$1
  local cut=$2 dir=$work/$1
  mkdir -p "$dir"
  cat > "$dir/netflow.toml" << EOF
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[decode]
versions = ["v5", "v9", "ipfix", "sflow"]
[aggregate]
interval = 1
key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol"]
[output]
directory = "$dir/out"
[[sink]]
type = "csv"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
EOF
  rf_start_collector "$run" -c "$dir/netflow.toml"
  local port=$RF_PORT murl=$RF_MURL p
  local common=(--target "127.0.0.1:$port" --pps "$pps" --duration 1 --keys 800 --zipf 1.0
                --loss 0.02 --quiet)
  "$gen" --protocol v5 --seed 11 --sampling 1:10 "${common[@]}" \
    --truth "$dir/v5.tsv" --truth-keys "$dir/v5.keys"
  "$gen" --protocol v9 --seed 12 --samplers 10,100 --exporters 2 "${common[@]}" \
    --truth "$dir/v9.tsv" --truth-keys "$dir/v9.keys"
  "$gen" --protocol ipfix --seed 13 --samplers 50 --ipv6-share 0.3 "${common[@]}" \
    --truth "$dir/ipfix.tsv" --truth-keys "$dir/ipfix.keys"
  "$gen" --protocol sflow --seed 14 --samplers 64,512 --exporters 2 --sub-agents 2 \
    --ipv6-share 0.3 --drops 0.05 --cut-headers "$cut" --malformed 0.02 \
    --malformed-class agent_type,sample_length,record_length,sample_count,header_length \
    "${common[@]}" --truth "$dir/sflow.tsv" --truth-keys "$dir/sflow.keys"
  local truths=("$dir/v5.tsv" "$dir/v9.tsv" "$dir/ipfix.tsv" "$dir/sflow.tsv")

  # Every record the truths say was delivered has been decoded, then stop.
  local want_flows got=
  want_flows=$(truth_sum flows "${truths[@]}")
  rf_wait 20 "$want_flows flows decoded" rf_metric_is "$murl" ringflow_decode_flows_total \
    "$want_flows" || fail "$run: flows decoded: $(rf_metric "$murl" ringflow_decode_flows_total), want $want_flows"
  local want_dgrams
  want_dgrams=$(truth_sum datagrams "${truths[@]}")
  rf_wait 10 "stream datagrams" rf_metric_is "$murl" ringflow_stream_datagrams_total \
    "$want_dgrams" || fail "$run: stream datagrams $(rf_metric "$murl" ringflow_stream_datagrams_total), want $want_dgrams"
  scrape "$murl" > "$dir/metrics"
  rf_stop_collector
  echo "$run: v5, v9, IPFIX and sFlow on one port"
  local m=$dir/metrics s=$dir/sflow.tsv
  check "flows decoded" "$(metric "$m" ringflow_decode_flows_total)" "$want_flows"
  check "sFlow records" "$(metric "$m" ringflow_decode_flows_by_version_total 'version="sflow"')" \
    "$(truth_sum flows "$s")"
  check "v5 records" "$(metric "$m" ringflow_decode_flows_by_version_total 'version="5"')" \
    "$(truth_sum flows "$dir/v5.tsv")"
  check "sFlow datagrams received" "$(metric "$m" ringflow_decode_received_total 'version="sflow"')" \
    "$(($(truth_sum datagrams "$s") + $(truth_sum malformed "$s")))"
  check "sFlow datagrams rejected (malformed)" \
    "$(metric "$m" ringflow_decode_rejected_total 'version="sflow"')" "$(truth_sum malformed "$s")"
  for p in agent_type:bad_agent_type sample_length:sample_past_datagram \
           record_length:record_past_sample sample_count:sample_count_mismatch \
           header_length:header_past_record; do
    check "sFlow rejects ${p#*:}" \
      "$(metric "$m" ringflow_decode_rejected_total "version=\"sflow\",reason=\"${p#*:}\"")" \
      "$(truth_sum "malformed_${p%%:*}" "$s")"
  done
  check "other datagrams rejected" "$(metric "$m" ringflow_decode_rejected_total 'version="(5|9|10|other)"')" 0
  check "sFlow datagrams lost (agents' sequence)" \
    "$(metric "$m" ringflow_stream_lost_datagrams 'version="sflow"')" "$(truth_sum lost_datagrams "$s")"
  check "sFlow streams (agent, sub-agent)" "$(grep -c '^ringflow_stream_datagrams_total{.*version="sflow"' "$m")" \
    "$(awk 'END { print NR - 2 }' "$s")"
  # drops and sample loss are deltas between a source's samples: what the
  # agent dropped before a source's first sample, or lost after its last
  # one, no collector can see. Bounded by the truth, and seen.
  local got_drops want_drops got_lost want_lost
  got_drops=$(metric "$m" ringflow_sflow_drops_total)
  want_drops=$(truth_sum agent_drops "$s")
  [ "$got_drops" -le "$want_drops" ] && [ "$got_drops" -gt $((want_drops / 2)) ] ||
    fail "$run: sFlow agent drops $got_drops, the truth $want_drops"
  echo "  ok  sFlow agent drops $got_drops of $want_drops (between samples)"
  got_lost=$(metric "$m" ringflow_sflow_samples_lost_total)
  want_lost=$(truth_sum lost_flows "$s")
  [ "$got_lost" -le "$want_lost" ] && [ "$got_lost" -gt $((want_lost / 2)) ] ||
    fail "$run: sFlow samples lost $got_lost, the truth $want_lost"
  echo "  ok  sFlow samples lost $got_lost of $want_lost (between samples)"
  check "sFlow cut headers" "$(metric "$m" ringflow_decode_sflow_cut_headers_total)" \
    "$(truth_sum cut_headers "$s")"
  check "datagrams dropped" "$(metric "$m" ringflow_datagrams_dropped_total)" 0

  # Totals, renormalized: the CSV against the four truths.
  local want csv
  want="$want_flows $(truth_sum packets_scaled "${truths[@]}") $(truth_sum bytes_scaled "${truths[@]}")"
  csv=$(cat "$dir/out"/*.csv | awk -F, '
      $1 == "interval_start" { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { f += $c["flows"]; p += $c["packets"]; b += $c["bytes"] }
      END { printf "%.0f %.0f %.0f\n", f, p, b }')
  check "CSV flows packets bytes" "$csv" "$want"

  # Per key, row by row, when no header was cut (a cut sample's key is only
  # what it reached, and the key truth leaves it out).
  [ "$cut" = 0 ] || return 0
  cat "$dir/out"/*.csv | awk -F, -v OFS='\t' '
      $1 == "interval_start" { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { k = $c["src_addr"] OFS $c["dst_addr"] OFS $c["src_port"] OFS $c["dst_port"] OFS $c["protocol"]
        f[k] += $c["flows"]; p[k] += $c["packets"]; b[k] += $c["bytes"] }
      END { for (k in f) printf "%s\t%.0f\t%.0f\t%.0f\n", k, f[k], p[k], b[k] }' |
    sort > "$dir/got.tsv"
  # v5's key truth has no sampling column: its rate is the header's (10).
  # (printf "%.0f": mawk prints large numbers with %.6g.)
  { tail -n +2 "$dir/v5.keys" |
      awk -F'\t' '{ printf "%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\n", $1, $2, $3, $4, $5, $6, $7 * 10, $8 * 10 }'
    for p in v9 ipfix sflow; do
      tail -n +2 "$dir/$p.keys" |
        awk -F'\t' '{ printf "%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\n", $1, $2, $3, $4, $5, $6, $7 * $9, $8 * $9 }'
    done; } | awk -F'\t' -v OFS='\t' '
      { k = $1 OFS $2 OFS $3 OFS $4 OFS $5; f[k] += $6; p[k] += $7; b[k] += $8 }
      END { for (k in f) printf "%s\t%.0f\t%.0f\t%.0f\n", k, f[k], p[k], b[k] }' | sort > "$dir/want.tsv"
  local nkeys
  nkeys=$(wc -l < "$dir/want.tsv")
  [ "$nkeys" -gt 500 ] || fail "$run: the truth has too few keys ($nkeys) to test"
  if ! diff -q "$dir/want.tsv" "$dir/got.tsv" > /dev/null; then
    diff "$dir/want.tsv" "$dir/got.tsv" | head -20 >&2
    fail "$run: per-key rows differ from the truth"
  fi
  echo "  ok  $nkeys keys of four protocols match row by row"
}

# replay: real agents' datagrams (../shared/captures/sflow, read in place)
# through the collector; the CSV totals must equal what tshark decoded of the
# same captures (truth/<capture>.records.tsv): one record per flow sample,
# packets = Σ rate, bytes = Σ the first raw header's frame_length × rate
# (decode.sflow_bytes = frame_length), else the sampled IP length.
replay() {
  run=replay
  local caps=$src/../shared/captures/sflow dir=$work/replay
  [ -d "$caps/pcap" ] || { echo "replay: no ../shared/captures/sflow here: skipped"; return 0; }
  mkdir -p "$dir"
  rf_start_toml replay "$(rf_csv_toml "$dir/out" 127.0.0.1:0)"
  local port=$RF_PORT murl=$RF_MURL c want_flows=0 want_p=0 want_b=0 t
  for c in akv-1140 akv-ipv4-data akv-raw-ipv4 tg-old-ipv6-sw; do
    "$gen" --replay "$caps/pcap/$c.pcap" --target "127.0.0.1:$port" --quiet
    t=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
          { k = $h["frame"] "/" $h["sample"]
            if (!(k in rate)) { rate[k] = $h["sampling_rate"]; n++ }
            if ($h["enterprise"] == 0 && $h["format"] == 1 && !(k in len)) len[k] = $h["frame_length"]
            if ($h["enterprise"] == 0 && ($h["format"] == 3 || $h["format"] == 4) && !(k in ip)) ip[k] = $h["ip_len"] }
          END { for (k in rate) { p += rate[k]; b += (k in len ? len[k] : ip[k]) * rate[k] }
                printf "%d %.0f %.0f\n", n, p, b }' "$caps/truth/$c.records.tsv")
    read -r f p b <<< "$t"
    want_flows=$((want_flows + f)); want_p=$((want_p + p)); want_b=$((want_b + b))
  done
  rf_wait 20 "$want_flows flows decoded" rf_metric_is "$murl" ringflow_decode_flows_total \
    "$want_flows" || fail "replay: flows $(rf_metric "$murl" ringflow_decode_flows_total), want $want_flows"
  rf_stop_collector
  local csv
  csv=$(cat "$dir/out"/*.csv | awk -F, '
      $1 == "interval_start" { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { f += $c["flows"]; p += $c["packets"]; b += $c["bytes"] }
      END { printf "%.0f %.0f %.0f\n", f, p, b }')
  echo "replay: four real agents' captures"
  check "CSV flows packets bytes (tshark's decoding)" "$csv" "$want_flows $want_p $want_b"
}

run mixed 0
run cut 0.1
replay
echo "e2e_conservation_sflow: PASS"
