#!/usr/bin/env bash
# sFlow v5 from a real exporter, read by ringflow and by both peer collectors
# on the same datagrams. pmacct's pmacctd reads tests/data/traffic-lo.pcap
# (real mixed traffic: TCP and UDP over IPv4 and IPv6, ICMP and ICMPv6; see
# tests/data/README.md) and exports sFlow with its sfprobe plugin (agent
# 192.0.2.10, sub-agent 3, input ifIndex 7, sampling 1 in 2: random, so the
# samples vary from run to run; the comparison does not). The export is
# caught once into a pcap (tests/support/udp_catch_pcap.py, bound before
# pmacctd starts), then the same datagrams are replayed (ringflow-gen
# --replay) to
#   - ringflow (decode.versions = ["sflow"], bytes as sent: frame_length),
#   - sfcapd (nfdump 1.7, Debian nfdump-sflow), read back with nfdump,
#   - sfacctd (pmacct 1.7, Debian pmacct) with sfacctd_renormalize, print
#     plugin to CSV.
# The truth is tshark's decoding of the caught export
# (tests/support/tshark_sflow.jq): per flow sample its rate, input ifIndex,
# the 5-tuple of the raw header and its frame_length; per key packets = rate
# per sample and bytes = frame_length x rate.
#
# Every per-key row of all three must equal the truth, with these
# differences, each explained and applied to the truth before the compare:
#   - sfacctd (1.7.7, sfacctd_renormalize) does not scale a sample by its
#     sampling rate: it weights it by how much the source's sample_pool grew
#     since its previous sample (from 0 for the first), i.e. by the packets
#     the agent saw between samples. With pmacctd's random 1-in-2 sampling
#     the two differ per key (an exact match on every key, packets and bytes,
#     once the truth is weighted the same way); over a run the pool's growth
#     follows the real packet count (329 against rate x samples = 324, of 332
#     frames, in one run). ringflow and sfcapd scale by the rate, as the
#     sFlow v5 spec describes for estimating totals.
#   - sfacctd puts no ICMP type/code in the ports (both 0) for ICMP and
#     ICMPv6; ringflow puts type << 8 | code in dst_port, as NetFlow
#     exporters do.
#   - sfcapd (1.7.1, whose decoder follows InMon's sflowtool) puts the ICMP
#     type in src_port and the code in dst_port (nfdump prints "0.3" for
#     type 3 code 3), and reads no type/code for ICMPv6 (both ports 0).
# Bytes: pmacctd's sfprobe sends header protocol IPv4/IPv6 (11/12: no
# Ethernet header) with frame_length = IP length + 4 and stripped = 4; all
# three count frame_length, so all agree on it (docs/config.md,
# decode.sflow_bytes).
#
# Waits are for positive events: the catcher's port file, pmacctd's session
# gone, the catcher's exit on a sentinel sent after it, each collector's
# socket queue empty (ss) and, for ringflow, its datagram counter.
# Usage: e2e_sflow_peers_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool pmacctd "Debian's pmacct"
rf_need_tool sfacctd "Debian's pmacct"
rf_need_tool sfcapd "Debian's nfdump-sflow"
rf_need_tool nfdump "Debian's nfdump"
rf_need_tool tshark "Debian's tshark"
rf_need_tool jq "Debian's jq"
rf_need_tool python3 "Debian's python3"

# 1. pmacctd's export, caught once.
python3 "$src/tests/support/udp_catch_pcap.py" --out "$work/sflow.pcap" --port-file "$work/catch.port" \
  --timeout 100 > "$work/catch.n" 2> "$work/catch.err" &
