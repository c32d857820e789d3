#!/usr/bin/env bash
# The ctest fixture "clickhouse_server" (tests/CMakeLists.txt): one private
# ClickHouse server (scripts/clickhouse.sh: its own directory and ports on
# 127.0.0.1) for every case of sink_clickhouse_server_test in a ctest run,
# instead of a start and a stop per case. The cases find it through
# RINGFLOW_CLICKHOUSE_DIR and each works in tables of its own name.
#
#   clickhouse_fixture.sh start DIR   stops a server an interrupted run left
#                                     in DIR, empties DIR, starts a fresh one;
#                                     exit 77 (ctest's skip, with the reason)
#                                     when clickhouse-server is not installed
#   clickhouse_fixture.sh stop DIR    stops it (by the PID clickhouse.sh
#                                     recorded) and removes DIR
set -euo pipefail
chs="bash $(cd "$(dirname "$0")/../.." && pwd)/scripts/clickhouse.sh"
dir=${2:?usage: clickhouse_fixture.sh start|stop DIR}
case "${1:-}" in
  start)
    if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ]; then
      echo "SKIP: clickhouse-server is not installed (as root: scripts/deps.sh --test)" >&2
      exit 77
    fi
    $chs stop "$dir" >/dev/null 2>&1 || true
    rm -rf "$dir"
    port=$($chs start "$dir")
    echo "clickhouse_server fixture: $dir, HTTP port $port"
    ;;
  stop)
    $chs stop "$dir"
    rm -rf "$dir"
    ;;
  *) echo "usage: clickhouse_fixture.sh start|stop DIR" >&2; exit 2 ;;
esac
