#!/usr/bin/env bash
# Start-up errors are errors: when the aggregation tables of
# aggregate.max_entries cannot be mapped, ringflow says so in one line naming
# the key and the memory, and exits 1 — no std::terminate, no core, nothing
# left listening. The limit is an address-space limit (ulimit -v), so the
# failure is the same on any machine; a small max_entries under the same
# limit starts, so the limit alone is not what fails.
#
# Labelled nosan: ASan and TSan reserve terabytes of address space at start,
# so no sanitizer build runs under an address-space limit.
# Usage: e2e_startup_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf=$ringflow

# 2 GiB of address space: ringflow with 1024 entries per table needs about
# 0.4 GiB of it (thread stacks, receive buffers, queues); 100 M entries per
# table need about 12 GiB for each of 3 tables.
limit_kib=$((2 * 1024 * 1024))
args=(-c "$src/netflow.toml" --listen 127.0.0.1:0 --metrics-listen "" --workers 1
      --output-dir "$work/flows")

echo "aggregate.max_entries = 100000000 under ulimit -v $limit_kib"
(ulimit -v "$limit_kib" && exec "$rf" "${args[@]}" --set aggregate.max_entries=100000000) \
  > "$work/big.out" 2> "$work/big.err"
rc=$?
cat "$work/big.err"
[ "$rc" -eq 1 ] || fail "exit $rc, want 1"
errors=$(grep -c ' error ' "$work/big.err")
[ "$errors" -eq 1 ] || fail "$errors error lines, want exactly 1"
grep ' error ' "$work/big.err" | grep -q 'aggregate.max_entries = 100000000: cannot map the aggregation tables (3 tables' ||
  fail "the error line does not name aggregate.max_entries and the tables"
grep -q 'GiB in all' "$work/big.err" || fail "the error line does not say how much memory"
grep -qiE 'terminate|abort|what\(\)' "$work/big.err" && fail "ringflow terminated instead of reporting"
grep -q 'listening on' "$work/big.err" && fail "ringflow said it was listening"
echo "  ok  exit 1, one error line"

echo "aggregate.max_entries = 1024 under the same limit: starts and stops cleanly"
RF_WRAP=(prlimit "--as=$((limit_kib * 1024))")
rf_start_collector small "${args[@]}" --set aggregate.max_entries=1024
RF_WRAP=()
rf_stop_collector
echo "  ok  started and stopped (exit 0)"
echo "e2e_startup: PASS"
