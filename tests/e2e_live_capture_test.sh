#!/usr/bin/env bash
# The Capture page (issue 24; docs/api.md, "Capture"; src/decode/capture_ring.h,
# src/live/capture_pcap.h) end to end, with tshark as the judge of the pcap.
#
# ringflow-gen writes known bursts to pcap files (--write-pcap: what is sent),
# v9 (35 datagrams) and IPFIX (12); tshark reads their UDP payloads, and
# python3 sends them, in order, from 127.0.0.5:40001 and 127.0.0.6:40002 (a
# source address that is not the collector's own) to a collector keeping
# the last 20 datagrams per stream. Then:
#   - GET /api/v1/capture lists both streams under the Exporters page's ids,
#     v9 with captured 35 and kept 20, IPFIX with 12 and 12, and its shape
#     equals docs/api.md's example;
#   - each GET /api/v1/capture/<id>.pcap opens in tshark, which decodes
#     every frame as NetFlow (cflow, with the port given), none malformed and
#     no warning (v9 sends its template in every datagram, so that the last
#     20 decode alone): the frames' UDP payloads equal the last 20 (v9) and all 12
#     (IPFIX) sent, byte for byte and in order, and their source address and
#     port and destination port are the real ones;
#   - ringflow_capture_datagrams_total is 47, with nothing skipped;
#   - an unknown stream is 404.
# And with metrics.capture_datagrams = 0 (the default) /api/v1/capture is 404.
#
# Usage: e2e_live_capture_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool jq "Debian's jq package"
rf_need_tool curl "Debian's curl package"
rf_need_tool tshark "Debian's tshark package"
rf_need_tool python3 "Debian's python3 package"

start() {  # name, extra [metrics] lines
  rf_start_toml "$1" '[receive]
listen = ["127.0.0.1:0"]
[aggregate]
interval = 1
[output]
directory = "'"$work"'/'"$1"'/out"
[metrics]
listen = "127.0.0.1:0"
'"$2"'
[log]
stats_interval = 0'
  base=${RF_MURL%/metrics}
}

# The bursts: what ringflow-gen sends, as hex payloads, one per line.
"$gen" --protocol v9 --template-refresh 1 --count 35 --pps 0 --seed 5 --quiet --write-pcap "$work/v9.pcap" \
  --truth "$work/v9.tsv"
"$gen" --protocol ipfix --count 12 --pps 0 --seed 6 --quiet --write-pcap "$work/ipfix.pcap" \
  --truth "$work/ipfix.tsv"
payloads() { tshark -r "$1" -T fields -e udp.payload 2>/dev/null; }
payloads "$work/v9.pcap" >"$work/v9.hex"
payloads "$work/ipfix.pcap" >"$work/ipfix.hex"
n9=$(wc -l <"$work/v9.hex")
nx=$(wc -l <"$work/ipfix.hex")
[ "$n9" -gt 20 ] && [ "$nx" -ge 1 ] && [ "$nx" -le 20 ] ||
  fail "bursts of $n9 (v9) and $nx (IPFIX) datagrams: want more than 20, and 1 to 20"

start capture 'capture_datagrams = 20'
send() {  # hex file, source address, source port
  python3 - "$1" "$2" "$3" "$RF_PORT" <<'PY'
import socket, sys
path, src, sport, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, sport))
for line in open(path):
    s.sendto(bytes.fromhex(line.strip()), ("127.0.0.1", port))
PY
}
send "$work/v9.hex" 127.0.0.5 40001
send "$work/ipfix.hex" 127.0.0.6 40002
dom9=$(awk -F'\t' 'NR == 2 { print $8 }' "$work/v9.tsv")
domx=$(awk -F'\t' 'NR == 2 { print $8 }' "$work/ipfix.tsv")
id9="127.0.0.5-9-$dom9"
idx="127.0.0.6-10-$domx"
api() { curl -fsS -m 5 "$base/api/v1/$1"; }
all_in() { [ "$(rf_metric "$RF_MURL" ringflow_capture_datagrams_total)" = $((n9 + nx)) ]; }
rf_wait 20 "$((n9 + nx)) datagrams captured" all_in ||
  fail "captured $(rf_metric "$RF_MURL" ringflow_capture_datagrams_total), sent $((n9 + nx))"
list=$(api capture)
echo "capture: $list"
row() { jq -c --arg id "$1" '.streams[] | select(.id == $id)' <<<"$list"; }
[ "$(row "$id9" | jq -r '"\(.captured) \(.kept) \(.format) \(.pcap)"')" = \
  "$n9 20 netflow_v9 /api/v1/capture/$id9.pcap" ] || fail "v9 row: $(row "$id9")"
