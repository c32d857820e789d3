#!/usr/bin/env bash
# decode.max_streams_per_address (issue 26 item 12): one exporter address that
# sends under many observation domains gets only its quota of streams; the
# rest of its datagrams are refused, counted by reason and by address, and
# another exporter still gets in.
#
# ringflow-gen sends IPFIX from one address under 12 observation domains;
# max_streams_per_address = 4. Checked from the metrics:
#   - 4 streams tracked for it;
#   - datagrams rejected as stream_quota = ringflow_streams_refused_total
#     {reason="address_quota"} = the by-address series for 127.0.0.1, > 0;
#   - a second exporter (another address, 127.0.0.2) is tracked.
# Usage: e2e_stream_quota_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
expect() { # expect WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
  echo "  ok  $1 = $3"
}

cat > "$work/netflow.toml" << EOF
[receive]
listen = ["127.0.0.1:0"]
reactors = 1
[decode]
max_streams_per_address = 4
[output]
directory = "$work/out"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
EOF
rf_start_collector ringflow -c "$work/netflow.toml"
port=$RF_PORT
murl=$RF_MURL

"$gen" --target "127.0.0.1:$port" --protocol ipfix --domains 12 --count 1200 --pps 5000 \
  --records 5 --seed 3 -q --truth "$work/truth.tsv"
sent=$(rf_truth_total "$work/truth.tsv" datagrams)
rf_wait 20 "$sent datagrams received" rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
  fail "received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent"
# A second exporter, on another loopback address.
"$gen" --target "127.0.0.1:$port" --exporter-mode addr --exporters 2 --protocol ipfix --count 20 \
  --pps 1000 --records 5 --seed 4 -q --truth "$work/truth2.tsv"
sent2=$(rf_truth_total "$work/truth2.tsv" datagrams)
rf_wait 20 "$((sent + sent2)) datagrams received" \
  rf_metric_is "$murl" ringflow_receive_datagrams_total "$((sent + sent2))" ||
  fail "received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $((sent + sent2))"
# The by-address series is published once a second.
by_addr() { rf_scrape "$murl" | awk '$1 == "ringflow_streams_refused_by_exporter_total{exporter=\"127.0.0.1\",reason=\"address_quota\"}" { print $2 }'; }
quota=$(rf_scrape "$murl" | awk '$1 == "ringflow_streams_refused_total{reason=\"address_quota\"}" { print $2 }')
rf_wait 10 "the by-address series" eval '[ "$(by_addr)" = "$quota" ]' ||
  fail "by-address refusals $(by_addr) != refusals $quota"
page=$(rf_scrape "$murl")
rejected=$(awk '$1 == "ringflow_decode_rejected_total{version=\"10\",reason=\"stream_quota\"}" { print $2 }' <<< "$page")
[ "${quota:-0}" -gt 0 ] || fail "no datagram refused by the quota"
expect "rejected as stream_quota" "$rejected" "$quota"
expect "refused by address 127.0.0.1" "$(by_addr)" "$quota"
streams1=$(grep -c '^ringflow_stream_datagrams_total{exporter="127.0.0.1",' <<< "$page" || true)
expect "streams tracked for 127.0.0.1" "$streams1" 4
grep -q '^ringflow_stream_datagrams_total{exporter="127.0.0.2",' <<< "$page" ||
  fail "the second exporter 127.0.0.2 is not tracked"
echo "  ok  the second exporter 127.0.0.2 is tracked"
rej_all=$(rf_metric "$murl" ringflow_decode_rejected_total)
echo "  sent $((sent + sent2)) datagrams; rejected $rej_all (stream_quota $quota)"
rf_stop_collector
echo "e2e_stream_quota: PASS"
