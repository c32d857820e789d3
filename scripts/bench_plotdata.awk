# results.csv -> gnuplot data: one block per system (in `systems` order),
# blocks separated by two blank lines, each headed by the system name, rows
# "offered_dps delivered_dps" sorted by offered load. Delivered datagrams/s =
# offered x delivered fraction (flows delivered / flows sent).
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
$col["exit"] != "nostart" {
  sy = $col["system"]; n[sy]++
  x[sy, n[sy]] = $col["offered_dps"] + 0
  y[sy, n[sy]] = ($col["offered_dps"] + 0) * ($col["delivered_pct"] + 0) / 100
}
END {
  ns = split(systems, sys, " ")
  first = 1
  for (s = 1; s <= ns; s++) {
    sy = sys[s]; if (!(sy in n)) continue
    # insertion sort by offered load
    for (i = 2; i <= n[sy]; i++)
      for (j = i; j > 1 && x[sy, j] < x[sy, j - 1]; j--) {
        t = x[sy, j]; x[sy, j] = x[sy, j - 1]; x[sy, j - 1] = t
        t = y[sy, j]; y[sy, j] = y[sy, j - 1]; y[sy, j - 1] = t
      }
    if (!first) printf "\n\n"
    first = 0
    print "\"" sy "\""
    for (i = 1; i <= n[sy]; i++) printf "%d %d\n", x[sy, i], y[sy, i]
  }
}
