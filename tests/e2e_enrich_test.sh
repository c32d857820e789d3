#!/usr/bin/env bash
# Enrichment end to end ([enrich], docs/enrichment.md): MMDB files written by
# Debian's MaxMind::DB::Writer and a networks CSV, ringflow-gen v9 and IPFIX
# traffic with IPv4 and IPv6 keys; every CSV row's src_net/dst_net, roles,
# resolved AS (with its source), AS organisation and country must be what the
# networks file (matched here with Python's ipaddress) and mmdblookup (Debian
# mmdb-bin) say for its addresses (tests/support/enrich_check.py). Totals are
# conserved (enrichment drops nothing), JSONL carries the same names, and a
# name holding a comma and a quote is quoted in CSV.
# Usage: e2e_enrich_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
# shellcheck source=tests/support/enrich_fixture.sh
. "$src/tests/support/enrich_fixture.sh"
rf_enrich_need
rf_need_tool python3 "Debian python3"

# ringflow-gen's addresses (src/gen/traffic.cc): clients in 10/8, servers in
# 192.0.2/24, 198.51.100/24, 203.0.113/24 and 172.16/12; IPv6 keys are
# 2001:db8:XX00::/40 with XX the IPv4 address's first byte. The record's
# src_as is 0, its dst_as one of 15169 13335 16509 32934 8075 or 0.
cat > "$work/networks.csv" <<'EOF2'
prefix,name,role,site,region,tenant,asn
10.0.0.0/8,clients,customer,par1,eu-west,acme,
10.128.0.0/9,clients-hi,customer,par2,eu-west,acme,64512
198.51.100.0/24,peer-b,peering,,,,64500
203.0.113.0/25,dc-low,datacenter,ams1,,,
2001:db8:a00::/40,clients6,customer,par1,eu-west,acme,
2001:db8:cb00::/40,"dc6, ""main""",datacenter,ams1,,,
EOF2
printf '%s\t%s\t%s\n' \
  10.0.0.0/8 65010 'Clients Transit' \
  192.0.2.0/24 64496 'Example, "Transit" Ltd' \
  203.0.113.0/24 64500 'Peer B Org' \
  172.16.0.0/12 15169 'Google LLC' \
  2001:db8:c000::/40 64497 'Doc Six' \
  2001:db8:ac00::/40 13335 'Cloudflare, Inc.' > "$work/asn.tsv"
printf '%s\t%s\n' \
  10.0.0.0/8 NL 192.0.2.0/24 FR 198.51.100.0/24 DE 203.0.113.0/24 JP 172.16.0.0/12 US \
  2001:db8:a00::/40 BE 2001:db8:c000::/40 CH > "$work/country.tsv"
rf_write_mmdb asn "$work/asn.tsv" "$work/asn.mmdb"
rf_write_mmdb country "$work/country.tsv" "$work/country.mmdb"

mkdir -p "$work/enrich"
cat > "$work/enrich/netflow.toml" <<EOF2
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = 1
key = ["src_addr", "dst_addr", "src_port", "dst_port", "protocol", "src_net", "dst_net",
  "src_net_role", "dst_net_role", "src_as", "dst_as", "src_as_source", "dst_as_source",
  "src_as_name", "dst_as_name", "src_country", "dst_country"]
[output]
directory = "$work/out"
[[sink]]
type = "csv"
[[sink]]
type = "jsonl"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
[enrich]
networks = "$work/networks.csv"
asn_mmdb = "$work/asn.mmdb"
country_mmdb = "$work/country.mmdb"
EOF2
rf_start_collector enrich -c "$work/enrich/netflow.toml"
murl=$RF_MURL
grep -q "enrich: loaded networks" "$RF_LOG" || fail "no 'enrich: loaded networks' line: $(cat "$RF_LOG")"

sent=0
for proto in v9 ipfix; do
  "$gen" --target "127.0.0.1:$RF_PORT" --protocol "$proto" --ipv6-share 0.4 --keys 120 \
    --count 40 --pps 2000 --seed 7 --quiet --truth "$work/truth-$proto.tsv"
  sent=$((sent + $(rf_truth_total "$work/truth-$proto.tsv" datagrams)))
done
rf_wait 30 "ringflow_receive_datagrams_total = $sent" \
  rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
  fail "received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent datagrams"
hits=$(rf_metric "$murl" ringflow_enrich_mmdb_lookups_total)
[ "$hits" -gt 0 ] || fail "ringflow_enrich_mmdb_lookups_total is $hits"
rf_stop_collector

want=0
for proto in v9 ipfix; do want=$((want + $(rf_truth_total "$work/truth-$proto.tsv" flows))); done
# Python's csv reader: a quoted name holds a comma (rf_csv_sum splits on it).
got=$(python3 -c 'import csv, sys
print(sum(int(r["flows"]) for p in sys.argv[1:] for r in csv.DictReader(open(p, newline=""))))' \
  "$work/out"/flows-*.csv)
[ "$got" = "$want" ] || fail "flows: CSV $got, sent $want"

python3 "$src/tests/support/enrich_check.py" "$work/networks.csv" "$work/asn.mmdb" \
  "$work/asn.tsv" "$work/country.mmdb" 15169,13335,16509,32934,8075 "$work/out"/flows-*.csv ||
  fail "enriched rows differ from the truth"

# A name with a comma and quotes: quoted in CSV (RFC 4180), escaped in JSON.
grep -q '"dc6, ""main"""' "$work/out"/flows-*.csv || fail "no RFC 4180-quoted dc6 name in the CSV"
grep -q '"dst_net":"dc6, \\"main\\""' "$work/out"/flows-*.jsonl ||
  fail "no JSON-escaped dc6 name in the JSONL"
grep -q '"src_as_name":"Clients Transit"' "$work/out"/flows-*.jsonl ||
  fail "no src_as_name in the JSONL"
echo "PASS"
