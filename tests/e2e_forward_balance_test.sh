#!/usr/bin/env bash
# [[forward]] mode = "balance" with encapsulation "ringflow" (docs/cluster.md),
# end to end on loopback: a front ringflow that only forwards (no sink) and
# two collector nodes (127.0.0.2, 127.0.0.3).
#  run 1: ringflow-gen sends NetFlow v9 from 16 exporters (all on one node: odds 2 in 65536); the two nodes' CSV
#         rows together equal the truth per 5-tuple, and each exporter's rows
#         are on one node only (rendezvous by stream);
#  then node C is killed (SIGKILL, by its PID);
#  run 2: the same exporters again, each sending 5 data datagrams before any
#         template (--template-delay 5): C's streams move to B, which decodes
#         them from their first datagram, with nothing held for a template,
#         because B got C's streams' templates (templates to all) in run 1;
#         the loss is exactly what the front sent to C before it knew C was
#         gone (its sent and dropped counters for C): those are the first
#         datagrams of C's streams in run 2, data only (before the template),
#         20 flows each (--records 20);
#  then C starts again on its port: the front's probe finds it, and
#  run 3: C's exporters go back to C, and B + C decode every flow.
# Usage: e2e_forward_balance_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

keyline='key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "exporter"]'
node_toml() {  # node_toml NAME LISTEN
  rf_csv_toml "$work/$1/out" "$2" 'forwarded_from = ["127.0.0.0/8"]' |
    sed "s|^interval = 1|interval = 1\n$keyline|"
}
# awk reads the whole page (a reader that stopped early would fail curl's write).
sample() { rf_scrape "$1" | awk -v s="$2" '!found && $1 == s { print $2; found = 1 }'; }
exporters() { awk -F, 'FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "exporter") k = i; next }
                       { print $k }' "$1"/flows-*.csv | sort -u; }
both_csv_flows() {
  local s=0 d
  for d in "$@"; do
    ls "$d"/flows-*.csv >/dev/null 2>&1 || continue
    s=$((s + $(rf_csv_sum "$d" flows)))
  done
  echo "$s"
}

rf_start_toml b "$(node_toml b 127.0.0.2:0)"
b_pid=$RF_PID b_port=$RF_PORT b_url=$RF_MURL
rf_start_toml c "$(node_toml c 127.0.0.3:0)"
c_pid=$RF_PID c_port=$RF_PORT c_url=$RF_MURL
tb="127.0.0.2:$b_port" tc="127.0.0.3:$c_port"
rf_start_toml a "$(cat <<EOF2
sink = []
[receive]
listen = ["127.0.0.1:0"]
workers = 1
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
[[forward]]
name = "cluster"
targets = ["$tb", "$tc"]
mode = "balance"
encapsulation = "ringflow"
retry_ms = 300
queue = 1024
EOF2
)"
a_pid=$RF_PID a_port=$RF_PORT a_url=$RF_MURL

gen_run() {  # gen_run SEED TRUTH [ARGS...]
  local seed=$1 truth=$2
  shift 2
  "$gen" --protocol v9 --target "127.0.0.1:$a_port" --exporters 16 --pps 1600 --duration 1.5 \
    --records 20 --seed "$seed" --keys 400 --template-refresh 100000 --quiet --truth "$truth" "$@"
}

# --- run 1 -------------------------------------------------------------------
gen_run 21 "$work/truth1.tsv" --truth-keys "$work/keys1.tsv"
want1=$(rf_truth_total "$work/truth1.tsv" flows)
d1=$(rf_truth_total "$work/truth1.tsv" datagrams)
[ "$want1" = $((20 * d1)) ] || fail "run 1: $want1 flows in $d1 datagrams, not 20 each"
sum_decoded() { echo $(($(rf_metric "$b_url" ringflow_decode_flows_total) + $(rf_metric "$c_url" ringflow_decode_flows_total))); }
decoded_is() { [ "$(sum_decoded)" = "$1" ]; }
rf_wait 20 "run 1: $want1 flows decoded over b and c" decoded_is "$want1" ||
  fail "run 1: b and c decoded $(sum_decoded) flows, the truth is $want1"
