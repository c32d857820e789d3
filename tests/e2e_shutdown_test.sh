#!/usr/bin/env bash
# Nothing received is lost at shutdown (issue 16), for both receive backends:
# ringflow-gen sends 300,000 one-record datagrams at a rate the collector
# sustains; once the collector has taken half of them it gets SIGTERM, while
# the burst goes on. The collector keeps receiving until the exporter is
# quiet (receive.drain_timeout), seals its sockets, takes what they hold and
# flushes. Then
#     flows in the CSV output + kernel drops = datagrams sent
# and, since the socket buffer had room for the whole burst, kernel drops = 0.
# Usage: e2e_shutdown_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

# A rate this shared 2-CPU box sustains with room to spare (docs/performance.md:
# ringflow took every step up to ~96 k datagrams/s); sanitized builds run
# several times slower, so they get fewer datagrams at a lower rate.
count=300000 pps=50000
if rf_sanitized; then
  count=60000 pps=10000
fi

running() { kill -0 "$1" 2>/dev/null; }
exited() { ! running "$1"; }

run_backend() {
  local backend=$1 dir=$work/$1
  mkdir -p "$dir"
  cat > "$dir/netflow.toml" <<EOF
[receive]
listen = ["127.0.0.1:0"]
backend = "$backend"
workers = 1
drain_timeout = 60
[aggregate]
interval = 1
[output]
directory = "$dir/out"
[[sink]]
type = "csv"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
EOF
  rf_start_collector "$backend" -c "$dir/netflow.toml"
  grep -q "receive backend: $backend" "$dir/stderr" || fail "$backend: wrong backend"
  local pid=$RF_PID port=$RF_PORT murl=$RF_MURL gen_pid

  "$gen" --target "127.0.0.1:$port" --pps "$pps" --count "$count" --records 1 --seed 5 \
    --quiet --truth "$dir/truth.tsv" &
  gen_pid=$!
  rf_track_pid "$gen_pid"
  # SIGTERM in the middle of the burst: once half of it was taken.
  rf_wait 60 "$backend: half the burst received" \
    rf_metric_at_least "$murl" ringflow_receive_datagrams_total $((count / 2)) ||
    fail "$backend: the collector did not take half the burst"
  running "$gen_pid" || fail "$backend: the burst ended before SIGTERM (generator faster than expected)"
  kill -TERM "$pid"
  local t_term=$SECONDS
  wait "$gen_pid" || fail "$backend: ringflow-gen failed"
  rf_untrack_pid "$gen_pid"
  rf_wait 90 "$backend: ringflow to exit after SIGTERM" exited "$pid" || fail "$backend: ringflow did not stop"
  local rc=0
  wait "$pid" || rc=$?
  rf_untrack_pid "$pid"
  [ "$rc" -eq 0 ] || { cat "$dir/stderr" >&2; fail "$backend: exit $rc after SIGTERM"; }

  local sent flows kdrops received
  sent=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
                     $1 == "total" { print $c["datagrams"] }' "$dir/truth.tsv")
  [ "$sent" -eq "$count" ] || fail "$backend: the generator sent $sent of $count"
  flows=$(cat "$dir/out"/*.csv | awk -F, '$1 == "interval_start" { for (i = 1; i <= NF; i++) c[$i] = i; next }
                                          { f += $c["flows"] } END { printf "%.0f\n", f }')
  kdrops=$(sed -n 's/.*stopped: .* flows; \([0-9]*\) dropped by the kernel.*/\1/p' "$dir/stderr")
  received=$(sed -n 's/.*stopped: \([0-9]*\) datagrams received.*/\1/p' "$dir/stderr")
  if [ -z "$kdrops" ] || [ -z "$received" ]; then cat "$dir/stderr" >&2; fail "$backend: no stop line"; fi
  grep 'drain:\|stopped:' "$dir/stderr" | sed "s/^/  $backend: /"
  echo "  $backend: sent $sent; SIGTERM at ~$((count / 2)); collector stopped $((SECONDS - t_term)) s later;" \
    "flows in the CSV files $flows, kernel drops $kdrops"
  [ "$((flows + kdrops))" -eq "$sent" ] || fail "$backend: flows $flows + kernel drops $kdrops != sent $sent"
  [ "$kdrops" -eq 0 ] || fail "$backend: $kdrops kernel drops though the socket buffer had room"
  [ "$received" -eq "$sent" ] || fail "$backend: received $received of $sent"
  grep -q "stopped: $sent datagrams received, $sent accepted, 0 rejected, 0 dropped" "$dir/stderr" ||
    fail "$backend: stop line: $(grep stopped: "$dir/stderr")"
  grep -q "drain: no datagram for" "$dir/stderr" || fail "$backend: the drain did not end on quiet"
  ls "$dir/out"/*partial*.csv > /dev/null 2>&1 || fail "$backend: no partial interval flushed"
}

run_backend io_uring
run_backend recvmmsg
echo "e2e_shutdown: PASS"
