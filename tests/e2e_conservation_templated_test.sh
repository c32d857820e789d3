#!/usr/bin/env bash
# Conservation for NetFlow v9 and IPFIX, end to end over real loopback
# sockets, for both receive backends: ringflow-gen sends a fixed-seed mix
# with everything templates bring (half the keys IPv6; two or three
# observation domains whose templates share ids but not layouts; template
# refresh, loss of the first templates, v9 redefinitions, IPFIX withdrawals;
# two samplers announced in options data; loss, duplicates and reordering)
# while ringflow aggregates it into 1-second intervals. IPFIX arrives over
# IPv6 (listen [::1], exporter ::1, receive.allow = ::1/128).
#
# After SIGTERM, every CSV and JSONL file summed must equal the generator's
# truth exactly: flows, and packets and bytes renormalized by each key's
# sampling rate (truth packets_scaled / bytes_scaled), in total and per
# 5-tuple row by row, with the rate each row was renormalized by (the
# `sampling` key column) and its address family (`ip_version`) right. The
# faults are checked where ringflow counts them, on /metrics: held and
# released data sets = the sets sent before any template, redefinitions,
# withdrawals, sequence loss per stream in the version's unit, stream labels
# with the IPv6 exporter, and nothing rejected, dropped or of unknown
# sampling.
# Usage: e2e_conservation_templated_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

pps=3000
if rf_sanitized; then pps=800; fi

scrape() { curl -fsS -m 5 "$1"; }
# metric PAGE NAME [LABEL_REGEX]: rf_page_sum (tests/support/e2e.sh).
metric() { rf_page_sum "$@"; }
# truth_sum FILE COLUMN: the total row's COLUMN of a per-stream truth file.
truth_sum() {
  awk -F'\t' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                          $1 != "total" { s += $c[col] } END { printf "%.0f\n", s }' "$1"
}
check() {  # check WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$run: $1: ringflow says $2, the truth $3"
  echo "  ok  $1 = $3"
}

