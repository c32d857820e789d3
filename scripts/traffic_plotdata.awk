# Interval CSV files of ringflow's csv sink -> one line per interval, for
# scripts/plot_traffic.gp:
#   start bits_per_s packets_per_s flows_per_s partial bytes packets flows
# start is the interval start from the file name (YYYYmmddTHHMMSSZ, UTC);
# rates are the interval's sums over its length (interval_end_ms -
# interval_start_ms of its rows). Files of one interval (a restart within it
# writes "-2", "-3", ...) are summed; an interval without rows is 0. Columns
# are found by the header's names. Usage: awk -F, -f traffic_plotdata.awk FILE...
BEGIN { FS = "," }
FNR == 1 {
  for (i = 1; i <= NF; i++) col[$i] = i
  if (!("bytes" in col) || !("interval_end_ms" in col))
    { print "traffic_plotdata.awk: " FILENAME ": not an interval CSV" > "/dev/stderr"; bad = 1; exit 1 }
  n = split(FILENAME, parts, "/")
  key = substr(parts[n], 7, 16)  # flows-YYYYmmddTHHMMSSZ...
  if (!(key in seen)) { seen[key] = 1; order[++intervals] = key }
  if (parts[n] ~ /-partial\./) partial[key] = 1
  next
}
{
  bytes[key] += $col["bytes"]; packets[key] += $col["packets"]; flows[key] += $col["flows"]
  len = ($col["interval_end_ms"] - $col["interval_start_ms"]) / 1000
  if (len > 0) secs[key] = len
}
END {
  if (bad) exit 1
  for (i = 1; i <= intervals; i++) {
    k = order[i]
    s = secs[k] > 0 ? secs[k] : 1
    printf "%s %.3f %.3f %.3f %d %.0f %.0f %.0f\n", k, bytes[k] * 8 / s, packets[k] / s, flows[k] / s,
           (k in partial), bytes[k], packets[k], flows[k]
  }
}