# Every row of run 1 flushed (1 s intervals).
csv_total() { both_csv_flows "$work/b/out" "$work/c/out"; }
csv_is() { [ "$(csv_total)" = "$1" ]; }
rf_wait 10 "run 1: $want1 flows in the CSV files" csv_is "$want1" ||
  fail "run 1: the CSV files hold $(csv_total) flows, the truth $want1"
mkdir -p "$work/union"
for n in b c; do
  for f in "$work/$n"/out/flows-*.csv; do ln -s "$f" "$work/union/flows-$n-$(basename "$f")"; done
done
rf_csv_keys "$work/union" >"$work/union.keys"
tail -n +2 "$work/keys1.tsv" | cut -f1-8 | sort >"$work/want1.keys"
diff "$work/want1.keys" "$work/union.keys" >"$work/union.diff" ||
  fail "run 1: b and c together differ from the truth ($work/union.diff)"
exporters "$work/b/out" >"$work/b.exp"
exporters "$work/c/out" >"$work/c.exp"
[ -s "$work/b.exp" ] && [ -s "$work/c.exp" ] || fail "run 1: one node got no exporter (b: $(wc -l <"$work/b.exp"), c: $(wc -l <"$work/c.exp"))"
[ -z "$(comm -12 "$work/b.exp" "$work/c.exp")" ] ||
  fail "run 1: exporters on both nodes: $(comm -12 "$work/b.exp" "$work/c.exp" | tr '\n' ' ')"
echo "  ok  run 1: b + c = the truth ($want1 flows); exporters b: $(tr '\n' ' ' <"$work/b.exp")| c: $(tr '\n' ' ' <"$work/c.exp")"
[ "$(sample "$c_url" 'ringflow_forward_received_total{outcome="templates_copy"}')" -gt 0 ] ||
  fail "run 1: c got no templates-only copy"
held_b1=$(rf_scrape "$b_url" | awk '$1 == "ringflow_held_sets_total{outcome=\"held\"}" { print $2 }')
held_b1=${held_b1:-0}

# --- node c dies ---------------------------------------------------------------
kill -KILL "$c_pid"
wait "$c_pid" 2>/dev/null || true
rf_untrack_pid "$c_pid"
b_flows1=$(rf_metric "$b_url" ringflow_decode_flows_total)
rf_scrape "$a_url" >"$work/a1.metrics"
sent_c1=$(rf_page_sample "$work/a1.metrics" "ringflow_forward_sent_total{forward=\"cluster\",target=\"$tc\"}")
drop_c1=$(awk -v t="target=\"$tc\"" '$1 ~ /^ringflow_forward_dropped_total/ && index($1, t) { s += $2 } END { print s + 0 }' "$work/a1.metrics")
copy_c1=$(rf_page_sample "$work/a1.metrics" "ringflow_forward_template_copies_total{forward=\"cluster\",target=\"$tc\"}")

# --- run 2 ---------------------------------------------------------------------
gen_run 22 "$work/truth2.tsv" --template-delay 5
want2=$(rf_truth_total "$work/truth2.tsv" flows)
c_down() { rf_scrape "$a_url" | grep -x >/dev/null "ringflow_forward_target_up{forward=\"cluster\",target=\"$tc\"} 0"; }
rf_wait 20 "the front: c down" c_down ||
  fail "the front did not mark c down"