# run NAME PROTOCOL BACKEND LISTEN TARGET_HOST ALLOW GEN_ARGS...
run() {
  run=$1
  local protocol=$2 backend=$3 listen=$4 host=$5 allow=$6
  shift 6
  local dir=$work/$run
  mkdir -p "$dir"
  cat > "$dir/netflow.toml" << EOF
[receive]
listen = ["$listen"]
backend = "$backend"
workers = 2
allow = [$allow]
[decode]
versions = ["$protocol"]
[aggregate]
interval = 1
key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "sampling", "ip_version"]
[output]
directory = "$dir/out"
[[sink]]
type = "csv"
[[sink]]
type = "jsonl"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
EOF
  rf_start_collector "$run" -c "$dir/netflow.toml"
  local port=$RF_PORT murl=$RF_MURL
  grep -q "receive backend: $backend" "$dir/stderr" || fail "$run: not on $backend"

  "$gen" --protocol "$protocol" --target "$host:$port" --pps "$pps" --duration 3 --seed 7 \
    --ipv6-share 0.5 --samplers 10,100 --keys 3000 --zipf 1.0 \
    --loss 0.01 --duplicate 0.005 --reorder 0.01 \
    --template-refresh 20 --template-delay 2 --domain-collision "$@" --quiet \
    --truth "$dir/truth.tsv" --truth-keys "$dir/keys.tsv"

  # Every record the truth says was delivered has been decoded (the
  # workers' count), then stop: SIGTERM flushes the partial interval.
  local want_flows got=
  want_flows=$(truth_sum "$dir/truth.tsv" flows)
  for _ in $(seq 1 200); do
    scrape "$murl" > "$dir/metrics" 2> /dev/null || true
    got=$(metric "$dir/metrics" ringflow_decode_flows_total)
    [ "$got" = "$want_flows" ] && break
    sleep 0.1
  done
  echo "$run: $protocol over $backend, listening on $listen"
  check "flows decoded" "$got" "$want_flows"
  # The reactors publish their stream statistics at their next tick (<=
  # 100 ms): wait until every datagram of the truth is in them.
  local want_dgrams
  want_dgrams=$(truth_sum "$dir/truth.tsv" datagrams)
  for _ in $(seq 1 50); do
    got=$(metric "$dir/metrics" ringflow_stream_datagrams_total)
    [ "$got" = "$want_dgrams" ] && break
    sleep 0.1
    scrape "$murl" > "$dir/metrics" 2> /dev/null || true
  done
  check "stream datagrams" "$got" "$want_dgrams"
  rf_stop_collector

  # The faults, where ringflow counts them.
  local m=$dir/metrics t=$dir/truth.tsv
  check "sets held for their template" "$(metric "$m" ringflow_held_sets_total 'outcome="held"')" \
    "$(truth_sum "$t" sets_before_template)"
  check "held sets released" "$(metric "$m" ringflow_held_sets_total 'outcome="released"')" \
    "$(truth_sum "$t" sets_before_template)"
  check "held sets expired" "$(metric "$m" ringflow_held_sets_total 'outcome="expired"')" 0
  check "templates redefined" "$(metric "$m" ringflow_templates_total 'event="redefined"')" \
    "$(($(truth_sum "$t" redefinitions) * 2))"
  check "templates withdrawn" "$(metric "$m" ringflow_templates_total 'event="withdrawn"')" \
    "$(truth_sum "$t" withdrawals)"
  if [ "$protocol" = v9 ]; then
    check "datagrams lost (v9 sequence)" "$(metric "$m" ringflow_stream_lost_datagrams)" \
      "$(truth_sum "$t" lost_datagrams)"
  else
    check "flows lost (IPFIX sequence)" "$(metric "$m" ringflow_stream_lost_flows)" \
      "$(truth_sum "$t" lost_flows)"
  fi
  check "streams tracked" "$(metric "$m" ringflow_streams_tracked)" \
    "$(awk 'END { print NR - 2 }' "$t")"
  check "records of unknown sampling" \
    "$(metric "$m" ringflow_decode_unknown_sampling_records_total)" 0
  check "datagrams rejected" "$(metric "$m" ringflow_receive_rejected_total)" 0
  check "datagrams dropped" "$(metric "$m" ringflow_datagrams_dropped_total)" 0
  check "sets dropped" "$(metric "$m" ringflow_decode_sets_dropped_total)" 0
  # Every stream of the truth has its series, labelled by exporter address.
  local exporter version domain
  while IFS=$'\t' read -r exporter version domain; do
    grep -q "^ringflow_stream_datagrams_total{exporter=\"$exporter\",version=\"$version\",domain=\"$domain\"}" "$m" ||
      fail "$run: no stream series for exporter $exporter version $version domain $domain"
  done < <(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                       $1 != "total" { print $c["exporter"] "\t" $c["version"] "\t" $c["domain"] }' "$t")
  echo "  ok  a stream series for each of the truth's streams"

  # Totals, renormalized.
  local want csv json
  want=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                     $1 == "total" { print $c["flows"], $c["packets_scaled"], $c["bytes_scaled"] }' "$t")
  csv=$(cat "$dir/out"/*.csv | awk -F, '
      $1 == "interval_start" { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { f += $c["flows"]; p += $c["packets"]; b += $c["bytes"] }
      END { printf "%.0f %.0f %.0f\n", f, p, b }')
  json=$(cat "$dir/out"/*.jsonl | sed -E 's/.*"flows":([0-9]+).*"packets":([0-9]+).*"bytes":([0-9]+).*/\1 \2 \3/' |
      awk '{ f += $1; p += $2; b += $3 } END { printf "%.0f %.0f %.0f\n", f, p, b }')
  check "CSV flows packets bytes" "$csv" "$want"
  check "JSONL flows packets bytes" "$json" "$want"

  # Per key, row by row: the 5-tuple's sums over every interval and domain,
  # its sampling rate and its family.
  cat "$dir/out"/*.csv | awk -F, -v OFS='\t' '
      $1 == "interval_start" { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { k = $c["src_addr"] OFS $c["dst_addr"] OFS $c["src_port"] OFS $c["dst_port"] OFS $c["protocol"]
        f[k] += $c["flows"]; p[k] += $c["packets"]; b[k] += $c["bytes"]
        fam = index($c["src_addr"], ":") ? 6 : 4
        if ($c["ip_version"] != fam) bad = bad " " k " ip_version " $c["ip_version"]
        if (k in s && s[k] != $c["sampling"]) bad = bad " " k " two rates"
        s[k] = $c["sampling"] }
      END { for (k in f) printf "%s\t%.0f\t%.0f\t%.0f\t%s\n", k, f[k], p[k], b[k], s[k]
            if (bad != "") print "BAD" bad > "/dev/stderr" }' 2> "$dir/bad" | sort > "$dir/got.tsv"
  [ -s "$dir/bad" ] && fail "$run: $(head -c 500 "$dir/bad")"
  tail -n +2 "$dir/keys.tsv" | awk -F'\t' '
      { printf "%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\n", $1, $2, $3, $4, $5, $6, $7 * $9, $8 * $9, $9 }' |
    sort > "$dir/want.tsv"
  local nkeys v6keys
  nkeys=$(wc -l < "$dir/want.tsv")
  v6keys=$(grep -c ':' "$dir/want.tsv" || true)
  [ "$nkeys" -gt 500 ] && [ "$v6keys" -gt 200 ] ||
    fail "$run: the truth has too few keys ($nkeys, $v6keys IPv6) to test"
  if ! diff -q "$dir/want.tsv" "$dir/got.tsv" > /dev/null; then
    diff "$dir/want.tsv" "$dir/got.tsv" | head -20 >&2
    fail "$run: per-key rows differ from the truth"
  fi
  echo "  ok  $nkeys keys ($v6keys IPv6) match row by row, with their sampling rate and family"
}

run v9-uring v9 io_uring 127.0.0.1:0 127.0.0.1 '' --exporters 3 --domains 2 --redefine-every 40
run v9-recvmmsg v9 recvmmsg 127.0.0.1:0 127.0.0.1 '' --exporters 3 --domains 2 --redefine-every 40
run ipfix6-uring ipfix io_uring '[::1]:0' '[::1]' '"::1/128"' --exporters 1 --domains 3 \
  --withdraw-every 50 --varlen --enterprise
run ipfix6-recvmmsg ipfix recvmmsg '[::1]:0' '[::1]' '"::1/128"' --exporters 1 --domains 3 \
  --withdraw-every 50 --varlen --enterprise --ipfix-time delta
echo "e2e_conservation_templated: PASS"
