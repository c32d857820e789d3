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
# Runs 4-6 (issue 26 item 11): a state file with one byte changed, a FIFO in
# its place and a format 1 file are each refused whole, with a log line
# saying why, and start-up never hangs.
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
grep -q "templates: restored 3 templates and 1 streams' sampling rates from $work/out/templates.state" \
  "$work/second/stderr" ||
  fail "run 2 did not log 'restored 3 templates and 1 streams' sampling rates' (v9 IPv4, IPv6 and options)"
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

# refused STATE-FILE-SETUP NAME PATTERN: a state file that must be refused
# whole, with a log line matching PATTERN; the early data sets are then held,
# as without a state (nothing was restored).
echo "run 4: one flipped byte in the middle of templates.state: refused whole (checksum)"
mkdir -p "$work/out4"
cp "$work/out/templates.state" "$work/out4/templates.state"
size=$(wc -c < "$work/out4/templates.state")
off=$((size / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$work/out4/templates.state" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" |
  dd of="$work/out4/templates.state" bs=1 seek="$off" conv=notrunc status=none
cmp -s "$work/out/templates.state" "$work/out4/templates.state" && fail "the byte was not changed"
run fourth "$work/out4" true --count 200 --seed 6 --template-delay 60
grep -q "templates: $work/out4/templates.state refused ($size bytes): checksum mismatch" \
  "$work/fourth/stderr" || { cat "$work/fourth/stderr" >&2; fail "run 4: no 'refused: checksum mismatch' line"; }
grep -q "templates: restored" "$work/fourth/stderr" && fail "run 4 restored from a damaged file"
h=$(held fourth)
[ "${h:-0}" -gt 0 ] || fail "run 4: nothing held, so something was restored from the damaged file"
echo "  ok  refused with a log line; $h data sets waited for their template"

echo "run 5: a FIFO in place of templates.state does not hang start-up"
mkdir -p "$work/out5"
mkfifo "$work/out5/templates.state"
run fifth "$work/out5" true --count 20 --seed 7
grep -q "templates: $work/out5/templates.state refused: not a regular file" "$work/fifth/stderr" ||
  { cat "$work/fifth/stderr" >&2; fail "run 5: no 'refused: not a regular file' line"; }
[ -f "$work/out5/templates.state" ] || fail "run 5: the FIFO was not replaced by a state file at stop"
echo "  ok  refused at start, a regular state file written at stop"

echo "run 6: a format 1 file (no checksum, an older ringflow) is refused as old"
mkdir -p "$work/out6"
{ printf 'ringflow-templates 1\n'; tail -c +30 "$work/out/templates.state"; } > "$work/out6/templates.state"
run sixth "$work/out6" true --count 20 --seed 8
grep -q "refused .*format 1, written by an older ringflow without a checksum" "$work/sixth/stderr" ||
  { cat "$work/sixth/stderr" >&2; fail "run 6: no 'format 1' refusal line"; }
echo "  ok  refused as format 1"
echo "e2e_template_persist: PASS"
