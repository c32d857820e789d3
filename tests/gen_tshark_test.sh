#!/usr/bin/env bash
# Wireshark decodes what ringflow-gen --protocol v5|v9|ipfix writes, and
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
# sFlow is gen_tshark_sflow_test.sh's.
# Most runs read --write-pcap; the v5_socket run sends to a loopback port and
# reads dumpcap's capture of lo (support/gen_tshark.sh), so the sending path
# is checked too.
# Exits 77 (skipped) when tshark is not installed (as root: scripts/deps.sh --test).
# Usage: gen_tshark_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
# shellcheck source=tests/support/gen_tshark.sh
. "$(dirname "$0")/support/gen_tshark.sh"
gt_setup v5_socket "$@"
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

[ "$fail" = 0 ] && echo "PASS" || { echo "FAILED"; exit 1; }
