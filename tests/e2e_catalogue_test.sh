#!/usr/bin/env bash
# The exporter and interface catalogue end to end (enrich.catalogue,
# docs/enrichment.md): ringflow-gen v9 and IPFIX traffic from 127.0.0.1
# (inputs 1..8, outputs 9..16), a catalogue listing that exporter and some
# of its interfaces, and rules for the rest. Every CSV row's exporter_* and
# in_if_* / out_if_* must equal what Python (tomllib + re, first match per
# tag, the catalogue's own value first) derives from the same file for the
# row's input and output; unlisted interfaces have empty names; flows are
# conserved; JSONL carries the same strings.
# Usage: e2e_catalogue_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool python3 "Debian python3"

cat > "$work/catalogue.toml" <<'EOF2'
[[exporter]]
address = "127.0.0.1"
name = "lab-edge1.par1"
tenant = "acme"
  [[exporter.interface]]
  index = 1
  name = "xe-0/0/1"
  description = "Transit: cogent, circuit 42"
  speed = 10000
  [[exporter.interface]]
  index = 2
  name = "xe-0/0/2"
  description = "IX: franceix"
  speed = 100000
  boundary = "internal"
  [[exporter.interface]]
  index = 9
  name = "ae9"
  description = "Core: to core1"
  provider = "own, \"core\""
  [[exporter.interface]]
  index = 10
  name = "ae10"
  connectivity = "pni"

[[rule]]
exporter = "^lab-(\\w+)\\d+\\.(\\w+)$"
role = "$1"
site = "$2"
[[rule]]
description = "^Transit: (\\w+)"
boundary = "external"
provider = "$1"
connectivity = "transit"
[[rule]]
description = "^IX: (\\w+)"
boundary = "external"
provider = "$1"
connectivity = "ix"
[[rule]]
interface = "^ae"
connectivity = "core"
[[rule]]
address = "^127\\."
boundary = "internal"
EOF2

mkdir -p "$work/cat"
cat > "$work/cat/netflow.toml" <<EOF2
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = 1
key = ["input", "output", "exporter_name", "exporter_site", "exporter_role", "exporter_tenant",
  "in_if_name", "out_if_name", "in_if_description", "out_if_description", "in_if_speed",
  "out_if_speed", "in_if_boundary", "out_if_boundary", "in_if_provider", "out_if_provider",
  "in_if_connectivity", "out_if_connectivity"]
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
catalogue = "$work/catalogue.toml"
EOF2
rf_start_collector cat -c "$work/cat/netflow.toml"
murl=$RF_MURL
grep -q "enrich: loaded catalogue" "$RF_LOG" || fail "no 'enrich: loaded catalogue' line: $(cat "$RF_LOG")"

sent=0
for proto in v9 ipfix; do
  "$gen" --target "127.0.0.1:$RF_PORT" --protocol "$proto" --keys 200 --count 40 --pps 2000 \
    --seed 11 --quiet --truth "$work/truth-$proto.tsv"
  sent=$((sent + $(rf_truth_total "$work/truth-$proto.tsv" datagrams)))
done
rf_wait 30 "ringflow_receive_datagrams_total = $sent" \
  rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
  fail "received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent datagrams"
rf_stop_collector

want=0
for proto in v9 ipfix; do want=$((want + $(rf_truth_total "$work/truth-$proto.tsv" flows))); done

python3 - "$work/catalogue.toml" "$want" "$work/out" <<'PY' || fail "catalogue rows differ"
import csv, glob, json, re, sys, tomllib
cat = tomllib.load(open(sys.argv[1], "rb"))
want, out = int(sys.argv[2]), sys.argv[3]
ex = cat["exporter"][0]
ifs = {i["index"]: i for i in ex["interface"]}
rules = cat["rule"]
pats = ["exporter", "address", "interface", "description"]
def classify(subject, tags, kinds):
    for r in rules:
        if any(p in r for p in ("interface", "description")) and kinds == "exporter":
            continue
        last, ok = None, True
        for p in pats:
            if p in r:
                m = re.search(r[p], subject[p])
                ok = ok and m is not None
                last = m if m else last
        if not ok:
            continue
        for t in kinds_tags[kinds]:
            if t in r and not tags.get(t):
                tags[t] = last.expand(r[t].replace("$", "\\")) if last else r[t]
kinds_tags = {"exporter": ["site", "region", "role", "tenant"],
              "interface": ["boundary", "provider", "connectivity"]}
etags = {k: ex.get(k, "") for k in kinds_tags["exporter"]}
classify({"exporter": ex["name"], "address": ex["address"], "interface": "", "description": ""},
         etags, "exporter")
def iface(idx):
    i = ifs.get(idx, {})
    t = {k: i.get(k, "") for k in kinds_tags["interface"]}
    classify({"exporter": ex["name"], "address": ex["address"], "interface": i.get("name", ""),
              "description": i.get("description", "")}, t, "interface")
    t.update(name=i.get("name", ""), description=i.get("description", ""), speed=str(i.get("speed", 0)))
    return t
rows, flows, seen = 0, 0, set()
for p in glob.glob(out + "/flows-*.csv"):
    for r in csv.DictReader(open(p, newline="")):
        rows += 1
        flows += int(r["flows"])
        assert r["exporter_name"] == ex["name"], r
        for k in ("site", "role", "tenant"):
            assert r["exporter_" + k] == etags[k], (k, r, etags)
        for side, col in (("in", "input"), ("out", "output")):
            idx = int(r[col])
            seen.add(idx)
            t = iface(idx)
            for k in ("name", "description", "speed", "boundary", "provider", "connectivity"):
                got = r[f"{side}_if_{k}"]
                assert got == t[k], (side, idx, k, got, t[k])
assert flows == want, (flows, want)
assert {1, 2, 9, 10} <= seen and len(seen) > 8, seen
assert etags["site"] == "par1" and etags["role"] == "edge", etags
jl = [json.loads(l) for p in glob.glob(out + "/flows-*.jsonl") for l in open(p)]
assert any(j.get("out_if_provider") == 'own, "core"' for j in jl), "no escaped provider in JSONL"
assert any(j.get("in_if_provider") == "cogent" and j.get("in_if_boundary") == "external" for j in jl)
print(f"{rows} rows, {flows} flows, interfaces {sorted(seen)}")
PY
grep -q '"own, ""core"""' "$work/out"/flows-*.csv || fail "no RFC 4180-quoted provider in the CSV"
echo "PASS"