catcher=$!
rf_track_pid "$catcher"
rf_wait 20 "the catcher's port" test -s "$work/catch.port" || fail "udp_catch_pcap.py did not start"
cport=$(cat "$work/catch.port")
cat > "$work/pmacctd.conf" << EOF
daemonize: false
pcap_savefile: $src/tests/data/traffic-lo.pcap
sampling_rate: 2
plugins: sfprobe[a]
sfprobe_receiver[a]: 127.0.0.1:$cport
sfprobe_agentip[a]: 192.0.2.10
sfprobe_agentsubid[a]: 3
sfprobe_ifindex[a]: 7
EOF
rf_pmacctd "$work/pmacctd.conf"
printf 'SENTINEL' > "/dev/udp/127.0.0.1/$cport"
catch_rc=0
wait "$catcher" || catch_rc=$?
rf_untrack_pid "$catcher"
[ "$catch_rc" = 0 ] || { cat "$work/catch.err" >&2; fail "udp_catch_pcap.py exited $catch_rc"; }
datagrams=$(cat "$work/catch.n")
[ "$datagrams" -gt 0 ] || fail "pmacctd's sfprobe sent nothing: $(tail -5 "$work/pmacctd.log")"

# 2. The truth: tshark, per flow sample.
tshark -n -r "$work/sflow.pcap" -d "udp.port==$cport,sflow" -T json --no-duplicate-keys 2> /dev/null |
  jq -r -f "$src/tests/support/tshark_sflow.jq" > "$work/tshark.tsv"
samples=$(awk -F'\t' '$1 == "F"' "$work/tshark.tsv" | wc -l)
[ "$samples" -gt 50 ] || fail "tshark read $samples flow samples from $datagrams datagrams"
# F agent sub seq sample_seq rate pool drops input src dst sport dport proto length
truth_rows() {  # $1: "sfacctd" or "sfcapd" applies that peer's documented difference
  awk -F'\t' -v peer="${1:-}" '$1 == "F" {
      sp = $12; dp = $13
      w = $6
      if (peer == "sfacctd") { w = $7 - pool[$2 " " $3]; pool[$2 " " $3] = $7 }
      if (peer == "sfacctd" && ($14 == 1 || $14 == 58)) { sp = 0; dp = 0 }
      if (peer == "sfcapd" && $14 == 1) { sp = int(dp / 256); dp = dp % 256 }
      if (peer == "sfcapd" && $14 == 58) { sp = 0; dp = 0 }
      k = $10 " " $11 " " sp " " dp " " $14 " " $9
      P[k] += w; B[k] += $15 * w }
    END { for (k in P) printf "%s %.0f %.0f\n", k, P[k], B[k] }' "$work/tshark.tsv" | LC_ALL=C sort
}
truth_rows > "$work/truth.rows"
grep -q ' 58 ' "$work/truth.rows" && grep -q ' 1 ' "$work/truth.rows" ||
  echo "note: this run's samples hold no ICMP or no ICMPv6 key (sampling is random)" >&2

replay() {  # PORT
  "$gen" --replay "$work/sflow.pcap" --target "127.0.0.1:$1" --replay-speed 0 -q ||
    fail "ringflow-gen --replay to port $1 failed"
}
recv_q_empty() { [ "$(ss -Huan "sport = :$1" | awk '{ print $2; exit }')" = 0 ]; }
compare() {  # NAME WANT GOT
  if ! diff "$2" "$3" > "$work/$1.diff"; then
    head -20 "$work/$1.diff" >&2
    fail "$1's rows differ from tshark's decoding of pmacctd's export (< truth, > $1)"
  fi
}

# 3. ringflow.
port=$(rf_udp_port)
cat > "$work/netflow.toml" << EOF
[receive]
listen = ["127.0.0.1:$port"]
workers = 1
[decode]
versions = ["sflow"]
persist_templates = false
[aggregate]
interval = 3600
key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "input"]
[metrics]
listen = "127.0.0.1:0"
[output]
directory = "$work/out"
[[sink]]
type = "csv"
[log]
stats_interval = 0
EOF
rf_start_collector ringflow -c "$work/netflow.toml"
replay "$port"
rf_wait 20 "ringflow to receive the $datagrams datagrams" \
  rf_metric_is "$RF_MURL" ringflow_receive_datagrams_total "$datagrams" ||
  fail "ringflow received $(rf_metric "$RF_MURL" ringflow_receive_datagrams_total) of $datagrams"
