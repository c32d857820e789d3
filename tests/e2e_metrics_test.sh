#!/usr/bin/env bash
# /metrics end to end (issue "Observability"), over real loopback sockets:
#
# Phase 1, a known mix, two workers. ringflow-gen sends a fixed-seed mix from two
# exporters: 127.0.0.1 (allowed) with lost, duplicated and reordered
# datagrams, a restart, a sampling interval and every malformed class, and
# 127.0.0.2, which receive.allow leaves out (foreign); plus one oversize
# datagram from this shell. Every counter in /metrics must equal what the
# generator's ground truth (truth.tsv) says was sent, exactly. The scrape
# must pass `promtool check metrics`; other paths are 404; the stats line
# names the counters that moved, and only those. The one allowed exporter's
# records are spread over both workers (within 20 % of each other) while its
# stream's sequence accounting stays exact.
#
# Phase 2, overload. A burst into a 64 KiB socket buffer and a tiny queue:
# the kernel drops datagrams. /metrics must show them as kernel drops equal
# to the socket's drops in /proc/net/udp, and the accounting identity
#   received by the kernel = kernel drops + datagrams
#                          = kernel drops + accepted + rejected + dropped
# must hold exactly, as read from /metrics.
#
# Usage: e2e_metrics_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool promtool "Debian's prometheus package"

