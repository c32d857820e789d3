#!/usr/bin/env bash
# The cluster recipe of docs/cluster.md, on one box with real separation:
# four network namespaces this test creates, joined by a bridge on the test's
# own link 10.200.7.0/24 (nothing outside the namespaces is configured):
#   front (10.200.7.1)  ringflow, forward only, balance + templates to all;
#                       the generators send to it on its own loopback
#                       (127.0.0.1 + i: many exporter addresses)
#   node1 (10.200.7.2)  ringflow collector, clickhouse sink via shard 1
#   node2 (10.200.7.3)  ringflow collector, clickhouse sink via shard 2
#   db    (10.200.7.4)  the bridge, and the 2-shard ClickHouse cluster of
#                       docs/clickhouse.md (scripts/clickhouse.sh cluster)
# The tables and the query-time merge are the SQL blocks of docs/cluster.md.
#  1. ringflow-gen sends v5, v9, IPFIX and sFlow (4 exporters each): the
#     totals through the Distributed table, and every per-5-tuple row, equal
#     the truth; both nodes took streams (sink.collector);
#  2. node2 is killed (SIGKILL, by its PID) in the middle of a burst: the same
#     v9 exporters send again (5 data datagrams before any template) and
#     node2 dies once it has flushed rows of them to ClickHouse: node2's streams move to
#     node1 (forward_moved), which decodes them from their first datagram (no
#     data set held for a template); the loss is exact: 20 flows x the data
#     datagrams the front counted for node2 in this burst (sent or dropped),
#     less the flows node2 flushed to ClickHouse before it died, which is at
#     most the queue + 1 (sent before the ICMP error) + what node2 took in two
#     intervals (aggregated, never flushed); no sequence loss on node1;
#  3. the documented merge query gives one row per (interval, exporter) and
#     its sums equal the truth less the counted loss.
# Needs root (ip netns); exits 77 when not root or without clickhouse-server.
# Usage: e2e_cluster_netns_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/ch_e2e.sh
. "$(dirname "$0")/support/ch_e2e.sh"
ch_setup "$@"
[ "$(id -u)" = 0 ] || rf_skip "needs root to create network namespaces (ip netns add)"
rf_need_tool ip "Debian package iproute2"

NET=10.200.7
tag=rfcl$$
NS_F=$tag-front NS_1=$tag-node1 NS_2=$tag-node2 NS_DB=$tag-db
rf_on_cleanup 'for n in "$NS_F" "$NS_1" "$NS_2" "$NS_DB"; do ip netns del "$n" 2>/dev/null; done'
for n in "$NS_F" "$NS_1" "$NS_2" "$NS_DB"; do
  # Root without CAP_SYS_ADMIN (some containers) cannot: a reason to skip.
  ip netns add "$n" 2>"$work/netns.err" ||
    rf_skip "cannot create a network namespace as root here: $(cat "$work/netns.err")"
  ip -n "$n" link set lo up
done
ip -n "$NS_DB" link add br0 type bridge
ip -n "$NS_DB" addr add "$NET.4/24" dev br0
ip -n "$NS_DB" link set br0 up
i=1
for n in "$NS_F" "$NS_1" "$NS_2"; do
  ip -n "$NS_DB" link add "p$i" type veth peer name eth0 netns "$n"
  ip -n "$NS_DB" link set "p$i" master br0 up
  ip -n "$n" addr add "$NET.$i/24" dev eth0
  ip -n "$n" link set eth0 up
  i=$((i + 1))
done

# --- ClickHouse: 2 shards in the db namespace -----------------------------------
CL=$WORK/cluster
rf_on_cleanup "$CHS cluster-stop '$CL' >/dev/null 2>&1"
mapfile -t PORTS < <(RINGFLOW_CH_LISTEN=$NET.4 RINGFLOW_CH_CLIENTS=$NET.0/24 \
  ip netns exec "$NS_DB" $CHS cluster "$CL" 2 ringflow)
