#!/usr/bin/env bash
# The soak in CI: scripts/soak.sh for one minute at a light load (2000
# datagrams/s x 30 flows), with everything the long soak has — keys churning
# through aggregate.max_entries, SIGHUP every 10 s, an 8 s ClickHouse outage —
# and all its checks: RSS flat, no loss, CSV and ClickHouse totals equal to
# the generator's truth. Exit 77 (a failure under CI=true) when
# clickhouse-server is not installed. --deadline 110: a spool that does not
# drain is reported before ctest's 120 s limit kills the run.
# Usage: e2e_soak_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rc=0
bash "$src/scripts/soak.sh" 1 --no-build --build-dir "$build" --pps 2000 --out "$work" \
  --deadline 110 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -f "$work/ringflow.log" ]; then
  echo "=== ringflow.log (tail)" >&2
  tail -n 30 "$work/ringflow.log" >&2
fi
exit "$rc"
