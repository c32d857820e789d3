#!/usr/bin/env bash
# scripts/plot_traffic.gp (issue 18, item 5): draws the csv sink's interval
# files as traffic over time. A collector with 1-second intervals receives two
# bursts from ringflow-gen; the script must make a non-empty 1000x500 PNG, and
# the per-interval sums it plots (traffic_plotdata.awk) must add up to the
# generator's truth. Bad arguments and a directory without files are errors.
# Usage: docs_traffic_plot_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"

command -v gnuplot > /dev/null ||
  { echo "SKIP: gnuplot is not installed (gnuplot-nox; as root: scripts/deps.sh --test)" >&2; exit 77; }

out=$work/flows
rf_start_collector run --listen 127.0.0.1:0 --metrics-listen "" --interval 1 --output-dir "$out" \
  --set 'sink=[{type = "csv"}]'
port=$RF_PORT
# Two bursts at different rates, about 1.5 s each.
"$build/ringflow-gen" --target "127.0.0.1:$port" --pps 400 --count 600 --seed 1 --quiet --truth "$work/t1.tsv"
"$build/ringflow-gen" --target "127.0.0.1:$port" --pps 1200 --count 1800 --seed 2 --quiet --truth "$work/t2.tsv"
rf_stop_collector
truth() {  # COLUMN -> sum over both runs
  awk -F'\t' -v k="$1" 'FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                        $1 == "total" { s += $c[k] } END { printf "%.0f\n", s }' "$work/t1.tsv" "$work/t2.tsv"
}

# The data the plot draws: one line per interval, sums equal to the truth.
awk -f "$src/scripts/traffic_plotdata.awk" "$out"/flows-*.csv > "$work/plot.dat"
intervals=$(wc -l < "$work/plot.dat")
[ "$intervals" -ge 3 ] || fail "only $intervals intervals to plot"
for c in 6:bytes 7:packets 8:flows; do
  got=$(awk -v c="${c%%:*}" '{ s += $c } END { printf "%.0f\n", s }' "$work/plot.dat")
  [ "$got" = "$(truth "${c#*:}")" ] || fail "plotted ${c#*:} sum to $got, ringflow-gen sent $(truth "${c#*:}")"
done
[ "$(awk '$5 == 1' "$work/plot.dat" | wc -l)" = 1 ] || fail "expected one partial interval: $(cat "$work/plot.dat")"
awk '{ if ($2 > max) max = $2 } END { exit !(max > 0) }' "$work/plot.dat" || fail "no traffic to plot"
echo "  ok  $intervals intervals; bytes, packets and flows add up to the truth"

png=$work/traffic.png
gnuplot -c "$src/scripts/plot_traffic.gp" "$out" "$png" "test run" 2> "$work/gnuplot.err" ||
  { cat "$work/gnuplot.err" >&2; fail "plot_traffic.gp failed"; }
[ -s "$png" ] || fail "no image written"
[ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "not a PNG"
# IHDR: width and height, big-endian, at bytes 16..23.
dims=$(od -An -tu1 -j16 -N8 "$png" | awk '{ printf "%dx%d\n", $1*16777216 + $2*65536 + $3*256 + $4, $5*16777216 + $6*65536 + $7*256 + $8 }')
[ "$dims" = 1000x500 ] || fail "image is $dims, expected 1000x500"
size=$(stat -c %s "$png")
[ "$size" -gt 10000 ] || fail "image of $size bytes: nothing drawn?"
echo "  ok  $dims PNG, $size bytes"

rc=0
gnuplot -c "$src/scripts/plot_traffic.gp" > /dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "no arguments: exit 0"
mkdir "$work/empty"
rc=0
gnuplot -c "$src/scripts/plot_traffic.gp" "$work/empty" "$work/x.png" 2> "$work/err" || rc=$?
if [ "$rc" = 0 ] || ! grep -q "no flows-\*.csv" "$work/err"; then
  fail "empty directory: exit $rc, $(cat "$work/err")"
fi
echo "  ok  usage and empty-directory errors"
echo "docs_traffic_plot: PASS"
