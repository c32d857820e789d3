#!/usr/bin/env bash
# End-to-end: two collectors -> a ClickHouse cluster of two shards on
# loopback (scripts/clickhouse.sh cluster: private servers, remote_servers in
# config.d), through the Distributed table, as docs/clickhouse.md "A cluster"
# sets it up (its CREATE statements are taken from the page). Usage:
# BUILD_DIR SOURCE_DIR.
#
#   collector "site-a" writes through shard 1, "site-b" through shard 2, each
#   fed by its own ringflow-gen; shard 2 is killed mid-run (by the PID this
#   test started) and started again. Then:
#   - the cluster's totals, read through either server, equal the sum of the
#     two ground truths, and each collector's rows equal its own truth;
#   - both shards hold rows, and their local counts add up to the cluster's;
#   - no batch id is on two shards or in two parts, none belongs to two
#     collectors, no INSERT was stored twice;
#   - both collectors spooled during the outage and drained their spools.
#
# Exit 77 (skipped) only when clickhouse-server cannot be installed at all.
set -euo pipefail

# shellcheck source=tests/support/ch_e2e.sh
. "$(dirname "$0")/support/ch_e2e.sh"
ch_setup "$@"

CL=$WORK/cluster

rf_on_cleanup "$CHS cluster-stop '$CL' >/dev/null 2>&1"
mapfile -t PORTS < <($CHS cluster "$CL" 2 ringflow)
[ ${#PORTS[@]} -eq 2 ] || fail "cluster start printed ${#PORTS[@]} ports, expected 2"
U1=http://127.0.0.1:${PORTS[0]}
U2=http://127.0.0.1:${PORTS[1]}
log "ClickHouse $(chq "$U1" 'SELECT version()') cluster: shard 1 $U1, shard 2 $U2"
shards=$(chq "$U1" "SELECT count() FROM system.clusters WHERE cluster = 'ringflow'")
[ "$shards" = 2 ] || fail "cluster 'ringflow' has $shards shards on shard 1, expected 2"

# The tables, exactly as docs/clickhouse.md gives them, on every server.
for u in "$U1" "$U2"; do
  chq "$u" "$(doc_block "$SRC/docs/clickhouse.md" cluster-local)" >/dev/null
  chq "$u" "$(doc_block "$SRC/docs/clickhouse.md" cluster-distributed)" >/dev/null
done

# write_config NAME URL COLLECTOR UDP_PORT
write_config() {
  cat >"$WORK/$1.toml" <<EOF
[receive]
listen = ["127.0.0.1:$4"]
workers = 1
[aggregate]
interval = 1
[output]
directory = "$WORK/out-$1"
[metrics]
listen = ""
[log]
stats_interval = 0
[[sink]]
type = "clickhouse"
name = "ch"
url = "$2"
table = "ringflow_flows"
collector = "$3"
timeout_ms = 2000
batch_rows = 2000
spool_dir = "$WORK/spool-$1"
EOF
}

UA=$(rf_udp_port)
UB=$(rf_udp_port)
[ "$UA" != "$UB" ] || UB=$(rf_udp_port)
write_config a "$U1" site-a "$UA"
write_config b "$U2" site-b "$UB"
start_ringflow a "$WORK/a.toml" "$WORK/a.log"
start_ringflow b "$WORK/b.toml" "$WORK/b.log"

log "two collectors, 9 s of traffic each; shard 2 killed after 2.5 s for about 4 s"
"$GEN" --target "127.0.0.1:$UA" --pps 700 --duration 9 --keys 3000 --exporters 2 --seed 31 \
       --truth "$WORK/truth-a.tsv" -q &
GEN_A=$!
rf_track_pid "$GEN_A"
"$GEN" --target "127.0.0.1:$UB" --pps 700 --duration 9 --keys 3000 --exporters 2 --seed 32 \
       --truth "$WORK/truth-b.tsv" -q &
GEN_B=$!
rf_track_pid "$GEN_B"
sleep 2.5
$CHS kill "$CL/shard2"
t_down=$SECONDS
# The outage lasts until each collector has spooled a batch (a flush a
# second, so about 2 s when the box is idle), not a guessed time.
rf_wait 60 "a spool file at both collectors while shard 2 is down" \
  eval 'spooled "$WORK/spool-a" && spooled "$WORK/spool-b"' ||
  fail "a collector did not spool while shard 2 was down"
spooled_a=$(find "$WORK/spool-a" -name '*.rfspool' | wc -l)
spooled_b=$(find "$WORK/spool-b" -name '*.rfspool' | wc -l)
$CHS start "$CL/shard2" >/dev/null
echo "    spool files at the end of the outage ($((SECONDS - t_down)) s): site-a $spooled_a, site-b $spooled_b"
wait $GEN_A || fail "ringflow-gen a failed"
wait $GEN_B || fail "ringflow-gen b failed"
sleep 1.5
t_up=$SECONDS
wait_spool_empty "$WORK/spool-a" 90
wait_spool_empty "$WORK/spool-b" 90
echo "    both spools drained $((SECONDS - t_up)) s after the traffic ended"
stop_ringflow a "$WORK/a.log"
stop_ringflow b "$WORK/b.log"

# Through shard 1 a collector that writes to a healthy server still spools:
# the synchronous Distributed INSERT needs every shard.
[ "$spooled_a" -gt 0 ] || fail "site-a (writing through shard 1) spooled nothing while shard 2 was down"
[ "$spooled_b" -gt 0 ] || fail "site-b (writing through shard 2) spooled nothing while shard 2 was down"
grep -q "spool drained" "$WORK/a.log" || fail "site-a: no replay in its log"
grep -q "spool drained" "$WORK/b.log" || fail "site-b: no replay in its log"

log "totals: the cluster and each collector against the ground truth"
sum3() { awk '{ f += $1; p += $2; b += $3 } END { print f, p, b }'; }
want_a=$(truth_totals "$WORK/truth-a.tsv")
want_b=$(truth_totals "$WORK/truth-b.tsv")
want_all=$(printf '%s\n%s\n' "$want_a" "$want_b" | sum3)
totals() { chq "$1" "SELECT sum(flows), sum(packets), sum(bytes) FROM ringflow_flows $2 FORMAT TabSeparated" | tr '\t' ' '; }
for u in "$U1" "$U2"; do
  got=$(totals "$u" "")
  echo "    truth $want_all, cluster via $u: $got"
  [ "$got" = "$want_all" ] || fail "cluster totals via $u '$got' != truth '$want_all'"
done
got_a=$(totals "$U1" "WHERE collector = 'site-a'")
got_b=$(totals "$U1" "WHERE collector = 'site-b'")
echo "    site-a truth $want_a, table $got_a; site-b truth $want_b, table $got_b"
[ "$got_a" = "$want_a" ] || fail "site-a: table '$got_a' != truth '$want_a'"
[ "$got_b" = "$want_b" ] || fail "site-b: table '$got_b' != truth '$want_b'"

log "shards, batch ids, duplicates"
n1=$(chq "$U1" "SELECT count() FROM ringflow_flows_local")
n2=$(chq "$U2" "SELECT count() FROM ringflow_flows_local")
nall=$(chq "$U1" "SELECT count() FROM ringflow_flows")
b1=$(chq "$U1" "SELECT uniqExact(batch_id) FROM ringflow_flows_local")
b2=$(chq "$U2" "SELECT uniqExact(batch_id) FROM ringflow_flows_local")
echo "    rows: shard 1 $n1, shard 2 $n2, cluster $nall; batches: shard 1 $b1, shard 2 $b2"
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "a shard holds no rows (shard 1 $n1, shard 2 $n2)"
[ $((n1 + n2)) -eq "$nall" ] || fail "shard rows $n1 + $n2 != cluster rows $nall"
tcp2=$(cat "$CL/shard2/tcp_port")
both=$(chq "$U1" "SELECT count() FROM ringflow_flows_local WHERE batch_id IN
                  (SELECT batch_id FROM remote('127.0.0.1:$tcp2', default, ringflow_flows_local))")
[ "$both" = 0 ] || fail "$both rows of shard 1 carry batch ids that are also on shard 2"
for u in "$U1" "$U2"; do
  # One INSERT, one block, one part (merges may join parts, never split one).
  split=$(chq "$u" "SELECT count() FROM (SELECT batch_id FROM ringflow_flows_local
                    GROUP BY batch_id HAVING uniqExact(_part) > 1)")
  [ "$split" = 0 ] || fail "$split batches are split over several parts on $u"
done
shared=$(chq "$U1" "SELECT count() FROM (SELECT batch_id FROM ringflow_flows
                    GROUP BY batch_id HAVING uniqExact(collector) > 1)")
[ "$shared" = 0 ] || fail "$shared batch ids belong to both collectors"
dups=$(chq "$U1" "SELECT count() FROM (SELECT batch_id, count() AS c,
                  uniqExact(src_addr, dst_addr, src_port, dst_port, protocol) AS u
                  FROM ringflow_flows GROUP BY batch_id HAVING c != u)")
[ "$dups" = 0 ] || fail "$dups batch ids hold duplicated rows"
keys=$(chq "$U1" "SELECT count() FROM (SELECT collector, interval_start, src_addr, dst_addr,
                  src_port, dst_port, protocol, count() AS c FROM ringflow_flows
                  GROUP BY collector, interval_start, src_addr, dst_addr, src_port, dst_port, protocol
                  HAVING c > 1 AND sum(partial) = 0)")
[ "$keys" = 0 ] || fail "$keys (collector, interval, key) appear in more than one complete row"
grep -E "unavailable|answers again|spool drained" "$WORK/a.log" | sed 's/^/    site-a log: /' | cut -c1-200

echo "e2e_clickhouse_cluster: passed"
