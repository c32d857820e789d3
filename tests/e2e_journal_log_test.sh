#!/usr/bin/env bash
# Logging under systemd (issue 18, item 2): when stderr is the journal stream
# (JOURNAL_STREAM names stderr's device:inode, as systemd sets it), log lines
# carry no timestamp of their own, only the "<N>" syslog priority prefix the
# journal reads; on a plain file they keep the timestamp and level. A
# JOURNAL_STREAM inherited by a process whose stderr goes elsewhere (the
# variable names another file) is ignored.
# Usage: e2e_journal_log_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

# run NAME [ENV...]: ringflow with ENV, its stderr $work/NAME/stderr (made
# before, so that its device:inode can be named), stopped once it listens.
run() {
  local name=$1
  shift
  RF_WRAP=(env "$@")
  rf_start_collector "$name" --listen 127.0.0.1:0 --metrics-listen "" --set 'sink=[]' \
    --log-level debug
  RF_WRAP=()
  rf_stop_collector
}
# log_file NAME: $work/NAME/stderr, made empty.
log_file() {
  mkdir -p "$work/$1"
  : > "$work/$1/stderr"
  echo "$work/$1/stderr"
}

journal=$(log_file journal)
run journal JOURNAL_STREAM="$(stat -c '%d:%i' "$journal")"
grep -q '^<6>listening on 127\.0\.0\.1:[0-9]*: ' "$journal" || fail "no '<6>listening on' line: $(cat "$journal")"
grep -q '^<7>' "$journal" || fail "no debug line with priority 7"
grep -q '^<6>stopped: ' "$journal" || fail "no '<6>stopped:' line"
bad=$(grep -v '^<[3467]>[^<]' "$journal" || true)
[ -z "$bad" ] || fail "lines without a priority prefix or with one twice: $bad"
grep -E '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z' "$journal" && fail "a timestamp in journal mode"
echo "  ok  journal: $(wc -l < "$journal") lines, priority prefix, no timestamp"

other=$work/other
: > "$other"
for how in "no JOURNAL_STREAM" "JOURNAL_STREAM of another file"; do
  if [ "$how" = "no JOURNAL_STREAM" ]; then
    plain=$(log_file plain-unset)
    run plain-unset -u JOURNAL_STREAM
  else
    plain=$(log_file plain-other)
    run plain-other JOURNAL_STREAM="$(stat -c '%d:%i' "$other")"
  fi
  grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z info  listening on ' "$plain" ||
    fail "$how: no timestamped info line: $(cat "$plain")"
  grep -q '^<' "$plain" && fail "$how: priority prefix on a plain file"
  echo "  ok  $how: timestamp and level, no prefix"
done
echo "e2e_journal_log: PASS"
