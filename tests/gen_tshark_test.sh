#!/usr/bin/env bash
# Wireshark decodes what ringflow-gen --protocol v5|v9|ipfix|sflow writes, and
# agrees with its ground truth: every datagram dissects without an error or a
# warning, and tshark's data record count, addresses (IPv4 and IPv6), ports,
# protocol, packets and bytes equal the per-stream and per-key truth.
# Scaled values, which every sampling test takes as truth (packets_scaled,
# bytes_scaled), must equal tshark's rate x each record's count: v5's header
# SampleRate; v9's samplerRandomInterval (50) and IPFIX's
# samplingPacketInterval/Space (305/306) from the options data tshark decoded,
# looked up by each record's samplerId (48) / selectorId (302) in the
# exporter's and domain's sampler table; per stream total and, for v9/IPFIX,
# per key (with the rate itself against the per-key truth's sampling column).
# sFlow (check_sflow, below) is checked per stream, per source, per key and
# per counter sample with tshark's sFlow dissector.
# Most runs read --write-pcap; the v5_socket and sflow_socket runs send to a
# loopback port and read dumpcap's capture of lo, so the sending path is
# checked too.
# Exits 77 (skipped) when tshark or jq is not installed (as root:
# scripts/deps.sh --test).
# Usage: gen_tshark_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
GEN=$gen TMP=$work
[ -x "$GEN" ] || fail "missing $GEN (build the ringflow-gen target)"
rf_need_tool tshark "Debian's tshark package"
rf_need_tool jq "Debian's jq package"
if [ "$(id -u)" != 0 ]; then
  rf_skip "the v5_socket run captures on lo with dumpcap, which needs root (CI runs as root)"
fi
PORT=2055
fail=0