rf_scrape "$a_url" >"$work/a2.metrics"
sent_c2=$(rf_page_sample "$work/a2.metrics" "ringflow_forward_sent_total{forward=\"cluster\",target=\"$tc\"}")
drop_c2=$(awk -v t="target=\"$tc\"" '$1 ~ /^ringflow_forward_dropped_total/ && index($1, t) { s += $2 } END { print s + 0 }' "$work/a2.metrics")
copy_c2=$(rf_page_sample "$work/a2.metrics" "ringflow_forward_template_copies_total{forward=\"cluster\",target=\"$tc\"}")
# Data datagrams only: templates-only copies carry no flow (each copy counted
# is sent or dropped).
lost=$((sent_c2 - sent_c1 + drop_c2 - drop_c1 - (${copy_c2:-0} - ${copy_c1:-0})))
moved=$(rf_page_sample "$work/a2.metrics" "ringflow_forward_moved_total{forward=\"cluster\",target=\"$tb\"}")
[ "$moved" -gt 0 ] || fail "run 2: nothing moved to b"
[ "$lost" -ge 1 ] && [ "$lost" -le 1025 ] || fail "run 2: $lost datagrams lost to c, want 1..1025 (the datagram that drew the ICMP error + what c's queue of 1024 held then)"
want_b=$((b_flows1 + want2 - 20 * lost))
rf_wait 20 "b: $want_b flows ($want2 sent in run 2, $lost datagrams lost to c)" \
  rf_metric_is "$b_url" ringflow_decode_flows_total "$want_b" ||
  fail "run 2: b decoded $(( $(rf_metric "$b_url" ringflow_decode_flows_total) - b_flows1 )) flows, want $want2 - 20 x $lost lost"
held_b2=$(rf_scrape "$b_url" | awk '$1 == "ringflow_held_sets_total{outcome=\"held\"}" { print $2 }')
held_b2=${held_b2:-0}
[ "$held_b2" = "$held_b1" ] ||
  fail "run 2: b held $((held_b2 - held_b1)) data sets for a template: it lacked the moved streams' templates"
exporters "$work/b/out" >"$work/b2.exp"
for e in $(cat "$work/c.exp"); do
  grep -qx "$e" "$work/b2.exp" || fail "run 2: c's exporter $e has no rows on b"
done
echo "  ok  run 2: c's exporters moved to b ($moved datagrams), decoded from their first datagram" \
  "(nothing held); $lost datagrams lost in flight to c, counted by the front"

# --- c comes back: its streams return (the front probes every retry_ms) ---------
rf_start_toml c2 "$(node_toml c2 "127.0.0.3:$c_port")"
c2_pid=$RF_PID c2_url=$RF_MURL
c_up() { rf_scrape "$a_url" | grep -x >/dev/null "ringflow_forward_target_up{forward=\"cluster\",target=\"$tc\"} 1"; }
rf_wait 20 "the front: c up again" c_up || fail "the front did not find c back"
b_flows2=$(rf_metric "$b_url" ringflow_decode_flows_total)
gen_run 23 "$work/truth3.tsv"
want3=$(rf_truth_total "$work/truth3.tsv" flows)
three_is() { [ $(($(rf_metric "$b_url" ringflow_decode_flows_total) - b_flows2 + $(rf_metric "$c2_url" ringflow_decode_flows_total))) = "$1" ]; }
rf_wait 20 "run 3: $want3 flows over b and the new c" three_is "$want3" ||
  fail "run 3: b and the new c decoded $(($(rf_metric "$b_url" ringflow_decode_flows_total) - b_flows2 + $(rf_metric "$c2_url" ringflow_decode_flows_total))) flows, the truth $want3"
rf_stop_collector "$c2_pid"
rf_stop_collector "$b_pid"
rf_stop_collector "$a_pid"
exporters "$work/c2/out" >"$work/c3.exp"
diff "$work/c.exp" "$work/c3.exp" >/dev/null ||
  fail "run 3: the new c took $(tr '\n' ' ' <"$work/c3.exp"), c had $(tr '\n' ' ' <"$work/c.exp")"
echo "  ok  run 3: c is back and took its exporters again ($want3 flows, none lost)"
