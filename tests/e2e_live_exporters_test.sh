#!/usr/bin/env bash
# The Exporters API (issue 24; docs/api.md, src/live/exporters_json.h) end to
# end: a collector fed by ringflow-gen scenarios, one collector each.
#
# 1. clean: v9 sampled by options (samplers 1:100, the sampler id in every
#    record), no fault. The row's datagrams and records (data + options
#    data, as ringflow_stream_flows_total) equal the truth's, its
#    sampling is 100 from options_by_sampler_id, nothing is lost, and no
#    quirk is raised. The page lists the templates with IE names, and its
#    answers' shapes (keys and JSON types) equal docs/api.md's examples.
# 2. faulty: v9 with loss (5 %), restarts every 150 datagrams, template
#    256 redefined every 40, the export clock 43 s behind, and samplers
#    1:100 and 1:1000 announced while data records carry no sampler id:
#    exporter_restarts, high_loss, template_redefined_often, clock_offset
#    ("43 s behind" or 42/44 with the header's 1 s resolution) and
#    sampler_id_missing are raised, the sampling source is "unknown";
#    the page's shape equals docs/api.md's example (made from this run);
#    resets and lost equal ringflow_stream_resets_total and
#    ringflow_stream_lost_datagrams and the truth's (restarts 0.3 s apart
#    are found by the tracker's restart candidates), and no duplicate.
# 3. loss alone (IPFIX): lost equals the truth's lost_flows and the metric,
#    and high_loss is the only quirk.
# 4. held: data whose template never comes expires (decode.held_timeout 1):
#    held.expired equals the truth's sets_before_template, and
#    held_data_expired is the only quirk.
# 5. nsel: a Cisco ASA's NSEL capture (../shared, replayed by ringflow-gen)
#    raises nsel_octets. So every quirk of src/live/exporter_quirks.cc has a
#    scenario that raises it, and the clean one raises none.
# An unknown stream id is 404.
#
# Usage: e2e_live_exporters_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool jq "Debian's jq package"
rf_need_tool curl "Debian's curl package"

start() {
  rf_start_toml "$1" '[receive]
listen = ["127.0.0.1:0"]
[aggregate]
interval = 1
[output]
directory = "'"$work"'/'"$1"'/out"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
'"${2:-}"
  base=${RF_MURL%/metrics}
}
api() { curl -fsS -m 5 "$base/api/v1/$1"; }
shape='def shape: if type == "object" then with_entries(.value |= shape)
                   elif type == "array" then (if length > 0 then [.[0] | shape] else [] end)
                   else type end; shape'