[ ${#PORTS[@]} -eq 2 ] || fail "cluster start printed ${#PORTS[@]} ports, expected 2"
U=http://127.0.0.1:${PORTS[0]}
q() {  # q SQL: through shard 1, from the db namespace
  local out code
  out=$(ip netns exec "$NS_DB" curl -sS -m 60 -w '\n%{http_code}' "$U/" --data-binary "$1") ||
    fail "query failed: $1"
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  [ "$code" = 200 ] || fail "query '$1' -> HTTP $code: $out"
  printf '%s' "$out"
}
for p in "${PORTS[@]}"; do
  for b in cluster-recipe-local cluster-recipe-distributed; do
    ip netns exec "$NS_DB" curl -fsS -m 60 "http://127.0.0.1:$p/" \
      --data-binary "$(doc_block "$SRC/docs/cluster.md" "$b")" >/dev/null ||
      fail "creating $b on port $p failed"
  done
done
log "ClickHouse $(q 'SELECT version()'): 2 shards in $NS_DB on $NET.4:${PORTS[0]}, ${PORTS[1]}"

# --- ringflow nodes ----------------------------------------------------------------
declare -A NS_OF_URL=()
rf_scrape() { ip netns exec "${NS_OF_URL[$1]}" curl -fsS -m 5 "$1"; }
start_in() {  # start_in NAME NAMESPACE TOML
  RF_WRAP=(ip netns exec "$2")
  rf_start_toml "$1" "$3"
  RF_WRAP=()
  NS_OF_URL[$RF_MURL]=$2
}
node_toml() {  # node_toml NAME ADDRESS CH_PORT METRICS_PORT
  cat <<EOF
[receive]
listen = ["$2:2055"]
workers = 1
forwarded_from = ["$NET.1/32"]
[aggregate]
interval = 1
key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "exporter"]
[output]
directory = "$WORK/$1/out"
[[sink]]
type = "clickhouse"
url = "http://$NET.4:$3"
table = "ringflow_flows"
collector = "$1"
timeout_ms = 5000
spool_dir = "$WORK/$1/spool"
[metrics]
listen = "127.0.0.1:$4"
web = false
[log]
stats_interval = 0
EOF
}
start_in node1 "$NS_1" "$(node_toml node1 "$NET.2" "${PORTS[0]}" 9102)"
n1_pid=$RF_PID n1_url=$RF_MURL
start_in node2 "$NS_2" "$(node_toml node2 "$NET.3" "${PORTS[1]}" 9103)"
n2_pid=$RF_PID n2_url=$RF_MURL
t1="$NET.2:2055" t2="$NET.3:2055"
start_in front "$NS_F" "$(cat <<EOF
sink = []
[receive]
listen = ["127.0.0.1:2055"]
[metrics]
listen = "127.0.0.1:9101"
web = false
[log]
stats_interval = 0
[[forward]]
name = "cluster"
targets = ["$t1", "$t2"]
mode = "balance"
encapsulation = "ringflow"
retry_ms = 60000
queue = 4096
EOF
)"
f_url=$RF_MURL

# --- 1. every format, many exporters -------------------------------------------------
gen_in_front() { ip netns exec "$NS_F" "$GEN" --target 127.0.0.1:2055 --quiet "$@"; }
: >"$WORK/keys.all"
want_f=0 want_p=0 want_b=0 seed=40
for proto in v5 v9 ipfix sflow; do
  seed=$((seed + 1))
  extra=()
  [ "$proto" != v9 ] || extra=(--records 20 --template-refresh 100000)
  gen_in_front --protocol "$proto" --exporters 4 --pps 800 --duration 1 --seed "$seed" --keys 300 \
    --truth "$WORK/truth.$proto" --truth-keys "$WORK/keys.$proto" "${extra[@]}"
  read -r f p b < <(truth_totals "$WORK/truth.$proto")
  [ "$f" -gt 0 ] || fail "$proto: the generator sent no flows"
  want_f=$((want_f + f)) want_p=$((want_p + p)) want_b=$((want_b + b))
  tail -n +2 "$WORK/keys.$proto" | cut -f1-8 >>"$WORK/keys.all"
done
totals() { q "SELECT sum(flows), sum(packets), sum(bytes) FROM ringflow_flows FORMAT TabSeparated" | tr '\t' ' '; }
totals_are() { [ "$(totals)" = "$1" ]; }
rf_wait 40 "ClickHouse totals = the truth ($want_f $want_p $want_b)" totals_are "$want_f $want_p $want_b" ||
  fail "phase 1: ClickHouse holds '$(totals)', the truth is '$want_f $want_p $want_b'"
awk -F'\t' -v OFS='\t' '{ k = $1 OFS $2 OFS $3 OFS $4 OFS $5; f[k] += $6; p[k] += $7; b[k] += $8 }
  END { for (k in f) printf "%s\t%.0f\t%.0f\t%.0f\n", k, f[k], p[k], b[k] }' "$WORK/keys.all" |
  sort >"$WORK/want.keys"
