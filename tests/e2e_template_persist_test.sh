#!/usr/bin/env bash
# Templates survive a collector restart (decode.persist_templates, issue 12):
# the first minutes after a restart are not lost waiting for templates.
#
# Run 1: ringflow-gen sends NetFlow v9 (IPv4 and IPv6 templates, sampling in
# options) to ringflow, which writes <output.directory>/templates.state at
# SIGTERM. Run 2: a new ringflow on the same directory; the exporter now
# sends 60 data datagrams before its first template (--template-delay). With
# the saved templates they decode at once: no data set is held, and the CSV
# holds exactly the truth's flows, renormalized by the saved sampling rate.
# Run 3, the control: the same as run 2 without the saved state
# (persist_templates = false): the early sets must be held, which shows that
# run 2's check can fail.
# Usage: e2e_template_persist_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool curl "Debian's curl package"

expect() { # expect WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
  echo "  ok  $1 = $3"
}

# run NAME OUTDIR PERSIST GEN-ARGS...: one collector, one generator run,
# SIGTERM; leaves $work/NAME/metrics (the last scrape) and truth.tsv.
run() {
  local name=$1 out=$2 persist=$3
  shift 3
  local dir=$work/$name
  mkdir -p "$dir"
  cat > "$dir/netflow.toml" << EOF
[receive]
listen = ["127.0.0.1:0"]
[decode]
persist_templates = $persist
[aggregate]
interval = 60
[metrics]
listen = "127.0.0.1:0"
[output]
directory = "$out"
EOF
  rf_start_collector "$name" -c "$dir/netflow.toml"
  local port=$RF_PORT murl=$RF_MURL
  "$gen" --target "127.0.0.1:$port" --protocol v9 --ipv6-share 0.5 --samplers 10 \
    --pps 2000 --truth "$dir/truth.tsv" -q "$@"
  local sent
  sent=$(rf_truth_total "$dir/truth.tsv" datagrams)
  rf_wait 20 "$name: $sent datagrams received" \
    rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
    fail "$name: ringflow received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent"
  rf_scrape "$murl" > "$dir/metrics"
  rf_stop_collector
}
held() { # held NAME: data sets held for want of a template
  awk '$1 == "ringflow_held_sets_total{outcome=\"held\"}" { print $2 }' "$work/$1/metrics"
}

echo "run 1: templates and sampling reach ringflow, which saves them at SIGTERM"
run first "$work/out" true --count 200 --seed 5
[ -s "$work/out/templates.state" ] || fail "no $work/out/templates.state after SIGTERM"
grep -q "templates: .* restored" "$work/first/stderr" &&
  fail "run 1 restored templates from a directory that had none"
echo "  ok  templates.state written ($(wc -c < "$work/out/templates.state") bytes)"

echo "run 2: a restart on the same directory; data comes before any template"
rm -f "$work/out"/flows-*.csv "$work/out"/flows-*.jsonl
run second "$work/out" true --count 200 --seed 6 --template-delay 60
grep -q "templates: 3 restored from $work/out/templates.state" "$work/second/stderr" ||
  fail "run 2 did not log 'templates: 3 restored' (v9 IPv4, IPv6 and options)"
echo "  ok  3 templates restored"
expect "data sets held for a template" "$(held second)" 0
expect "CSV flows = truth" "$(rf_csv_sum "$work/out" flows)" "$(rf_truth_total "$work/second/truth.tsv" flows)"
expect "CSV packets = truth, renormalized by the saved rate" "$(rf_csv_sum "$work/out" packets)" \
  "$(rf_truth_total "$work/second/truth.tsv" packets_scaled)"
expect "CSV bytes = truth, renormalized by the saved rate" "$(rf_csv_sum "$work/out" bytes)" \
  "$(rf_truth_total "$work/second/truth.tsv" bytes_scaled)"

echo "run 3, the control: the same without the saved templates"
run third "$work/out3" false --count 200 --seed 6 --template-delay 60
h=$(held third)
[ "${h:-0}" -gt 0 ] || fail "control: without saved templates no data set was held ($h)"
echo "  ok  without them, $h data sets waited for their template"
[ ! -e "$work/out3/templates.state" ] || fail "persist_templates = false wrote templates.state"
echo "e2e_template_persist: PASS"
