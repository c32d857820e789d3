#!/usr/bin/env bash
# Logging under systemd (issue 18, item 2): when stderr is the journal stream
# (JOURNAL_STREAM names stderr's device:inode, as systemd sets it), log lines
# carry no timestamp of their own, only the "<N>" syslog priority prefix the
# journal reads; on a plain file they keep the timestamp and level. A
# JOURNAL_STREAM inherited by a process whose stderr goes elsewhere (the
# variable names another file) is ignored.
# Usage: e2e_journal_log_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
rf=$(cd "$1" && pwd)/ringflow
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# run LOG [ENV...]: starts ringflow with stderr to LOG, stops it once it listens.
run() {
  local log=$1
  shift
  : > "$log"
  env "$@" "$rf" --listen 127.0.0.1:0 --metrics-listen "" --set 'sink=[]' \
    --log-level debug 2> "$log" &
  local pid=$! deadline=$((SECONDS + 20))
  until grep -q "listening on" "$log"; do
    kill -0 "$pid" 2> /dev/null || { cat "$log" >&2; fail "ringflow exited"; }
    [ "$SECONDS" -lt "$deadline" ] || fail "ringflow did not start"
    sleep 0.05
  done
  kill -TERM "$pid"
  wait "$pid" || fail "ringflow exited $? on SIGTERM"
}

journal=$work/journal.log
: > "$journal"
run "$journal" JOURNAL_STREAM="$(stat -c '%d:%i' "$journal")"
grep -q '^<6>listening on 127\.0\.0\.1:[0-9]*: ' "$journal" || fail "no '<6>listening on' line: $(cat "$journal")"
grep -q '^<7>' "$journal" || fail "no debug line with priority 7"
grep -q '^<6>stopped: ' "$journal" || fail "no '<6>stopped:' line"
bad=$(grep -v '^<[3467]>[^<]' "$journal" || true)
[ -z "$bad" ] || fail "lines without a priority prefix or with one twice: $bad"
grep -E '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z' "$journal" && fail "a timestamp in journal mode"
echo "  ok  journal: $(wc -l < "$journal") lines, priority prefix, no timestamp"

plain=$work/plain.log
other=$work/other
: > "$other"
for how in "no JOURNAL_STREAM" "JOURNAL_STREAM of another file"; do
  if [ "$how" = "no JOURNAL_STREAM" ]; then
    run "$plain" -u JOURNAL_STREAM
  else
    run "$plain" JOURNAL_STREAM="$(stat -c '%d:%i' "$other")"
  fi
  grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z info  listening on ' "$plain" ||
    fail "$how: no timestamped info line: $(cat "$plain")"
  grep -q '^<' "$plain" && fail "$how: priority prefix on a plain file"
  echo "  ok  $how: timestamp and level, no prefix"
done
echo "e2e_journal_log: PASS"