q "SELECT IPv6NumToString(src_addr), IPv6NumToString(dst_addr), src_port, dst_port, protocol,
          sum(flows), sum(packets), sum(bytes) FROM ringflow_flows
   GROUP BY src_addr, dst_addr, src_port, dst_port, protocol FORMAT TabSeparated" |
  sed 's/::ffff://g' | sort >"$WORK/got.keys"
diff "$WORK/want.keys" "$WORK/got.keys" >"$WORK/keys.diff" ||
  fail "phase 1: per-5-tuple rows differ from the truth ($(wc -l <"$WORK/keys.diff") lines, $WORK/keys.diff)"
by_node=$(q "SELECT collector, sum(flows) FROM ringflow_flows GROUP BY collector ORDER BY collector FORMAT TabSeparated" | tr '\t\n' ': ')
[ "$(q "SELECT uniqExact(collector) FROM ringflow_flows")" = 2 ] ||
  fail "phase 1: not both nodes took streams: $by_node"
echo "  ok  phase 1: v5, v9, IPFIX, sFlow x 4 exporters: ClickHouse totals and $(wc -l <"$WORK/want.keys") 5-tuple rows = the truth; by node $by_node"

# --- 2. node2 dies mid-burst, its streams move -----------------------------------------
# awk reads the whole page: a reader that stopped early would fail curl's
# write (exit 23) and, with pipefail, this function: set -e then ends the test
# without a word inside $(...).
sample() { rf_scrape "$1" | awk -v s="$2" '!found && $1 == s { print $2 + 0; found = 1 } END { if (!found) print 0 }'; }
held1=$(sample "$n1_url" 'ringflow_held_sets_total{outcome="held"}')
node_flows() { q "SELECT sum(flows) FROM ringflow_flows WHERE collector = '$1'"; }
n2_flows1=$(node_flows node2)
rf_scrape "$f_url" >"$WORK/f1.metrics"
to_n2() {  # to_n2 PAGE: data datagrams sent + dropped for node2 (templates-only
  # copies, which carry no flow, taken out: every copy counted is sent or dropped)
  awk -v t="target=\"$t2\"" '($1 ~ /^ringflow_forward_sent_total/ || $1 ~ /^ringflow_forward_dropped_total/) && index($1, t) { s += $2 }
                             $1 ~ /^ringflow_forward_template_copies_total/ && index($1, t) { s -= $2 }
                             END { print s + 0 }' "$1"
}
out1=$(to_n2 "$WORK/f1.metrics")
unwrapped() { sample "$n2_url" 'ringflow_forward_received_total{outcome="unwrapped"}'; }
u1=$(unwrapped)
gen_in_front --protocol v9 --exporters 4 --pps 800 --duration 4 --seed 51 --keys 300 --records 20 \
  --template-refresh 100000 --template-delay 5 --truth "$WORK/truth2.v9" &
