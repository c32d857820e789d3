#!/usr/bin/env bash
# [[forward]] encapsulation = "transparent" (docs/cluster.md): the forwarded
# datagrams carry the exporter's own source address and port.
#  1. without CAP_NET_RAW (root, but run under setpriv with net_raw out of the
#     bounding set, so a uid check would pass and only capget tells), ringflow
#     refuses to start, with an error that names forward.encapsulation and
#     CAP_NET_RAW;
#  2. in three network namespaces this test creates on one bridge
#     (10.201.0.0/24: exporter .10, front .1, target .3): ringflow-gen sends
#     NetFlow v9 from 3 exporter ports of 10.201.0.10 to a forward-only front,
#     which forwards transparently to a ringflow target; tshark on the
#     target's interface sees every forwarded datagram with source address
#     10.201.0.10 (never the front's) and the exporters' 3 source ports, and
#     the target decodes the truth's flows with 10.201.0.10 as the exporter.
# Needs root (namespaces; exits 77 otherwise).
# Usage: e2e_forward_transparent_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
[ "$(id -u)" = 0 ] || rf_skip "needs root to create network namespaces (ip netns add)"
rf_need_tool ip "Debian package iproute2"
rf_need_tool setpriv "Debian package util-linux"
rf_need_tool tshark "Debian package tshark"

# --- 1. refused without CAP_NET_RAW ------------------------------------------------
port=$(rf_udp_port)
cat >"$work/nocap.toml" <<EOF
sink = []
[receive]
listen = ["127.0.0.1:0"]
[log]
stats_interval = 0
[[forward]]
targets = ["127.0.0.1:$port"]
encapsulation = "transparent"
EOF
rc=0
setpriv --inh-caps=-all --bounding-set=-net_raw -- "$ringflow" -c "$work/nocap.toml" \
  </dev/null >"$work/nocap.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "ringflow started without CAP_NET_RAW: $(cat "$work/nocap.out")"
grep -q 'forward.encapsulation = "transparent" needs CAP_NET_RAW' "$work/nocap.out" ||
  fail "no clear refusal without CAP_NET_RAW (exit $rc): $(cat "$work/nocap.out")"
echo "  ok  without CAP_NET_RAW (uid 0, net_raw out of the bounding set): exit $rc, $(grep -o 'forward [^:]*: forward.encapsulation[^(]*' "$work/nocap.out" | head -1)"

# --- 2. transparent forwarding across namespaces ------------------------------------
NET=10.201.0
tag=rftp$$
NS_E=$tag-exp NS_F=$tag-front NS_T=$tag-target
rf_on_cleanup 'for n in "$NS_E" "$NS_F" "$NS_T"; do ip netns del "$n" 2>/dev/null; done'
for n in "$NS_E" "$NS_F" "$NS_T"; do
  # Root without CAP_SYS_ADMIN (some containers) cannot: a reason to skip.
  ip netns add "$n" 2>"$work/netns.err" ||
    rf_skip "cannot create a network namespace as root here: $(cat "$work/netns.err")"
  ip -n "$n" link set lo up
done
ip -n "$NS_T" link add br0 type bridge
ip -n "$NS_T" addr add "$NET.3/24" dev br0
ip -n "$NS_T" link set br0 up
i=0
for pair in "$NS_E:10" "$NS_F:1"; do
  n=${pair%%:*} a=${pair#*:}
  i=$((i + 1))
  ip -n "$NS_T" link add "p$i" type veth peer name eth0 netns "$n"
  ip -n "$NS_T" link set "p$i" master br0 up
  ip -n "$n" addr add "$NET.$a/24" dev eth0
  ip -n "$n" link set eth0 up
done

declare -A NS_OF_URL=()
rf_scrape() { ip netns exec "${NS_OF_URL[$1]}" curl -fsS -m 5 "$1"; }
RF_WRAP=(ip netns exec "$NS_T")
rf_start_toml target "$(rf_csv_toml "$work/target/out" "$NET.3:2055" "" |
  sed 's|^interval = 1|interval = 1\nkey = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "exporter"]|')"
