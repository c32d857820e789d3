#!/usr/bin/env bash
# Enriched key fields into a real ClickHouse server (a private
# clickhouse-server on loopback, tests/support/ch_e2e.sh): ringflow creates
# the table with LowCardinality(String) columns for src_net, dst_net_role,
# src_as_name and src_country, inserts v9 traffic (IPv4 and IPv6 keys)
# enriched from a networks CSV and MMDB files written by MaxMind::DB::Writer,
# and the table's rows equal the CSV sink's rows of the same run, key by key
# (names included), with the generator's totals; a table created for the
# plain key is refused, naming the missing columns. The names themselves are
# checked against the files by e2e_enrich_test.
# Usage: e2e_clickhouse_enrich_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/ch_e2e.sh
. "$(dirname "$0")/support/ch_e2e.sh"
ch_setup "$@"
# shellcheck source=tests/support/enrich_fixture.sh
. "$SRC/tests/support/enrich_fixture.sh"
rf_enrich_need
rf_need_tool python3 "Debian python3"

cat > "$WORK/networks.csv" <<'EOF2'
prefix,name,role,site,region,tenant,asn
10.0.0.0/8,"clients, ""a""",customer,,,,
192.0.2.0/24,srv-a,transit,,,,
2001:db8:a00::/40,clients6,customer,,,,
EOF2
printf '%s\t%s\t%s\n' 10.0.0.0/8 65010 'Clients AS' 192.0.2.0/24 64496 'Example, "T" Ltd' \
  2001:db8:a00::/40 65011 'Clients v6' > "$WORK/asn.tsv"
printf '%s\t%s\n' 10.0.0.0/8 NL 2001:db8:a00::/40 BE > "$WORK/country.tsv"
rf_write_mmdb asn "$WORK/asn.tsv" "$WORK/asn.mmdb"
rf_write_mmdb country "$WORK/country.tsv" "$WORK/country.mmdb"

CH=$WORK/server
ch_server "$CH"
URL=$CH_URL
chq "$URL" "CREATE DATABASE IF NOT EXISTS ringflow_e2e" >/dev/null
UDP=$(rf_udp_port)
write_config() {  # NAME TABLE KEY
  cat >"$WORK/$1.toml" <<EOF2
[receive]
listen = ["127.0.0.1:$UDP"]
workers = 2
[aggregate]
interval = 1
key = [$3]
[output]
directory = "$WORK/out-$1"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
[enrich]
networks = "$WORK/networks.csv"
asn_mmdb = "$WORK/asn.mmdb"
country_mmdb = "$WORK/country.mmdb"
[[sink]]
type = "csv"
[[sink]]
type = "clickhouse"
name = "ch"
url = "$URL"
database = "ringflow_e2e"
table = "$2"
spool_dir = "$WORK/spool-$1"
EOF2
}
key='"src_addr", "dst_addr", "src_port", "dst_port", "protocol", "src_net", "dst_net_role", "src_as", "src_as_name", "src_country"'

log "enriched rows in ClickHouse equal the CSV sink's"
write_config enrich flows_enrich "$key"
start_ringflow rf "$WORK/enrich.toml" "$WORK/enrich.log"
MURL=$(rf_serving_url "$WORK/enrich.log")
"$GEN" --target "127.0.0.1:$UDP" --protocol v9 --ipv6-share 0.4 --keys 150 --count 60 \
  --pps 2000 --seed 5 --quiet --truth "$WORK/truth.tsv"
sent=$(rf_truth_total "$WORK/truth.tsv" datagrams)
rf_wait 30 "ringflow_receive_datagrams_total = $sent" \
  rf_metric_is "$MURL" ringflow_receive_datagrams_total "$sent" || fail "not every datagram received"
stop_ringflow rf "$WORK/enrich.log"
! spooled "$WORK/spool-enrich" || fail "INSERTs left in the spool: $(grep -i clickhouse "$WORK/enrich.log")"

types=$(chq "$URL" "SELECT name, type FROM system.columns WHERE database = 'ringflow_e2e' AND
  table = 'flows_enrich' AND name IN ('src_net', 'dst_net_role', 'src_as_name', 'src_country')
  ORDER BY name FORMAT TabSeparated" | tr '\t\n' ' ')
[ "$types" = "dst_net_role LowCardinality(String) src_as_name LowCardinality(String) src_country LowCardinality(String) src_net LowCardinality(String) " ] ||
  fail "column types: $types"
chq "$URL" "SELECT IPv6NumToString(src_addr), IPv6NumToString(dst_addr), src_port, dst_port,
  protocol, src_net, dst_net_role, src_as, src_as_name, src_country, sum(flows), sum(packets),
  sum(bytes) FROM ringflow_e2e.flows_enrich GROUP BY src_addr, dst_addr, src_port, dst_port,
  protocol, src_net, dst_net_role, src_as, src_as_name, src_country FORMAT CSV" > "$WORK/ch.csv"
python3 - "$WORK/ch.csv" "$(truth_totals "$WORK/truth.tsv")" "$WORK/out-enrich"/flows-*.csv <<'PY'
import csv, collections, ipaddress, sys
ch_path, truth, files = sys.argv[1], [int(x) for x in sys.argv[2].split()], sys.argv[3:]
cols = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "src_net", "dst_net_role",
        "src_as", "src_as_name", "src_country"]
def addr(a):
    a = ipaddress.ip_address(a)
    return str(a.ipv4_mapped or a) if a.version == 6 else str(a)
want = collections.Counter()
for p in files:
    for r in csv.DictReader(open(p, newline="")):
        k = tuple(addr(r[c]) if c.endswith("_addr") else r[c] for c in cols)
        for i, c in enumerate(("flows", "packets", "bytes")):
            want[k + (c,)] += int(r[c])
got = collections.Counter()
for r in csv.reader(open(ch_path, newline="")):
    k = tuple(addr(v) if i < 2 else v for i, v in enumerate(r[:10]))
    for i, c in enumerate(("flows", "packets", "bytes")):
        got[k + (c,)] += int(r[10 + i])
if got != want:
    diff = [k for k in set(got) | set(want) if got[k] != want[k]][:5]
    sys.exit(f"FAIL: ClickHouse and CSV rows differ, e.g. {[(k, got[k], want[k]) for k in diff]}")
tot = [sum(v for k, v in got.items() if k[-1] == c) for c in ("flows", "packets", "bytes")]
if tot != truth:
    sys.exit(f"FAIL: totals {tot}, the generator sent {truth}")
named = sum(v for k, v in got.items() if k[-1] == "flows" and k[5])
quoted = any(k[5] == 'clients, "a"' for k in got)
print(f"clickhouse enrich: {len(got) // 3} keys equal the CSV's; {tot[0]} flows, {named} with a "
      f"src_net; quoted name round-tripped: {quoted}")
if not named or not quoted:
    sys.exit("FAIL: no enriched (or no quoted) name reached the table")
PY

log "a table created for the plain key is refused, naming the missing columns"
write_config plain flows_plain '"src_addr", "dst_addr", "src_port", "dst_port", "protocol"'
write_config enrich2 flows_plain "$key"
start_ringflow rf "$WORK/plain.toml" "$WORK/plain.log"
stop_ringflow rf "$WORK/plain.log"
rc=0
"$RINGFLOW" -c "$WORK/enrich2.toml" </dev/null >"$WORK/refused.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "ringflow started on a table without the enriched columns"
grep -q "missing column src_net LowCardinality(String)" "$WORK/refused.log" ||
  fail "the refusal does not name the missing column: $(cat "$WORK/refused.log")"
echo PASS