gen_pid=$!
rf_track_pid "$gen_pid"
# Killed once node2 has flushed rows of the burst to ClickHouse (and so
# holds the rest of its current interval unflushed): both parts of the loss
# account below are then at work.
n2_flushed() { [ "$(unwrapped)" -gt "$u1" ] && [ "$(node_flows node2)" -gt "$n2_flows1" ]; }
rf_wait 10 "node2 flushed rows of the burst" n2_flushed || fail "node2 flushed nothing of the burst"
kill -0 "$gen_pid" 2>/dev/null || fail "the burst ended before node2 flushed rows of it (a box too slow for this test)"
kill -KILL "$n2_pid"
wait "$n2_pid" 2>/dev/null || true
rf_untrack_pid "$n2_pid"
wait "$gen_pid" || fail "the phase-2 generator failed"
rf_untrack_pid "$gen_pid"
read -r f2 _ _ < <(truth_totals "$WORK/truth2.v9")
n2_down() { rf_scrape "$f_url" | grep -x >/dev/null "ringflow_forward_target_up{forward=\"cluster\",target=\"$t2\"} 0"; }
rf_wait 20 "the front: node2 down" n2_down || fail "the front did not mark node2 down"
rf_scrape "$f_url" >"$WORK/f2.metrics"
d2=$(($(to_n2 "$WORK/f2.metrics") - out1))  # data datagrams for node2 in the burst
undelivered=$(awk -v t="target=\"$t2\"" '$1 ~ /^ringflow_forward_dropped_total/ && index($1, t) { s += $2 } END { print s + 0 }' "$WORK/f2.metrics")
moved=$(rf_page_sample "$WORK/f2.metrics" "ringflow_forward_moved_total{forward=\"cluster\",target=\"$t1\"}")
[ "${moved:-0}" -gt 0 ] || fail "phase 2: no stream moved to node1"
# node2's flushed rows of the burst are in ClickHouse already (a killed node
# sends nothing more); the rest of what the front counted for it is lost:
# sent before the front saw the ICMP error, or taken by node2 and never
# flushed (its current interval), or dropped by the front (counted).
f2_n2=$(($(node_flows node2) - n2_flows1))
[ $((f2_n2 % 20)) = 0 ] || fail "phase 2: node2 flushed $f2_n2 flows of the burst, not whole datagrams of 20"
lost=$((d2 - f2_n2 / 20))
[ "$lost" -ge 1 ] && [ "$lost" -le $((4097 + 1600)) ] ||
  fail "phase 2: $lost datagrams for node2 not in ClickHouse, want 1..$((4097 + 1600)) (node2's queue of 4096 + the one that drew the ICMP error + two 1 s intervals of the burst's 800 pps)"
lost_f=$((20 * lost))
want2_f=$((want_f + f2 - lost_f))
flows_are() { [ "$(totals | cut -d' ' -f1)" = "$1" ]; }
rf_wait 30 "ClickHouse: $want2_f flows ($f2 sent in the burst, $lost_f lost with node2)" flows_are "$want2_f" ||
  fail "phase 2: ClickHouse holds $(totals | cut -d' ' -f1) flows, want $want_f + $f2 - (20 x $d2 - $f2_n2 flushed by node2)"
held2=$(sample "$n1_url" 'ringflow_held_sets_total{outcome="held"}')
[ "$held2" = "$held1" ] ||
  fail "phase 2: node1 held $((held2 - held1)) data sets for a template: it lacked the moved streams' templates"
rf_scrape "$n1_url" >"$WORK/n1.metrics"
v9_streams=$(grep -c '^ringflow_stream_lost_datagrams{' "$WORK/n1.metrics" || true)
[ "$v9_streams" -ge 1 ] || fail "phase 2: node1 exports no v9 stream's sequence loss (ringflow_stream_lost_datagrams)"
seq_lost=$(rf_page_total "$WORK/n1.metrics" ringflow_stream_lost_datagrams)
[ "$seq_lost" = 0 ] || fail "phase 2: node1 counts $seq_lost datagrams lost by sequence (the moved streams start on their first datagram)"
echo "  ok  phase 2: node2 killed mid-burst; $moved datagrams moved to node1, decoded from the first (held sets $held1 -> $held2);" \
  "lost $lost datagrams of the $d2 the front counted for node2 ($undelivered of them dropped by the front; node2 flushed $f2_n2 flows of the burst)," \
  "exactly the ClickHouse shortfall; sequence loss 0 over node1's $v9_streams v9 streams"

# --- 3. the documented query-time merge --------------------------------------------------
merge_sql=$(doc_block "$SRC/docs/cluster.md" cluster-merge)
q "$merge_sql FORMAT TabSeparated" >"$WORK/merged.tsv"
rows=$(wc -l <"$WORK/merged.tsv")
distinct=$(q "SELECT count() FROM (SELECT DISTINCT interval_start, exporter FROM ringflow_flows)")
[ "$rows" = "$distinct" ] || fail "merge: $rows rows, $distinct distinct (interval, exporter)"
cut -f1,2 "$WORK/merged.tsv" | sort | uniq -d | head -1 | grep -q . &&
  fail "merge: an (interval, exporter) is on two rows"
merged_f=$(awk -F'\t' '{ s += $3 } END { printf "%.0f\n", s }' "$WORK/merged.tsv")
[ "$merged_f" = "$want2_f" ] || fail "merge: $merged_f flows, want $want2_f"
two=$(awk -F'\t' '$6 ~ /,/' "$WORK/merged.tsv" | wc -l)
echo "  ok  merge query: $rows (interval, exporter) rows, $merged_f flows = truth - lost; $two of them merge both nodes' rows"
rf_stop_collector "$n1_pid"
