# Traffic over time from ringflow's interval CSV files: bits/s (left axis)
# and flows/s (right axis) per interval, as a PNG.
#   gnuplot -c scripts/plot_traffic.gp DIR OUT.png [TITLE]
# DIR holds the csv sink's flows-*.csv (output.directory); the sums per
# interval come from traffic_plotdata.awk beside this script. Needs Debian's
# gnuplot-nox (pngcairo). A partial (shutdown) interval is drawn as a point.
if (ARGC < 2) {
  print "usage: gnuplot -c plot_traffic.gp DIR OUT.png [TITLE]"
  exit status 2
}
dir = ARG1
outfile = ARG2
title = (ARGC >= 3) ? ARG3 : "ringflow traffic: ".dir
here = system("dirname '".ARG0."'")
files = system("ls '".dir."'/flows-*.csv 2>/dev/null | wc -l") + 0
if (files == 0) {
  print "plot_traffic.gp: no flows-*.csv in ".dir
  exit status 1
}
data = "< awk -f '".here."/traffic_plotdata.awk' '".dir."'/flows-*.csv"

set terminal pngcairo size 1000,500 font ",10"
set output outfile
set title title
set xdata time
set timefmt "%Y%m%dT%H%M%SZ"
set format x "%H:%M:%S\n%Y-%m-%d"
set xlabel "interval start (UTC)"
set ylabel "bits/s"
set y2label "flows/s"
set format y "%.1s%c"
set format y2 "%.1s%c"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid
set key top left
plot data using 1:2 with steps lw 2 title "bits/s", \
     data using 1:4 axes x1y2 with steps lw 1 dt 2 title "flows/s", \
     data using 1:($5 != 0 ? $2 : NaN) with points pt 7 ps 1.2 title "partial interval (bits/s)"