# The ```json block after the heading $1 in docs/api.md.
doc_example() {
  awk -v h="$1" '$0 == h { sec = 1; next } sec && /^```json$/ { on = 1; next }
                 on && /^```$/ { exit } on' "$src/docs/api.md"
}
truth_col() { rf_truth_total "$work/$1.tsv" "$2"; }

# 1. Clean.
start clean
"$gen" --target "127.0.0.1:$RF_PORT" --protocol v9 --samplers 100 --pps 500 --count 400 \
  --seed 11 --quiet --interface-names --truth "$work/clean.tsv"
dg=$(truth_col clean datagrams)
# The stream's records are data and options data records (as
# ringflow_stream_flows_total counts them).
fl=$(($(truth_col clean flows) + $(truth_col clean options_records)))
dom=$(awk -F'\t' 'NR == 2 { print $8 }' "$work/clean.tsv")
id="127.0.0.1-9-$dom"
row() { api exporters | jq -c --arg id "$id" '.exporters[] | select(.id == $id)'; }
counted() { [ "$(row | jq -r '"\(.datagrams) \(.flows)"')" = "$dg $fl" ]; }
rf_wait 30 "the API's row = truth ($dg datagrams, $fl flows)" counted ||
  fail "row $(row), truth $dg datagrams $fl flows"
r=$(row)
echo "clean row: $r"
[ "$(rf_metric "$RF_MURL" ringflow_stream_flows_total)" = "$fl" ] ||
  fail "ringflow_stream_flows_total $(rf_metric "$RF_MURL" ringflow_stream_flows_total), API $fl"
[ "$(jq -r '"\(.sampling_rate) \(.sampling_source) \(.lost) \(.resets) \(.quirks | length)"' <<<"$r")" = \
  "100 options_by_sampler_id 0 0 0" ] || fail "clean stream: $r"
p=$(api "exporters/$id")
[ "$(jq '.quirks | length' <<<"$p")" = 0 ] || fail "quirks on a clean stream: $(jq -c .quirks <<<"$p")"
jq -e '.templates.list[] | select(.options | not) | .fields[] | select(.name == "sourceIPv4Address")' \
  <<<"$p" >/dev/null || fail "no sourceIPv4Address in the data template: $(jq -c .templates <<<"$p")"
# The interface table the generator sent (its truth's interface_names column).
want_if=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "interface_names") c = i }
                     NR == 2 { print $c }' "$work/clean.tsv")
got_if=$(jq -r '[.interfaces[] | "\(.index)=\(.name)=\(.description)"] | join(";")' <<<"$p")
[ -n "$want_if" ] && [ "$want_if" != - ] && [ "$got_if" = "$want_if" ] ||
  fail "interfaces: API $got_if, truth $want_if"
[ "$(jq .interface_names <<<"$r")" = 16 ] || fail "interface_names in the row: $r"
jq -e '.sampling.samplers == [{"sampler_id": 1, "rate": 100, "source": "options"}]' <<<"$p" >/dev/null ||
  fail "samplers: $(jq -c .sampling <<<"$p")"
# Shapes against the documented examples.
doc_example '## GET /api/v1/exporters' >"$work/list.doc"
doc_example '## GET /api/v1/exporters/<id>' >"$work/page.doc"
for f in list page; do
  jq -e . "$work/$f.doc" >/dev/null || fail "docs/api.md's $f example is not JSON"
done
api exporters >"$work/list.api"
# quirks: [] here, ["..."] in the example: compared in the faulty run.
diff <(jq "del(.exporters[].quirks) | $shape" "$work/list.doc") \
  <(jq "del(.exporters[].quirks) | $shape" "$work/list.api") >&2 ||
  fail "/api/v1/exporters: shape differs from docs/api.md (< doc, > API)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/exporters/192.0.2.99-9-0")
[ "$code" = 404 ] || fail "an unknown stream answered $code"
rf_stop_collector

# 2. Faulty.
start faulty
"$gen" --target "127.0.0.1:$RF_PORT" --protocol v9 --pps 500 --count 600 --seed 12 --quiet \
  --loss 0.05 --reset-every 150 --redefine-every 40 --clock-offset -43 --samplers 100,1000 \
  --no-sampler-id --interface-names --truth "$work/faulty.tsv"
dg=$(truth_col faulty datagrams)
resets=$(truth_col faulty resets)
lost_truth=$(truth_col faulty lost_datagrams)
dom=$(awk -F'\t' 'NR == 2 { print $8 }' "$work/faulty.tsv")
id="127.0.0.1-9-$dom"
counted() { [ "$(row | jq -r .datagrams)" = "$dg" ]; }
rf_wait 30 "the API's row = truth ($dg datagrams)" counted || fail "row $(row), truth $dg datagrams"
r=$(row)
echo "faulty row: $r"
p=$(api "exporters/$id")
jq -r '.quirks[] | "\(.id): \(.message)"' <<<"$p"
echo "faulty sequence: $(jq -c .sequence <<<"$p")"
for q in exporter_restarts high_loss template_redefined_often clock_offset sampler_id_missing; do
  jq -e --arg q "$q" '.quirks | map(.id) | index($q)' <<<"$p" >/dev/null ||
    fail "quirk $q not raised: $(jq -c .quirks <<<"$p")"
done
jq -r '.quirks[] | select(.id == "clock_offset") | .message' <<<"$p" | grep -Eq '4[234] s behind' ||
  fail "clock_offset does not say 43 s behind: $(jq -c .clock <<<"$p")"
[ "$(jq -r .sampling_source <<<"$r")" = unknown ] || fail "sampling source with no sampler id: $r"
# Each restart comes 0.3 s after the last: the boot time moves by less than
# the tracker's 5 s slack and the sequence goes back by less than the reorder
# window, so only the run of datagrams behind the expected sequence that
# continue each other shows it (src/decode/sequence_tracker.h, "Restart
# candidates"). The API must equal the metrics, and both the truth. Loss just
# before a restart or just after one cannot be seen by sequence; with this
# seed none falls there, so lost equals the truth too.
for k in resets:ringflow_stream_resets_total lost:ringflow_stream_lost_datagrams; do
  v=$(jq ".sequence.${k%%:*}" <<<"$p")
  m=$(rf_metric "$RF_MURL" "${k#*:}")  # the only stream
  [ "$v" = "$m" ] || fail "${k%%:*} $v, ${k#*:} $m"
done
[ "$(jq .sequence.resets <<<"$p")" = "$resets" ] ||
  fail "resets $(jq .sequence.resets <<<"$p"), truth $resets"
[ "$(jq .sequence.duplicates <<<"$p")" = 0 ] ||
  fail "duplicates $(jq .sequence.duplicates <<<"$p"): the generator sent none"
lost=$(jq .sequence.lost <<<"$p")
[ "$lost" = "$lost_truth" ] || fail "lost $lost, truth $lost_truth"
[ "$(jq -r .lost_unit <<<"$r")" = datagrams ] || fail "v9 loss unit: $r"
# The page's shape (the example is this scenario's), rejects aside: its
# keys are the reasons seen, none here.
diff <(jq "del(.rejects) | $shape" "$work/page.doc") <(jq "del(.rejects) | $shape" <<<"$p") >&2 ||
  fail "/api/v1/exporters/<id>: shape differs from docs/api.md (< doc, > API)"
jq -e '.rejects | type == "object" and all(.[]; type == "number")' "$work/page.doc" >/dev/null ||
  fail "docs/api.md: rejects is not an object of counts"
diff <(jq ".exporters[0].quirks | $shape" "$work/list.doc") \
  <(api exporters | jq --arg id "$id" ".exporters[] | select(.id == \$id) | .quirks | $shape") >&2 ||
  fail "/api/v1/exporters quirks: shape differs from docs/api.md (< doc, > API)"
rf_stop_collector

# 3. Loss alone (IPFIX: the sequence counts flows): the API's loss equals the
#    truth's lost_flows and the metric, and only high_loss is raised.
start lossy
"$gen" --target "127.0.0.1:$RF_PORT" --protocol ipfix --pps 500 --count 400 --seed 13 --quiet \
  --loss 0.05 --truth "$work/lossy.tsv"
dg=$(truth_col lossy datagrams)
lost_truth=$(truth_col lossy lost_flows)
dom=$(awk -F'\t' 'NR == 2 { print $8 }' "$work/lossy.tsv")
id="127.0.0.1-10-$dom"
counted() { [ "$(row | jq -r .datagrams)" = "$dg" ]; }
rf_wait 30 "the API's row = truth ($dg datagrams)" counted || fail "row $(row), truth $dg datagrams"
r=$(row)
echo "lossy row: $r"
[ "$(jq -r '"\(.lost) \(.lost_unit) \(.quirks)"' <<<"$r")" = "$lost_truth flows [\"high_loss\"]" ] ||
  fail "lossy: $r, truth lost_flows $lost_truth"
[ "$(rf_metric "$RF_MURL" ringflow_stream_lost_flows)" = "$lost_truth" ] ||
  fail "ringflow_stream_lost_flows $(rf_metric "$RF_MURL" ringflow_stream_lost_flows), truth $lost_truth"
rf_stop_collector

# 4. Data whose template never comes (v9, --template-delay past --count): the
#    held sets expire after decode.held_timeout (1 s here), and the page says
#    so (held_data_expired), with the count the truth gives.
start held '[decode]
held_timeout = 1'
"$gen" --target "127.0.0.1:$RF_PORT" --protocol v9 --pps 200 --count 20 --seed 14 --quiet \
  --template-delay 1000 --truth "$work/held.tsv"
sets=$(truth_col held sets_before_template)
[ "$sets" -gt 0 ] || fail "held: the generator sent no data set before a template"
dom=$(awk -F'\t' 'NR == 2 { print $8 }' "$work/held.tsv")
id="127.0.0.1-9-$dom"
expired() { [ "$(api "exporters/$id" | jq .held.expired)" = "$sets" ]; }
rf_wait 20 "$sets held sets expired" expired || fail "held: $(api "exporters/$id" | jq -c .held), truth $sets sets"
p=$(api "exporters/$id")
[ "$(jq -c '[.quirks[].id]' <<<"$p")" = '["held_data_expired"]' ] ||
  fail "held: quirks $(jq -c '[.quirks[].id]' <<<"$p"), want [\"held_data_expired\"]"
rf_stop_collector

# 5. A Cisco ASA's NSEL export (a real capture of ../shared, replayed by
#    ringflow-gen): its templates carry bytes only as initiator/responder
#    octets (IE 231/232), and the page says so (nsel_octets).
asa=$src/../shared/captures/v9ipfix/pcap/ls-netflow-9-cisco-asa-2.pcap
[ -f "$asa" ] || rf_skip "$asa is absent (the shared captures are not checked out next to this clone)"
start nsel
"$gen" --target "127.0.0.1:$RF_PORT" --replay "$asa" --quiet
nsel() { api exporters | jq -e '[.exporters[].quirks[]] | index("nsel_octets")' >/dev/null; }
rf_wait 20 "the ASA stream's nsel_octets quirk" nsel ||
  fail "nsel: no stream raised nsel_octets: $(api exporters | jq -c '[.exporters[] | {id, quirks}]')"
rf_stop_collector
echo "ok: clean raises no quirk and its numbers equal the truth; the faults raise theirs (held data expired and an ASA's NSEL octets included)"