t_pid=$RF_PID t_url=$RF_MURL
NS_OF_URL[$t_url]=$NS_T
RF_WRAP=(ip netns exec "$NS_F")
rf_start_toml front "$(cat <<EOF
sink = []
[receive]
listen = ["$NET.1:2055"]
[metrics]
listen = "127.0.0.1:0"
web = false
[log]
stats_interval = 0
[[forward]]
targets = ["$NET.3:2055"]
encapsulation = "transparent"
queue = 65536
EOF
)"
RF_WRAP=()
f_pid=$RF_PID f_url=$RF_MURL
NS_OF_URL[$f_url]=$NS_F

# The capture: what arrives on the target's interface, from the wire.
ip netns exec "$NS_T" tshark -l -n -i br0 -f "udp dst port 2055 and dst host $NET.3" -T fields -e ip.src -e udp.srcport -e udp.length \
  >"$work/capture.raw" 2>"$work/tshark.err" &
ts_pid=$!
rf_track_pid "$ts_pid"
# "Capturing on" comes before the filter is in place: send 2-byte probes from
# the exporter namespace straight to the target until tshark shows one (they
# are told apart below by their UDP length, 10).
probe_seen() {
  ip netns exec "$NS_E" bash -c "echo x >/dev/udp/$NET.3/2055" 2>/dev/null || true
  grep -q . "$work/capture.raw"
}
rf_wait 30 "tshark capturing" probe_seen || fail "tshark captured nothing: $(cat "$work/tshark.err")"

ip netns exec "$NS_E" "$gen" --protocol v9 --target "$NET.1:2055" --allow-remote --exporter-mode port \
  --exporters 3 --pps 600 --duration 1 --seed 61 --keys 200 --quiet --truth "$work/truth.tsv" \
  --truth-keys "$work/keys.tsv"
dgrams=$(rf_truth_total "$work/truth.tsv" datagrams)
flows=$(rf_truth_total "$work/truth.tsv" flows)
[ "$dgrams" -gt 0 ] || fail "the generator sent nothing"
rf_wait 20 "front: $dgrams datagrams sent" rf_metric_is "$f_url" ringflow_forward_sent_total "$dgrams" ||
  fail "the front sent $(rf_metric "$f_url" ringflow_forward_sent_total) datagrams, the generator $dgrams"
forwarded() { awk -F'\t' '$3 != 10' "$work/capture.raw" >"$work/capture.tsv"; }
captured() { forwarded; [ "$(wc -l <"$work/capture.tsv")" -ge "$1" ]; }
rf_wait 20 "tshark: $dgrams datagrams captured" captured "$dgrams" ||
  fail "tshark captured $(wc -l <"$work/capture.tsv") datagrams on the target's interface, the front sent $dgrams"
rf_wait 20 "target: $flows flows decoded" rf_metric_is "$t_url" ringflow_decode_flows_total "$flows" ||
  fail "the target decoded $(rf_metric "$t_url" ringflow_decode_flows_total) flows, the truth is $flows"
kill -TERM "$ts_pid"
wait "$ts_pid" 2>/dev/null || true
rf_untrack_pid "$ts_pid"
forwarded
srcs=$(cut -f1 "$work/capture.tsv" | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
[ "$(cut -f1 "$work/capture.tsv" | sort -u)" = "$NET.10" ] ||
  fail "the capture's source addresses are $srcs, want only the exporter's $NET.10"
[ "$(wc -l <"$work/capture.tsv")" = "$dgrams" ] ||
  fail "tshark captured $(wc -l <"$work/capture.tsv") datagrams, the front sent $dgrams"
ports=$(cut -f2 "$work/capture.tsv" | sort -u | wc -l)
[ "$ports" = 3 ] || fail "the capture shows $ports source ports, the generator's 3 exporters had 3"
rf_stop_collector "$f_pid"
rf_stop_collector "$t_pid"
exp=$(awk -F, 'FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "exporter") k = i; next } { print $k }' \
  "$work/target/out"/flows-*.csv | sort -u | tr '\n' ' ')
[ "$exp" = "$NET.10 " ] || fail "the target's rows name the exporters '$exp', want $NET.10"
echo "  ok  transparent: tshark at the target saw $dgrams datagrams, all from $srcs($ports source ports);" \
  "the target decoded $flows flows = the truth, exporter $exp"
