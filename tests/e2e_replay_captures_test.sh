#!/usr/bin/env bash
# Real v9 and IPFIX exports through the whole collector (issue 14): every v9
# and IPFIX capture of ../shared/captures/v9ipfix/ (Cisco, Juniper, Huawei,
# Nokia, Palo Alto, FortiGate, NetScaler, YAF, nProbe, softflowd, ...) is
# replayed by ringflow-gen over loopback into a ringflow that aggregates by
# (src_addr, dst_addr), renormalizing, and the CSV's packets and bytes per
# (src, dst) must equal tshark's decoding of the same capture
# (truth/<capture>.records.tsv, data records), each record's count times the
# sampling rate tshark's values give it (see truth_rows), summed the same way.
#
# Counters as ringflow takes them: the delta IE (1/2), else the total (85/86,
# tshark's permanent_*), else initiator + responder (Cisco ASA NSEL 231/232,
# 298/299); 0 when the record has none. An absent address is 0.0.0.0.
#
# Where tshark's decoding of the capture is not the whole truth (see the
# captures' README), the expected rows are derived, and the check stays
# two-sided:
#   - data sets that came before their template (sets_without_template > 0)
#     are held by ringflow and decoded when it arrives, which tshark never
#     does in one pass. The expected rows are tshark's decoding of the
#     capture played twice (mergecap -a X X, the captures' own groundtruth.py,
#     in a temporary directory): in the second play tshark has every template,
#     so it decodes exactly the records of the first play plus the held sets
#     whose template came later (sets whose template never comes stay
#     undecoded in both). The extra rows (second play less first) are listed.
#   - kNoTruth: ls-netflow-9-h3c, where tshark's dissector throws on H3C's
#     2-byte element 43 after the first record of frame 2, in every play: the
#     15 records after it are in no tshark output. There tshark's rows must be
#     in ringflow's with at least tshark's counts, and the number of records
#     ringflow decoded must equal the v9 header counts less the template
#     records (ringflow_decode_flows_total). (ls-netflow-9-h3c-netstream-
#     with-varstring throws too, but after its only record: compared exactly.)
#   - biflow: RFC 5103 biflows (templates with reverse counters: YAF,
#     ipfixprobe; ringflow_templates_biflow_total > 0). ringflow adds each
#     reverse direction as a record of its own, which tshark's rows (one per
#     biflow record, forward counters only) lack: tshark's rows must be in
#     ringflow's with at least tshark's counts. (Two-sided needs tshark's
#     reverse IEs in the truth; decode_sessions_test and
#     e2e_softflowd_biflow_test check the reverse records exactly.)
#   - section: captures whose records carry a packet section instead of
#     (some) flow fields (IPFIX dataLinkFrameSection 315: akv-datalink,
#     akv-eompls-cw, akv-ipfix-srv6, akv-juniper-cpid). tshark's rows come
#     from the cflow fields only, so a record with nothing but a section is
#     0.0.0.0 -> 0.0.0.0 there, while ringflow parses the section into its
#     addresses. tshark's other rows must be in ringflow's with at least its
#     counts, and the record count must equal the truth's;
#     decode_v9ipfix_capture_test compares every section record's fields
#     with tshark's dissection of the section itself.
# Every other capture's decoded record count (ringflow_decode_flows_total) must
# equal the expected rows' record count. Deliberately invalid files and v5 are
# left to decode_capture_test / decode_v9ipfix_capture_test.
#
# The captures come from other projects: read in place, never copied here.
# Exits 77 (skipped, a failure under CI) without ../shared.
# Usage: e2e_replay_captures_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
caps=$src/../shared/captures/v9ipfix
[ -f "$caps/index.tsv" ] ||
  rf_skip "$caps is absent (the shared captures are not checked out next to this clone)"
rf_need_tool curl "Debian's curl package"

# RINGFLOW_REPLAY_SET=sanitizer (the ASan and TSan suites set it, see
# scripts/test.sh): only these captures, which between them cover v9 and
# IPFIX, NSEL counters, exception frames, held-then-decoded sets, options
# and sampling, IPv6, enterprise and variable-length IEs, several domains,
# and the largest capture (pm-401-00, the most datagrams through the
# threads). Release replays all of them.
sanitizer_set=" ls-netflow-9-cisco-asa ls-netflow-9-h3c ls-netflow-9-multiple-netflow-exporters
  pm-102 akv-multiplesamplingrates ls-ipfix-netscaler-data-before-templates
  ls-ipfix-yaf-basic-with-applabel ls-ipfix-procera pynf-ipfix-softflowd pm-401-00 "
