# Delivered vs offered load, one line per system (scripts/bench.sh).
# Variables (-e): datafile (from scripts/bench_tool.py report), outfile, machine.
set terminal pngcairo size 1000,650 font ",11"
set output outfile
set title "NetFlow v5 collectors: delivered vs offered load\n{/*0.8 ".machine."}"
set xlabel "offered load (datagrams/s, 30 flows each)"
set ylabel "delivered (datagrams/s)"
set key top left
set grid
set xrange [0:*]
set yrange [0:*]
set format x "%.0s%c"
set format y "%.0s%c"
stats datafile using 1 nooutput
# Lossless systems lie on the diagonal on top of each other: distinct point
# types and widths keep each one visible.
plot for [i=0:STATS_blocks-1] datafile index i using 1:2 with linespoints lw (6 - i > 2 ? 6 - i : 2) pt (i + 4) ps 1.5 title columnheader(1), \
     x with lines dt 2 lc rgb "gray" title "offered (no loss)"
