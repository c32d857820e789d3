#!/usr/bin/env bash
# The ringflow binary as a user meets it: --version, --help, --check-config
# exit codes (0 valid, 2 invalid, every error printed), unknown options (2),
# a port already in use (1, with the address named), a CPU list naming an
# unavailable CPU (1, with the key named), and a collector, its threads pinned
# as configured, that stays up and exits 0 on SIGINT after flushing its
# partial interval.
# Usage: e2e_cli_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf=$ringflow
expect_rc() {  # want-rc description command...
  local want=$1 what=$2; shift 2
  "$@" > "$work/out" 2> "$work/err"
  local rc=$?
  [ "$rc" -eq "$want" ] || { cat "$work/out" "$work/err" >&2; fail "$what: exit $rc, want $want"; }
}

expect_rc 0 "--version" "$rf" --version
grep -q '^ringflow [0-9]' "$work/out" || fail "--version output: $(cat "$work/out")"
expect_rc 0 "--help" "$rf" --help
grep -q -- '--check-config' "$work/out" || fail "--help does not list --check-config"
expect_rc 2 "unknown option" "$rf" --no-such-option
expect_rc 0 "--check-config netflow.toml" "$rf" --check-config "$src/netflow.toml"
grep -q 'interval' "$work/out" || fail "--check-config did not print the effective config"

cat > "$work/bad.toml" <<'EOF'
[aggregate]
intervall = 60
[receive]
workers = "four"
EOF
expect_rc 2 "--check-config bad.toml" "$rf" --check-config "$work/bad.toml"
grep -q "bad.toml:2:.*aggregate.intervall.*did you mean" "$work/err" || fail "no suggestion: $(cat "$work/err")"
grep -q "bad.toml:4:.*receive.workers.*expected" "$work/err" || fail "no type error: $(cat "$work/err")"

# A CPU list naming a CPU this process may not use stops the start (exit 1),
# naming the key and the entry.
expect_rc 1 "unavailable CPU" "$rf" -c "$src/netflow.toml" --listen 127.0.0.1:0 \
  --metrics-listen "" --output-dir "$work/flows3" --set 'receive.worker_cpus=["1023"]'
grep -q "receive.worker_cpus\[0\]: CPU 1023 is not available to this process" "$work/err" ||
  fail "unavailable CPU: $(cat "$work/err")"

# A collector that starts, stays up, and exits 0 on SIGINT; its reactor and
# worker pinned to the first CPU this shell may use.
cpu=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*\([0-9]*\).*/\1/p' /proc/self/status)
cd "$work"
rf_start_collector run -c "$src/netflow.toml" --listen 127.0.0.1:0 --interval 1 \
  --output-dir "$work/flows" --metrics-listen "" --set "receive.reactor_cpus=[\"$cpu\"]" \
  --set "receive.worker_cpus=[\"$cpu\"]"
pid=$RF_PID port=$RF_PORT
grep -q "listening on .*: [1-9][0-9]* reactor(s), [1-9][0-9]* worker(s)" "$RF_LOG" ||
  fail "no thread counts in the start line: $(cat "$RF_LOG")"
for name in rf-reactor0 rf-worker0; do
  allowed=
  for t in /proc/"$pid"/task/*; do
    [ "$(cat "$t/comm")" = "$name" ] &&
      allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status")
  done
  [ "$allowed" = "$cpu" ] || fail "$name runs on CPUs '$allowed', pinned to '$cpu'"
done

# A second collector on the same port must refuse to start (exit 1), naming it.
expect_rc 1 "port in use" "$rf" -c "$src/netflow.toml" --listen "127.0.0.1:$port" \
  --metrics-listen "" --output-dir "$work/flows2"
grep -q "127.0.0.1:$port" "$work/err" || fail "port-in-use message does not name the address: $(cat "$work/err")"

# It stays up across an interval boundary: a complete interval's CSV appears.
complete_csv() { find "$work/flows" -name '*.csv' ! -name '*partial*' 2>/dev/null | grep -q .; }
rf_wait 20 "a complete interval's CSV in $work/flows" complete_csv ||
  { cat "$RF_LOG" >&2; fail "no complete interval written"; }
kill -0 "$pid" || fail "ringflow did not stay up"
kill -INT "$pid"
wait "$pid"
rc=$?
rf_untrack_pid "$pid"
[ "$rc" -eq 0 ] || { cat "$RF_LOG" >&2; fail "SIGINT: exit $rc"; }
grep -q "stopped:" "$RF_LOG" || fail "no shutdown summary"
grep -q "partial" "$work/run/stdout" || fail "the final interval was not flushed as partial"
ls "$work/flows"/*.csv > /dev/null || fail "no CSV written"
echo "e2e_cli: PASS"