# check NAME GEN-ARGS...: one generated pcap against its truth.
check() {
  local name=$1
  shift
  local dir="$TMP/$name"
  mkdir -p "$dir"
  if [ "${VIA:-pcap}" = socket ]; then
    capture "$dir" "$@" || { echo "FAIL: $name: capture"; fail=1; return; }
    local PORT  # the checks below dissect cflow on the port captured
    PORT=$(cat "$dir/port")
  else
    "$GEN" --target 127.0.0.1:$PORT --write-pcap "$dir/out.pcap" --truth "$dir/truth.tsv" \
      --truth-keys "$dir/keys.tsv" -q "$@"
  fi
  local frames bad
  frames=$(tshark -r "$dir/out.pcap" -d udp.port==$PORT,cflow -T fields -e frame.number 2>/dev/null | wc -l)
  bad=$(tshark -r "$dir/out.pcap" -d udp.port==$PORT,cflow \
          -Y '_ws.malformed || _ws.expert.severity >= "Warning" || !cflow' 2>/dev/null | wc -l)
  local want_dgrams
  want_dgrams=$(awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} $1=="total"{print $c["datagrams"]}' "$dir/truth.tsv")
  # One line per data record: src dst sport dport proto packets bytes. A
  # datagram's IPv4 set comes before its IPv6 set, so the IPv4 and IPv6
  # address lists concatenated line up with the port and counter lists.
  tshark -r "$dir/out.pcap" -d udp.port==$PORT,cflow -T fields -E occurrence=a -E aggregator=, \
      -e cflow.srcaddr -e cflow.srcaddrv6 -e cflow.dstaddr -e cflow.dstaddrv6 \
      -e cflow.srcport -e cflow.dstport -e cflow.protocol -e cflow.packets -e cflow.octets \
      -e cflow.samplerate -e ip.src -e cflow.source_id -e cflow.od_id -e cflow.sampler_id \
      -e cflow.selector_id -e cflow.sampler_random_interval -e cflow.sampling_packet_interval \
      -e cflow.sampling_packet_space 2>/dev/null | awk -F'\t' -v OFS='\t' '
    function csv(s, a) { return s == "" ? 0 : split(s, a, ",") }
    { n4 = csv($1, s4); csv($2, s6); csv($3, d4); csv($4, d6)
      n = csv($5, sp); csv($6, dp); csv($7, pr); csv($8, pk); csv($9, by)
      v5rate = $10 == "" || $10 == 0 ? 1 : $10  # v5 header SampleRate; 0: unsampled
      # v9/IPFIX: options data records come first in a datagram, so the first
      # nopt sampler/selector ids are theirs (each with its rate), the rest
      # the data records'\'' ids, in record order.
      dom = $12 != "" ? $12 : $13
      nid = csv($14 != "" ? $14 : $15, ids)
      nopt = 0
      if ($16 != "") {
        nopt = csv($16, ri)
        for (j = 1; j <= nopt; j++) R[$11, dom, ids[j]] = ri[j]
      } else if ($18 != "") {
        nopt = csv($18, space); csv($17, ival)
        for (j = 1; j <= nopt; j++) R[$11, dom, ids[j]] = (ival[j] + space[j]) / ival[j]
      }
      for (i = 1; i <= n; i++) {
        src = i <= n4 ? s4[i] : s6[i - n4]; dst = i <= n4 ? d4[i] : d6[i - n4]
        rate = v5rate
        if (nid > 0) {
          k = $11 SUBSEP dom SUBSEP ids[nopt + i]
          rate = (k in R) ? R[k] : "no-sampler-" ids[nopt + i]
        }
        print src, dst, sp[i], dp[i], pr[i], pk[i], by[i], pk[i] * rate, by[i] * rate, rate } }' > "$dir/records.tsv"
  local got want
  got=$(awk -F'\t' '{n++; p+=$6; b+=$7} END{printf "%d %d %d\n", n, p, b}' "$dir/records.tsv")
  want=$(awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
                     $1=="total"{print $c["flows"], $c["packets"], $c["bytes"]}' "$dir/truth.tsv")
  awk -F'\t' -v OFS='\t' '{k=$1 OFS $2 OFS $3 OFS $4 OFS $5; f[k]++; p[k]+=$6; b[k]+=$7}
      END{for(k in f) print k, f[k], p[k], b[k]}' "$dir/records.tsv" | sort > "$dir/got_keys.tsv"
  tail -n +2 "$dir/keys.tsv" | cut -f1-8 | sort > "$dir/want_keys.tsv"
  # v9/IPFIX with sampling: per key, tshark's rate against the truth's
  # sampling column, and tshark's rate x packets/bytes against packets/bytes
  # x sampling of the truth.
  local scaled_keys=ok
  if [ "${SCALED:-0}" = 1 ] && head -1 "$dir/keys.tsv" | grep -q sampling; then
    awk -F'\t' -v OFS='\t' '{k=$1 OFS $2 OFS $3 OFS $4 OFS $5; p[k]+=$8; b[k]+=$9
        if ((k in r) && r[k] != $10) r[k] = "mixed"; else r[k] = $10}
        END{for(k in p) printf "%s\t%s\t%.0f\t%.0f\n", k, r[k], p[k], b[k]}' "$dir/records.tsv" |
      sort > "$dir/got_scaled_keys.tsv"
    tail -n +2 "$dir/keys.tsv" | awk -F'\t' -v OFS='\t' '{printf "%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\n", $1, $2, $3, $4, $5, $9, $7 * $9, $8 * $9}' |
      sort > "$dir/want_scaled_keys.tsv"
    diff -q "$dir/want_scaled_keys.tsv" "$dir/got_scaled_keys.tsv" > /dev/null || scaled_keys=differ
  fi
  local v6
  v6=$(grep -c ':' "$dir/want_keys.tsv" || true)
  local scaled_got='-' scaled_want='-'
  if [ "${SCALED:-0}" = 1 ]; then
    scaled_got=$(awk -F'\t' '{p+=$8; b+=$9} END{printf "%.0f %.0f\n", p, b}' "$dir/records.tsv")
    scaled_want=$(awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
                             $1=="total"{print $c["packets_scaled"], $c["bytes_scaled"]}' "$dir/truth.tsv")
  fi
  echo "$name: $frames frames (truth $want_dgrams datagrams), $bad with dissector errors;" \
       "records/packets/bytes tshark '$got' truth '$want'; $(wc -l < "$dir/want_keys.tsv") keys ($v6 IPv6);" \
       "scaled packets/bytes tshark '$scaled_got' truth '$scaled_want'; per-key rate and scaled: $scaled_keys"
  if [ "$frames" != "$want_dgrams" ] || [ "$bad" != 0 ] || [ "$got" != "$want" ] ||
     [ "$scaled_got" != "$scaled_want" ]; then
    echo "FAIL: $name"
    tshark -r "$dir/out.pcap" -d udp.port==$PORT,cflow \
      -Y '_ws.malformed || _ws.expert.severity >= "Warning"' -V 2>/dev/null | grep -iE "expert|malformed" | head -5 || true
    fail=1
  elif ! diff -q "$dir/want_keys.tsv" "$dir/got_keys.tsv" > /dev/null; then
    echo "FAIL: $name: per-key rows differ from the truth"
    diff "$dir/want_keys.tsv" "$dir/got_keys.tsv" | head -10
    fail=1
  elif [ "$scaled_keys" != ok ]; then
    echo "FAIL: $name: per-key rate or scaled packets/bytes differ from the truth (key rate packets_scaled bytes_scaled)"
    diff "$dir/want_scaled_keys.tsv" "$dir/got_scaled_keys.tsv" | head -10
    fail=1
  elif [ "$v6" = 0 ] && [ "${WANT_V6:-1}" = 1 ]; then
    echo "FAIL: $name: no IPv6 key in the truth"
    fail=1
  fi
}

# capture DIR GEN-ARGS...: sends to a loopback port while dumpcap captures lo,
# and leaves the datagrams sent, alone, in DIR/out.pcap (dissected on $PORT).
capture() {
  local dir=$1 port cap_pid sent rc=0
  shift
  # Nothing listens on the port: the probes (6 bytes) and the datagrams are
  # only captured, never received by anyone.
  port=$(rf_udp_port)
  dumpcap -q -i lo -f "udp dst port $port" -w "$dir/cap.pcapng" 2> "$dir/dumpcap.log" &
  cap_pid=$!
  # Capturing once a probe datagram is in the file (dumpcap writes as it goes).
  count() { capinfos -c -M "$dir/cap.pcapng" 2> /dev/null | awk '/Number of packets/ { print $NF }'; }
  probed() { echo probe > "/dev/udp/127.0.0.1/$port"; [ "$(count)" -gt 0 ] 2> /dev/null; }
  rf_wait 20 "dumpcap to capture on lo" probed || rc=1
  if [ $rc = 0 ]; then
    "$GEN" --target "127.0.0.1:$port" --truth "$dir/truth.tsv" --truth-keys "$dir/keys.tsv" -q "$@"
    sent=$(awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} $1=="total"{print $c["datagrams"]}' "$dir/truth.tsv")
    # SIGINT drops what dumpcap has not written yet: stop once it wrote them all.
    all() { [ "$(tshark -r "$dir/cap.pcapng" -Y "udp.length > 20" 2> /dev/null | wc -l)" -ge "$sent" ]; }
    rf_wait 20 "dumpcap to write the $sent datagrams sent" all || rc=1
  fi
  kill -INT "$cap_pid"
  wait "$cap_pid" || true
  [ $rc = 0 ] || { cat "$dir/dumpcap.log"; return 1; }
  tshark -r "$dir/cap.pcapng" -Y "udp.length > 20" -F pcap -w "$dir/out.pcap" 2> /dev/null
  echo "$port" > "$dir/port"
}

# check_sflow NAME GEN-ARGS...: one generated sFlow pcap against its truth,
# every value from tshark's sFlow dissector (tests/support/tshark_sflow.jq):
#  - every datagram dissects without an error or warning (TCP sequence
#    analysis off: sampled packets are not a TCP stream);
#  - per stream (agent, sub-agent): datagrams, flow samples, counter samples,
#    bytes (sum of frame_length), packets_scaled (sum of rate) and
#    bytes_scaled (sum of frame_length x rate), and the datagram sequence
#    from first_seq to next_seq - 1 without a gap;
#  - per source (agent, sub-agent, input ifIndex): sample sequence 1, 2, ...,
#    sample_pool = the running sum of the rate, drops 0;
#  - per key: flows, packets (1 per sample), bytes and the sampling rate
#    equal the per-key truth;
#  - every counter sample's input octets / packets equal the sum of
#    frame_length x rate / rate of the flow samples of its ifIndex in the
#    agent's earlier datagrams (in sequence order).
check_sflow() {
  local name=$1
  shift
  local dir="$TMP/$name"
  mkdir -p "$dir"
  local PORT=6343
  if [ "${VIA:-pcap}" = socket ]; then
    capture "$dir" --protocol sflow "$@" || { echo "FAIL: $name: capture"; fail=1; return; }
    PORT=$(cat "$dir/port")
  else
    "$GEN" --protocol sflow --target 127.0.0.1:$PORT --write-pcap "$dir/out.pcap" \
      --truth "$dir/truth.tsv" --truth-keys "$dir/keys.tsv" -q "$@"
  fi
  local ts=(tshark -r "$dir/out.pcap" -d "udp.port==$PORT,sflow" -o tcp.analyze_sequence_numbers:FALSE)
  local frames bad
  frames=$("${ts[@]}" -T fields -e frame.number 2>/dev/null | wc -l)
  bad=$("${ts[@]}" -Y '_ws.malformed || _ws.expert.severity >= "Warning" || !sflow' 2>/dev/null | wc -l)
  "${ts[@]}" -T json --no-duplicate-keys 2>/dev/null | jq -r -f "$src/tests/support/tshark_sflow.jq" \
    > "$dir/samples.tsv"
  # Per stream, from tshark: agent sub datagrams flows counters bytes pk_scaled by_scaled first last
  awk -F'\t' -v OFS='\t' '
    { s = $2 OFS $3 }
    !seen[s, $4]++ { d[s]++; if (!(s in lo) || $4 + 0 < lo[s]) lo[s] = $4 + 0; if ($4 + 0 > hi[s]) hi[s] = $4 + 0 }
    $1 == "F" { f[s]++; b[s] += $15; ps[s] += $6; bs[s] += $15 * $6 }
    $1 == "C" { c[s]++ }
    END { for (s in d) printf "%s\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\n", s, d[s], f[s], c[s], b[s], ps[s], bs[s], lo[s], hi[s] + 1 }' \
    "$dir/samples.tsv" | sort > "$dir/got_streams.tsv"
  # The datagrams of a stream without a flow or counter sample (none are
  # sent) would be missing above: the frame count is compared separately.
  awk -F'\t' -v OFS='\t' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} $1!="total"{
      print $c["agent"], $c["domain"], $c["datagrams"], $c["flows"], $c["counter_samples"], $c["bytes"],
            $c["packets_scaled"], $c["bytes_scaled"], $c["first_seq"], $c["next_seq"] }' "$dir/truth.tsv" |
    sort > "$dir/want_streams.tsv"
  # Per source, in sample sequence order (tshark's JSON groups a frame's
  # samples by label, not in wire order): sequence and pool.
  local source_errors
  source_errors=$(sort -t$'\t' -k2,2 -k3,3n -k9,9n -k5,5n "$dir/samples.tsv" | awk -F'\t' '
      $1 == "F" { k = $2 SUBSEP $3 SUBSEP $9; n[k]++; pool[k] += $6
        if ($5 != n[k] || $7 != pool[k] || $8 != 0) { bad++; if (bad <= 3) print "source " $2 "/" $3 "/if" $9 ": seq " $5 " (want " n[k] ") pool " $7 " (want " pool[k] ") drops " $8 > "/dev/stderr" } }
      END { print bad + 0 }')
  # Counters against the flow samples before them.
  local counter_errors counters
  counters=$(grep -c '^C' "$dir/samples.tsv" || true)
  # Without a raw header tshark sees no frame_length, only the IP length:
  # then only packets are compared (COUNTER_OCTETS=0).
  counter_errors=$(sort -t$'\t' -k4,4n -s "$dir/samples.tsv" | awk -F'\t' -v octets="${COUNTER_OCTETS:-1}" '
      $1 == "F" { k = $2 SUBSEP $3 SUBSEP $9; oct[k] += $15 * $6; pk[k] += $6 }
      $1 == "C" { k = $2 SUBSEP $3 SUBSEP $6
        if ((octets && $7 != oct[k] + 0) || $8 != (pk[k] + 0) % 4294967296) { bad++; if (bad <= 3) print "counter " $2 "/" $3 "/if" $6 ": in_octets " $7 " (flows say " oct[k] + 0 ") in_packets " $8 " (flows say " pk[k] + 0 ")" > "/dev/stderr" } }
      END { print bad + 0 }')
  # Per key.
  awk -F'\t' -v OFS='\t' '$1 == "F" { k = $10 OFS $11 OFS $12 OFS $13 OFS $14; f[k]++; b[k] += $15
      if ((k in r) && r[k] != $6) r[k] = "mixed"; else r[k] = $6 }
      END { for (k in f) print k, f[k], f[k], b[k], r[k] }' "$dir/samples.tsv" | sort > "$dir/got_keys.tsv"
  tail -n +2 "$dir/keys.tsv" | sort > "$dir/want_keys.tsv"
  local v6 agents6
  v6=$(grep -c ':' "$dir/want_keys.tsv" || true)
  agents6=$(cut -f1 "$dir/want_streams.tsv" | grep -c ':' || true)
  local want_dgrams
  want_dgrams=$(awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} $1=="total"{print $c["datagrams"]}' "$dir/truth.tsv")
  echo "$name: $frames frames (truth $want_dgrams datagrams), $bad with dissector errors;" \
       "$(wc -l < "$dir/want_streams.tsv") streams ($agents6 IPv6 agents), $(wc -l < "$dir/want_keys.tsv") keys ($v6 IPv6)," \
       "$(grep -c '^F' "$dir/samples.tsv" || true) flow samples, $counters counter samples;" \
       "source errors $source_errors, counter errors $counter_errors"
  if [ "$frames" != "$want_dgrams" ] || [ "$bad" != 0 ] || [ "$source_errors" != 0 ] ||
     [ "$counter_errors" != 0 ]; then
    echo "FAIL: $name"
    fail=1
  elif ! diff -q "$dir/want_streams.tsv" "$dir/got_streams.tsv" > /dev/null; then
    echo "FAIL: $name: per-stream totals differ from the truth (agent sub datagrams flows counters bytes packets_scaled bytes_scaled first_seq next_seq)"
    diff "$dir/want_streams.tsv" "$dir/got_streams.tsv" | head -10
    fail=1
  elif ! diff -q "$dir/want_keys.tsv" "$dir/got_keys.tsv" > /dev/null; then
    echo "FAIL: $name: per-key rows differ from the truth"
    diff "$dir/want_keys.tsv" "$dir/got_keys.tsv" | head -10
    fail=1
  elif [ "${WANT_V6:-1}" = 1 ] && { [ "$v6" = 0 ] || [ "$agents6" = 0 ]; }; then
    echo "FAIL: $name: no IPv6 key or no IPv6 agent in the truth"
    fail=1
  elif [ "${WANT_COUNTERS:-1}" = 1 ] && [ "$counters" = 0 ]; then
    echo "FAIL: $name: no counter sample"
    fail=1
  fi
}

SCALED=1 WANT_V6=0 check v5 --protocol v5 --count 200 --exporters 3 --sampling 1:10
VIA=socket SCALED=1 WANT_V6=0 check v5_socket --protocol v5 --count 200 --exporters 2 --pps 2000 \
  --sampling 1:100
SCALED=1 check v9 --protocol v9 --count 300 --exporters 2 --domains 2 --ipv6-share 0.3 --samplers 10,100
SCALED=1 check ipfix --protocol ipfix --count 300 --ipv6-share 0.3 --samplers 100 --varlen --enterprise
# Options data in their own datagrams: the rates come from earlier frames.
SCALED=1 check ipfix_delta --protocol ipfix --count 200 --ipv6-share 0.5 --ipfix-time delta --samplers 7,70 \
  --template-separate --template-refresh 7
# Template faults, those Wireshark follows: withdrawal and the same ids in
# several domains. Not --template-delay (tshark cannot decode data sent before
# its template in one pass) nor --redefine-every (Wireshark 4.0 keeps decoding
# with the first layout of a template id, so the redefined records come out
# garbled): tests/gen_templated_test.cc covers both with ringflow's decoder.
SCALED=1 check ipfix_faults --protocol ipfix --count 300 --ipv6-share 0.2 --withdraw-every 70 \
  --domains 2 --samplers 50
check v9_faults --protocol v9 --count 300 --ipv6-share 0.2 --domains 3 --domain-collision

# sFlow v5: IPv4 and IPv6 agents, sub-agents, three sources at their own
# rates, compact samples, IPv4 and IPv6 packets, counters every 10 datagrams.
check_sflow sflow --count 300 --exporters 3 --sub-agents 2 --agent-ipv6 --samplers 10,100,1000 \
  --ipv6-share 0.3 --counter-every 10
# Expanded samples with every record (raw header, sampled IP, switch, router,
# gateway) and 802.1Q-tagged frames.
check_sflow sflow_expanded --count 200 --exporters 2 --agent-ipv6 --expanded --samplers 50,500 \
  --sflow-records header,ip,switch,router,gateway --vlan --ipv6-share 0.3 --counter-every 7
# No raw header: the key and length come from the sampled IPv4/IPv6 record.
COUNTER_OCTETS=0 check_sflow sflow_ip --count 100 --exporters 2 --agent-ipv6 --sflow-records ip,switch \
  --samplers 20 --ipv6-share 0.5 --counter-every 9
# MPLS encapsulation. Not --vxlan: tshark 4.0 does not dissect a UDP payload
# inside a sampled header, so it sees only the outer VTEP-to-VTEP packet;
# tests/gen_sflow_test.cc checks VXLAN with ringflow's decoder instead.
check_sflow sflow_mpls --count 100 --exporters 2 --agent-ipv6 --mpls --samplers 30 --ipv6-share 0.3
# The socket path: datagrams sent to a loopback port, captured on lo.
VIA=socket check_sflow sflow_socket --count 100 --exporters 2 --agent-ipv6 --pps 2000 \
  --samplers 10,100 --ipv6-share 0.3 --counter-every 10

[ "$fail" = 0 ] && echo "PASS" || { echo "FAILED"; exit 1; }
