#!/usr/bin/env bash
# File descriptors and the metrics port (issue 26 item 7), end to end.
#
# Phase 1: ringflow runs with a low file-descriptor limit (prlimit 256:256,
# so it cannot raise it) while a client holds 1,000 idle TCP connections to
# its metrics port. With cpp-httplib every one of them took a descriptor,
# and opening interval files then failed with EMFILE: intervals were lost.
# Now the server's connection cap is lowered at start-up to leave the sinks
# a reserve, connections past it are refused (counted), and every row of
# ringflow-gen's truth must reach the CSV files, key by key.
#
# Phase 2: a sink write that does fail (the output directory replaced by a
# file) is counted in rows and flows lost, not only in failed batches, and
# the log names the cause (ENOTDIR, issue 26 item 13).
#
# Phase 3: a soft limit below the hard one is raised at start-up, and logged.
# Usage: e2e_fd_exhaustion_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

pps=2000
if rf_sanitized; then pps=500; fi

write_config() {  # DIR [extra [metrics] lines]
  rf_csv_toml "$1/out" 127.0.0.1:0 "reactors = 1" "$2" > "$1/netflow.toml"
}

start() {  # NAME NOFILE: ringflow -c $work/NAME/netflow.toml under prlimit
  RF_WRAP=(prlimit --nofile="$2")
  rf_start_collector "$1" -c "$work/$1/netflow.toml"
  RF_WRAP=()
  pid=$RF_PID port=$RF_PORT murl=$RF_MURL
}