case "${RINGFLOW_REPLAY_SET:-all}" in
  all) ;;
  sanitizer) echo "RINGFLOW_REPLAY_SET=sanitizer: $(wc -w <<< "$sanitizer_set") named captures" ;;
  *) fail "RINGFLOW_REPLAY_SET must be 'all' or 'sanitizer', not '$RINGFLOW_REPLAY_SET'" ;;
esac
in_set() { [ "${RINGFLOW_REPLAY_SET:-all}" = all ] || [[ $sanitizer_set == *[[:space:]]"$1"[[:space:]]* ]]; }

# Invalid on purpose (decode_v9ipfix_capture_test checks how they are refused
# or counted): not a comparison of sums.
invalid=" ls-netflow-9-invalid-01 "
# No tshark output holds all of its records (see above).
notruth=" ls-netflow-9-h3c "
sections=" akv-datalink akv-eompls-cw akv-ipfix-srv6 akv-juniper-cpid "

# truth_rows RECORDS.TSV [FIRST_FRAME] -> "src dst packets bytes" per (src,
# dst), sorted, of the data records in frames >= FIRST_FRAME (default 1),
# renormalized: each record's packets and bytes times the sampling rate that
# tshark's values give it. The rate: the record's own interval (IE 34/50),
# packet interval and space (305/306) or size of population (309/310); else
# the rate its domain's options records announced for its sampler or
# selector id (48/302); without an id, the rate announced without one, or
# the only one announced; else 1. The options records of a datagram apply to
# all of its data records (ringflow admits a datagram whole).
truth_rows() {
  awk -F'\t' -v first="${2:-1}" '
    function parse(extra,   n, i, p, kv) {
      delete x
      n = split(extra, kv, ";")
      for (i = 1; i <= n; i++) { p = index(kv[i], "="); if (p) x[substr(kv[i], 1, p - 1)] = substr(kv[i], p + 1) }
    }
    function own_rate() {
      if (x["sampling_interval"] + 0) return x["sampling_interval"] + 0
      if (x["sampler_random_interval"] + 0) return x["sampler_random_interval"] + 0
      if (x["sampling_packet_interval"] + 0)
        return int((x["sampling_packet_interval"] + x["sampling_packet_space"]) / x["sampling_packet_interval"] + 0.5)
      if (x["sampling_size"] + 0 && x["sampling_population"] + 0)
        return int(x["sampling_population"] / x["sampling_size"] + 0.5)
      return 0
    }
    function id_of() {
      if ("sampler_id" in x) return x["sampler_id"] + 0
      if ("selector_id" in x) return x["selector_id"] + 0
      return "none"
    }
    function flush(   i, f, dom, id, r, pk, by, s, d) {
      for (i = 1; i <= nbuf; i++) {           # the options records first
        split(buf[i], f, "\t"); if (f[c["kind"]] == "data") continue
        parse(f[c["extra"]]); dom = f[c["domain"]]; id = id_of(); r = own_rate()
        if (r) { if (!((dom, id) in R)) ids[dom]++; R[dom, id] = r; only[dom] = r }
      }
      for (i = 1; i <= nbuf; i++) {
        split(buf[i], f, "\t"); if (f[c["kind"]] != "data" || f[c["frame"]] < first) continue
        parse(f[c["extra"]]); dom = f[c["domain"]]; id = id_of(); r = own_rate()
        if (!r && ((dom, id) in R)) r = R[dom, id]
        if (!r && id == "none" && ids[dom] == 1) r = only[dom]
        if (!r) r = 1
        pk = f[c["packets"]]; by = f[c["octets"]]
        if (pk == "") pk = ("permanent_packets" in x) ? x["permanent_packets"] : x["initiator_packets"] + x["responder_packets"]
        if (by == "") by = ("permanent_octets" in x) ? x["permanent_octets"] : x["initiator_octets"] + x["responder_octets"]
        s = f[c["srcaddr"]] == "" ? "0.0.0.0" : f[c["srcaddr"]]
        d = f[c["dstaddr"]] == "" ? "0.0.0.0" : f[c["dstaddr"]]
        P[s " " d] += pk * r; B[s " " d] += by * r
        if (r > 1) sampled++
      }
      nbuf = 0
    }
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["frame"] != frame { flush(); frame = $c["frame"] }
    { buf[++nbuf] = $0 }
    END {
      flush()
      for (k in P) printf "%s %.0f %.0f\n", k, P[k], B[k]
      if (sampled_out != "") print sampled + 0 > sampled_out
    }' sampled_out="${3:-}" "$1" | LC_ALL=C sort
}
# csv_rows DIR -> the same from ringflow's CSV files.
csv_rows() {
  awk -F, '
    FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { k = $c["src_addr"] " " $c["dst_addr"]; P[k] += $c["packets"]; B[k] += $c["bytes"] }
    END { for (k in P) printf "%s %.0f %.0f\n", k, P[k], B[k] }' "$1"/flows-*.csv | LC_ALL=C sort
}

