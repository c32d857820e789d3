#!/usr/bin/env bash
# Networks reload under load ([enrich], docs/enrichment.md): ringflow-gen
# sends v9 traffic (IPv4 and IPv6) without pause while the networks file is
# replaced three times: by a new version (seen by enrich.watch_interval), by a
# broken one (the reload fails, is counted, the table in use stays), then by
# the old one again with SIGHUP. Nothing may be lost — the CSV's flows equal
# the generator's truth — and no record half-enriched: every row's network
# name and role come from one version of the table (name "X-old" with role
# "role-old", or "X-new" with "role-new", X the prefix the address is in),
# never a mix and never from the broken file, and a row's two addresses
# from the same version; both versions appear.
# Usage: e2e_enrich_reload_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool python3 "Debian python3"

# ringflow-gen's prefixes (src/gen/traffic.cc).
write_nets() {  # VERSION FILE
  {
    echo "prefix,name,role,site,region,tenant"
    local p
    for p in 10.0.0.0/8:clients 192.0.2.0/24:srv-a 198.51.100.0/24:srv-b 203.0.113.0/24:srv-c \
             172.16.0.0/12:srv-d 2001:db8:a00::/40:clients6 2001:db8:c000::/40:srv-a6; do
      echo "${p%:*},${p##*:}-$1,role-$1,,,"
    done
  } > "$2.tmp"
  mv "$2.tmp" "$2"  # atomic: the watcher never reads half a file
}
write_nets old "$work/networks.csv"

mkdir -p "$work/c"
cat > "$work/c/netflow.toml" <<EOF2
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = 1
key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "src_net", "src_net_role",
  "dst_net", "dst_net_role"]
[output]
directory = "$work/out"
[[sink]]
type = "csv"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
[enrich]
networks = "$work/networks.csv"
watch_interval = 1
EOF2
rf_start_collector c -c "$work/c/netflow.toml"
murl=$RF_MURL pid=$RF_PID

pps=3000
if rf_sanitized; then pps=800; fi
"$gen" --target "127.0.0.1:$RF_PORT" --protocol v9 --ipv6-share 0.3 --keys 300 --pps "$pps" \
  --duration 6 --seed 11 --quiet --truth "$work/truth.tsv" &
gen_pid=$!
rf_track_pid "$gen_pid"

received() { rf_metric "$murl" ringflow_receive_datagrams_total; }
reloads() {  # RESULT: the networks table's reloads with that result
  rf_scrape "$murl" | awk -v r="$1" 'index($0, "ringflow_enrich_reloads_total{") == 1 &&
      index($0, "table=\"networks\"") && index($0, "result=\"" r "\"") { print $NF }'
}
reloads_are() { [ "$(reloads "$1")" = "$2" ]; }
more_traffic() {  # waits until datagrams keep arriving after a step
  local n
  n=$(received)
  rf_wait 20 "more datagrams than $n" rf_metric_at_least "$murl" \
    ringflow_receive_datagrams_total $((n + 200)) || fail "traffic stopped"
}

more_traffic
write_nets new "$work/networks.csv"
rf_wait 20 "a networks reload (file changed)" reloads_are ok 1 ||
  fail "the new networks file was not reloaded: $(rf_scrape "$murl" | grep enrich_reloads)"
more_traffic
printf 'prefix,name,role,site,region,tenant\n10.0.0.0/33,broken,role-broken,,,\n' > "$work/bad.tmp"
mv "$work/bad.tmp" "$work/networks.csv"
rf_wait 20 "a failed networks reload" reloads_are failed 1 ||
  fail "the broken networks file was not refused"
grep -q "reloading networks failed, the previous table stays in use: .*networks.csv:2: expected" \
  "$RF_LOG" || fail "the failed reload is not logged with file and line: $(tail -3 "$RF_LOG")"
more_traffic
write_nets old "$work/networks.csv"
kill -HUP "$pid"
rf_wait 20 "a second networks reload (SIGHUP)" rf_metric_at_least "$murl" \
  ringflow_enrich_reloads_total 3 || fail "no reload after SIGHUP"
more_traffic

wait "$gen_pid"
rf_untrack_pid "$gen_pid"
sent=$(rf_truth_total "$work/truth.tsv" datagrams)
rf_wait 30 "ringflow_receive_datagrams_total = $sent" \
  rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
  fail "received $(received) of $sent datagrams"
rf_stop_collector

python3 - "$(rf_truth_total "$work/truth.tsv" flows)" "$work/out"/flows-*.csv <<'PY'
import csv, ipaddress, sys
want, files = int(sys.argv[1]), sys.argv[2:]
nets = [(ipaddress.ip_network(p), n) for p, n in [
    ("10.0.0.0/8", "clients"), ("192.0.2.0/24", "srv-a"), ("198.51.100.0/24", "srv-b"),
    ("203.0.113.0/24", "srv-c"), ("172.16.0.0/12", "srv-d"), ("2001:db8:a00::/40", "clients6"),
    ("2001:db8:c000::/40", "srv-a6")]]
flows, versions = 0, {"old": 0, "new": 0}
for path in files:
    for row in csv.DictReader(open(path, newline="")):
        flows += int(row["flows"])
        seen = set()
        for side in ("src", "dst"):
            a = ipaddress.ip_address(row[side + "_addr"])
            base = next((n for net, n in nets if net.version == a.version and a in net), "")
            name, role = row[side + "_net"], row[side + "_net_role"]
            if not base:
                ok = (name, role) == ("", "")
            else:
                v = name.rsplit("-", 1)[-1]
                ok = v in versions and name == base + "-" + v and role == "role-" + v
                if ok:
                    versions[v] += int(row["flows"])
                    seen.add(v)
            if not ok:
                sys.exit(f"FAIL {path}: {side} {a}: ({name!r}, {role!r}) is not one version of "
                         f"the table for {base or 'no network'}: {row}")
        if len(seen) > 1:
            # One record, one version: its two addresses were looked up
            # under one guard.
            sys.exit(f"FAIL {path}: source and destination from different versions: {row}")
print(f"reload: {flows} flows of {want}; enriched by the old table {versions['old']}, "
      f"by the new {versions['new']} (address sides)")
if flows != want:
    sys.exit("FAIL: flows lost or added across the reloads")
if not versions["old"] or not versions["new"]:
    sys.exit("FAIL: the swap did not happen while traffic flowed")
PY
echo PASS