# --- Phase 1: 1,000 idle connections under a 256-descriptor limit ---------
d1=$work/p1
mkdir -p "$d1"
# Per-address limit off, and a configured cap far above what 256 descriptors
# allow: the start-up budget alone must keep the sinks' reserve.
write_config "$d1" $'max_connections = 5000\nmax_connections_per_ip = 0\nconnection_timeout = 60'
start p1 256:256
mport=${murl#http://127.0.0.1:}
mport=${mport%%/*}
grep -q "metrics: at most [0-9]* HTTP connections, not metrics.max_connections = 5000" "$d1/stderr" ||
  fail "no log line saying the HTTP connection cap was lowered: $(cat "$d1/stderr")"
cap=$(sed -n 's/.*metrics: at most \([0-9]*\) HTTP connections.*/\1/p' "$d1/stderr")
[ "$cap" -ge 1 ] && [ "$cap" -lt 256 ] || fail "cap $cap is not below the 256-descriptor limit"

# The holder: 1,000 connections from bash's /dev/tcp, held until released
# (at most 60 s). Connections past the cap are closed by the server; the
# holder keeps its end open all the same.
(
  ulimit -n 2048
  for i in $(seq 1 1000); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$mport" || exit 1
  done
  : > "$work/held"
  for _ in $(seq 1 600); do [ -e "$work/release" ] && exit 0; sleep 0.1; done
) &
holder=$!
rf_track_pid "$holder"
rf_wait 30 "1,000 connections opened to the metrics port" test -e "$work/held" ||
  fail "the holder could not open 1,000 connections"

# Traffic while they are held: several 1 s intervals.
"$gen" --target "127.0.0.1:$port" --pps "$pps" --duration 3.5 --exporters 2 --keys 500 \
  --seed 7 --quiet --truth "$d1/truth.tsv" --truth-keys "$d1/keys.tsv"
# Interval files are written while the connections are still held.
csv_files() { [ "$(ls "$d1/out"/flows-*.csv 2>/dev/null | wc -l)" -ge "$1" ]; }
rf_wait 20 "3 interval files written while 1,000 connections are held" csv_files 3 ||
  fail "interval files missing: $(ls "$d1/out"); log: $(cat "$d1/stderr")"
kill -0 "$holder" 2>/dev/null || fail "the holder ended before the intervals were written"
: > "$work/release"
wait "$holder" || true
rf_untrack_pid "$holder"

sent=$(rf_truth_total "$d1/truth.tsv" datagrams)
rf_wait 30 "ringflow_receive_datagrams_total = $sent" \
  rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
  fail "received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent datagrams"
refused=$(rf_metric "$murl" ringflow_metrics_connections_refused_total)
[ -n "$refused" ] && [ "$refused" -ge $((1000 - cap)) ] ||
  fail "expected >= $((1000 - cap)) refused connections, got '$refused'"
errors=$(rf_metric "$murl" ringflow_sink_errors_total)
[ "$errors" = 0 ] || fail "sink errors: $errors; log: $(cat "$d1/stderr")"
rf_stop_collector

truth_tot='' csv_tot=''
for column in flows packets bytes; do
  truth_tot+="${truth_tot:+ }$(rf_truth_total "$d1/truth.tsv" "$column")"
  csv_tot+="${csv_tot:+ }$(rf_csv_sum "$d1/out" "$column")"
done
echo "phase 1: cap $cap, $refused refused; truth $truth_tot | csv $csv_tot (flows packets bytes)"
[ "$truth_tot" = "$csv_tot" ] || fail "CSV totals differ from the truth"
rf_csv_keys "$d1/out" > "$d1/got.tsv"
tail -n +2 "$d1/keys.tsv" | sort > "$d1/want.tsv"
[ "$(wc -l < "$d1/want.tsv")" -gt 100 ] || fail "too few keys in the truth"
if ! diff -q "$d1/want.tsv" "$d1/got.tsv" > /dev/null; then
  diff "$d1/want.tsv" "$d1/got.tsv" | head -20 >&2
  fail "per-key rows differ from the truth"
fi

# --- Phase 2: a failing sink counts the rows and flows it lost -------------
d2=$work/p2
mkdir -p "$d2"
write_config "$d2" ""
start p2 1024:1024
rm -rf "$d2/out"
echo "a file where the directory was" > "$d2/out"
"$gen" --target "127.0.0.1:$port" --pps "$pps" --duration 2 --keys 200 --seed 8 --quiet \
  --truth "$d2/truth.tsv"
flows=$(rf_truth_total "$d2/truth.tsv" flows)
rf_wait 20 "ringflow_sink_flows_lost_total = $flows" \
  rf_metric_is "$murl" ringflow_sink_flows_lost_total "$flows" ||
  fail "flows lost: $(rf_metric "$murl" ringflow_sink_flows_lost_total), want $flows"
rows_lost=$(rf_metric "$murl" ringflow_sink_rows_lost_total)
rows_flushed=$(rf_metric "$murl" ringflow_flush_rows_total)
[ "$rows_lost" = "$rows_flushed" ] && [ "$rows_lost" -gt 0 ] ||
  fail "rows lost $rows_lost, rows flushed $rows_flushed"
grep -q "sink csv: write failed: .*Not a directory; [0-9]* rows ([0-9]* flows) lost" "$d2/stderr" ||
  fail "the log does not name ENOTDIR and the loss: $(cat "$d2/stderr")"
grep -q "File exists" "$d2/stderr" && fail "the log names EEXIST: $(cat "$d2/stderr")"
rf_stop_collector
echo "phase 2: $rows_lost rows, $flows flows counted as lost"

# --- Phase 3: the soft limit is raised to the hard one ----------------------
d3=$work/p3
mkdir -p "$d3"
write_config "$d3" ""
start p3 300:4096
grep -q "file descriptors: soft 300 -> 4096 (hard 4096)" "$d3/stderr" ||
  fail "no 'soft 300 -> 4096' line: $(cat "$d3/stderr")"
[ "$(awk '/^Max open files/ {print $4}' "/proc/$pid/limits")" = 4096 ] ||
  fail "soft limit not raised: $(grep 'open files' "/proc/$pid/limits")"
rf_stop_collector
echo "e2e_fd_exhaustion: PASS"
