#!/usr/bin/env bash
# SNMP interface names end to end ([enrich.snmp], docs/enrichment.md "SNMP"):
# a private snmpd (tests/support/snmpd.sh) answers IF-MIB for this box's
# interfaces on 127.0.0.1; ringflow-gen exports from 127.0.0.1 with inputs
# 1..8 (ifIndex 1 is lo) and outputs 9..16. Every CSV row's in_if_name,
# out_if_name, in_if_description and in_if_speed must equal what snmpwalk
# (Debian's snmp, outside the code under test) reads from the same agent for
# the row's input and output, and be empty for an ifIndex the agent does not
# have. A second run adds a catalogue that names ifIndex 1: its name wins,
# the description it leaves out still comes from SNMP. A warm-up burst
# (v5, version 5 in the key) makes the exporter known; only the rows of the
# IPFIX traffic sent once the names are published (version 10) are checked.
# Usage: e2e_snmp_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool snmpwalk "Debian snmp"

agent=$work/snmpd
mkdir -p "$agent"
sport=$(rf_udp_port)
rc=0
out=$(bash "$src/tests/support/snmpd.sh" start "$agent" "$sport" 127.0.0.1) || rc=$?
[ $rc -ne 77 ] || rf_skip "${out#SKIP: }"
[ $rc -eq 0 ] || fail "snmpd did not start: $out"
rf_on_cleanup bash "$src/tests/support/snmpd.sh" stop "$agent"

# The reference: snmpwalk's view of ifName (1), ifAlias (18), ifHighSpeed (15).
walk() {
  SNMP_PERSISTENT_DIR=$agent/persist SNMPCONFPATH=$agent MIBS= \
    snmpwalk -v2c -c rf-public -On -Oq "127.0.0.1:$sport" "1.3.6.1.2.1.31.1.1.1.$1" |
    sed -n "s/^\.1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.$1\.\([0-9]*\) \(.*\)$/\1\t\2/p" | tr -d '"'
}
walk 1 >"$work/ifname.tsv"
walk 18 >"$work/ifalias.tsv"
walk 15 >"$work/ifspeed.tsv"
grep -qx "1	lo" "$work/ifname.tsv" || fail "snmpwalk does not name ifIndex 1 lo: $(cat "$work/ifname.tsv")"

run() {  # run NAME [CATALOGUE]
  local name=$1 catline=""
  [ -z "${2:-}" ] || catline="catalogue = \"$2\""
  mkdir -p "$work/$name"
  cat >"$work/$name/netflow.toml" <<EOF
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = 1
key = ["version", "input", "output", "in_if_name", "out_if_name", "in_if_description",
  "in_if_speed"]
[output]
directory = "$work/$name/out"
[[sink]]
type = "csv"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
[enrich]
$catline
[enrich.snmp]
enabled = true
timeout_ms = 500
retries = 1
[[enrich.snmp.agent]]
exporters = ["127.0.0.0/8"]
port = $sport
version = "2c"
community = "rf-public"
EOF
  rf_start_collector "$name" -c "$work/$name/netflow.toml"
  local murl=$RF_MURL
  "$gen" --target "127.0.0.1:$RF_PORT" --protocol v5 --keys 10 --count 2 --quiet
  rf_wait 20 "the exporter's names published" rf_snmp_named "$murl" ||
    fail "$name: no SNMP names published: $(rf_scrape "$murl" | grep snmp)"
  rf_scrape "$murl" | grep '^ringflow_enrich_snmp_polls_total{result="ok"} 1$' >/dev/null ||
    fail "$name: expected one ok poll: $(rf_scrape "$murl" | grep snmp_polls)"
  "$gen" --target "127.0.0.1:$RF_PORT" --protocol ipfix --keys 300 --count 40 --pps 2000 \
    --seed 5 --quiet --truth "$work/$name/truth.tsv"
  local sent
  sent=$(($(rf_truth_total "$work/$name/truth.tsv" datagrams) + 2))
  rf_wait 30 "ringflow_receive_datagrams_total = $sent" \
    rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
    fail "$name: received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent"
  rf_stop_collector
}
rf_snmp_named() {
  rf_scrape "$1" 2>/dev/null | grep '^ringflow_enrich_snmp_exporters{state="named"} 1$' >/dev/null
}

# check NAME EXPECTED_NAME_OF_IFINDEX_1 EXPECTED_DESCRIPTION_OF_IFINDEX_1
check() {
  python3 - "$work" "$1" "$2" "$3" <<'PY' || fail "$1: SNMP names differ from snmpwalk's"
import csv, glob, sys
work, name, name1, descr1 = sys.argv[1:5]
def tsv(f):
    return {int(k): v for k, v in (l.rstrip("\n").split("\t", 1) for l in open(f"{work}/{f}"))}
names, aliases, speeds = tsv("ifname.tsv"), tsv("ifalias.tsv"), tsv("ifspeed.tsv")
names[1], aliases[1] = name1, descr1
truth = [l.rstrip("\n").split("\t") for l in open(f"{work}/{name}/truth.tsv")]
want = int(next(r for r in truth if r[0] == "total")[truth[0].index("flows")])
flows, bad, inputs = 0, [], set()
for f in sorted(glob.glob(f"{work}/{name}/out/flows-*.csv")):
    for r in csv.DictReader(open(f)):
        if r["version"] != "10":
            continue
        flows += int(r["flows"])
        i, o = int(r["input"]), int(r["output"])
        inputs.add(i)
        got = (r["in_if_name"], r["out_if_name"], r["in_if_description"], r["in_if_speed"])
        exp = (names.get(i, ""), names.get(o, ""), aliases.get(i, ""),
               speeds.get(i, "0") if i in names else "0")
        if got != exp:
            bad.append((i, o, got, exp))
if bad:
    sys.exit(f"{len(bad)} rows differ, e.g. (input, output, got, expected) {bad[:3]}")
if flows != want:
    sys.exit(f"{flows} IPFIX flows in the CSV rows, the generator sent {want}")
if 1 not in inputs:
    sys.exit("no row with input 1 (lo)")
print(f"{name}: {flows} flows, inputs {sorted(inputs)}; ifIndex 1 -> {name1!r} / {descr1!r}")
PY
}

run snmp
check snmp lo "$(awk -F'\t' '$1 == 1 { print $2 }' "$work/ifalias.tsv")"

# The catalogue names ifIndex 1 and says nothing of its description.
cat >"$work/catalogue.toml" <<'EOF'
[[exporter]]
address = "127.0.0.1"
name = "lab"
  [[exporter.interface]]
  index = 1
  name = "catalogue-lo"
EOF
run cat "$work/catalogue.toml"
check cat catalogue-lo "$(awk -F'\t' '$1 == 1 { print $2 }' "$work/ifalias.tsv")"
echo "PASS"
