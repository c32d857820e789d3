#!/usr/bin/env bash
# A node that only forwards ([[forward]] and sink = [], docs/cluster.md)
# starts no aggregation: no worker thread, no flusher, whatever
# receive.workers says; and it still forwards every datagram, exactly.
#  1. a forward-only front (receive.workers = 2 on purpose) and a collecting
#     target (workers = 1): the threads of each, by name from
#     /proc/PID/task/*/comm. The target has rf-worker0 and rf-flush (so the
#     count sees them when they exist); the front has neither, only its
#     reactor and its forwarder beside the main thread (and the metrics
#     endpoint's).
#  2. ringflow-gen sends v5, v9 and IPFIX through the front: the front selects
#     and sends exactly the datagrams sent, drops none, decodes nothing; the
#     target unwraps every one and its CSV rows equal the truth per 5-tuple.
#  3. after the traffic the front still has no worker or flusher thread.
#  4. placement: with 2 or more CPUs allowed, the front's reactor is pinned to
#     the first (receive.reactor_cpus) and its forwarder thread, by default
#     (no forward.cpus), to the other allowed CPUs, never the reactor's.
# Usage: e2e_forward_only_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

keyline='key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "exporter"]'
threads_of() {  # the names of a process's threads, one a line, sorted
  local t
  for t in /proc/"$1"/task/*/comm; do cat "$t" 2>/dev/null || true; done | sort
}
count_named() {  # count_named PID REGEX
  threads_of "$1" | grep -c -E "$2" || true
}

rf_start_toml t "$(rf_csv_toml "$work/t/out" 127.0.0.2:0 'forwarded_from = ["127.0.0.0/8"]' |
  sed "s|^interval = 1|interval = 1\n$keyline|")"
t_pid=$RF_PID t_port=$RF_PORT t_url=$RF_MURL
# The CPUs this test may use, as taskset lists them ("0-3" -> 0 1 2 3).
read -r -a cpus < <(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
  awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) printf "%d ", c } END { print "" }')
pin_line=""
[ "${#cpus[@]}" -lt 2 ] || pin_line="reactor_cpus = [\"${cpus[0]}\"]"
rf_start_toml f "$(cat <<EOF
sink = []
[receive]
listen = ["127.0.0.1:0"]
reactors = 1
workers = 2
$pin_line
[metrics]
listen = "127.0.0.1:0"
web = false
[log]
stats_interval = 0
[[forward]]
targets = ["127.0.0.2:$t_port"]
mode = "replicate"
encapsulation = "ringflow"
queue = 65536
EOF
)"
f_pid=$RF_PID f_port=$RF_PORT f_url=$RF_MURL
grep -q "forward only (no worker, no flusher)" "$work/f/stderr" ||
  fail "the forward-only node did not say it runs no worker and no flusher: $(grep 'listening on' "$work/f/stderr")"

# --- 1. threads ---------------------------------------------------------------
check_threads() {  # check_threads WHEN
  threads_of "$t_pid" >"$work/t.threads"
  threads_of "$f_pid" >"$work/f.threads"
  [ "$(count_named "$t_pid" '^rf-worker')" = 1 ] && [ "$(count_named "$t_pid" '^rf-flush$')" = 1 ] ||
    fail "$1: the collecting target should have 1 worker and 1 flusher thread, has: $(tr '\n' ' ' <"$work/t.threads")"
  local w fl r fw
  w=$(count_named "$f_pid" '^rf-worker')
  fl=$(count_named "$f_pid" '^rf-flush$')
  r=$(count_named "$f_pid" '^rf-reactor')
  fw=$(count_named "$f_pid" '^rf-fwd$')
  [ "$w" = 0 ] || fail "$1: the forward-only node runs $w worker thread(s): $(tr '\n' ' ' <"$work/f.threads")"
  [ "$fl" = 0 ] || fail "$1: the forward-only node runs a flusher thread: $(tr '\n' ' ' <"$work/f.threads")"
  [ "$r" = 1 ] && [ "$fw" = 1 ] ||
    fail "$1: the forward-only node should run 1 reactor and 1 forwarder, has: $(tr '\n' ' ' <"$work/f.threads")"
  # Everything else is the main thread, the metrics endpoint's and whatever
  # the runtime adds (TSan runs a background thread under the process's
  # name): no more of those than the collecting target has beside its own
  # rf-* threads, since both are the same binary with the same endpoint.
  local other base
  other=$(grep -v -E '^rf-(reactor0|fwd)$' "$work/f.threads" | wc -l)
  base=$(grep -c -v -E '^rf-' "$work/t.threads" || true)
  [ "$other" -le "$base" ] ||
    fail "$1: the forward-only node runs $other threads beside its reactor and forwarder, the collecting target $base beside its rf-* threads: $(tr '\n' ' ' <"$work/f.threads")"
  echo "  ok  $1: forward-only node threads: $(tr '\n' ' ' <"$work/f.threads")(target: $(tr '\n' ' ' <"$work/t.threads"))"
}
check_threads "at start"

# --- 2. forwarded exactly -----------------------------------------------------
: >"$work/keys.all"
dgrams=0 flows=0 seed=30
for proto in v5 v9 ipfix; do
  seed=$((seed + 1))
  "$gen" --protocol "$proto" --target "127.0.0.1:$f_port" --exporters 3 --pps 1500 --duration 1 \
    --seed "$seed" --keys 200 --quiet --truth "$work/truth.$proto" --truth-keys "$work/keys.$proto"
  d=$(rf_truth_total "$work/truth.$proto" datagrams)
  n=$(rf_truth_total "$work/truth.$proto" flows)
  [ "$d" -gt 0 ] && [ "$n" -gt 0 ] || fail "$proto: the generator sent nothing"
  dgrams=$((dgrams + d)) flows=$((flows + n))
  tail -n +2 "$work/keys.$proto" | cut -f1-8 >>"$work/keys.all"
done
rf_wait 20 "front: $dgrams datagrams sent" rf_metric_is "$f_url" ringflow_forward_sent_total "$dgrams" ||
  fail "the front sent $(rf_metric "$f_url" ringflow_forward_sent_total) datagrams, the generators sent $dgrams"
rf_wait 20 "target: $flows flows decoded" rf_metric_is "$t_url" ringflow_decode_flows_total "$flows" ||
  fail "the target decoded $(rf_metric "$t_url" ringflow_decode_flows_total) flows, the truth is $flows"
rf_scrape "$f_url" >"$work/f.metrics"
rf_scrape "$t_url" >"$work/t.metrics"
sel=$(rf_page_total "$work/f.metrics" ringflow_forward_selected_total)
dropped=$(rf_page_total "$work/f.metrics" ringflow_forward_dropped_total)
decoded=$(rf_page_total "$work/f.metrics" ringflow_decode_flows_total)
unwrapped=$(rf_page_sample "$work/t.metrics" 'ringflow_forward_received_total{outcome="unwrapped"}')
[ "$sel" = "$dgrams" ] || fail "the front selected $sel datagrams, the generators sent $dgrams"
[ "$dropped" = 0 ] || fail "the front dropped $dropped datagrams"
[ "$decoded" = 0 ] || fail "the forward-only front decoded $decoded flows"
[ "$unwrapped" = "$dgrams" ] || fail "the target unwrapped $unwrapped datagrams, the front sent $dgrams"
echo "  ok  $dgrams datagrams (v5, v9, IPFIX) selected and sent by the front, unwrapped by the target; none dropped, none decoded at the front"

# --- 3. still no aggregation after traffic -------------------------------------
check_threads "after traffic"
# --- 4. placement ---------------------------------------------------------------
if [ "${#cpus[@]}" -ge 2 ]; then
  affinity_of() {  # affinity_of THREAD_NAME: the CPU list the kernel has for it
    local t
    for t in /proc/"$f_pid"/task/*; do
      [ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] && taskset -pc "${t##*/}" | sed 's/.*: //'
    done
  }
  want_fwd=$(printf '%s\n' "${cpus[@]:1}" | awk 'NR == 1 { s = e = $1; next }
    $1 == e + 1 { e = $1; next } { printf "%s,", (s == e ? s : s "-" e); s = e = $1 }
    END { print (s == e ? s : s "-" e) }')
  [ "$(affinity_of rf-reactor0)" = "${cpus[0]}" ] ||
    fail "placement: the reactor runs on CPU $(affinity_of rf-reactor0), receive.reactor_cpus says ${cpus[0]}"
  [ "$(affinity_of rf-fwd)" = "$want_fwd" ] ||
    fail "placement: the forwarder runs on CPU $(affinity_of rf-fwd), want $want_fwd (the allowed CPUs but the reactor's)"
  grep -q "forward forward0: its thread is pinned to CPU $want_fwd" "$work/f/stderr" ||
    fail "placement: the front did not log its forwarder's CPUs"
  echo "  ok  placement: reactor on CPU ${cpus[0]}, forwarder on CPU $want_fwd"
else
  echo "  --  placement: one CPU allowed, nothing to place apart"
fi

rf_stop_collector "$f_pid"
rf_stop_collector "$t_pid"
rf_csv_keys "$work/t/out" >"$work/t.keys"
# Per 5-tuple over the three generators (two may draw the same 5-tuple).
awk -F'\t' -v OFS='\t' '{ k = $1 OFS $2 OFS $3 OFS $4 OFS $5; f[k] += $6; p[k] += $7; b[k] += $8 }
  END { for (k in f) printf "%s\t%.0f\t%.0f\t%.0f\n", k, f[k], p[k], b[k] }' "$work/keys.all" |
  sort >"$work/keys.sum"
diff "$work/keys.sum" "$work/t.keys" >"$work/t.diff" ||
  fail "the target's CSV rows differ from the truth ($(wc -l <"$work/t.diff") lines, $work/t.diff)"
echo "  ok  the target's rows equal the truth per 5-tuple ($flows flows)"

