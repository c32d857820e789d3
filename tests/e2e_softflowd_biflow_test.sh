#!/usr/bin/env bash
# A real IPFIX exporter's RFC 5103 biflows and its off-by-one sequence numbers
# (issue 26, items 1 and 2), end to end. softflowd (-v 10 -b) exports
# tests/data/traffic-lo.pcap twice: into nfcapd (the peer collector) and into
# ringflow, keyed by the 5-tuple without renormalizing. Per 5-tuple, in both
# directions, ringflow's packets and bytes must equal the pcap's own counts
# (tshark) and nfcapd's (nfdump, whose biflow records carry the reverse
# direction as "out" counters). softflowd's IPFIX sequence numbers include
# each message's own records: ringflow must name that quirk and report no
# loss and no duplicates, on loopback where nothing is lost.
#
# ICMP has no ports: like nfdump, type and code are the destination port
# (type * 256 + code). Before the biflow fix ringflow had only the forward
# directions (and phantom loss); this test then fails on the rows.
# Exits 77 (skipped, a failure under CI) when softflowd, nfcapd, nfdump or
# tshark is missing (scripts/deps.sh --test installs them).
# Usage: e2e_softflowd_biflow_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
pcap=$src/tests/data/traffic-lo.pcap
rf_need_tool softflowd "Debian's softflowd"
rf_need_tool nfcapd "Debian's nfdump"
rf_need_tool nfdump "Debian's nfdump"
rf_need_tool tshark "Debian's tshark"
rf_need_tool curl "Debian's curl"

# The pcap's truth: "src dst sport dport proto packets bytes" per 5-tuple,
# outer headers only (an ICMP error quotes the UDP datagram it answers), IP
# bytes as NetFlow counts them (IPv6: payload + 40-byte header).
tshark -r "$pcap" -T fields -E occurrence=f -E 'separator=|' -e ip.src -e ip.dst -e ipv6.src \
  -e ipv6.dst -e ip.proto -e ipv6.nxt -e ip.len -e ipv6.plen -e tcp.srcport -e tcp.dstport \
  -e udp.srcport -e udp.dstport -e icmp.type -e icmp.code -e icmpv6.type -e icmpv6.code 2> /dev/null |
  awk -F'|' '{
    v4 = ($1 != ""); s = v4 ? $1 : $3; d = v4 ? $2 : $4; pr = v4 ? $5 : $6
    by = v4 ? $7 : $8 + 40; sp = 0; dp = 0
    if (pr == 6) { sp = $9; dp = $10 } else if (pr == 17) { sp = $11; dp = $12 }
    else if (pr == 1) dp = $13 * 256 + $14; else if (pr == 58) dp = $15 * 256 + $16
    k = s " " d " " sp " " dp " " pr; P[k]++; B[k] += by }
    END { for (k in P) print k, P[k], B[k] }' | LC_ALL=C sort > "$work/pcap.rows"
[ "$(wc -l < "$work/pcap.rows")" -ge 30 ] || fail "tshark read too few 5-tuples from $pcap"

# softflowd reads the pcap, exports every flow at its end and exits. No
# control socket (-c none): a socket path makes 1.1.0 wait in accept().
export_to() {
  softflowd -r "$pcap" -n "127.0.0.1:$1" -v 10 -b -d -c none < /dev/null > "$work/softflowd.$1.log" 2>&1 ||
    { cat "$work/softflowd.$1.log" >&2; fail "softflowd failed"; }
  grep -q "Flows exported: .* (0 failures)" "$work/softflowd.$1.log" ||
    { cat "$work/softflowd.$1.log" >&2; fail "softflowd did not export every flow"; }
}

# 1. The peer collector.
nfport=$(rf_udp_port)
mkdir -p "$work/nf"
nfcapd -p "$nfport" -w "$work/nf" -t 3600 > "$work/nfcapd.log" 2>&1 &
nfpid=$!
rf_track_pid "$nfpid"
rf_wait 10 "nfcapd to start" grep -q "Startup nfcapd" "$work/nfcapd.log" ||
  { cat "$work/nfcapd.log" >&2; fail "nfcapd did not start"; }
export_to "$nfport"
records=$(sed -n 's/.*Flows exported: [0-9]* (\([0-9]*\) records).*/\1/p' "$work/softflowd.$nfport.log")
# nfcapd has read every datagram when its socket's receive queue is empty.
recv_q_empty() { [ "$(ss -Huan "sport = :$nfport" | awk '{ print $2; exit }')" = 0 ]; }
rf_wait 10 "nfcapd to read its socket" recv_q_empty || fail "nfcapd left datagrams unread"
kill -TERM "$nfpid"
wait "$nfpid" || true
rf_untrack_pid "$nfpid"
grep -q "Flows: $records," "$work/nfcapd.log" ||
  { cat "$work/nfcapd.log" >&2; fail "nfcapd did not store softflowd's $records records"; }
