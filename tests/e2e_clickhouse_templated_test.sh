#!/usr/bin/env bash
# Conservation through ClickHouse for NetFlow v9 and IPFIX: ringflow-gen
# sends each protocol with half the keys IPv6, two samplers announced in
# options data, two observation domains sharing template ids, template loss
# at start, loss and reordering; ringflow writes 1-second intervals to a
# private clickhouse-server on loopback (FixedString(16) addresses) and to
# CSV. After SIGTERM the table must equal the truth exactly: totals
# renormalized by each key's sampling rate, and per 5-tuple row by row with
# addresses printed as text by the expression docs/clickhouse.md gives
# (IPv4-mapped as dotted quads, IPv6 in RFC 5952 form), each row's
# `sampling` column the rate it was renormalized by, and `ip_version` its
# family. The CSV of the same run must hold the same rows.
# Usage: BUILD_DIR SOURCE_DIR. Exit 77 (skipped) only when clickhouse-server
# cannot be installed at all.
set -euo pipefail

# shellcheck source=tests/support/ch_e2e.sh
. "$(dirname "$0")/support/ch_e2e.sh"
ch_setup "$@"

CH=$WORK/server

pps=2000
if grep -q '^RINGFLOW_SANITIZE:STRING=.\+' "$BUILD/CMakeCache.txt" 2> /dev/null; then pps=600; fi

ch_server "$CH"
U=$CH_URL
log "ClickHouse $(chq "$U" 'SELECT version()') on $U"
# The text form of an address column, as docs/clickhouse.md prints it.
addr() {
  echo "if(substring($1, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring($1, 13, 4)))), IPv6NumToString($1))"
}
tr -s ' \n' ' ' < "$SRC/docs/clickhouse.md" | grep -qF "$(addr a)" ||
  fail "docs/clickhouse.md no longer shows the address expression this test uses: $(addr a)"

for protocol in v9 ipfix; do
  table=flows_$protocol
  dir=$WORK/$protocol
  mkdir -p "$dir"
  UDP=$(rf_udp_port)
  cat > "$dir/rf.toml" << EOF
[receive]
listen = ["127.0.0.1:$UDP"]
workers = 2
[decode]
versions = ["$protocol"]
[aggregate]
interval = 1
key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "sampling", "ip_version"]
[output]
directory = "$dir/out"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
[[sink]]
type = "csv"
[[sink]]
type = "clickhouse"
name = "ch"
url = "$U"
table = "$table"
timeout_ms = 5000
spool_dir = "$dir/spool"
EOF
  start_ringflow "$protocol" "$dir/rf.toml" "$WORK/$protocol.log"
  extra=()
  [ "$protocol" = ipfix ] && extra=(--varlen --withdraw-every 60)
  [ "$protocol" = v9 ] && extra=(--redefine-every 50)
  "$GEN" --protocol "$protocol" --target "127.0.0.1:$UDP" --pps "$pps" --duration 2.5 --seed 11 \
    --exporters 2 --domains 2 --domain-collision --ipv6-share 0.5 --samplers 10,1000 --keys 1500 \
    --loss 0.01 --reorder 0.01 --template-delay 2 "${extra[@]}" --quiet \
    --truth "$dir/truth.tsv" --truth-keys "$dir/keys.tsv"
  # SIGTERM once every datagram sent was received (the generator's truth
  # counts what it put on the wire); the stop then decodes what is queued and
  # flushes the partial interval to both sinks before exiting.
  sent=$(rf_truth_total "$dir/truth.tsv" datagrams)
  rf_wait 10 "the metrics URL in $WORK/$protocol.log" \
    grep -q "metrics: serving http:" "$WORK/$protocol.log" || fail "$protocol: no metrics URL logged"
  murl=$(rf_serving_url "$WORK/$protocol.log")
  rf_wait 30 "$protocol: the $sent datagrams sent to be received" \
    rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
    fail "$protocol: received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent datagrams"
  stop_ringflow "$protocol" "$WORK/$protocol.log"
  wait_spool_empty "$dir/spool" 30

  want=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                     $1 == "total" { print $c["flows"], $c["packets_scaled"], $c["bytes_scaled"] }' \
    "$dir/truth.tsv")
  got=$(chq "$U" "SELECT sum(flows), sum(packets), sum(bytes) FROM default.$table" | tr '\t' ' ')
  log "$protocol: truth $want | ClickHouse $got"
  [ "$got" = "$want" ] || fail "$protocol: ClickHouse totals differ from the truth"

  chq "$U" "SELECT $(addr src_addr), $(addr dst_addr), src_port, dst_port, protocol,
              sum(flows), sum(packets), sum(bytes), any(sampling), uniqExact(sampling),
              any(ip_version), uniqExact(ip_version)
            FROM default.$table WHERE overflow = 0
            GROUP BY src_addr, dst_addr, src_port, dst_port, protocol
            FORMAT TabSeparated" > "$dir/ch_rows.tsv"
  awk -F'\t' -v OFS='\t' '
      $10 != 1 || $12 != 1 { print "key with several rates or families: " $0 > "/dev/stderr"; bad = 1 }
      ($11 == 6) != (index($1, ":") > 0) { print "wrong ip_version: " $0 > "/dev/stderr"; bad = 1 }
      { print $1, $2, $3, $4, $5, $6, $7, $8, $9 }
      END { exit bad }' "$dir/ch_rows.tsv" | sort > "$dir/got.tsv" ||
    fail "$protocol: rows with a wrong sampling or ip_version column"
  tail -n +2 "$dir/keys.tsv" | awk -F'\t' '
      { printf "%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\n", $1, $2, $3, $4, $5, $6, $7 * $9, $8 * $9, $9 }' |
    sort > "$dir/want.tsv"
  nkeys=$(wc -l < "$dir/want.tsv")
  v6keys=$(grep -c ':' "$dir/want.tsv" || true)
  [ "$nkeys" -gt 300 ] && [ "$v6keys" -gt 100 ] || fail "$protocol: too few keys ($nkeys, $v6keys IPv6)"
  if ! diff -q "$dir/want.tsv" "$dir/got.tsv" > /dev/null; then
    diff "$dir/want.tsv" "$dir/got.tsv" | head -20 >&2
    fail "$protocol: ClickHouse per-key rows differ from the truth"
  fi
  # The CSV of the same run: same rows (addresses in the same text forms).
  cat "$dir/out"/*.csv | awk -F, '
      $1 == "interval_start" { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { k = $c["src_addr"] "\t" $c["dst_addr"] "\t" $c["src_port"] "\t" $c["dst_port"] "\t" $c["protocol"]
        f[k] += $c["flows"]; p[k] += $c["packets"]; b[k] += $c["bytes"]; s[k] = $c["sampling"] }
      END { for (k in f) printf "%s\t%.0f\t%.0f\t%.0f\t%s\n", k, f[k], p[k], b[k], s[k] }' |
    sort > "$dir/csv.tsv"
  diff -q "$dir/want.tsv" "$dir/csv.tsv" > /dev/null || fail "$protocol: CSV rows differ from the truth"
  log "$protocol: $nkeys keys ($v6keys IPv6) equal the truth in ClickHouse and in the CSV"
done
echo "e2e_clickhouse_templated: PASS"