[ "$(row "$idx" | jq -r '"\(.captured) \(.kept) \(.format)"')" = "$nx $nx ipfix" ] ||
  fail "IPFIX row: $(row "$idx")"
[ "$(jq -r '"\(.datagrams_per_stream) \(.skipped.busy) \(.skipped.streams_full) \(.skipped.unrecognised)"' \
  <<<"$list")" = "20 0 0 0" ] || fail "totals: $list"
# The shape (keys and JSON types) of docs/api.md's example.
shape='def shape: if type == "object" then with_entries(.value |= shape)
                   elif type == "array" then (if length > 0 then [.[0] | shape] else [] end)
                   else type end; shape'
doc=$(awk '$0 == "## GET /api/v1/capture" { sec = 1; next } sec && /^```json$/ { on = 1; next }
           on && /^```$/ { exit } on' "$src/docs/api.md")
[ -n "$doc" ] || fail "docs/api.md has no example under '## GET /api/v1/capture'"
[ "$(jq -S "$shape" <<<"$doc")" = "$(jq -S "$shape" <<<"$list")" ] ||
  fail "the answer's shape differs from docs/api.md's example: $(jq -cS "$shape" <<<"$list")"

check_pcap() {  # id, sent hex, first line kept (1-based), source, source port
  local id=$1 sent=$2 from=$3 srcaddr=$4 sport=$5 f="$work/$1.pcap"
  local bad='_ws.malformed || _ws.expert.severity >= "Warning"'
  curl -fsS -m 5 -o "$f" -D "$work/$1.headers" "$base/api/v1/capture/$id.pcap" ||
    fail "$id: no pcap"
  grep -qi '^content-type: application/vnd.tcpdump.pcap' "$work/$1.headers" ||
    fail "$id: $(cat "$work/$1.headers")"
  local ts=(tshark -r "$f" -d "udp.port==$RF_PORT,cflow")
  "${ts[@]}" -T fields -e udp.payload >"$work/$id.got" 2>"$work/$id.tshark_err" ||
    fail "$id: tshark cannot read the file: $(cat "$work/$id.tshark_err")"
  tail -n +"$from" "$sent" >"$work/$id.want"
  cmp -s "$work/$id.want" "$work/$id.got" ||
    fail "$id: payloads differ from the last sent ($(wc -l <"$work/$id.got") frames, want" \
      "$(wc -l <"$work/$id.want")): $(diff "$work/$id.want" "$work/$id.got" | head -c 600)"
  local n
  n=$(wc -l <"$work/$id.want")
  [ "$("${ts[@]}" -Y cflow -T fields -e frame.number | wc -l)" = "$n" ] ||
    fail "$id: tshark decodes $("${ts[@]}" -Y cflow -T fields -e frame.number | wc -l) of $n frames as NetFlow/IPFIX"
  [ "$("${ts[@]}" -Y "$bad" | wc -l)" = 0 ] ||
    fail "$id: malformed or warned: $("${ts[@]}" -Y "$bad" -T fields -e frame.number -e _ws.expert.message | head)"
  [ "$("${ts[@]}" -T fields -e ip.src -e udp.srcport -e udp.dstport -e ip.dst | sort -u)" = \
    "$(printf '%s\t%s\t%s\t127.0.0.1' "$srcaddr" "$sport" "$RF_PORT")" ] ||
    fail "$id: addresses $("${ts[@]}" -T fields -e ip.src -e udp.srcport -e udp.dstport -e ip.dst | sort -u)"
  echo "$id: $n frames, payloads equal to the last $n sent, from $srcaddr:$sport"
}
check_pcap "$id9" "$work/v9.hex" $((n9 - 20 + 1)) 127.0.0.5 40001
check_pcap "$idx" "$work/ipfix.hex" 1 127.0.0.6 40002
# tshark reads the flows: as many records as ringflow-gen's truth says were sent in them.
recs=$(tshark -r "$work/$idx.pcap" -d "udp.port==$RF_PORT,cflow" -T fields -e cflow.srcaddr | tr ',' '\n' | grep -c . || true)
[ "$recs" = "$(rf_truth_total "$work/ipfix.tsv" flows)" ] ||
  fail "tshark reads $recs flow records in the IPFIX capture, the truth $(rf_truth_total "$work/ipfix.tsv" flows)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/capture/192.0.2.1-9-0.pcap")
[ "$code" = 404 ] || fail "an unknown stream: HTTP $code"
rf_stop_collector

start off ''
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/capture")
[ "$code" = 404 ] || fail "capture off by default: /api/v1/capture is HTTP $code"
[ -z "$(rf_metric "$RF_MURL" ringflow_capture_datagrams_total)" ] || fail "capture metrics while off"
echo "PASS"
