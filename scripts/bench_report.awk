# Turns scripts/bench.sh's results.csv into the Markdown table of
# bench/results/results.md. Variables (-v): machine, load, date, dur, keys,
# records, rcvbuf, systems (space-separated, table order), gen.
#
# Lossless rate of a system: see settle() below.
#
# Median of a[key, 1..n] (sets globals lo, hi to the extremes).
function median(a, key, n,    v, i, j, t) {
  for (i = 1; i <= n; i++) v[i] = a[key, i]
  for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j] < v[j - 1]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
  lo = v[1]; hi = v[n]
  return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function mb(kb) { return sprintf("%.0f MB", kb / 1024) }
function rate(x) { return x >= 1000 ? sprintf("%.1f k", x / 1000) : sprintf("%d", x) }
# A system lossless at the top step has a lossless rate of "at least" that
# step's offered load (censored): the generator, not the system, stopped
# there. Ratios then are bounds, and say so.
function shown(x, pct) { return pct ? sprintf("%.1f %%", 100 * x) : sprintf("%.1fx", x) }
function ratio_line(label, a, b, target, pct,    r, t, verdict) {
  if (!(a in lossless) || !(b in lossless)) return
  t = pct ? target / 100 : target
  if (lossless[b] == 0) {
    printf "- %s: %s lost more than 0.1 %% at every step, so the ratio is unbounded (target %s)\n", label, b, shown(t, pct)
    return
  }
  r = lossless[a] / lossless[b]
  if (censored[a] && censored[b]) {
    # Taking everything the floor took meets "95 % of the floor" as far as
    # this run can tell; "5x nfcapd" needs a limit for both, so stays open.
    if (pct && lossless[a] >= lossless[b] * (1 - 0.02))
      verdict = "met as far as this generator can show: both took every step without loss, " a " at " rate(lossless[a]) ", " b " at " rate(lossless[b]) " datagrams/s (the top step's offered load varies with the generator's core)"
    else if (pct) verdict = "not decided: both took every step without loss, but at the top step " a " was offered " rate(lossless[a]) " and " b " " rate(lossless[b]) " datagrams/s (the generator's rate varies with its core's other load)"
    else verdict = "not decided: both took every step without loss (see the drain figures)"
    printf "- %s: %s\n", label, verdict
  } else if (censored[a]) {
    printf "- %s: >= %s (target %s): %s\n", label, shown(r, pct), shown(t, pct), (r >= t ? "met" : "not shown: " a " took every step, the generator could not offer enough to find its limit")
  } else if (censored[b]) {
    printf "- %s: <= %s (target %s): %s\n", label, shown(r, pct), shown(t, pct), (r >= t ? "not decided" : "missed")
  } else {
    printf "- %s: %s (target %s): %s\n", label, shown(r, pct), shown(t, pct), (r >= t ? "met" : "missed by " shown(t - r, pct))
  }
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
  if (ex[key] == "nostart") next
  nrun[sy]++; run_st[sy, nrun[sy]] = st
  if (loss[key] > 0.1 && (!(sy in minlossy) || off[key] + 0 < minlossy[sy])) minlossy[sy] = off[key] + 0
}
# Lossless rate: the highest offered load below every load the system lost
# at, so that one lucky step above a lossy one does not count (nfcapd, whose
# losses come with its file writes, took 98 k and lost at 61 k in one run).
# Censored (a lower bound): the system lost at no step at all.
function settle(    sy, i, st, k) {
  for (sy in nrun) {
    lossless[sy] = 0
    for (i = 1; i <= nrun[sy]; i++) {
      st = run_st[sy, i]; k = sy SUBSEP st
      if (loss[k] <= 0.1 && (!(sy in minlossy) || off[k] + 0 < minlossy[sy]) && off[k] + 0 > lossless[sy]) {
        lossless[sy] = off[k] + 0; lossless_step[sy] = st
      }
    }
    censored[sy] = !(sy in minlossy) && lossless[sy] > 0
  }
}
END {
  ns = split(systems, sys, " ")
  settle()
  print "# ringflow load benchmark: delivered vs offered"
  print ""
  printf "**Machine:** %s. **Load average** (1/5/15 min) at start -> end: %s. %s, %s.\n\n", machine, load, date, gen
  printf "Generator ringflow-gen pinned to CPU 1, system under test to CPU 0; %d records per datagram, %d distinct 5-tuples (Zipf 1.1); socket buffer %d bytes asked by every system (the kernel doubles it); %s s per step; for each step every system runs once, in an order rotated from step to step. Cells: delivered flows in %% of the flows sent (from the system's own output) / CPU seconds of the system (whole run) / peak RSS. Lossless rate: the highest offered load (datagrams/s) with <= 0.1 %% loss below every load with more loss; >= marks a system that lost at no step (a lower bound: the generator stopped there).\n\n", records, keys, rcvbuf, dur
  hdr = "| system | lossless rate (datagrams/s) | CPU per flow at that step |"
  sep = "|---|---:|---:|"
  for (i = 1; i <= nsteps; i++) { hdr = hdr " " steps[i] (steps[i] == "max" ? "" : "/s") " |"; sep = sep "---:|" }
  print hdr; print sep
  for (s = 1; s <= ns; s++) {
    sy = sys[s]; if (!(sy in have)) continue
    if (lossless[sy] > 0) {
      k = sy SUBSEP lossless_step[sy]
      ll = sprintf("**%s%s** (step %s)", censored[sy] ? ">= " : "", rate(lossless[sy]), lossless_step[sy])
      # The lowest lossy load brackets the true limit.
      if (sy in minlossy) ll = ll sprintf("; lost > 0.1 %% at %s", rate(minlossy[sy]))
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
  print "Kernel drops per step: the socket's drops column in /proc/net/udp / the Udp RcvbufErrors delta of /proc/net/snmp over the run (box-wide: it also counts other processes' sockets, so only the first figure is the system's):"
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
  if (drain != "" && (getline line < drain) > 0) {
    nd = 0
    while ((getline line < drain) > 0) {
      split(line, f, ",")
      if (f[9] == "nostart") continue
      sy = f[2]; dn[sy]++
      dr[sy, dn[sy]] = f[8] + 0; dpct[sy, dn[sy]] = f[7] + 0; dq[sy] = f[3]; nd++
    }
    if (nd) {
      print "Capacity by drain (each system frozen, its socket filled, then thawed; delivered datagrams / time until its socket is empty; no generator running meanwhile). Median of the runs, (min .. max):"
      print ""
      print "| system | datagrams queued | runs | delivered | drained rate (datagrams/s) | vs floor |"
      print "|---|---:|---:|---:|---:|---:|"
      nds = split(dsystems, dsys, " ")
      for (s = 1; s <= nds; s++) if (dsys[s] in dn) {
        sy = dsys[s]
        drained[sy] = median(dr, sy, dn[sy])
        dmin[sy] = lo; dmax[sy] = hi
        dp[sy] = median(dpct, sy, dn[sy])
      }
      for (s = 1; s <= nds; s++) if (dsys[s] in dn) {
        sy = dsys[s]
        printf "| %s | %s | %d | %.2f %% | **%s** (%s .. %s) | %s |\n", sy, dq[sy], dn[sy], dp[sy], rate(drained[sy]), rate(dmin[sy]), rate(dmax[sy]), (drained["floor"] > 0 ? sprintf("%.0f %%", 100 * drained[sy] / drained["floor"]) : "-")
      }
      print ""
    }
  }
  print "Targets (same run):"
  print ""
  ratio_line("ringflow's lossless rate vs the floor's", "ringflow", "floor", 95, 1)
  ratio_line("ringflow vs nfcapd", "ringflow", "nfcapd", 5, 0)
  ratio_line("ringflow vs nfacctd", "ringflow", "nfacctd", 50, 0)
  if (("ringflow" in drained) && drained["ringflow"] > 0) {
    r = drained["ringflow"]
    if ("floor" in drained && drained["floor"] > 0) printf "- by drain, ringflow / floor: %.0f %% (target 95 %%)\n", 100 * r / drained["floor"]
    if ("nfcapd" in drained && drained["nfcapd"] > 0) printf "- by drain, ringflow / nfcapd: %.1fx (target 5x)\n", r / drained["nfcapd"]
    if ("nfacctd" in drained && drained["nfacctd"] > 0) printf "- by drain, ringflow / nfacctd: %.1fx (target 50x)\n", r / drained["nfacctd"]
  }
  if (censored["floor"])
    printf "\nThe floor was lossless at the top step (%s datagrams/s offered): the generator's one core, not the receivers, set the ceiling of this run. A lossless rate marked >= is a lower bound.\n", rate(lossless["floor"])
  n = 0
  for (k in note) if (note[k] != "") { if (!n++) { print ""; print "Notes:" ; print "" }; split(k, p, SUBSEP); printf "- %s at %s: %s\n", p[1], p[2], note[k] }
}
