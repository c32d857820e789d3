#!/usr/bin/env bash
# Interface names learnt from options data end to end (issue 23 item 2;
# docs/enrichment.md): ringflow-gen --interface-names sends the interface
# table (options template 260: interfaceName / interfaceDescription of
# ifIndex 1..16) in v9 and IPFIX; with no catalogue, the CSV and JSONL rows'
# in_if_name / out_if_name / *_description key fields carry the names the
# generator's truth file lists for the row's input / output. Then:
#   - a restart keeps them (templates.state): traffic without any interface
#     table still gets the names;
#   - a catalogue entry overrides one (its name), and the learnt description
#     fills what the catalogue leaves empty.
# Usage: e2e_if_names_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool python3 "Debian python3"

conf() {  # $1: extra [enrich] lines
  cat <<EOF2
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = 1
key = ["input", "output", "in_if_name", "out_if_name", "in_if_description", "out_if_description"]
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
${1:-}
EOF2
}

# The publisher's log line says how many (stream, ifIndex) rows the workers
# have (each reactor restores its own copy at a restart): at least $1.
published() {
  grep -o "enrich: [0-9]* interface names learnt from options data published" "$RF_LOG" |
    awk -v n="$1" '$2 >= n { ok = 1 } END { exit !ok }'
}

# Sends v9 then IPFIX traffic and waits until
# the collector received all of it.
send() {  # $1: tag, $2: datagrams per version, then generator options
  local tag=$1 count=$2 sent=0
  shift 2
  for proto in v9 ipfix; do
    "$gen" --target "127.0.0.1:$RF_PORT" --protocol "$proto" --keys 100 --count "$count" --pps 300 \
      --seed 5 --quiet "$@" --truth "$work/truth-$tag-$proto.tsv"
    sent=$((sent + $(rf_truth_total "$work/truth-$tag-$proto.tsv" datagrams)))
  done
  total=$((total + sent))  # since this collector started
  rf_wait 30 "$tag: $total datagrams received" \
    rf_metric_is "$RF_MURL" ringflow_receive_datagrams_total "$total" ||
    fail "$tag: received $(rf_metric "$RF_MURL" ringflow_receive_datagrams_total) of $total"
}

# The rows of the last phase, moved out of the output directory (which keeps
# templates.state).
take_rows() {
  mkdir -p "$work/rows-$1"
  mv "$work/out"/flows-* "$work/rows-$1/"
}

# Every row of the CSV and JSONL files in $1 names its input and output as
# the truth's interface table does ($2: "override" expects the catalogue's
# name for ifIndex 1).
check_rows() {
  python3 - "$1" "$2" "$work/truth-learn-v9.tsv" <<'PY' || fail "rows in $1 differ"
import csv, glob, json, sys
out, mode, truth = sys.argv[1], sys.argv[2], sys.argv[3]
rows = list(csv.DictReader(open(truth), delimiter="\t"))
table = {}
for item in rows[0]["interface_names"].split(";"):
    idx, name, desc = item.split("=")
    table[int(idx)] = (name, desc)
assert len(table) == 16, table
def want(idx):
    name, desc = table[idx]
    if mode == "override" and idx == 1:
        name = "catalogue-if1"
    return name, desc
n = 0
for p in glob.glob(out + "/flows-*.csv"):
    for r in csv.DictReader(open(p, newline="")):
        n += 1
        for side, col in (("in", "input"), ("out", "output")):
            got = (r[side + "_if_name"], r[side + "_if_description"])
            if got != want(int(r[col])):
                sys.exit(f"{p}: {side} ifIndex {r[col]}: {got}, expected {want(int(r[col]))}")
jl = [json.loads(l) for p in glob.glob(out + "/flows-*.jsonl") for l in open(p)]
for r in jl:
    if (r["in_if_name"], r["in_if_description"]) != want(r["input"]):
        sys.exit(f"JSONL: {r}")
if n == 0 or len(jl) != n:
    sys.exit(f"{n} CSV rows, {len(jl)} JSONL rows")
if mode == "override" and not any(r["input"] == 1 for r in jl):
    sys.exit("no row of input 1")
print(f"{out}: {n} rows, every one named as the interface table says")
PY
}

# 1. Learn: the interface table first (with one datagram of data, whose rows
# may predate the names: set aside once written), then, once the workers
# have the names, traffic.
mkdir -p "$work/a"
conf >"$work/a/netflow.toml"
rf_start_collector a -c "$work/a/netflow.toml"
total=0
send learn 1 --interface-names --template-separate
rf_wait 30 "the names of both streams published" published 32 ||
  fail "no publish line: $(grep enrich "$RF_LOG")"
learn_flows=$(($(rf_truth_total "$work/truth-learn-v9.tsv" flows) +
  $(rf_truth_total "$work/truth-learn-ipfix.tsv" flows)))
learn_written() { [ "$(rf_csv_sum "$work/out" flows 2>/dev/null)" = "$learn_flows" ]; }
rf_wait 30 "the learn phase's $learn_flows flows written" learn_written ||
  fail "learn rows: $(rf_csv_sum "$work/out" flows) flows of $learn_flows"
take_rows before-names
send data 30
rf_stop_collector
take_rows learn
check_rows "$work/rows-learn" learnt
[ -f "$work/out/templates.state" ] || fail "no templates.state written"

# 2. Restart: the names come back from the state file, no interface table sent.
mkdir -p "$work/b"
conf >"$work/b/netflow.toml"
rf_start_collector b -c "$work/b/netflow.toml"
total=0
rf_wait 30 "restored names published" published 32 ||
  fail "no publish line after the restart: $(cat "$RF_LOG")"
send restart 30
rf_stop_collector
take_rows restart
check_rows "$work/rows-restart" learnt

# 3. The catalogue overrides the learnt name of ifIndex 1 (and only its name).
cat >"$work/catalogue.toml" <<'EOF2'
[[exporter]]
address = "127.0.0.1"
  [[exporter.interface]]
  index = 1
  name = "catalogue-if1"
EOF2
mkdir -p "$work/c"
conf "[enrich]
catalogue = \"$work/catalogue.toml\"" >"$work/c/netflow.toml"
rf_start_collector c -c "$work/c/netflow.toml"
total=0
rf_wait 30 "restored names published" published 32 || fail "no publish line: $(cat "$RF_LOG")"
send catalogue 30
rf_stop_collector
take_rows cat
check_rows "$work/rows-cat" override
echo "PASS"
