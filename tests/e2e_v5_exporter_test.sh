#!/usr/bin/env bash
# NetFlow v5 from a second real exporter, with the fields the pmacct capture
# of tests/data leaves at 0: pmacct's pmacctd reads tests/data/traffic-lo.pcap
# (real traffic, see tests/data/README.md) and exports v5 (nfprobe plugin) to
# a ringflow on loopback, while dumpcap captures the export. Two nfprobe
# plugins run, one per direction, so that both interface fields are filled:
#   - "in": engine 3:1, input ifIndex 7, sampling 1 in 2 (random: the count
#     of flows varies from run to run, the comparison does not);
#   - "out": engine 3:2, output ifIndex 9, same sampling.
# AS numbers and masks come from a networks_file (pmacctd_as / pmacctd_net:
# file). v5's nexthop is not filled: the next hop of pmacct's networks_file
# is a BGP next hop (peer_dst_ip), which v5 has no field for, and a pcap
# carries no routing, so both exporters (softflowd too) send 0.0.0.0.
#
# The truth is tshark's decoding of the captured export: per record every v5
# field ringflow keys on (addresses, ports, protocol, ToS, TCP flags,
# interfaces, AS numbers, masks, nexthop, engine type and id, and the
# header's sampling interval), with packets and bytes times that interval.
# ringflow aggregates by all of them, renormalizing, and its CSV rows must
# equal tshark's, summed by the same key.
#
# All waits are for positive events: a probe in dumpcap's file, the exit of pmacctd and its plugins,
# then a sentinel datagram sent after it, which ringflow counts as an unknown
# version: loopback delivers in order, so every export datagram was received
# (and captured) before it.
# Usage: e2e_v5_exporter_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
for tool in pmacctd dumpcap tshark curl; do
  command -v "$tool" > /dev/null || fail "$tool not found (scripts/deps.sh --test installs it)"
done

port=$(rf_udp_port)
cat > "$work/networks.lst" << EOF
192.0.2.1,64501,127.0.1.0/24
192.0.2.2,64502,127.0.2.0/26
192.0.2.3,64503,127.0.0.0/16
EOF
cat > "$work/pmacctd.conf" << EOF
daemonize: false
pcap_savefile: $src/tests/data/traffic-lo.pcap
networks_file: $work/networks.lst
pmacctd_as: file
pmacctd_net: file
sampling_rate: 2
plugins: nfprobe[in], nfprobe[out]
nfprobe_receiver[in]: 127.0.0.1:$port
nfprobe_receiver[out]: 127.0.0.1:$port
nfprobe_version[in]: 5
nfprobe_version[out]: 5
nfprobe_engine[in]: 3:1
nfprobe_engine[out]: 3:2
nfprobe_direction[in]: in
nfprobe_direction[out]: out
nfprobe_ifindex[in]: 7
nfprobe_ifindex[out]: 9
aggregate[in]: src_host, dst_host, src_port, dst_port, proto, tos, src_as, dst_as, src_mask, dst_mask
aggregate[out]: src_host, dst_host, src_port, dst_port, proto, tos, src_as, dst_as, src_mask, dst_mask
EOF
key='"src_addr", "dst_addr", "src_port", "dst_port", "protocol", "tos", "tcp_flags", "input", "output", "src_as", "dst_as", "src_mask", "dst_mask", "nexthop", "engine_type", "engine_id", "sampling"'
cat > "$work/netflow.toml" << EOF
[receive]
listen = ["127.0.0.1:$port"]
reactors = 1
workers = 1
[decode]
renormalize = true
persist_templates = false
[aggregate]
interval = 3600
key = [$key]
[metrics]
listen = "127.0.0.1:0"
[output]
directory = "$work/out"
EOF
rf_start_collector ringflow -c "$work/netflow.toml"
murl=$RF_MURL
dumpcap -i lo -f "udp and dst port $port" -w "$work/export.pcap" > /dev/null 2> "$work/dumpcap.stderr" &
dpid=$!
rf_track_pid "$dpid"
# "Capturing on" is printed before the capture is live, and an export sent
# in that window is missed (seen: 0 datagrams captured, 3 received). Live is
# a probe datagram in the file: probes (not NetFlow, rejected and counted by
# ringflow) are sent until dumpcap has written one.
probes=0
captured_probe() {
  printf 'PROBE' > "/dev/udp/127.0.0.1/$port"
  probes=$((probes + 1))
  [ "$(capinfos -c -M "$work/export.pcap" 2> /dev/null | awk '/Number of packets/ { print $NF }')" -gt 0 ] 2> /dev/null
}
rf_wait 20 "dumpcap to capture a probe" captured_probe ||
  { cat "$work/dumpcap.stderr" >&2; fail "dumpcap did not capture"; }

# pmacctd exports everything and exits (rf_pmacctd, tests/support/e2e.sh).
rf_pmacctd "$work/pmacctd.conf"
# The sentinel: not NetFlow, counted as rejected (unknown version).
printf 'SENTINEL' > "/dev/udp/127.0.0.1/$port"
rf_wait 10 "the sentinel after pmacctd's export" \
  rf_metric_is "$murl" ringflow_receive_rejected_total $((probes + 1)) ||
  fail "ringflow counted $(rf_metric "$murl" ringflow_receive_rejected_total) rejected datagrams," \
    "want the $probes probes and the sentinel only"
