#!/usr/bin/env bash
# Least privilege end to end (issue 16, item 7; docs/config.md, [process]).
#
# 1. From root, process.user = nobody: after start every thread of ringflow
#    runs as nobody:nogroup with no capability (effective, permitted,
#    inheritable, ambient, bounding) and no_new_privs; traffic is received;
#    csv and jsonl files and the ClickHouse spool (server down) are created and
#    owned by nobody; /metrics answers; SIGHUP after the output directory was
#    moved away (logrotate) re-creates it as nobody; and the flows in all the
#    files equal the generator's truth: nothing lost over the drop and reopen.
# 2. As systemd's unit runs it: already nobody, with CAP_NET_ADMIN and
#    CAP_NET_BIND_SERVICE as ambient capabilities (setpriv stands in for
#    systemd): a port below 1024 is bound, the socket buffer is forced past
#    net.core.rmem_max, and then every capability is gone.
# 3. Errors: a user that does not exist, and a switch without the right to
#    make it, are start-up errors (exit 1) naming process.user.
#
# Needs root (it switches users); exits 77 with the reason otherwise.
# Usage: e2e_privilege_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf=$ringflow
[ "$(id -u)" = 0 ] || rf_skip "needs root to switch users (CI runs as root)"
command -v setpriv > /dev/null || rf_skip "setpriv (util-linux) missing"
if ! getent passwd nobody > /dev/null || ! getent group nogroup > /dev/null; then
  fail "no user nobody / group nogroup on this system"
fi
nobody_uid=$(id -u nobody)
nogroup_gid=$(getent group nogroup | cut -d: -f3)

