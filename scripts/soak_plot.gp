# RSS of ringflow over a soak run (scripts/soak.sh --plot).
# Variables (-e): datafile (rss.tsv: t_s rss_kib ...), hupfile (one SIGHUP
# time per line), outfile, outage_from, outage_to (s), warm (s: samples
# before it are the warm-up), subtitle.
set terminal pngcairo size 1000,550 font ",11"
set output outfile
set title "ringflow RSS during a soak\n".subtitle noenhanced
set xlabel "time (s)"
set ylabel "RSS (MiB)"
set key bottom right
set grid
set xrange [0:*]
set yrange [0:*]
set style rect fc rgb "#ffdddd" fs solid 0.5 noborder
set obj 1 rect from outage_from, graph 0 to outage_to, graph 1 behind
set arrow 1 from warm, graph 0 to warm, graph 1 nohead dt 3 lc rgb "gray"
set label 1 "end of warm-up" at warm, graph 0.95 left offset 0.5,0 tc rgb "gray"
set label 2 "ClickHouse down" at outage_from, graph 0.05 offset 0.5,0 tc rgb "#aa0000"
plot datafile using 1:($2/1024) skip 1 with linespoints pt 7 ps 0.5 lw 2 title "RSS", \
     hupfile using 1:(0) with points pt 9 ps 1.5 lc rgb "#0060c0" title "SIGHUP"