# dumpcap writes as it goes, and SIGINT loses what it has not written yet
# (seen: 8 of 12 datagrams in the file): stop once the file holds the
# sentinel, which loopback delivered after every export datagram.
received=$(rf_metric "$murl" ringflow_receive_datagrams_total)
sentinel_written() {
  [ -n "$(tshark -n -r "$work/export.pcap" -Y 'frame contains "SENTINEL"' -T fields -e frame.number 2> /dev/null)" ]
}
rf_wait 20 "dumpcap to write the sentinel" sentinel_written ||
  fail "dumpcap did not write the sentinel: $(capinfos -c -M "$work/export.pcap" 2>&1 | tr '\n' ' ')"
kill -INT "$dpid"
wait "$dpid" || fail "dumpcap exited $?"
rf_untrack_pid "$dpid"
rf_stop_collector

# tshark's decoding: one line per datagram, each field a comma-separated list
# with one value per record (v5 records carry every field).
tshark -n -r "$work/export.pcap" -d "udp.port==$port,cflow" -Y "cflow && udp.length > 32" -T fields -E separator=/t \
  -e cflow.engine_type -e cflow.engine_id -e cflow.samplerate -e cflow.srcaddr -e cflow.dstaddr \
  -e cflow.srcport -e cflow.dstport -e cflow.protocol -e cflow.tos -e cflow.tcpflags \
  -e cflow.inputint -e cflow.outputint -e cflow.srcas -e cflow.dstas -e cflow.srcmask \
  -e cflow.dstmask -e cflow.nexthop -e cflow.packets -e cflow.octets 2> "$work/tshark.stderr" \
  > "$work/tshark.tsv"
datagrams=$(wc -l < "$work/tshark.tsv")
[ "$datagrams" -gt 0 ] || fail "tshark decoded no export datagram; ringflow received $received;" \
  "dumpcap: $(capinfos -c "$work/export.pcap" 2>&1 | tr '\n' ' '); tshark: $(head -c 400 "$work/tshark.stderr")"
[ "$received" = $((datagrams + probes + 1)) ] ||
  fail "ringflow received $received datagrams, dumpcap captured $datagrams export datagrams;" \
    "with $probes probes and the sentinel"
# -> key fields in ringflow's CSV order, then packets and bytes times the rate.
awk -F'\t' '
  function hex(s,   i, v) {
    s = tolower(s); sub(/^0x/, "", s); v = 0
    for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return v
  }
  {
    rate = $3 + 0 ? $3 + 0 : 1
    n = split($4, sa, ","); split($5, da, ","); split($6, sp, ","); split($7, dp, ","); split($8, pr, ",")
    split($9, tos, ","); split($10, fl, ","); split($11, in_, ","); split($12, out, ","); split($13, sas, ",")
    split($14, das, ","); split($15, sm, ","); split($16, dm, ","); split($17, nh, ","); split($18, pk, ",")
    split($19, by, ",")
    for (i = 1; i <= n; i++) {
      k = sa[i] "," da[i] "," sp[i] "," dp[i] "," pr[i] "," hex(tos[i]) "," hex(fl[i]) "," in_[i] "," \
          out[i] "," sas[i] "," das[i] "," sm[i] "," dm[i] "," nh[i] "," $1 "," $2 "," rate
      P[k] += pk[i] * rate; B[k] += by[i] * rate; records++
      if (in_[i] != 0) ins++
      if (out[i] != 0) outs++
      if (sas[i] != 0 || das[i] != 0) ases++
      if (sm[i] != 0 || dm[i] != 0) masks++
    }
  }
  END {
    for (k in P) printf "%s,%.0f,%.0f\n", k, P[k], B[k]
    printf "%d %d %d %d %d\n", records, ins, outs, ases, masks > "/dev/stderr"
  }' "$work/tshark.tsv" 2> "$work/filled" | LC_ALL=C sort > "$work/want"
read -r records ins outs ases masks < "$work/filled"
for what in ins outs ases masks; do
  [ "${!what}" -gt 0 ] || fail "pmacctd filled no record's $what: the test would prove them only as zeros"
done
awk -F, -v fields="src_addr dst_addr src_port dst_port protocol tos tcp_flags input output src_as dst_as src_mask dst_mask nexthop engine_type engine_id sampling" '
  FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; nf = split(fields, f, " "); next }
  {
    k = ""
    for (i = 1; i <= nf; i++) {
      if (!(f[i] in c)) { print "no column " f[i] > "/dev/stderr"; exit 1 }
      k = k (i > 1 ? "," : "") $c[f[i]]
    }
    P[k] += $c["packets"]; B[k] += $c["bytes"]
  }
  END { for (k in P) printf "%s,%.0f,%.0f\n", k, P[k], B[k] }' "$work"/out/flows-*.csv | LC_ALL=C sort > "$work/got"
if ! diff "$work/want" "$work/got" > "$work/diff"; then
  head -20 "$work/diff" >&2
  fail "ringflow's rows differ from tshark's decoding of pmacctd's export (< tshark, > ringflow)"
fi
echo "e2e_v5_exporter: PASS ($datagrams datagrams, $records records from pmacctd: $ins with an" \
  "input interface, $outs with an output interface, $ases with AS numbers, $masks with masks," \
  "sampling 1:2; $(wc -l < "$work/want") rows equal tshark's)"
