#!/usr/bin/env python3
"""Checks enriched CSV rows of ringflow against independent truth.

Usage: enrich_check.py NETWORKS_CSV ASN_MMDB ASN_TSV COUNTRY_MMDB RECORD_AS CSV...

For every row: src_net/dst_net and their roles against a longest-prefix match
of the networks CSV done here with Python's ipaddress; the AS number against
the precedence record (when the row says so: one of RECORD_AS, a comma list
of what ringflow-gen may send), then the networks file's asn, then
mmdblookup's autonomous_system_number; the AS name against the organisation
the ASN TSV (what the MMDB was written from) gives that number; the country
against mmdblookup's country iso_code. Prints a summary; exits 1 at the first
mismatch, naming the row.
"""
import csv
import ipaddress
import re
import subprocess
import sys

nets_path, asn_db, asn_tsv, country_db, record_as = sys.argv[1:6]
files = sys.argv[6:]
record_as = {int(x) for x in record_as.split(",") if x}

nets = []
with open(nets_path, newline="") as f:
    for row in csv.reader(f):
        if not row or row[0].startswith("#") or row[0] == "prefix":
            continue
        row += [""] * (7 - len(row))
        nets.append((ipaddress.ip_network(row[0]), row[1], row[2], int(row[6] or 0)))

as_org = {}
with open(asn_tsv, encoding="utf-8") as f:
    for line in f:
        net, asn, org = line.rstrip("\n").split("\t")
        as_org[int(asn)] = org


def lpm(addr):
    best = None
    for net, name, role, asn in nets:
        if net.version == addr.version and addr in net:
            if best is None or net.prefixlen >= best[0].prefixlen:
                best = (net, name, role, asn)
    return best


cache = {}


def mmdb(db, addr, path):
    key = (db, str(addr), path)
    if key not in cache:
        r = subprocess.run(["mmdblookup", "--file", db, "--ip", str(addr)] + path.split(),
                           capture_output=True, text=True)
        m = re.search(r'^\s*(?:"(.*)" <utf8_string>|(\d+) <uint32>)', r.stdout, re.M)
        cache[key] = "" if not m else (m.group(1) if m.group(1) is not None else m.group(2))
    return cache[key]


rows = 0
seen = {"v4": 0, "v6": 0, "record": 0, "networks": 0, "mmdb": 0, "named": 0, "country": 0}
for path in files:
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows += 1
            for side in ("src", "dst"):
                addr = ipaddress.ip_address(row[side + "_addr"])
                seen["v%d" % addr.version] += 1
                hit = lpm(addr)
                want_net = hit[1] if hit else ""
                want_role = hit[2] if hit else ""
                got = (row[side + "_net"], row[side + "_net_role"])
                if got != (want_net, want_role):
                    sys.exit(f"FAIL {path}: {side} {addr}: net {got}, the networks file says "
                             f"{(want_net, want_role)}: {row}")
                source = row[side + "_as_source"]
                asn = int(row[side + "_as"])
                if source == "record":
                    if asn not in record_as:
                        sys.exit(f"FAIL {path}: {side} {addr}: AS {asn} said to come from the "
                                 f"record, which only carries {sorted(record_as)}: {row}")
                else:
                    want_as, want_src = 0, ""
                    if hit and hit[3]:
                        want_as, want_src = hit[3], "networks"
                    else:
                        m = mmdb(asn_db, addr, "autonomous_system_number")
                        if m:
                            want_as, want_src = int(m), "mmdb"
                    if (asn, source) != (want_as, want_src):
                        sys.exit(f"FAIL {path}: {side} {addr}: AS {asn} from '{source}', expected "
                                 f"{want_as} from '{want_src}': {row}")
                seen[source or "mmdb"] += bool(source)
                want_name = as_org.get(asn, "")
                if row[side + "_as_name"] != want_name:
                    sys.exit(f"FAIL {path}: {side} {addr}: AS name '{row[side + '_as_name']}', "
                             f"expected '{want_name}' (AS {asn}): {row}")
                seen["named"] += bool(want_name)
                want_cc = mmdb(country_db, addr, "country iso_code")
                if row[side + "_country"] != want_cc:
                    sys.exit(f"FAIL {path}: {side} {addr}: country '{row[side + '_country']}', "
                             f"mmdblookup says '{want_cc}': {row}")
                seen["country"] += bool(want_cc)
print(f"enrich_check: {rows} rows, every field as the networks file and mmdblookup say; "
      f"addresses {seen['v4']} IPv4 / {seen['v6']} IPv6; AS from record {seen['record']}, "
      f"networks {seen['networks']}, mmdb {seen['mmdb']}; {seen['named']} AS names, "
      f"{seen['country']} countries")
if rows == 0 or not all(seen[k] for k in ("v4", "v6", "record", "networks", "mmdb", "named",
                                             "country")):
    sys.exit("FAIL: the traffic did not cover every case (see the counts above)")