nfdump -R "$work/nf" -q -N -o 'fmt:%sa|%da|%sp|%dp|%pr|%ipkt|%ibyt|%opkt|%obyt' |
  awk -F'|' '
    function t(s) { gsub(/ /, "", s); return s }
    function port(p) { p = t(p); if (index(p, ".")) { split(p, a, "."); return a[1] * 256 + a[2] } return p }
    function num(p) { p = t(p); return p == "TCP" ? 6 : p == "UDP" ? 17 : p == "ICMP" ? 1 : p == "ICMP6" ? 58 : p }
    { sa = t($1); da = t($2); sp = port($3); dp = port($4); pr = num($5)
      if ($6 + 0 || $7 + 0) { k = sa " " da " " sp " " dp " " pr; P[k] += $6; B[k] += $7 }
      if ($8 + 0 || $9 + 0) { k = da " " sa " " dp " " sp " " pr; P[k] += $8; B[k] += $9 } }
    END { for (k in P) print k, P[k], B[k] }' | LC_ALL=C sort > "$work/nfcapd.rows"
diff "$work/pcap.rows" "$work/nfcapd.rows" > "$work/nfcapd.diff" ||
  { head -20 "$work/nfcapd.diff" >&2; fail "nfcapd's rows differ from the pcap's (< pcap, > nfcapd): the truth is in doubt"; }

# 2. ringflow.
cat > "$work/netflow.toml" << EOF2
[receive]
listen = ["127.0.0.1:0"]
reactors = 1
workers = 1
[decode]
renormalize = false
persist_templates = false
[aggregate]
interval = 3600
key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol"]
[metrics]
listen = "127.0.0.1:0"
[output]
directory = "$work/out"
EOF2
rf_start_collector ringflow -c "$work/netflow.toml"
port=$RF_PORT
murl=$RF_MURL
export_to "$port"
# Every direction with traffic is one record: as many as the pcap has 5-tuples.
want_flows=$(wc -l < "$work/pcap.rows")
rf_wait 10 "$want_flows records decoded" rf_metric_is "$murl" ringflow_decode_flows_total "$want_flows" ||
  fail "ringflow decoded $(rf_metric "$murl" ringflow_decode_flows_total) records, want $want_flows"
# The per-stream series are published about once a second: wait until they
# hold every message softflowd sent.
messages=$(sed -n 's/.*Flows exported: .* in \([0-9]*\) packets.*/\1/p' "$work/softflowd.$port.log")
rf_wait 10 "the stream's $messages messages" rf_metric_is "$murl" ringflow_stream_datagrams_total "$messages" ||
  fail "ringflow's stream shows $(rf_metric "$murl" ringflow_stream_datagrams_total) of $messages messages"
biflows=$(rf_metric "$murl" ringflow_decode_biflow_records_total)
reverse=$(rf_metric "$murl" ringflow_decode_biflow_reverse_records_total)
[ "${reverse:-0}" -gt 0 ] || fail "no reverse records (biflow records: $biflows)"
lost=$(rf_metric "$murl" ringflow_streams_lost_flows)
dups=$(rf_metric "$murl" ringflow_stream_duplicates_total)
quirk=$(rf_scrape "$murl" | grep -c '^ringflow_stream_quirk{.*quirk="ipfix_sequence_includes_current"} 1$' || true)
[ "$lost" = 0 ] || fail "ringflow reports $lost flows lost on loopback (softflowd's off-by-one sequence)"
[ "$dups" = 0 ] || fail "ringflow reports $dups duplicate datagrams on loopback"
[ "$quirk" = 1 ] || fail "softflowd's sequence quirk not named in ringflow_stream_quirk"
grep -q "quirk ipfix_sequence_includes_current" "$RF_LOG" || fail "no log line names the quirk"
rf_stop_collector
awk -F, 'FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { k = $c["src_addr"] " " $c["dst_addr"] " " $c["src_port"] " " $c["dst_port"] " " $c["protocol"]
    P[k] += $c["packets"]; B[k] += $c["bytes"] }
  END { for (k in P) printf "%s %.0f %.0f\n", k, P[k], B[k] }' "$work"/out/flows-*.csv |
  LC_ALL=C sort > "$work/ringflow.rows"
diff "$work/pcap.rows" "$work/ringflow.rows" > "$work/ringflow.diff" ||
  { head -20 "$work/ringflow.diff" >&2; fail "ringflow's rows differ from the pcap's and nfcapd's (< pcap, > ringflow)"; }
echo "e2e_softflowd_biflow: PASS ($want_flows 5-tuples equal tshark's and nfcapd's; $biflows biflow" \
  "records, $reverse reverse; 0 lost, quirk named)"
