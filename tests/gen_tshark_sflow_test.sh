#!/usr/bin/env bash
# Wireshark decodes what ringflow-gen --protocol sflow writes (issue 22 item 6)
# and agrees with its ground truth, every value taken from tshark's sFlow
# dissector (tests/support/tshark_sflow.jq turns its JSON into one line per
# sample): see check_sflow below for what is compared. The sflow_socket run
# sends to a loopback port and reads dumpcap's capture of lo
# (support/gen_tshark.sh), so the sending path is checked too.
# tests/gen_sflow_test.cc reads the same output with ringflow's own decoder,
# faults included; gen_tshark_test.sh checks v5, v9 and IPFIX.
# Exits 77 (skipped) when tshark or jq is not installed (as root:
# scripts/deps.sh --test).
# Usage: gen_tshark_sflow_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
# shellcheck source=tests/support/gen_tshark.sh
. "$(dirname "$0")/support/gen_tshark.sh"
gt_setup sflow_socket "$@"
rf_need_tool jq "Debian's jq package"
fail=0

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
