#!/usr/bin/env bash
# End-to-end: a table made by ringflow 0.1 (IPv4 addresses as UInt32) is
# refused with the migration message; the migration of docs/clickhouse.md
# ("Migrating a table of ringflow 0.1", its SQL taken from the page) is run;
# ringflow then writes to the new table (totals equal ringflow-gen's truth)
# and the old rows read back with their addresses as text through the page's
# text view. A private server on loopback. Usage: BUILD_DIR SOURCE_DIR.
#
# Exit 77 (skipped) only when clickhouse-server cannot be installed at all.
set -euo pipefail

# shellcheck source=tests/support/ch_e2e.sh
. "$(dirname "$0")/support/ch_e2e.sh"
ch_setup "$@"
DOC=$SRC/docs/clickhouse.md

CH=$WORK/server

ch_server "$CH"
U=$CH_URL
log "ClickHouse $(chq "$U" 'SELECT version()') on $U"

# The table as ringflow 0.1 created it for the default key, with rows whose
# addresses span the IPv4 range.
chq "$U" "CREATE TABLE default.ringflow_flows (
  interval_start DateTime, interval_end DateTime,
  src_addr UInt32, dst_addr UInt32, src_port UInt16, dst_port UInt16, protocol UInt8,
  flows UInt64, packets UInt64, bytes UInt64, first_ms Int64, last_ms Int64,
  tcp_flags_or UInt8, overflow UInt8, partial UInt8, collector String, batch_id UInt64
) ENGINE = MergeTree PARTITION BY toYYYYMMDD(interval_start)
  ORDER BY (interval_start, src_addr, dst_addr, src_port, dst_port, protocol)" >/dev/null
OLD_ROWS="10.1.2.3	192.0.2.1	51000	443	6	3	30	30000
172.16.0.9	198.51.100.200	53	53	17	1	1	76
0.0.0.0	255.255.255.255	0	2048	1	2	4	256
203.0.113.77	10.255.0.1	22	40000	6	5	50	5000"
values=$(awk -F'\t' -v OFS=, '{
  printf "%s(toDateTime(1700000000), toDateTime(1700000060), IPv4StringToNum(\x27%s\x27), " \
         "IPv4StringToNum(\x27%s\x27), %s, %s, %s, %s, %s, %s, 1700000000000, 1700000059000, " \
         "0, 0, 0, \x27old-0.1\x27, %d)", (NR > 1 ? ", " : ""), $1, $2, $3, $4, $5, $6, $7, $8, 1000 + NR
}' <<<"$OLD_ROWS")
chq "$U" "INSERT INTO default.ringflow_flows VALUES $values" >/dev/null

UDP=$(rf_udp_port)
cat >"$WORK/rf.toml" <<EOF
[receive]
listen = ["127.0.0.1:$UDP"]
workers = 1
[aggregate]
interval = 1
[output]
directory = "$WORK/out"
[metrics]
listen = ""
[log]
stats_interval = 0
[[sink]]
type = "clickhouse"
name = "ch"
url = "$U"
collector = "new"
timeout_ms = 2000
spool_dir = "$WORK/spool"
EOF

log "1. the 0.1 table is refused with the migration message"
set +e
timeout 30 "$RINGFLOW" -c "$WORK/rf.toml" >"$WORK/refused.log" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "ringflow with a 0.1 table exited $rc, expected 1"
for want in 'column src_addr is UInt32, expected FixedString(16)' \
            'column dst_addr is UInt32, expected FixedString(16)' \
            'made by ringflow 0.1' 'Migrating a table of ringflow 0.1' 'IPv4ToIPv6('; do
  grep -qF "$want" "$WORK/refused.log" || fail "the refusal does not say '$want'"
done
grep -F 'made by ringflow 0.1' "$WORK/refused.log" | fold -w 200 | sed 's/^/    /'
grep -q '^### Migrating a table of ringflow 0.1$' "$DOC" ||
  fail "docs/clickhouse.md has no section the message names"
[ "$(chq "$U" 'SELECT count() FROM default.ringflow_flows')" = 4 ] || fail "the refused table was changed"

log "2. the documented migration: rename, ringflow creates the table and writes, copy"
chq "$U" "$(doc_block "$DOC" migrate-rename)" >/dev/null
start_ringflow new "$WORK/rf.toml" "$WORK/rf.log"
"$GEN" --target "127.0.0.1:$UDP" --pps 500 --duration 3 --keys 500 --seed 41 \
       --truth "$WORK/truth.tsv" -q
# No sleep: at SIGTERM ringflow receives until the exporter is quiet and
# takes what its socket holds (receive.drain_timeout), then flushes.
stop_ringflow new "$WORK/rf.log"
chq "$U" "$(doc_block "$DOC" migrate-copy)" >/dev/null
cmp=$(chq "$U" "$(doc_block "$DOC" migrate-compare) FORMAT TabSeparated")
echo "    old flows, copied flows: $cmp"
[ "$cmp" = "$(printf '11\t11')" ] || fail "the compare query of the page says '$cmp', expected 11 and 11"

log "3. ringflow's rows equal the truth; the old rows read back as text"
want=$(truth_totals "$WORK/truth.tsv")
got=$(chq "$U" "SELECT sum(flows), sum(packets), sum(bytes) FROM default.ringflow_flows
                WHERE collector = 'new' FORMAT TabSeparated" | tr '\t' ' ')
echo "    truth $want, table $got"
[ "$got" = "$want" ] || fail "rows written after the migration '$got' != truth '$want'"
chq "$U" "$(doc_block "$DOC" text-view)" >/dev/null
old=$(chq "$U" "SELECT src, dst, src_port, dst_port, protocol, flows, packets, bytes
                FROM ringflow_flows_text WHERE collector = 'old-0.1' ORDER BY batch_id
                FORMAT TabSeparated")
if [ "$old" != "$OLD_ROWS" ]; then
  diff <(echo "$OLD_ROWS") <(echo "$old") >&2 || true
  fail "the migrated rows do not read back as they were written"
fi
echo "$old" | sed 's/^/    old row: /'
notext=$(chq "$U" "SELECT count() FROM ringflow_flows_text
                   WHERE collector = 'new' AND NOT (match(src, '^10[.]') AND match(dst, '^[0-9.]+\$'))")
[ "$notext" = 0 ] || fail "$notext new rows do not print as dotted IPv4 through the text view"
types=$(chq "$U" "SELECT type FROM system.columns WHERE database = 'default'
                  AND table = 'ringflow_flows' AND name IN ('src_addr', 'dst_addr')")
[ "$types" = "$(printf 'FixedString(16)\nFixedString(16)')" ] || fail "new table address types: $types"

echo "e2e_clickhouse_migration: passed"
