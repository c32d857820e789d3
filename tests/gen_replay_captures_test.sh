#!/usr/bin/env bash
# --replay of real v9 and IPFIX captures (../shared/captures/v9ipfix/, read in
# place), among them one whose exporter sends over IPv6: looped three times
# with --rewrite-seq into a pcap (--write-pcap), every datagram goes out from
# a loopback source, the truth counts each loop's records, and each loop's
# sequence numbers are the previous loop's plus the stream's span in its
# version's unit (v9: datagrams of the source_id; IPFIX: data records of the
# domain). Exits 77 (skipped) without ../shared or tshark.
# Usage: gen_replay_captures_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
GEN=$gen TMP=$work
CAPS="$src/../shared/captures/v9ipfix/pcap"
[ -x "$GEN" ] || fail "missing $GEN (build the ringflow-gen target)"
[ -d "$CAPS" ] || rf_skip "$CAPS is absent (the shared test captures are not checked out here)"
rf_need_tool tshark "Debian's tshark package"
fail=0

col() {  # col FILE NAME: the total row's column NAME
  awk -F'\t' -v k="$2" 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} $1=="total"{print $c[k]}' "$1"
}

# replay NAME EXPECT_RECORDS_PER_LOOP VERSION
replay() {
  local name=$1 want=$2 version=$3 cap="$CAPS/$1.pcap"
  local src_family
  src_family=$(tshark -r "$cap" -T fields -e ipv6.src 2>/dev/null | grep -q . && echo IPv6 || echo IPv4)
  "$GEN" --replay "$cap" --replay-speed 0 --loop 3 --rewrite-seq --write-pcap "$TMP/out.pcap" \
    --truth "$TMP/truth.tsv" -q
  local n flows seqs span ok srcs
  n=$(tshark -r "$cap" 2>/dev/null | wc -l)
  flows=$(col "$TMP/truth.tsv" flows)
  srcs=$(tshark -r "$TMP/out.pcap" -T fields -E occurrence=f -e ip.src 2>/dev/null | sort -u | tr '\n' ' ')
  # Sequence of datagram i in each loop; span per loop from the truth.
  seqs=$(tshark -r "$TMP/out.pcap" -d udp.port==2055,cflow -T fields -e cflow.sequence 2>/dev/null)
  if [ "$version" = 9 ]; then span=$(( $(col "$TMP/truth.tsv" datagrams) / 3 )); else span=$((flows / 3)); fi
  ok=$(awk -v n="$n" -v span="$span" '{s[NR]=$1} END{
         bad=0; for(i=1;i+n<=NR;i++) if (s[i+n]-s[i]!=span) bad++; print (NR==3*n && bad==0) ? "yes" : "no"}' <<<"$seqs")
  echo "$name ($src_family exporter): $n datagrams x 3 loops, truth flows $flows (want $((3 * want))), sources $srcs, sequence +$span per loop: $ok"
  if [ "$flows" != $((3 * want)) ] || [ "$ok" != yes ] || [ "$srcs" != "127.0.0.1 " ]; then
    echo "FAIL: $name"
    fail=1
  fi
}

# Records per loop from index.tsv (data_records) of the shared captures.
replay akv-ipfix-srv6 1 10
replay akv-juniper-cpid 1 10
replay gf2-nfv9-template-data 21 9
replay ls-netflow-9-cisco-asa 14 9

[ "$fail" = 0 ] && echo "PASS" || { echo "FAILED"; exit 1; }
