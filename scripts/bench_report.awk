# Turns scripts/bench.sh's results.csv into the Markdown table of
# bench/results/results.md. Variables (-v): machine, load, date, dur, keys,
# records, rcvbuf, systems (space-separated, table order), gen.
#
# Lossless rate of a system: the offered rate (datagrams/s, as measured for
# its run) of the highest step at which it lost <= 0.1 % of the flows sent.
function mb(kb) { return sprintf("%.0f MB", kb / 1024) }
function rate(x) { return x >= 1000 ? sprintf("%.1f k", x / 1000) : sprintf("%d", x) }
function ratio_line(label, a, b, target, pct,    r) {
  if (!(a in lossless) || !(b in lossless)) return
  if (lossless[b] == 0) { printf "- %s: %s has no lossless step, so the ratio is unbounded (target %s)\n", label, b, target; return }
  r = lossless[a] / lossless[b]
  if (pct) printf "- %s: %.1f %% (target %s): %s\n", label, 100 * r, target, (100 * r >= 95 ? "met" : "missed")
  else printf "- %s: %.1fx (target %s): %s\n", label, r, target, (r >= target + 0 ? "met" : "missed")
}
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
  st = $col["step_pps"]; sy = $col["system"]
  if (!(st in seen_step)) { seen_step[st] = 1; steps[++nsteps] = st }
  key = sy SUBSEP st
  pct[key] = $col["delivered_pct"]; loss[key] = $col["loss_pct"]
  cpu[key] = $col["cpu_s"]; rss[key] = $col["peak_rss_kb"]; off[key] = $col["offered_dps"]
  drops[key] = $col["socket_drops"]; errs[key] = $col["rcvbuf_errors"]; flows[key] = $col["delivered_flows"]
  note[key] = $col["note"]; ex[key] = $col["exit"]
  if (!(sy in have)) { have[sy] = 1 }
  if (loss[key] <= 0.1 && ex[key] != "nostart" && off[key] + 0 >= lossless[sy] + 0) {
    lossless[sy] = off[key]; lossless_step[sy] = st
  } else if (!(sy in lossless)) lossless[sy] = 0
}
END {
  ns = split(systems, sys, " ")
  print "# ringflow load benchmark: delivered vs offered"
  print ""
  printf "**Machine:** %s. **Load average** (1/5/15 min) at start -> end: %s. %s, %s.\n\n", machine, load, date, gen
  printf "Generator ringflow-gen pinned to CPU 1, system under test to CPU 0; %d records per datagram, %d distinct 5-tuples (Zipf 1.1); socket buffer %d bytes asked by every system (the kernel doubles it); %s s per step; for each step every system runs once, in an order rotated from step to step. Cells: delivered flows in %% of the flows sent (from the system's own output) / CPU seconds of the system (whole run) / peak RSS. Lossless rate: offered datagrams/s of the highest step with <= 0.1 %% loss.\n\n", records, keys, rcvbuf, dur
  hdr = "| system | lossless rate (datagrams/s) | CPU per flow at that step |"
  sep = "|---|---:|---:|"
  for (i = 1; i <= nsteps; i++) { hdr = hdr " " steps[i] (steps[i] == "max" ? "" : "/s") " |"; sep = sep "---:|" }
  print hdr; print sep
  for (s = 1; s <= ns; s++) {
    sy = sys[s]; if (!(sy in have)) continue
    if (lossless[sy] > 0) {
      k = sy SUBSEP lossless_step[sy]
      ll = sprintf("**%s** (step %s)", rate(lossless[sy]), lossless_step[sy])
      cpf = flows[k] > 0 ? sprintf("%.0f ns", 1e9 * cpu[k] / flows[k]) : "-"
    } else { ll = "none"; cpf = "-" }
    line = "| " sy " | " ll " | " cpf " |"
    for (i = 1; i <= nsteps; i++) {
      k = sy SUBSEP steps[i]
      if (!(k in pct)) { line = line " - |"; continue }
      if (ex[k] == "nostart") { line = line " did not start |"; continue }
      cell = sprintf("%.2f %% / %.1f s / %s", pct[k], cpu[k], mb(rss[k]))
      if (loss[k] > 0.1) cell = "*" cell "*"
      line = line " " cell " |"
    }
    print line
  }
  print ""
  print "Offered load actually achieved (datagrams/s, measured per run; the generator has one core):"
  print ""
  hdr = "| system |"; sep = "|---|"
  for (i = 1; i <= nsteps; i++) { hdr = hdr " " steps[i] " |"; sep = sep "---:|" }
  print hdr; print sep
  for (s = 1; s <= ns; s++) {
    sy = sys[s]; if (!(sy in have)) continue
    line = "| " sy " |"
    for (i = 1; i <= nsteps; i++) { k = sy SUBSEP steps[i]; line = line " " ((k in off) ? rate(off[k]) : "-") " |" }
    print line
  }
  print ""
  print "Kernel drops per step (the socket's drops column in /proc/net/udp / box-wide Udp RcvbufErrors delta):"
  print ""
  hdr = "| system |"; sep = "|---|"
  for (i = 1; i <= nsteps; i++) { hdr = hdr " " steps[i] " |"; sep = sep "---:|" }
  print hdr; print sep
  for (s = 1; s <= ns; s++) {
    sy = sys[s]; if (!(sy in have)) continue
    line = "| " sy " |"
    for (i = 1; i <= nsteps; i++) { k = sy SUBSEP steps[i]; line = line " " ((k in drops) ? drops[k] " / " errs[k] : "-") " |" }
    print line
  }
  print ""
  print "Targets (same run):"
  print ""
  ratio_line("ringflow's lossless rate vs the floor's", "ringflow", "floor", ">= 95 %", 1)
  ratio_line("ringflow vs nfcapd", "ringflow", "nfcapd", "5", 0)
  ratio_line("ringflow vs nfacctd", "ringflow", "nfacctd", "50", 0)
  top = steps[nsteps]
  if (("floor" SUBSEP top) in off && lossless_step["floor"] == top)
    printf "\nThe floor was lossless at the top step (%s, %s datagrams/s offered): the generator, not the receivers, set the ceiling, so a system lossless there has an unknown, higher, lossless rate and every ratio against it is a lower bound.\n", top, rate(off["floor" SUBSEP top])
  n = 0
  for (k in note) if (note[k] != "") { if (!n++) { print ""; print "Notes:" ; print "" }; split(k, p, SUBSEP); printf "- %s at %s: %s\n", p[1], p[2], note[k] }
}