# tshark's runs for the captures above, started at once in the background
# (a tshark start takes seconds on a busy machine); each is waited for where
# it is used.
# compared_here NAME VERSIONS DATA_RECORDS: the index rows this test replays
# (v9/IPFIX, valid, with data records, in the selected set).
compared_here() {
  [ "$1" != capture ] && in_set "$1" && [[ $2 != *5* ]] && [[ $invalid != *" $1 "* ]] &&
    [ "$3" -gt 0 ]
}
declare -A prep
while IFS=$'\t' read -r -u 3 name _ _ versions _ _ _ data_records _ without _; do
  compared_here "$name" "$versions" "$data_records" || continue
  pcap=$caps/pcap/$name.pcap
  dir=$work/$name
  mkdir -p "$dir"
  if [[ $notruth == *" $name "* ]]; then
    # v9 header counts: the records the datagrams hold, templates included.
    (tshark -n -r "$pcap" -d udp.port==2055,cflow -T fields -e cflow.count 2> /dev/null |
      awk '{ s += $1 } END { print s + 0 }' > "$dir/counted") &
    prep[$name]=$!
  elif [ "$without" != 0 ]; then
    (mergecap -F pcap -a -w "$dir/twice.pcap" "$pcap" "$pcap" &&
      python3 "$caps/groundtruth.py" "$dir/twice.pcap" "$dir/twice" 2055 > /dev/null) &
    prep[$name]=$!
  fi
done 3< "$caps/index.tsv"

exact=0 replayed=0 onesided=0 biflows=0 sectioned=0 records=0 keys=0 sampled=0
while IFS=$'\t' read -r -u 3 name _ _ versions datagrams templates options_templates data_records _ without exceptions _; do
  compared_here "$name" "$versions" "$data_records" || continue
  pcap=$caps/pcap/$name.pcap
  dir=$work/$name
  mkdir -p "$dir"
  truth_rows "$caps/truth/$name.records.tsv" 1 "$dir/sampled" > "$dir/want"
  want_flows=$data_records
  kind=exact
  if [[ $sections == *" $name "* ]]; then
    kind=section
  elif [[ $notruth == *" $name "* ]]; then
    kind=notruth
    wait "${prep[$name]}" || fail "$name: tshark failed on the capture"
    want_flows=$(($(cat "$dir/counted") - templates - options_templates))
  elif [ "$without" != 0 ]; then
    kind=replayed
    wait "${prep[$name]}" || fail "$name: groundtruth.py failed on the capture played twice"
    cp "$dir/want" "$dir/first"
    truth_rows "$dir/twice.records.tsv" $((datagrams + 1)) "$dir/sampled" > "$dir/want"
    want_flows=$(awk -F'\t' -v first=$((datagrams + 1)) 'NR > 1 && $1 >= first && $7 == "data"' \
      "$dir/twice.records.tsv" | wc -l)
  fi
  # Elsewhere where tshark threw (ls-netflow-9-h3c-netstream-with-varstring),
  # it did after the datagram's last record: its rows are the whole truth.
  cat > "$dir/netflow.toml" << EOF