# nobody must reach its directories below it.
chmod 755 "$work"
pid=

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null && fail "ringflow exited while waiting for $what"
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
    sleep 0.1
  done
}
# start DIR [COMMAND-PREFIX...]: runs ringflow -c DIR/netflow.toml; sets pid,
# port and murl.
start() {
  local dir=$1
  shift
  RF_WRAP=("$@")
  rf_start_collector "$(basename "$dir")" -c "$dir/netflow.toml"
  RF_WRAP=()
  pid=$RF_PID port=$RF_PORT murl=$RF_MURL
}
stop() {
  rf_stop_collector "$pid"
  pid=
}
# status_field PID_OR_PID/task/TID FIELD -> the value column(s) of /proc/.../status
status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
# Every thread: uids, gids, groups and the five capability sets.
check_credentials() {  # PID UID GID
  local t n=0
  for t in /proc/"$1"/task/*; do
    t=${t#/proc/}
    n=$((n + 1))
    local comm
    comm=$(cat "/proc/$t/comm")
    [ "$(status_field "$t" Uid)" = "$2 $2 $2 $2" ] || fail "thread $comm: Uid $(status_field "$t" Uid)"
    [ "$(status_field "$t" Gid)" = "$3 $3 $3 $3" ] || fail "thread $comm: Gid $(status_field "$t" Gid)"
    for set in CapInh CapPrm CapEff CapAmb; do
      [ "$(status_field "$t" $set)" = 0000000000000000 ] || fail "thread $comm: $set $(status_field "$t" $set)"
    done
    [ "$(status_field "$t" NoNewPrivs)" = 1 ] || fail "thread $comm: no_new_privs not set"
  done
  [ "$n" -ge 3 ] || fail "expected reactor, worker and flusher threads, found $n"
  echo "  ok  $n threads: uid $2, gid $3, no capabilities, no_new_privs"
}
scrape() { curl -sf "$murl"; }
metric_total() {  # FAMILY -> sum over its samples
  scrape | awk -v n="$1" 'substr($0,1,1) != "#" && ($1 == n || index($1, n "{") == 1) { s += $2 }
                          END { printf "%.0f\n", s }'
}
truth_total() {  # TRUTH COLUMN
  awk -F'\t' -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                        $1 == "total" { print $c[k] }' "$1"
}
csv_flows() {  # FILES... -> flows summed over every row
  cat "$@" | awk -F, '$1 == "interval_start" { for (i = 1; i <= NF; i++) c[$i] = i; next }
                      { f += $c["flows"] } END { printf "%.0f\n", f }'
}

########################################################################
echo "1. root -> process.user = nobody"
dir=$work/root
mkdir -p "$dir/data"
chown nobody:nogroup "$dir/data"
cat > "$dir/netflow.toml" << EOF
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = 1
[output]
directory = "$dir/data/out"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
[process]
user = "nobody"
group = "nogroup"
[[sink]]
type = "csv"
[[sink]]
type = "jsonl"
[[sink]]
type = "clickhouse"
url = "http://127.0.0.1:1"
timeout_ms = 200
EOF
start "$dir"
grep -q "running as nobody (uid $nobody_uid), group nogroup (gid $nogroup_gid), no capabilities" \
  "$dir/stderr" || fail "no privilege line: $(cat "$dir/stderr")"
check_credentials "$pid" "$nobody_uid" "$nogroup_gid"
[ "$(status_field "$pid" CapBnd)" = 0000000000000000 ] || fail "bounding set kept: $(status_field "$pid" CapBnd)"
echo "  ok  bounding set empty"

"$gen" --target "127.0.0.1:$port" --exporters 2 --pps 2000 --count 2000 --seed 5 --quiet \
  --truth "$dir/truth1.tsv"
sent1=$(truth_total "$dir/truth1.tsv" datagrams)
decoded() { [ "$(metric_total ringflow_decode_datagrams_total)" = "$1" ]; }
wait_for 20 "/metrics to count $sent1 decoded datagrams" decoded "$sent1"
echo "  ok  /metrics answers as nobody: $sent1 datagrams decoded"
spooled() { [ -n "$(find "$dir/data/out/spool" -type f 2> /dev/null | head -1)" ]; }
wait_for 30 "the ClickHouse spool to hold a batch" spooled
csv_written() { compgen -G "$dir/data/out/flows-*.csv" > /dev/null && compgen -G "$dir/data/out/flows-*.jsonl" > /dev/null; }
wait_for 10 "csv and jsonl files" csv_written

# logrotate: move the directory away, SIGHUP, new files in a new directory.
mv "$dir/data/out" "$dir/data/out.1"
kill -HUP "$pid"
reopened() { compgen -G "$dir/data/out/flows-*.csv" > /dev/null; }
wait_for 10 "a new output directory after SIGHUP" reopened
echo "  ok  SIGHUP re-created the moved output directory"
"$gen" --target "127.0.0.1:$port" --exporters 2 --pps 2000 --count 1000 --seed 6 --quiet \
  --truth "$dir/truth2.tsv"
sent2=$(truth_total "$dir/truth2.tsv" datagrams)
wait_for 20 "/metrics to count $((sent1 + sent2)) decoded datagrams" decoded "$((sent1 + sent2))"
stop

others=$(find "$dir/data" \( ! -user nobody -o ! -group nogroup \) -printf '%u:%g %p\n')
[ -z "$others" ] || fail "files not owned by nobody:nogroup: $others"
n=$(find "$dir/data" | wc -l)
echo "  ok  all $n files and directories owned by nobody:nogroup" \
  "($(find "$dir/data" -path '*spool*' -type f | wc -l) in the spool)"
want=$(($(truth_total "$dir/truth1.tsv" flows) + $(truth_total "$dir/truth2.tsv" flows)))
got=$(csv_flows "$dir"/data/out.1/flows-*.csv "$dir"/data/out/flows-*.csv)
[ "$got" = "$want" ] || fail "flows in the csv files $got, generator sent $want"
echo "  ok  flows in the csv files before and after the reopen = truth ($want)"

########################################################################
echo "2. as the systemd unit runs it: nobody with ambient CAP_NET_ADMIN, CAP_NET_BIND_SERVICE"
dir=$work/ambient
mkdir -p "$dir"
chown nobody:nogroup "$dir"
rmem_max=$(cat /proc/sys/net/core/rmem_max)
want_buf=$((rmem_max * 2))
[ "$want_buf" -ge 65536 ] || want_buf=65536
[ "$want_buf" -le 1073741824 ] || fail "net.core.rmem_max $rmem_max is too large to test SO_RCVBUFFORCE"
# shellcheck disable=SC2054  # the commas are setpriv's capability lists
ambient=(setpriv --reuid nobody --regid nogroup --init-groups
  --inh-caps +net_admin,+net_bind_service --ambient-caps +net_admin,+net_bind_service)
started_low=
for try in 1 2 3 4 5 6 7 8; do
  low=$((600 + RANDOM % 400))
  cat > "$dir/netflow.toml" << EOF
[receive]
listen = ["127.0.0.1:$low"]
socket_buffer = $want_buf
[output]
directory = "$dir/out"
[metrics]
listen = ""
[log]
stats_interval = 0
[process]
user = "nobody"
[[sink]]
type = "csv"
EOF
  "${ambient[@]}" "$rf" -c "$dir/netflow.toml" > "$dir/stdout" 2> "$dir/stderr" &
  pid=$!
  rf_track_pid "$pid"
  up() { grep -qs "listening on 127.0.0.1:$low:" "$dir/stderr" || ! kill -0 "$pid" 2> /dev/null; }
  wait_for 20 "ringflow to listen on $low" up
  if kill -0 "$pid" 2> /dev/null; then started_low=$low; break; fi
  wait "$pid" || true
  rf_untrack_pid "$pid"
  pid=
  grep -q "Address already in use" "$dir/stderr" || fail "ringflow failed on port $low: $(cat "$dir/stderr")"
  echo "  (port $low in use, try $try)"
done
[ -n "$started_low" ] || fail "no free port below 1024 found"
echo "  ok  bound 127.0.0.1:$started_low as nobody (CAP_NET_BIND_SERVICE)"
check_credentials "$pid" "$nobody_uid" "$nogroup_gid"
rb=$(ss -uampnH "sport = :$started_low" | sed -n 's/.*rb\([0-9]*\).*/\1/p' | head -1)
[ -n "$rb" ] || fail "ss shows no socket on $started_low"
[ "$rb" -gt $((rmem_max * 2)) ] ||
  fail "socket buffer $rb not forced past 2 x net.core.rmem_max ($rmem_max): SO_RCVBUFFORCE not applied"
echo "  ok  socket buffer $rb bytes > 2 x rmem_max $rmem_max (SO_RCVBUFFORCE with CAP_NET_ADMIN)"
stop
others=$(find "$dir/out" ! -user nobody -printf '%u %p\n')
[ -z "$others" ] || fail "files not owned by nobody: $others"

########################################################################
echo "3. errors name process.user"
dir=$work/errors
mkdir -p "$dir"
chmod 777 "$dir"
expect_start_error() {  # WHAT PATTERN COMMAND...
  local what=$1 pattern=$2 rc=0
  shift 2
  "$@" > "$dir/out" 2> "$dir/err" || rc=$?
  [ "$rc" = 1 ] || fail "$what: exit $rc, want 1 ($(cat "$dir/err"))"
  grep -q -- "$pattern" "$dir/err" || fail "$what: error does not say '$pattern': $(cat "$dir/err")"
  echo "  ok  $what: $(grep -o -- "$pattern.*" "$dir/err" | head -1)"
}
common=(--listen 127.0.0.1:0 --metrics-listen "" --output-dir "$dir/o" --set 'sink=[{type = "csv"}]')
expect_start_error "unknown user" 'process.user: no such user "ringflow-no-such-user"' \
  "$rf" "${common[@]}" --set process.user=ringflow-no-such-user
expect_start_error "unknown group" 'process.group: no such group "ringflow-no-such-group"' \
  "$rf" "${common[@]}" --set process.user=nobody --set process.group=ringflow-no-such-group
expect_start_error "no right to switch" 'process.user: cannot' \
  setpriv --reuid nobody --regid nogroup --init-groups "$rf" "${common[@]}" --set process.user=root

echo "e2e_privilege: PASS"
