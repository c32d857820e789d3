#!/usr/bin/env bash
# The filter stage end to end (issue 23 item 6, issue 24 item 4; docs/filter.md):
# ringflow-gen sends a fixed-seed mix (TCP/UDP/ICMP, clients from 10/8,
# servers from the documentation ranges) to a collector whose [filter] keeps
#     (dst port in [443 53] or dst net 198.51.100.0/24) and not proto icmp
#     and not src net 10.0.2.0/23
# with --print-flows on. An independent filter (python's ipaddress over the
# generator's per-key truth) selects the rows that must be kept:
#   - the CSV rows, per 5-tuple summed over the intervals, equal them;
#   - ringflow_filter_records_total{result="dropped"} equals the flows of the
#     truth rows it rejects, and {result="kept"} those it keeps;
#   - --print-flows printed exactly the kept flows (one line each).
# Then the errors: a bad expression in a file and in --filter names the file
# or option, the key and the column in the expression.
# Usage: e2e_filter_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool python3 "Debian's python3"

expr='(dst port in [443 53] or dst net 198.51.100.0/24) and not proto icmp and not src net 10.0.2.0/23'
pps=3000
if rf_sanitized; then pps=800; fi

mkdir -p "$work/c"
cat > "$work/c/netflow.toml" <<EOF
[receive]
listen = ["127.0.0.1:0"]
workers = 2
[aggregate]
interval = 1
[output]
directory = "$work/c/out"
[[sink]]
type = "csv"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
[filter]
expression = "$expr"
EOF
rf_start_collector c -c "$work/c/netflow.toml" --print-flows
murl=$RF_MURL
"$gen" --target "127.0.0.1:$RF_PORT" --pps "$pps" --duration 2.2 --exporters 2 --keys 3000 \
  --zipf 1.05 --seed 7 --quiet --truth "$work/truth.tsv" --truth-keys "$work/keys.tsv"
flows=$(rf_truth_total "$work/truth.tsv" flows)
sent=$(rf_truth_total "$work/truth.tsv" datagrams)
rf_wait 30 "ringflow_receive_datagrams_total = $sent" \
  rf_metric_is "$murl" ringflow_receive_datagrams_total "$sent" ||
  fail "received $(rf_metric "$murl" ringflow_receive_datagrams_total) of $sent datagrams"
rf_wait 30 "every flow decoded ($flows)" rf_metric_is "$murl" ringflow_decode_flows_total "$flows" ||
  fail "decoded $(rf_metric "$murl" ringflow_decode_flows_total) of $flows flows"
# The filter counts a chunk after decode counted its flows: wait for both.
rf_wait 30 "every flow through the filter ($flows)" \
  rf_metric_is "$murl" ringflow_filter_records_total "$flows" ||
  fail "the filter saw $(rf_metric "$murl" ringflow_filter_records_total) of $flows flows"
page=$work/metrics.txt
rf_scrape "$murl" > "$page"
rf_stop_collector

# The reference: the same conditions, written against the truth's columns.
python3 - "$work/keys.tsv" "$work/want.unsorted" "$work/sums.txt" <<'EOF'
import ipaddress, sys
keys, want, sums = sys.argv[1:4]
src23 = ipaddress.ip_network("10.0.2.0/23")
dst24 = ipaddress.ip_network("198.51.100.0/24")
def v4in(a, n):
    ip = ipaddress.ip_address(a)
    return ip.version == 4 and ip in n
kept = dropped = 0
rows = []
with open(keys) as f:
    header = f.readline().rstrip("\n").split("\t")
    col = {name: i for i, name in enumerate(header)}
    for line in f:
        r = line.rstrip("\n").split("\t")
        dport, proto = int(r[col["dport"]]), int(r[col["proto"]])
        ok = (dport in (443, 53) or v4in(r[col["dst"]], dst24)) and proto != 1 \
             and not v4in(r[col["src"]], src23)
        n = int(r[col["flows"]])
        if ok:
            kept += n
            rows.append("\t".join(r[:8]))
        else:
            dropped += n
with open(want, "w") as f:
    for row in rows:
        f.write(row + "\n")
with open(sums, "w") as f:
    f.write(f"{kept} {dropped}\n")
EOF
sort "$work/want.unsorted" > "$work/want.tsv"  # the order rf_csv_keys sorts in
read -r want_kept want_dropped < "$work/sums.txt"
echo "truth: $flows flows; the reference keeps $want_kept, drops $want_dropped"
[ $((want_kept + want_dropped)) = "$flows" ] || fail "the truth keys sum to $((want_kept + want_dropped)), not $flows"
# The filter must select: a few percent on each side at least.
[ "$want_kept" -gt $((flows / 20)) ] && [ "$want_dropped" -gt $((flows / 20)) ] ||
  fail "the filter does not split the traffic (kept $want_kept of $flows)"

got_kept=$(rf_page_sample "$page" 'ringflow_filter_records_total{result="kept"}')
got_dropped=$(rf_page_sample "$page" 'ringflow_filter_records_total{result="dropped"}')
stage_dropped=$(rf_page_total "$page" ringflow_decode_stage_dropped_records_total)
echo "ringflow: kept $got_kept, dropped $got_dropped (stage_dropped $stage_dropped)"
[ "$got_kept" = "$want_kept" ] || fail "kept $got_kept records, the reference $want_kept"
[ "$got_dropped" = "$want_dropped" ] || fail "dropped $got_dropped records, the reference $want_dropped"
[ "$stage_dropped" = "$want_dropped" ] || fail "stage_dropped_records is $stage_dropped, not $want_dropped"

rf_csv_keys "$work/c/out" > "$work/got.tsv"
if ! diff -q "$work/want.tsv" "$work/got.tsv" > /dev/null; then
  diff "$work/want.tsv" "$work/got.tsv" | head -20 >&2
  fail "CSV rows differ from the reference's selection of the truth"
fi
echo "CSV: $(wc -l < "$work/got.tsv") keys equal the reference's, row by row"

printed=$(grep -c -- ' -> ' "$work/c/stdout" || true)
[ "$printed" = "$want_kept" ] || fail "--print-flows printed $printed flows, the filter kept $want_kept"
echo "--print-flows: $printed lines, the kept flows"

# Errors: the file, line and key, then the column inside the expression.
printf '[filter]\nexpression = "src net 10.0.0.0/33 and proto tcp"\n' > "$work/bad.toml"
rc=0
"$ringflow" --check-config "$work/bad.toml" > /dev/null 2> "$work/bad.err" || rc=$?
[ "$rc" = 2 ] || fail "--check-config of a bad filter exited $rc, not 2"
grep -qF "$work/bad.toml:2:14: filter.expression: in \"src net 10.0.0.0/33 and proto tcp\" at column 9: expected a prefix length of 0..32" "$work/bad.err" ||
  fail "unexpected error for the bad file: $(cat "$work/bad.err")"
rc=0
"$ringflow" --filter 'port 80 & port 81' --check-config "$work/c/netflow.toml" > /dev/null 2> "$work/cli.err" || rc=$?
[ "$rc" = 2 ] || fail "--filter with a bad expression exited $rc, not 2"
grep -qF "at column 9: expected '&&', found a lone '&'" "$work/cli.err" ||
  fail "unexpected error for --filter: $(cat "$work/cli.err")"
grep -qF -- "--filter" "$work/cli.err" || fail "the --filter error does not name the option: $(cat "$work/cli.err")"
echo "e2e_filter: PASS"
