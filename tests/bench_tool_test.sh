#!/usr/bin/env bash
# scripts/bench_tool.py's drain statistics (issue 25, benchmark hygiene), on
# drain rows written by its own drain-row command from made-up thread and
# busy figures (no system runs):
#   1. other CPUs = (box busy - the system's threads) / drain time, and a row
#      above --noisy is marked noisy (and last-noisy says so);
#   2. the report's median uses the quiet rows only, and says how many noisy
#      rows it left out; with no quiet row it uses them all, "(all noisy)";
#   3. --compare: SYSTEM and SYSTEM@REV get a table of medians and ratio.
# Usage: bench_tool_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
tool=(python3 "$src/scripts/bench_tool.py")
csv=$work/drain.csv

# threads FILE NS: one reactor thread that has run NS nanoseconds.
threads() { echo "101 rf-reactor $2" > "$1"; }
threads "$work/t0" 0
# row SYSTEM RUN DRAIN_S THREAD_NS BUSY_S: 100 000 datagrams of 30 records.
row() {
  threads "$work/t1" "$4"
  "${tool[@]}" drain-row "$csv" run="$2" system="$1" sent_datagrams=100000 sent_flows=3000000 \
    delivered_flows=3000000 drain_s="$3" records=30 threads_before="$work/t0" \
    threads_after="$work/t1" busy_s="$5" noisy=0.25 load_start=0.5 load_end=0.6 exit=0 > /dev/null
}
col() {  # SYSTEM RUN COLUMN: that cell of the last matching row
  awk -F, -v s="$1" -v r="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) k[$i] = i; next }
    $k["system"] == s && $k["run"] == r { v = $k[c] } END { print v }' "$csv"
}

# 1. 0.5 s drain, the system ran 0.5 s, the box was busy 0.55 s: 0.10 other.
row ringflow 1 0.5 500000000 0.55
[ "$(col ringflow 1 other_cpus)" = 0.10 ] || fail "other_cpus $(col ringflow 1 other_cpus), want 0.10"
[ "$(col ringflow 1 noisy)" = 0 ] || fail "a 0.10-CPU row is marked noisy"
! "${tool[@]}" last-noisy "$csv" ringflow || fail "last-noisy says a quiet row is noisy"
# The same drain with a compiler beside it: busy 1.0 s -> 1.00 other, noisy,
# and (being slower) a rate the median must not use.
row ringflow 2 1.0 500000000 1.5
[ "$(col ringflow 2 other_cpus)" = 1.00 ] || fail "other_cpus $(col ringflow 2 other_cpus), want 1.00"
"${tool[@]}" last-noisy "$csv" ringflow || fail "last-noisy misses a noisy row"
row ringflow 2 0.4 400000000 0.42   # its repeat, quiet: 250 k/s
row ringflow 3 0.5 500000000 0.5    # 200 k/s
# REV's build: 125 k/s and 100 k/s, both noisy.
row ringflow@abc123 1 0.8 500000000 1.6
row ringflow@abc123 2 1.0 500000000 2.0

printf '%s\n' "machine=test" "load_start=0.5" "load_end=0.6" "systems=" \
  "drain_systems='ringflow ringflow@abc123'" "compare_rev=abc123" "noisy=0.25" > "$work/run.env"
"${tool[@]}" report "$work"
md=$work/results.md
line() { grep -F "| $1 |" "$md" | head -1; }
# 2. ringflow: quiet rows 200, 250 and 200 k/s -> median 200 k, one left out.
line ringflow | grep -qF '| 3 (+1 noisy) |' || fail "ringflow's runs cell: $(line ringflow)"
line ringflow | grep -qF '**200.0 k** (200.0 k .. 250.0 k)' ||
  fail "ringflow's median is not over its quiet rows: $(line ringflow)"
line ringflow@abc123 | grep -qF '| 2 (all noisy) |' || fail "REV's runs cell: $(line ringflow@abc123)"
line ringflow@abc123 | grep -qF '**112.5 k**' || fail "REV's median: $(line ringflow@abc123)"
# 3. The comparison: 200 k / 112.5 k.
grep -qF '| ringflow | 200.0 k | 112.5 k | 1.778 |' "$md" ||
  { grep -A4 'Against abc123' "$md" >&2; fail "no comparison row 200.0 k / 112.5 k = 1.778"; }
echo "bench_tool: noise and --compare statistics as specified"