rejected=$(rf_metric "$RF_MURL" ringflow_receive_rejected_total)
[ "${rejected:-0}" = 0 ] || fail "ringflow rejected $rejected of pmacctd's datagrams"
rf_stop_collector
awk -F, 'FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { k = $c["src_addr"] " " $c["dst_addr"] " " $c["src_port"] " " $c["dst_port"] " " $c["protocol"] " " $c["input"]
    P[k] += $c["packets"]; B[k] += $c["bytes"] }
  END { for (k in P) printf "%s %.0f %.0f\n", k, P[k], B[k] }' "$work"/out/flows-*.csv |
  LC_ALL=C sort > "$work/ringflow.rows"
compare ringflow "$work/truth.rows" "$work/ringflow.rows"

# 4. sfcapd, read back with nfdump.
sfport=$(rf_udp_port)
mkdir -p "$work/sfcapd"
sfcapd -b 127.0.0.1 -p "$sfport" -w "$work/sfcapd" -t 3600 > "$work/sfcapd.log" 2>&1 &
sfpid=$!
rf_track_pid "$sfpid"
rf_wait 10 "sfcapd to bind" bash -c "ss -Huan 'sport = :$sfport' | grep -q ." ||
  { cat "$work/sfcapd.log" >&2; fail "sfcapd did not start"; }
replay "$sfport"
rf_wait 10 "sfcapd to read its socket" recv_q_empty "$sfport" || fail "sfcapd left datagrams unread"
kill -TERM "$sfpid"
wait "$sfpid" || true
rf_untrack_pid "$sfpid"
grep -q "Flows: $samples," "$work/sfcapd.log" ||
  { cat "$work/sfcapd.log" >&2; fail "sfcapd did not store the $samples samples"; }
nfdump -R "$work/sfcapd" -q -N -o 'fmt:%sa|%da|%sp|%dp|%pr|%in|%pkt|%byt' |
  awk -F'|' '
    function t(s) { gsub(/ /, "", s); return s }
    function port(p) { p = t(p); if (index(p, ".")) { split(p, a, "."); return a[1] * 256 + a[2] } return p }
    function num(p) { p = t(p); return p == "TCP" ? 6 : p == "UDP" ? 17 : p == "ICMP" ? 1 : p == "ICMP6" ? 58 : p }
    { k = t($1) " " t($2) " " port($3) " " port($4) " " num($5) " " t($6); P[k] += $7; B[k] += $8 }
    END { for (k in P) printf "%s %.0f %.0f\n", k, P[k], B[k] }' | LC_ALL=C sort > "$work/sfcapd.rows"
truth_rows sfcapd > "$work/truth.sfcapd.rows"
compare sfcapd "$work/truth.sfcapd.rows" "$work/sfcapd.rows"

# 5. sfacctd, renormalizing, print plugin to CSV: its cache is appended to the
# file every second. plugin_buffer_size is small because the core holds
# records until a buffer fills (seen: none of the test's 300 samples reached
# the plugin in 20 s with the default).
saport=$(rf_udp_port)
cat > "$work/sfacctd.conf" << EOF
daemonize: false
sfacctd_ip: 127.0.0.1
sfacctd_port: $saport
sfacctd_renormalize: true
aggregate: src_host, dst_host, src_port, dst_port, proto, in_iface
plugins: print
print_output: csv
print_output_file: $work/sfacctd.csv
print_refresh_time: 1
print_output_file_append: true
plugin_buffer_size: 1024
logfile: $work/sfacctd.log
EOF
sfacctd -f "$work/sfacctd.conf" > /dev/null 2>&1 &
sapid=$!
rf_track_pid "$sapid"
# Ready is not in its log: its core discards what it reads until its print
# plugin is up, whatever the log says (seen: the whole replay lost after both
# its "waiting for sFlow data" and "cache entries" lines, and after the
# bind). Ready is the positive event that a probe shows in its CSV: the first
# datagram of the capture from another agent (192.0.2.99) whose every flow
# sample has source index and input ifIndex 999 (rows of in_iface 999 are
# left out below; its own agent and source keep sfacctd's pool state of the
# real agent untouched), sent until its rows appear.
sfacctd_started() { grep -q "waiting for sFlow data" "$work/sfacctd.log" 2> /dev/null; }
rf_wait 10 "sfacctd to log its start" sfacctd_started ||
  { cat "$work/sfacctd.log" >&2; fail "sfacctd did not start"; }
