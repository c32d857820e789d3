#!/usr/bin/env bash
# Conservation, end to end over real loopback sockets, for both receive
# backends: ringflow-gen sends a fixed-seed traffic mix (several exporters,
# Zipf keys, reordering) while ringflow aggregates it into 1-second intervals;
# ringflow is stopped with SIGTERM; the sum of every CSV and every JSONL file
# must equal the generator's ground truth exactly — flows, packets and bytes in
# total, and per 5-tuple key row by row.
# Usage: e2e_conservation_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

# Sanitized builds run several times slower; offer them less load so the test
# checks conservation, not the speed of an instrumented binary.
pps=4000
if rf_sanitized; then pps=1000; fi

run_backend() {
  local backend=$1 dir=$work/$1
  mkdir -p "$dir"
  cat > "$dir/netflow.toml" <<EOF
[receive]
listen = ["127.0.0.1:0"]
backend = "$backend"
workers = 2
[aggregate]
interval = 1
[output]
directory = "$dir/out"
[[sink]]
type = "csv"
[[sink]]
type = "jsonl"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
EOF
  rf_start_collector "$backend" -c "$dir/netflow.toml"
  local port=$RF_PORT murl=$RF_MURL
  grep -q "receive backend: $backend" "$dir/stderr" || fail "$backend: wrong backend: $(cat "$dir/stderr")"

  # 3.5 s from 3 exporters: several interval boundaries.
  "$gen" --target "127.0.0.1:$port" --pps "$pps" --duration 3.5 --exporters 3 --keys 2000 \
    --zipf 1.1 --seed 42 --reorder 0.01 --quiet \
    --truth "$dir/truth.tsv" --truth-keys "$dir/keys.tsv"
  # Stop once the collector has taken every datagram sent.
  local sent
  sent=$(rf_truth_total "$dir/truth.tsv" datagrams)
  rf_wait 30 "$backend: ringflow_receive_datagrams_total = $sent" \
    rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
    fail "$backend: received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent datagrams"
  rf_stop_collector

  ls "$dir/out"/*.tmp 2>/dev/null && fail "$backend: temporary files left behind"
  local ncsv
  ncsv=$(ls "$dir/out"/*.csv | wc -l)
  [ "$ncsv" -ge 3 ] || fail "$backend: expected several interval files, got $ncsv"
  ls "$dir/out"/*partial*.csv > /dev/null 2>&1 || fail "$backend: final partial interval not marked"

  # Totals: truth vs every CSV row (columns found by header name).
  local truth_tot='' csv_tot='' json_tot
  local column
  for column in flows packets bytes; do
    truth_tot+="${truth_tot:+ }$(rf_truth_total "$dir/truth.tsv" "$column")"
    csv_tot+="${csv_tot:+ }$(rf_csv_sum "$dir/out" "$column")"
  done
  json_tot=$(cat "$dir/out"/*.jsonl | sed -E 's/.*"flows":([0-9]+).*"packets":([0-9]+).*"bytes":([0-9]+).*/\1 \2 \3/' |
      awk '{f+=$1; p+=$2; b+=$3} END{printf "%.0f %.0f %.0f\n", f, p, b}')
  echo "$backend: truth $truth_tot | csv $csv_tot | jsonl $json_tot"
  [ "$truth_tot" = "$csv_tot" ] || fail "$backend: CSV totals differ from the truth"
  [ "$truth_tot" = "$json_tot" ] || fail "$backend: JSONL totals differ from the truth"

  # Per key: sum each 5-tuple over all intervals, compare with the truth rows.
  rf_csv_keys "$dir/out" > "$dir/got.tsv"
  tail -n +2 "$dir/keys.tsv" | sort > "$dir/want.tsv"
  local nkeys
  nkeys=$(wc -l < "$dir/want.tsv")
  [ "$nkeys" -gt 100 ] || fail "$backend: too few keys in the truth ($nkeys)"
  if ! diff -q "$dir/want.tsv" "$dir/got.tsv" > /dev/null; then
    diff "$dir/want.tsv" "$dir/got.tsv" | head -20 >&2
    fail "$backend: per-key rows differ from the truth"
  fi
  echo "$backend: $nkeys keys match row by row"
}

run_backend io_uring
run_backend recvmmsg
echo "e2e_conservation: PASS"