[receive]
listen = ["127.0.0.1:0"]
reactors = 1
workers = 1
[decode]
renormalize = true
v9_variable_length = true
persist_templates = false
[aggregate]
interval = 60
key = ["src_addr", "dst_addr"]
[metrics]
listen = "127.0.0.1:0"
[output]
directory = "$dir/out"
EOF
  rf_start_collector "$name" -c "$dir/netflow.toml"
  port=$RF_PORT murl=$RF_MURL
  "$gen" --target "127.0.0.1:$port" --replay "$pcap" --replay-speed 0 --pps 20000 \
    --truth "$dir/truth.tsv" -q 2> "$dir/gen.stderr" || { cat "$dir/gen.stderr" >&2; fail "$name: ringflow-gen failed"; }
  sent=$(rf_truth_total "$dir/truth.tsv" datagrams)
  [ "$sent" = "$datagrams" ] || fail "$name: ringflow-gen sent $sent datagrams, the index says $datagrams"
  # Everything received before the stop: SIGTERM then drains the queues.
  rf_wait 10 "$name: $sent datagrams received" rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
    fail "$name: ringflow received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent datagrams"
  rf_wait 10 "$name: $sent datagrams examined" rf_metric_is "$murl" ringflow_decode_received_total "$sent" ||
    fail "$name: the ordered stage examined $(rf_metric "$murl" ringflow_decode_received_total) of $sent"
  if [ "$(rf_metric "$murl" ringflow_templates_biflow_total)" != 0 ]; then
    kind=biflow
  else
    rf_wait 10 "$name: $want_flows records decoded" rf_metric_is "$murl" ringflow_decode_flows_total "$want_flows" ||
      fail "$name: ringflow decoded $(rf_metric "$murl" ringflow_decode_flows_total) records, the expected rows hold $want_flows ($kind)"
  fi
  rf_stop_collector
  rows_got=$(csv_rows "$dir/out" | tee "$dir/got" | wc -l)
  [ "$rows_got" -gt 0 ] || fail "$name: no CSV rows"
  n=$(wc -l < "$dir/want")
  if [ "$kind" != notruth ] && [ "$kind" != biflow ] && [ "$kind" != section ]; then
    if ! diff "$dir/want" "$dir/got" > "$dir/diff"; then
      head -20 "$dir/diff" >&2
      fail "$name: per-(src, dst) packets and bytes differ from tshark's (< tshark, > ringflow; $kind)"
    fi
    if [ "$kind" = replayed ]; then
      replayed=$((replayed + 1))
      echo "  ok  $name: $n (src, dst) rows equal tshark's given every template; the rows held" \
        "sets add to tshark's one pass ($without sets without a template there):"
      # The extra rows: second play less first, per (src, dst).
      awk 'NR == FNR { P[$1 " " $2] = $3; B[$1 " " $2] = $4; next }
           { k = $1 " " $2; if ($3 != P[k] || $4 != B[k]) printf "        + %s %s packets %d bytes %d\n", $1, $2, $3 - P[k], $4 - B[k] }' \
        "$dir/first" "$dir/want"
    else
      exact=$((exact + 1))
      echo "  ok  $name: $n (src, dst) rows equal tshark's"
    fi
  else
    short=$(awk -v kind="$kind" 'NR == FNR { P[$1 " " $2] = $3; B[$1 " " $2] = $4; next }
                 kind == "section" && $1 == "0.0.0.0" && $2 == "0.0.0.0" { next }
                 !(($1 " " $2) in P) || P[$1 " " $2] < $3 || B[$1 " " $2] < $4 { print; exit }' \
      "$dir/got" "$dir/want")
    [ -z "$short" ] || fail "$name: tshark's row '$short' is missing or larger in ringflow's"
    if [ "$kind" = section ]; then
      sectioned=$((sectioned + 1))
      echo "  ok  $name: $n (src, dst) rows of tshark covered; its section-only records" \
        "(0.0.0.0 in tshark's cflow fields) have the addresses of their packet sections"
    elif [ "$kind" = biflow ]; then
      biflows=$((biflows + 1))
      echo "  ok  $name: $n (src, dst) rows of tshark covered; ringflow adds the reverse directions" \
        "of its RFC 5103 biflow records"
    else
      onesided=$((onesided + 1))
      echo "  ok  $name: $n (src, dst) rows of tshark covered, $want_flows records = the v9 header" \
        "counts less template records (tshark threw in frames $exceptions)"
    fi
  fi
  records=$((records + data_records))
  sampled=$((sampled + $(cat "$dir/sampled")))
  keys=$((keys + n))
done 3< "$caps/index.tsv"
compared=$((exact + replayed + onesided + biflows + sectioned))
if [ "${RINGFLOW_REPLAY_SET:-all}" = all ]; then
  [ "$compared" -ge 60 ] || fail "only $compared captures compared; expected the v9/IPFIX set (>= 60)"
else
  [ "$compared" -eq "$(wc -w <<< "$sanitizer_set")" ] ||
    fail "$compared captures compared; the sanitizer set names $(wc -w <<< "$sanitizer_set")"
fi
[ "$onesided" = 1 ] || fail "$onesided captures checked one-sided; only ls-netflow-9-h3c may be"
[ "$sampled" -gt 0 ] || fail "no record had a sampling rate above 1: the renormalization went unchecked"
echo "e2e_replay_captures: PASS ($exact captures equal to tshark's one pass, $replayed to its" \
  "decoding with every template, $onesided covered, $biflows biflow captures covered, $sectioned with packet sections covered; $records records, $sampled of them" \
  "renormalized by a rate > 1; $keys (src, dst) rows)"
