# Shared by the ClickHouse end-to-end scripts (tests/e2e_clickhouse_*_test.sh):
# sourced, not run. Needs BUILD, SRC and WORK set and fail() defined by the
# caller. Every process it starts is remembered by PID and stopped by that PID.
#
#   ch_require_server            exit 77 (skip, with the reason) when
#                                clickhouse-server is not installed: tests
#                                install nothing (scripts/deps.sh --test does)
#   chq URL SQL                  runs SQL, prints the answer; fails the test on
#                                a server error
#   doc_block FILE NAME          the fenced code block that follows the line
#                                "<!-- test: NAME -->" in FILE (fails if none)
#   doc_block_names FILE [PREFIX] every such NAME in FILE (starting with PREFIX)
#   start_ringflow NAME CONFIG LOG  starts ringflow, waits for "listening on";
#                                its PID is RF_PIDS[NAME]
#   stop_ringflow NAME LOG       SIGTERM, waits; fails on a bad exit or drops
#   stop_all_ringflow            for cleanup: every one still running
#   truth_totals FILE            "flows packets bytes" of a --truth total row
#   wait_spool_empty DIR SECS    until no *.rfspool file is left in DIR
#   spooled DIR                  true when DIR holds a *.rfspool file
# and rf_wait from tests/support/e2e.sh.

# shellcheck source=tests/support/e2e.sh
. "$SRC/tests/support/e2e.sh"  # rf_wait
CHS="bash $SRC/scripts/clickhouse.sh"
RINGFLOW=$BUILD/ringflow
GEN=$BUILD/ringflow-gen
declare -A RF_PIDS=()

ch_require_server() {
  [ -x "$RINGFLOW" ] || fail "$RINGFLOW not built"
  [ -x "$GEN" ] || fail "$GEN not built"
  if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ]; then
    echo "SKIP: clickhouse-server is not installed (as root: scripts/deps.sh --test)" >&2
    exit 77
  fi
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
  "$RINGFLOW" -c "$config" >>"$log" 2>&1 &
  pid=$!
  RF_PIDS[$name]=$pid
  for _ in $(seq 1 150); do
    grep -q "listening on" "$log" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2
      fail "ringflow $name exited at start-up"
    fi
    sleep 0.1
  done
  fail "ringflow $name did not start"
}

stop_ringflow() {
  local name=$1 log=$2 pid=${RF_PIDS[$1]}
  kill -TERM "$pid"
  wait "$pid" || fail "ringflow $name exited with $?"
  unset "RF_PIDS[$name]"
  grep -q "stopped:" "$log" || fail "no stop line in $log"
  if grep -E "stopped: .* [1-9][0-9]* dropped" "$log"; then fail "ringflow $name dropped datagrams (see $log)"; fi
}

stop_all_ringflow() {
  local name pid
  for name in "${!RF_PIDS[@]}"; do
    pid=${RF_PIDS[$name]}
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
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