# fetch URL -> body on stdout; HTTP status in $work/status.
fetch() {
  curl -s -o - -w '%{stderr}%{http_code}' "$1" 2> "$work/status"
}
have_curl=1
command -v curl > /dev/null || have_curl=0
# Without curl, a minimal HTTP/1.0 GET through bash's /dev/tcp.
fetch_tcp() {
  local hostport=${1#http://} path
  path=/${hostport#*/}
  hostport=${hostport%%/*}
  exec 3<> "/dev/tcp/${hostport%:*}/${hostport##*:}"
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
  local reply
  reply=$(cat <&3)
  exec 3<&-
  sed -n '1s/^HTTP\/1\.[01] \([0-9]*\).*/\1/p' <<< "$reply" | tr -d '\r' > "$work/status"
  sed '1,/^\r\{0,1\}$/d' <<< "$reply"
}
scrape() {
  if [ "$have_curl" = 1 ]; then fetch "$1"; else fetch_tcp "$1"; fi
}

# value FILE 'name{labels}' -> the sample's value ("" when absent)
value() { rf_page_sample "$1" "$2"; }
# total FILE name -> sum of every sample of the family
total() { rf_page_total "$1" "$2"; }
expect() {  # expect WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$1: /metrics says '$2', expected '$3'"
  echo "  ok  $1 = $3"
}

# start NAME TOML: runs ringflow; sets pid, port (UDP) and murl (/metrics).
start() {
  rf_start_toml "$1" "$2"
  pid=$RF_PID port=$RF_PORT murl=$RF_MURL
}
stop() { rf_stop_collector; }

# settle OUT SERIES WANT: scrapes into OUT until the sample SERIES
# ("name{labels}") has the value WANT; 20 s at most.
settle() {
  for _ in $(seq 1 100); do
    scrape "$murl" > "$1" || true
    [ "$(value "$1" "$2")" = "$3" ] && return 0
    sleep 0.2
  done
  fail "metrics did not settle on $2 = $3 (last scrape: $(value "$1" "$2"))"
}

# Sanitized builds are several times slower: offer them less.
pps=1000
if rf_sanitized; then pps=400; fi

########################################################################
echo "phase 1: a known mix, every counter exact"
start mix "
[receive]
listen = [\"127.0.0.1:0\"]
workers = 2
allow = [\"127.0.0.1/32\"]
[aggregate]
interval = 1
[output]
directory = \"$work/mix/out\"
[[sink]]
type = \"csv\"
[metrics]
listen = \"127.0.0.1:0\"
[log]
stats_interval = 1"
dir=$work/mix

# Not a route: 404, and the body of /metrics is not served elsewhere. (/ is
# the web view's page, metrics.web; e2e_live_overview_test checks it and its
# 404 when the view is off.)
for path in /metric /metrics/x /favicon.ico /api/v1 /api/v1/nope /assets/x; do
  scrape "${murl%/metrics}$path" > /dev/null || true
  [ "$(cat "$work/status")" = 404 ] || fail "GET $path: status $(cat "$work/status"), expected 404"
done
echo "  ok  other paths are 404"

# Exporter 0 = 127.0.0.1, exporter 1 = 127.0.0.2 (foreign). Sampling 1:10.
"$gen" --target "127.0.0.1:$port" --exporters 2 --exporter-mode addr --pps "$pps" --count 1600 \
  --records 10 --seed 11 --loss 0.01 --duplicate 0.01 --reorder 0.01 --reset-every 500 \
  --malformed 0.03 --malformed-class all --sampling 1:10 --quiet --truth "$dir/truth.tsv"
# One datagram larger than receive.buffer_size (2048) from an allowed exporter.
head -c 3000 /dev/zero > "/dev/udp/127.0.0.1/$port"

# Ground truth, by column name: row of 127.0.0.1 (allowed) and of 127.0.0.2.
col() {  # col EXPORTER COLUMN
  awk -F'\t' -v e="$1" -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                                  $1 == e { print $c[k] }' "$dir/truth.tsv"
}
a=127.0.0.1 f=127.0.0.2
[ "$(col $f datagrams)" -gt 0 ] || fail "the generator sent nothing from $f"
wire_a=$(($(col $a datagrams) + $(col $a malformed)))
wire_f=$(($(col $f datagrams) + $(col $f malformed)))
sent=$((wire_a + wire_f + 1))
# v5 streams: version 5, domain = engine_type << 8 | engine_id.
stream="{exporter=\"$a\",version=\"5\",domain=\"$(($(col $a engine_type) * 256 + $(col $a engine_id)))\"}"

# Wait until the workers have taken everything and published their streams
# (about once a second).
settle "$dir/m.txt" "ringflow_stream_datagrams_total$stream" "$(col $a datagrams)"
# One stats line (1 s apart) with nothing moving, before the final scrape.
for _ in $(seq 1 50); do
  grep -q 'stats: 0 datagrams/s, 0 flows/s$' "$dir/stderr" && break
  sleep 0.1
done
settle "$dir/m.txt" "ringflow_stream_datagrams_total$stream" "$(col $a datagrams)"
m=$dir/m.txt

echo "  (sent $sent datagrams: $wire_a from $a, $wire_f from $f, 1 oversize)"
expect "kernel drops" "$(total $m ringflow_receive_kernel_drops_total)" 0
expect "datagrams received" "$(total $m ringflow_receive_datagrams_total)" "$sent"
expect "not allowed (foreign exporter)" "$(total $m ringflow_receive_not_allowed_total)" "$wire_f"
expect "oversize" "$(total $m ringflow_receive_oversize_total)" 1
expect "queue full" "$(total $m ringflow_receive_queue_full_total)" 0
# The ordered stage on the reactor rejects the malformed ones; the rest go to workers.
expect "handed off" "$(total $m ringflow_receive_handed_off_total)" "$(col $a datagrams)"
expect "rejected on the reactor" "$(total $m ringflow_receive_rejected_total)" "$(col $a malformed)"
expect "dropped{stage=not_allowed}" "$(value $m 'ringflow_datagrams_dropped_total{stage="not_allowed"}')" "$wire_f"
expect "dropped{stage=oversize}" "$(value $m 'ringflow_datagrams_dropped_total{stage="oversize"}')" 1
expect "worker datagrams" "$(total $m ringflow_decode_datagrams_total)" "$(col $a datagrams)"
expect "queue depth" "$(total $m ringflow_handoff_queue_depth)" 0
expect "accepted" "$(($(total $m ringflow_receive_handed_off_total) + $(total $m ringflow_receive_consumed_total)))" "$(col $a datagrams)"
expect "flows" "$(total $m ringflow_decode_flows_total)" "$(col $a flows)"
# One exporter, two workers (receive.spread = "datagram"): both carry its
# records, within 20 % of each other, while the stream's sequence accounting
# below stays exact (the ordered stage runs on the reactor).
w0=$(value $m 'ringflow_decode_flows_total{worker="0"}')
w1=$(value $m 'ringflow_decode_flows_total{worker="1"}')
[ "${w0:-0}" -gt 0 ] && [ "${w1:-0}" -gt 0 ] || fail "one exporter did not use both workers: $w0 / $w1 flows"
big=$((w0 > w1 ? w0 : w1)) diff=$((w0 > w1 ? w0 - w1 : w1 - w0))
[ $((diff * 5)) -le "$big" ] || fail "workers' flows differ by more than 20 %: $w0 / $w1"
echo "  ok  one exporter spread over 2 workers: $w0 / $w1 flows"
expect "aggregated by worker 0" "$(value $m 'ringflow_aggregate_records_total{worker="0"}')" "$w0"
expect "aggregated by worker 1" "$(value $m 'ringflow_aggregate_records_total{worker="1"}')" "$w1"
# The decoder's reason for each generator class (gen/gen_config.h, expected_reject).
# By reason, summed over the version label (a datagram too short to carry a
# version, or of an unknown version, counts under version "other").
rej() {
  awk -v r="reason=\"$1\"" 'index($0, "ringflow_decode_rejected_total{") == 1 && index($0, r) { s += $NF }
                              END { print s + 0 }' "$m"
}
expect "rejected too_short" "$(rej too_short)" "$(col $a malformed_too_short)"
expect "rejected bad_version" "$(rej bad_version)" \
  "$(($(col $a malformed_bad_version) + $(col $a malformed_garbage)))"
expect "rejected count_zero" "$(rej count_zero)" "$(col $a malformed_count_zero)"
expect "rejected count_too_large" "$(rej count_too_large)" "$(col $a malformed_count_too_large)"
expect "rejected truncated" "$(rej truncated)" \
  "$(($(col $a malformed_truncated) + $(col $a malformed_length_mismatch)))"
expect "rejected trailing_bytes" "$(rej trailing_bytes)" "$(col $a malformed_trailing_bytes)"
expect "rejected total" "$(total $m ringflow_decode_rejected_total)" "$(col $a malformed)"
for r in too_short bad_version count_zero count_too_large truncated trailing_bytes; do
  [ "$(rej $r)" -gt 0 ] || fail "the mix has no datagram rejected as $r (change the seed)"
done

expect "streams tracked (the foreign one is not)" "$(value $m ringflow_streams_tracked)" 1
expect "stream datagrams" "$(value $m "ringflow_stream_datagrams_total$stream")" "$(col $a datagrams)"
expect "stream flows" "$(value $m "ringflow_stream_flows_total$stream")" "$(col $a flows)"
expect "stream lost flows" "$(value $m "ringflow_stream_lost_flows$stream")" "$(col $a lost_flows)"
expect "stream duplicates" "$(value $m "ringflow_stream_duplicates_total$stream")" "$(col $a duplicates)"
expect "stream reordered" "$(value $m "ringflow_stream_reordered_total$stream")" "$(col $a reordered)"
expect "stream resets" "$(value $m "ringflow_stream_resets_total$stream")" "$(col $a resets)"
expect "stream sampling interval" "$(value $m "ringflow_stream_sampling_interval$stream")" 10
expect "lost flows, all streams" "$(value $m ringflow_streams_lost_flows)" "$(col $a lost_flows)"
for k in lost_flows duplicates reordered resets; do
  [ "$(col $a $k)" -gt 0 ] || fail "the mix has no $k (change the seed)"
done
age=$(value $m "ringflow_stream_last_datagram_age_seconds$stream")
awk -v a="$age" 'BEGIN { exit !(a >= 0 && a < 60) }' || fail "stream age $age"
expect "aggregated records" "$(total $m ringflow_aggregate_records_total)" "$(col $a flows)"
grep -q "^ringflow_build_info{version=\"[0-9.]*\",backend=\"\(io_uring\|recvmmsg\)\"} 1$" "$m" ||
  fail "build info: $(grep build_info "$m")"
echo "  ok  build info: $(grep '^ringflow_build_info' "$m")"
start_time=$(value $m process_start_time_seconds)
awk -v t="$start_time" -v now="$(date +%s)" 'BEGIN { exit !(t > now - 600 && t <= now + 1) }' ||
  fail "process start time $start_time"

# The accounting identity, as read from /metrics.
received=$(($(total $m ringflow_receive_kernel_drops_total) + $(total $m ringflow_receive_datagrams_total)))
accounted=$(($(total $m ringflow_receive_handed_off_total) + $(total $m ringflow_receive_consumed_total) +
  $(total $m ringflow_receive_rejected_total) + $(total $m ringflow_datagrams_dropped_total)))
expect "kernel received = accepted + rejected + dropped" "$accounted" "$received"

promtool check metrics < "$m" || fail "promtool check metrics rejected the scrape ($m)"
echo "  ok  promtool check metrics"
# Counters end in _total, and every family has HELP and TYPE.
awk '$1 == "#" && $2 == "TYPE" && $4 == "counter" && $3 !~ /_total$/ { print; bad = 1 }
     END { exit bad }' "$m" || fail "a counter without _total"

# docs/metrics.md documents every family served.
while read -r family; do
  grep -q "\`$family\`" "$src/docs/metrics.md" || fail "docs/metrics.md does not document $family"
done < <(awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$m")
echo "  ok  every family is in docs/metrics.md"

stop
# The stats line: rates, and the drop/reject counters that moved — only those.
err=$dir/stderr
grep -q 'stats: [0-9]* datagrams/s, [0-9]* flows/s' "$err" || fail "no stats line"
for moved in not_allowed oversize rejected_too_short rejected_count_zero; do
  grep -q "stats: .* $moved +[1-9]" "$err" || fail "no stats line names $moved: $(grep stats: "$err")"
done
grep -q 'stats: 0 datagrams/s, 0 flows/s$' "$err" || fail "no quiet stats line once traffic stopped"
grep 'stats:' "$err" | grep -q 'kernel_drops\|queue_full' && fail "stats line names a counter that did not move"
echo "  ok  stats line"
# The final scrape and the collector's own summary agree.
grep -q "stopped: $sent datagrams received, $(col $a datagrams) accepted, $(col $a malformed) rejected, $((wire_f + 1)) dropped" "$err" ||
  fail "shutdown summary differs: $(grep stopped: "$err")"

########################################################################
# Phase 2, once per backend (their kernel-drop paths differ: SO_RXQ_OVFL on
# io_uring completions or recvmmsg control messages, and /proc/net/udp).
# io_uring_refused: succeeds (prints nothing) when io_uring_setup(2) gives
# this process a ring; fails printing the errno when the kernel refuses.
io_uring_refused() {
  python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed
fd = libc.syscall(425, 8, params)          # __NR_io_uring_setup (x86_64, arm64)
if fd < 0:
    print("io_uring_setup: " + os.strerror(ctypes.get_errno()))
    sys.exit(1)
os.close(fd)
'
}
overload() {
  local backend=$1
  echo "phase 2 ($backend): overload; kernel drops as in /proc/net/udp, identity exact"
  start "burst-$backend" "
[receive]
listen = [\"127.0.0.1:0\"]
backend = \"$backend\"
workers = 1
socket_buffer = 65536
queue_depth = 256
[aggregate]
interval = 1
[output]
directory = \"$work/burst-$backend/out\"
[metrics]
listen = \"127.0.0.1:0\"
max_streams = 2
[log]
stats_interval = 0"
  local dir=$work/burst-$backend
  "$gen" --target "127.0.0.1:$port" --exporters 4 --pps 0 --count 30000 --seed 3 \
    --malformed 0.01 --quiet --truth "$dir/truth.tsv"
  local sent port_hex m=$dir/m.txt
  sent=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                     $1 == "total" { print $c["datagrams"] + $c["malformed"] }' "$dir/truth.tsv")
  port_hex=$(printf '%04X' "$port")
  proc_drops() {
    awk -v p=":$port_hex" '$2 ~ p "$" { print $NF; exit }' /proc/net/udp
  }
  # Reactors read /proc/net/udp when idle: wait until /metrics caught up and
  # the worker emptied its queue.
  for _ in $(seq 1 100); do
    scrape "$murl" > "$m" || true
    [ "$(total $m ringflow_receive_kernel_drops_total)" = "$(proc_drops)" ] &&
      [ "$(total $m ringflow_decode_datagrams_total)" = "$(total $m ringflow_receive_handed_off_total)" ] &&
      break
    sleep 0.2
  done
  local kdrops received accounted
  kdrops=$(total $m ringflow_receive_kernel_drops_total)
  expect "kernel drops = /proc/net/udp drops" "$kdrops" "$(proc_drops)"
  expect "queue depth" "$(total $m ringflow_handoff_queue_depth)" 0
  received=$((kdrops + $(total $m ringflow_receive_datagrams_total)))
  accounted=$(($(total $m ringflow_receive_handed_off_total) + $(total $m ringflow_receive_consumed_total) +
    $(total $m ringflow_receive_rejected_total) + $(total $m ringflow_datagrams_dropped_total)))
  expect "kernel received = accepted + rejected + dropped" "$accounted" "$received"
  expect "dropped{stage=kernel}" "$(value $m 'ringflow_datagrams_dropped_total{stage="kernel"}')" "$kdrops"
  local want=$backend
  if [ "$backend" = auto ]; then
    # auto means io_uring wherever the kernel lets a process set up a ring;
    # this asks the kernel directly (not ringflow's own probe), and only
    # where it refuses is recvmmsg the right choice, with its reason logged.
    local why
    want=io_uring
    if ! why=$(io_uring_refused); then
      want=recvmmsg
      echo "  NOTE: io_uring is unusable on this machine ($why): auto must choose recvmmsg"
      grep -q "io_uring unavailable: .*; using recvmmsg" "$dir/stderr" ||
        fail "auto chose recvmmsg without logging why"
    fi
  fi
  grep -q "^ringflow_receive_backend_info{reactor=\"0\",backend=\"$want\"} 1$" "$m" ||
    fail "backend $backend: expected $want, the collector reports: $(grep backend_info "$m"; grep -h 'io_uring' "$dir/stderr")"
  echo "  ok  backend $backend -> $want"
  [ "$received" -le "$sent" ] || fail "received $received > sent $sent"
  echo "  (sent $sent; the kernel received $received for our socket and dropped $kdrops of them;" \
    "$(total $m ringflow_receive_queue_full_total) queue_full; $((sent - received)) lost on loopback before the socket)"
  # Four exporters, metrics.max_streams = 2: the cap holds and is counted.
  settle "$m" ringflow_streams_tracked 4
  expect "streams exported (cap 2)" "$(value $m ringflow_streams_exported)" 2
  expect "series per stream family" "$(grep -c '^ringflow_stream_datagrams_total{' "$m")" 2
  local capped
  capped=$(value $m ringflow_streams_cap_exceeded_total)
  [ "$capped" -ge 1 ] || fail "cap exceeded not counted: $capped"
  promtool check metrics < "$m" || fail "promtool check metrics rejected the scrape ($m)"
  stop
}
overload auto
overload recvmmsg

echo "e2e_metrics: PASS"