python3 - "$work/sflow.pcap" "$work/probe.bin" << 'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", d, 24 + 8)[0]    # first packet's captured length
b = bytearray(d[24 + 16 + 28:24 + 16 + n])    # its UDP payload (RAW link: IPv4 20 + UDP 8)
assert struct.unpack_from("!I", b, 4)[0] == 1   # pmacctd's agent is IPv4
b[8:12] = bytes([192, 0, 2, 99])
off = 8 + (16 if struct.unpack_from("!I", b, 4)[0] == 2 else 4) + 16  # then the samples
for _ in range(struct.unpack_from("!I", b, off - 4)[0]):
    fmt, ln = struct.unpack_from("!II", b, off)
    if fmt == 1:                              # compact flow sample: source id, input
        struct.pack_into("!I", b, off + 8 + 4, 999)
        struct.pack_into("!I", b, off + 8 + 20, 999)
    off += 8 + ln
open(sys.argv[2], "wb").write(b)
PY
probe_seen() {
  cat "$work/probe.bin" > "/dev/udp/127.0.0.1/$saport"
  awk -F, '$1 == "SRC_IP" || $1 == "IN_IFACE" { for (i = 1; i <= NF; i++) c[$i] = i; next }
           $c["IN_IFACE"] == 999 { found = 1 } END { exit !found }' "$work/sfacctd.csv" 2> /dev/null
}
rf_wait 20 "sfacctd to count a probe" probe_seen || fail "sfacctd counted none of the probes"
replay "$saport"
rf_wait 10 "sfacctd to read its socket" recv_q_empty "$saport" || fail "sfacctd left datagrams unread"
# Done is the positive event that the appended rows hold every sampled
# packet the truth counts; a loss inside sfacctd times out here with its
# count.
truth_rows sfacctd > "$work/truth.sfacctd.rows"
want_packets=$(awk '{ s += $(NF - 1) } END { printf "%.0f\n", s }' "$work/truth.sfacctd.rows")
sfacctd_packets() {
  awk -F, '$1 == "SRC_IP" || $1 == "IN_IFACE" { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["IN_IFACE"] != 999 { s += $c["PACKETS"] }
           END { printf "%.0f\n", s }' "$work/sfacctd.csv" 2> /dev/null
}
# Probes keep going: the core sends records on when its buffer fills, so the
# last samples of the replay reach the plugin only behind later datagrams
# (seen: one sample short until a probe followed).
sfacctd_has_all() {
  cat "$work/probe.bin" > "/dev/udp/127.0.0.1/$saport"
  [ "$(sfacctd_packets)" = "$want_packets" ]
}
rf_wait 20 "sfacctd's CSV to hold $want_packets packets" sfacctd_has_all ||
  fail "sfacctd's CSV holds $(sfacctd_packets) of $want_packets packets"
kill -INT "$sapid"
wait "$sapid" || true
rf_untrack_pid "$sapid"
awk -F, '$1 == "SRC_IP" || $1 == "IN_IFACE" { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["IN_IFACE"] != 999 { p = $c["PROTOCOL"]; p = p == "tcp" ? 6 : p == "udp" ? 17 : p == "icmp" ? 1 : p == "ipv6-icmp" ? 58 : p
    k = $c["SRC_IP"] " " $c["DST_IP"] " " $c["SRC_PORT"] " " $c["DST_PORT"] " " p " " $c["IN_IFACE"]
    P[k] += $c["PACKETS"]; B[k] += $c["BYTES"] }
  END { for (k in P) printf "%s %.0f %.0f\n", k, P[k], B[k] }' "$work/sfacctd.csv" |
  LC_ALL=C sort > "$work/sfacctd.rows"
compare sfacctd "$work/truth.sfacctd.rows" "$work/sfacctd.rows"

echo "e2e_sflow_peers: PASS ($datagrams datagrams, $samples flow samples from pmacctd's sfprobe at 1:2;" \
  "$(wc -l < "$work/truth.rows") keys: ringflow, sfcapd and sfacctd each equal tshark's decoding" \
  "per key, packets and bytes)"
