# Shared by the ClickHouse end-to-end scripts (tests/e2e_clickhouse_*_test.sh,
# e2e_querying_test.sh): sourced, not run; it sources tests/support/e2e.sh
# (fail, cleanup, rf_wait, rf_start_collector, ...). A script starts with
#   . "$(dirname "$0")/support/ch_e2e.sh"
#   ch_setup "$@"                # BUILD_DIR SOURCE_DIR
# Every process it starts is remembered by PID and stopped by that PID.
#
#   ch_setup BUILD_DIR SOURCE_DIR  rf_setup, then BUILD, SRC, WORK, RINGFLOW,
#                                GEN and CHS (scripts/clickhouse.sh) for these
#                                scripts; exit 77 (skip, with the reason)
#                                when clickhouse-server is not installed:
#                                tests install nothing (scripts/deps.sh
#                                --test does)
#   ch_server DIR                starts a private server in DIR (stopped by
#                                cleanup); its URL in CH_URL
#   log MESSAGE                  "--- MESSAGE": a step of the test
#   chq URL SQL                  runs SQL, prints the answer; fails the test on
#                                a server error
#   doc_block FILE NAME          the fenced code block that follows the line
#                                "<!-- test: NAME -->" in FILE (fails if none)
#   doc_block_names FILE [PREFIX] every such NAME in FILE (starting with PREFIX)
#   start_ringflow NAME CONFIG LOG  starts ringflow, waits for "listening on";
#                                its PID is RF_PIDS[NAME]
#   stop_ringflow NAME LOG       SIGTERM, waits; fails on a bad exit or drops
#   truth_totals FILE            "flows packets bytes" of a --truth total row
#   wait_spool_empty DIR SECS    until no *.rfspool file is left in DIR
#   spooled DIR                  true when DIR holds a *.rfspool file

# shellcheck source=tests/support/e2e.sh
. "$(dirname "${BASH_SOURCE[0]}")/e2e.sh"
declare -A RF_PIDS=()

log() { echo "--- $*"; }

ch_setup() {
  rf_setup "$@"
  BUILD=$build SRC=$src WORK=$work RINGFLOW=$ringflow GEN=$gen
  CHS="bash $src/scripts/clickhouse.sh"
  ch_require_server
}

ch_require_server() {
  [ -x "$RINGFLOW" ] || fail "$RINGFLOW not built"
  [ -x "$GEN" ] || fail "$GEN not built"
  if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ]; then
    rf_skip "clickhouse-server is not installed (as root: scripts/deps.sh --test)"
  fi
}

ch_server() {
  rf_on_cleanup "$CHS stop '$1' >/dev/null 2>&1"
  CH_URL=http://127.0.0.1:$($CHS start "$1")
}

chq() {
  local out code
  out=$(curl -sS -m 60 -w '\n%{http_code}' "$1/" --data-binary "$2") || fail "query to $1 failed: $2"
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  [ "$code" = 200 ] || fail "query '$2' -> HTTP $code: $out"
  printf '%s' "$out"
}

doc_block() {
  local text
  text=$(awk -v want="<!-- test: $2 -->" '
    $0 == want { armed = 1; next }
    armed && !inside && /^```/ { inside = 1; next }
    inside && /^```/ { exit }
    inside { print }' "$1")
  [ -n "$text" ] || fail "no block '<!-- test: $2 -->' followed by a fenced block in $1"
  printf '%s\n' "$text"
}

doc_block_names() {
  sed -n 's/^<!-- test: \(.*\) -->$/\1/p' "$1" | grep "^${2:-}" || true
}

start_ringflow() {
  local name=$1 config=$2 log=$3 pid
  : >"$log"
  "$RINGFLOW" -c "$config" </dev/null >>"$log" 2>&1 &
  pid=$!
  RF_PIDS[$name]=$pid
  rf_track_pid "$pid"
  RF_PID=$pid
  RF_COLLECTOR_LOGS[$pid]=$log
  started() {
    grep -q "listening on" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "ringflow $name exited at start-up"; }
    return 1
  }
  rf_wait 15 "ringflow $name's 'listening on' line" started || fail "ringflow $name did not start"
}

stop_ringflow() {
  local name=$1 log=$2 pid=${RF_PIDS[$1]}
  kill -TERM "$pid"
  wait "$pid" || fail "ringflow $name exited with $?"
  rf_untrack_pid "$pid"
  unset "RF_PIDS[$name]"
  grep -q "stopped:" "$log" || fail "no stop line in $log"
  if grep -E "stopped: .* [1-9][0-9]* dropped" "$log"; then fail "ringflow $name dropped datagrams (see $log)"; fi
}

truth_totals() {
  awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
              $1 == "total" { print $col["flows"], $col["packets"], $col["bytes"] }' "$1"
}

spooled() {
  [ -n "$(find "$1" -name '*.rfspool' -print -quit 2>/dev/null)" ]
}

wait_spool_empty() {
  local deadline=$((SECONDS + $2))
  while [ -n "$(find "$1" -name '*.rfspool' 2>/dev/null | head -n 1)" ]; do
    [ $SECONDS -lt $deadline ] ||
      fail "spool $1 not drained after $2 s: $(find "$1" -name '*.rfspool' | wc -l) files"
    sleep 0.2
  done
}
