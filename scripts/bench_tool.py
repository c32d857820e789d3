#!/usr/bin/env python3
"""The numbers of scripts/bench.sh: what it reads from /proc and the systems'
outputs, the rows of results.csv and drain.csv, and the report (results.md
and the plot data). Python 3 standard library only.

  bench_tool.py sock PORT            "RX_QUEUE DROPS" of the UDP socket on 127.0.0.1:PORT
  bench_tool.py wait-empty PORT [--poll=S] [--quiet=N] [--timeout=S] [--thaw=PID,...]
                                     waits until that socket's queue is empty (N polls in a
                                     row), timing from the SIGCONT of the --thaw PIDs (if
                                     any); prints the seconds it took; exit 3 on time-out;
                                     --busy-out=FILE: also writes the box's busy CPU seconds
                                     over the same window there (/proc/stat)
  bench_tool.py last-noisy CSV SYSTEM  exit 0 if SYSTEM's last drain row is noisy, else 1
  bench_tool.py rcvbuf-errors        the box's Udp RcvbufErrors (/proc/net/snmp)
  bench_tool.py tree PID             "CPU_S HWM_KB RSS_KB" of PID and its descendants
  bench_tool.py threads PID          one line per thread: "NAME RUNTIME_NS" (schedstat)
  bench_tool.py metrics URL          per-worker flows and the receive counters of a ringflow
  bench_tool.py delivered SYSTEM DIR flows a system delivered, from its own output
  bench_tool.py poll URL --out=FILE [--every=S]
                                     a client of ringflow's web view (ringflow-polled): every
                                     S seconds (1) GETs each page and API endpoint once (/,
                                     its assets, /metrics, /api/v1/overview, /api/v1/top by
                                     every projection, /api/v1/exporters and each stream's page,
                                     /api/v1/capture and each pcap when served), on one
                                     keep-alive connection; rewrites FILE after each round with
                                     "rounds=N requests=N failed=N bytes=N"; runs until killed
  bench_tool.py truth FILE COLUMN    a column of the generator's truth.tsv, "total" row
  bench_tool.py step-row CSV K=V...  computes and appends one results.csv row; prints a log line
  bench_tool.py drain-row CSV K=V... the same for drain.csv
  bench_tool.py report DIR           DIR/results.md and DIR/delivered.dat from the CSVs and run.env

How the figures are defined (lossless rate, drain capacity, targets): the
header of scripts/bench.sh and docs/performance.md.
"""
import csv
import http.client
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- /proc -----------------------------------------------------------------------
def sock(port):
    """(rx_queue bytes, drops) of the UDP socket bound to 127.0.0.1:port, or None."""
    want = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            p = line.split()
            if p[1] == want:
                return int(p[4].split(":")[1], 16), int(p[-1])
    return None


def busy_s():
    """The box's busy CPU seconds since boot, all CPUs (/proc/stat: user nice system
    irq softirq steal)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / CLK_TCK


def rcvbuf_errors():
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p))
        except (OSError, IndexError, ValueError):
            pass
    return out


def tree(pid):
    """CPU seconds (utime+stime+cutime+cstime), summed VmHWM and VmRSS (kB) of pid's tree."""
    cpu = hwm = rss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read().rsplit(")", 1)[1].split()
            cpu += sum(int(x) for x in st[11:15])
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
                    elif line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
        except OSError:
            continue
        todo += children(p)
    return cpu / CLK_TCK, hwm, rss


def threads(pid):
    out = []
    for t in sorted(os.listdir("/proc/%d/task" % pid), key=int):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                ns = int(f.read().split()[0])
            out.append((t, name, ns))
        except OSError:
            pass
    return out


def metrics(url):
    """Per-worker flows and a few receive counters from a ringflow /metrics."""
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    vals = {}
    for line in text.splitlines():
        m = re.match(r'ringflow_(decode_flows_total|receive_enobufs_total|receive_queue_full_total'
                     r'|aggregate_table_entries)\{(worker|reactor)="(\d+)"\} (\S+)$', line)
        if m:
            vals["%s_%s%s" % (m.group(1), m.group(2), m.group(3))] = int(float(m.group(4)))
    flows = [v for k, v in sorted(vals.items()) if k.startswith("decode_flows_total_worker")]
    enobufs = sum(v for k, v in vals.items() if k.startswith("receive_enobufs"))
    keys = sum(v for k, v in vals.items() if k.startswith("aggregate_table_entries"))
    return "worker_flows=%s enobufs=%d keys=%d" % ("/".join(str(f) for f in flows), enobufs, keys)


def poll_view(url, out, every):
    """bench_tool.py poll: see the module's docstring. URL: any ringflow
    listener URL (its path is ignored)."""
    m = re.match(r"http://([^/]+)", url)
    host = m.group(1)
    conn = [None]
    stats = {"rounds": 0, "requests": 0, "failed": 0, "bytes": 0}

    def get(path):
        for attempt in (0, 1):
            try:
                if conn[0] is None:
                    conn[0] = http.client.HTTPConnection(host, timeout=30)
                conn[0].request("GET", path)
                r = conn[0].getresponse()
                body = r.read()
                stats["requests"] += 1
                stats["bytes"] += len(body)
                if r.status >= 500 or (r.status >= 400 and not path.startswith("/api/v1/top")
                                       and path != "/api/v1/capture"):
                    stats["failed"] += 1
                return r.status, body
            except (OSError, http.client.HTTPException):
                if conn[0] is not None:
                    conn[0].close()
                conn[0] = None
        stats["failed"] += 1
        return 0, b""

    def ids(body, key):
        try:
            return [e["id"] for e in json.loads(body).get(key, [])]
        except (ValueError, AttributeError, KeyError, TypeError):
            return []
    while True:
        t0 = time.monotonic()
        _, page = get("/")
        paths = sorted(set(re.findall(r'(?:src|href)="(/assets/[^"?#]+)"', page.decode(errors="replace"))))
        paths += ["/assets/dygraphs-copyright.txt", "/metrics", "/api/v1/overview"]
        paths += ["/api/v1/top?by=%s" % b for b in ("key", "src_addr", "dst_addr", "proto_port", "exporter")]
        for p in dict.fromkeys(paths):
            get(p)
        # Every stream's page, every page of the list.
        status, body = get("/api/v1/exporters")
        for i in ids(body, "exporters"):
            get("/api/v1/exporters/" + i)
        status, body = get("/api/v1/capture")
        if status == 200:
            for i in ids(body, "streams"):
                get("/api/v1/capture/%s.pcap" % i)
        stats["rounds"] += 1
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            f.write(" ".join("%s=%d" % kv for kv in stats.items()) + "\n")
        os.replace(tmp, out)
        time.sleep(max(0.0, every - (time.monotonic() - t0)))


# ---- the systems' outputs ----------------------------------------------------------
def csv_sum(column, files):
    total = 0
    for name in files:
        with open(name, newline="") as f:
            for row in csv.DictReader(f):
                total += int(row.get(column) or 0)
    return total


def delivered(system, d):
    if system == "floor":
        with open(os.path.join(d, "stdout")) as f:
            m = re.search(r"^floor: .* records (\d+) ", f.read(), re.M)
        return int(m.group(1)) if m else 0
    if system == "nfcapd":
        r = subprocess.run(["nfdump", "-R", os.path.join(d, "out"), "-I"], capture_output=True,
                           text=True)
        m = re.search(r"^Flows: (\d+)", r.stdout, re.M)
        return int(m.group(1)) if m else 0
    # A forward-only ringflow aggregates nothing: bench.sh writes what it
    # forwarded (datagrams sent to its target x records per datagram).
    forwarded = os.path.join(d, "forwarded_flows")
    if os.path.exists(forwarded):
        with open(forwarded) as f:
            return int(f.read().strip() or 0)
    out = os.path.join(d, "out")
    files = [os.path.join(out, f) for f in sorted(os.listdir(out)) if f.endswith(".csv")] \
        if os.path.isdir(out) else []
    # sfacctd runs without renormalisation: its PACKETS are the flow samples.
    column = {"nfacctd": "FLOWS", "sfacctd": "PACKETS"}.get(system, "flows")
    return csv_sum(column, files)


def truth(path, column):
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if row[next(iter(row))] == "total":
                    return int(row[column])
    except (OSError, KeyError, StopIteration):
        pass
    return 0


# ---- rows ---------------------------------------------------------------------------
STEP_COLS = ("step_pps,system,order,offered_dps,send_s,sent_datagrams,sent_flows,delivered_flows,"
             "delivered_pct,loss_pct,socket_drops,rcvbuf_errors,cpu_s,peak_rss_kb,exit,note").split(",")
DRAIN_COLS = ("run,system,sent_datagrams,queued_bytes,drain_s,delivered_flows,delivered_pct,"
              "drained_dps,peak_rss_kb,rss_kb,reactor_ns,worker_ns,other_ns,worker_flows,"
              "enobufs,keys,load_start,load_end,other_cpus,noisy,exit,note").split(",")


def kv(args):
    d = {}
    for a in args:
        k, _, v = a.partition("=")
        d[k] = v
    return d


def num(s, default=0.0):
    try:
        return float(s)
    except (TypeError, ValueError):
        return default


def append_row(path, cols, row):
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow(row)


def note_add(row, text):
    row["note"] = "; ".join(x for x in (row.get("note", ""), text) if x)


def step_row(path, a):
    """a: step_pps system order sent_datagrams sent_flows delivered_flows send_s gen_rate
    socket_drops rcvbuf_errors time_user_s time_sys_s tree_cpu_s time_rss_kb tree_hwm_kb exit
    note. CPU: the larger of /usr/bin/time's (reaped children) and the live tree's."""
    row = dict(a)
    sent_f = int(num(a.get("sent_flows")))
    got = int(num(a.get("delivered_flows")))
    send_s = num(a.get("send_s"))
    # The generator's own figure (datagrams over its sending time); else over
    # the wall time around it, which also counts its start-up.
    offered = num(a.get("gen_rate")) or (num(a.get("sent_datagrams")) / send_s if send_s else 0)
    pct = 100.0 * got / sent_f if sent_f else 0.0
    row.update(offered_dps="%.0f" % offered, delivered_pct="%.3f" % pct,
               loss_pct="%.3f" % (100.0 - pct),
               cpu_s="%.2f" % max(num(a.get("time_user_s")) + num(a.get("time_sys_s")),
                                  num(a.get("tree_cpu_s"))),
               peak_rss_kb="%d" % max(num(a.get("time_rss_kb")), num(a.get("tree_hwm_kb"))))
    if got > sent_f:
        note_add(row, "more flows than sent")
    append_row(path, STEP_COLS, row)
    print("%-16s step %-6s offered %7s dg/s  delivered %8s %%  sock drops %8s  cpu %6s s  rss %7s kB%s"
          % (row["system"], row["step_pps"], row["offered_dps"], row["delivered_pct"],
             row.get("socket_drops") or 0, row["cpu_s"], row["peak_rss_kb"],
             "  (%s)" % row["note"] if row.get("note") else ""))


def thread_ns(before, after, datagrams):
    """Per-role CPU ns per datagram from two `threads` snapshots (files)."""
    def load(p):
        d = {}
        try:
            with open(p) as f:
                for line in f:
                    t, name, ns = line.split()
                    d[t] = (name, int(ns))
        except OSError:
            pass
        return d
    b, e = load(before), load(after)
    roles = {"reactor": 0, "worker": 0, "other": 0}
    for t, (name, ns) in e.items():
        spent = ns - b.get(t, (name, 0))[1]
        role = "reactor" if name.startswith("rf-reactor") else \
            "worker" if name.startswith("rf-worker") else "other"
        roles[role] += spent
    out = {k: ("%.0f" % (v / datagrams) if datagrams and (v or k == "other") else "")
           for k, v in roles.items()}
    out["total_s"] = sum(roles.values()) / 1e9
    return out


def drain_row(path, a):
    """a: run system sent_datagrams queued_bytes drain_s delivered_flows sent_flows records
    hwm_kb threads_before threads_after metrics exit note."""
    row = dict(a)
    sent_d = int(num(a.get("sent_datagrams")))
    sent_f = int(num(a.get("sent_flows")))
    got = int(num(a.get("delivered_flows")))
    secs = num(a.get("drain_s"))
    records = num(a.get("records"), 30) or 30
    # Datagrams delivered: the delivered share of the datagrams sent. (flows /
    # records would count v9/IPFIX datagrams short: templates, options and
    # IPv6 records take room, so they carry fewer than `records` flows.)
    got_d = sent_d * got / sent_f if sent_d and sent_f else got / records
    row.update(delivered_pct="%.3f" % (100.0 * got / sent_f if sent_f else 0),
               drained_dps="%.0f" % (got_d / secs if secs else 0),
               peak_rss_kb=a.get("hwm_kb", ""), rss_kb=a.get("rss_kb", ""))
    if a.get("threads_before"):
        ns = thread_ns(a["threads_before"], a["threads_after"], sent_d)
        row.update(reactor_ns=ns["reactor"], worker_ns=ns["worker"], other_ns=ns["other"])
        # What else ran on the box meanwhile, in CPUs: its busy time over the
        # drain minus the system's own threads' (this script's polling counts).
        box = num(a.get("busy_s"), -1)
        if box >= 0 and secs > 0:
            other = max(0.0, box - ns["total_s"]) / secs
            row["other_cpus"] = "%.2f" % other
            limit = num(a.get("noisy"), 0.25)
            row["noisy"] = "1" if other > limit else "0"
            if other > limit:
                note_add(row, "noisy: %.2f other CPUs" % other)
    m = re.search(r"worker_flows=(\S*) enobufs=(\d+) keys=(\d+)", a.get("metrics", ""))
    if m:
        row.update(worker_flows=m.group(1), enobufs=m.group(2), keys=m.group(3))
    append_row(path, DRAIN_COLS, row)
    print("%-16s drain %s: %7s datagrams in %6s s: %7s dg/s delivered (%s %% of sent), rss %s kB, "
          "load %s, other %s CPUs%s%s%s" % (row["system"], row["run"], sent_d, a.get("drain_s"),
                      row["drained_dps"], row["delivered_pct"], row.get("peak_rss_kb") or "-",
                      row.get("load_start") or "-", row.get("other_cpus") or "-",
                      ", reactor %s ns/dg" % row["reactor_ns"] if row.get("reactor_ns") else "",
                      ", worker %s ns/dg" % row["worker_ns"] if row.get("worker_ns") else "",
                      "  (%s)" % row["note"] if row.get("note") else ""))


# ---- report -------------------------------------------------------------------------
def rate(x):
    return "%.1f k" % (x / 1000) if x >= 1000 else "%d" % x


def mb(kb):
    return "%.0f MB" % (kb / 1024)


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            if k:
                parts = shlex.split(v)
                env[k] = parts[0] if parts else ""
    return env


def lossless(runs):
    """Lossless rate of one system's step runs: the highest offered load with <= 0.1 %
    loss below every load it lost at (so that one lucky step above a lossy one does not
    count: nfcapd took 98 k and lost at 61 k in one run). Returns (rate, step, censored,
    lowest lossy load or None). Censored: lost at no step (a lower bound)."""
    ok = [r for r in runs if r["exit"] != "nostart"]
    lossy = [num(r["offered_dps"]) for r in ok if num(r["loss_pct"]) > 0.1]
    floor_lossy = min(lossy) if lossy else None
    best, step = 0.0, None
    for r in ok:
        off = num(r["offered_dps"])
        if num(r["loss_pct"]) <= 0.1 and (floor_lossy is None or off < floor_lossy) and off > best:
            best, step = off, r["step_pps"]
    return best, step, floor_lossy is None and best > 0, floor_lossy


def median_range(xs):
    return statistics.median(xs), min(xs), max(xs)


def report(d):
    env = read_env(os.path.join(d, "run.env"))
    steps_rows = read_csv(os.path.join(d, "results.csv"))
    drain_rows = read_csv(os.path.join(d, "drain.csv"))
    systems = env.get("systems", "").split()
    dsystems = env.get("drain_systems", "").split()
    steps = []
    for r in steps_rows:
        if r["step_pps"] not in steps:
            steps.append(r["step_pps"])
    by = {}
    for r in steps_rows:
        by.setdefault(r["system"], {})[r["step_pps"]] = r
    out = []
    p = out.append
    p("# ringflow load benchmark: delivered vs offered\n")
    p("**Machine:** %s. **Load average** (1/5/15 min) at start -> end: %s -> %s. %s, ringflow %s.\n"
      % (env.get("machine"), env.get("load_start"), env.get("load_end"), env.get("run_date"),
         env.get("commit")))
    ll = {}
    if steps_rows:
        p("Generator ringflow-gen pinned to CPU 1, system under test to CPU 0; %s records per "
          "datagram, %s distinct 5-tuples (Zipf 1.1); socket buffer %s bytes asked by every "
          "system (the kernel doubles it); %s s per step; for each step every system runs once, "
          "in an order rotated from step to step. Cells: delivered flows in %% of the flows sent "
          "(from the system's own output) / CPU seconds of the system (whole run) / peak RSS. "
          "Lossless rate: the highest offered load (datagrams/s) with <= 0.1 %% loss below every "
          "load with more loss; >= marks a system that lost at no step (a lower bound: the "
          "generator stopped there).\n" % (env.get("records"), env.get("keys"), env.get("rcvbuf"),
                                           env.get("duration")))
        p("| system | lossless rate (datagrams/s) | CPU per flow at that step | "
          + " | ".join(s + ("" if s == "max" else "/s") for s in steps) + " |")
        p("|---|---:|---:|" + "---:|" * len(steps))
        for sy in systems:
            if sy not in by:
                continue
            best, step, censored, lossy_at = lossless(list(by[sy].values()))
            ll[sy] = (best, censored, step)
            if best > 0:
                r = by[sy][step]
                cell = "**%s%s** (step %s)" % (">= " if censored else "", rate(best), step)
                if lossy_at is not None:
                    cell += "; lost > 0.1 %% at %s" % rate(lossy_at)
                flows = num(r["delivered_flows"])
                cpf = "%.0f ns" % (1e9 * num(r["cpu_s"]) / flows) if flows else "-"
                ll[sy] += (1e9 * num(r["cpu_s"]) / flows if flows else 0,)
            else:
                cell, cpf = "none", "-"
                ll[sy] += (0,)
            cells = []
            for st in steps:
                r = by[sy].get(st)
                if r is None:
                    cells.append("-")
                elif r["exit"] == "nostart":
                    cells.append("did not start")
                else:
                    c = "%.2f %% / %.1f s / %s" % (num(r["delivered_pct"]), num(r["cpu_s"]),
                                                   mb(num(r["peak_rss_kb"])))
                    cells.append("*%s*" % c if num(r["loss_pct"]) > 0.1 else c)
            p("| %s | %s | %s | %s |" % (sy, cell, cpf, " | ".join(cells)))
        p("\nOffered load actually achieved (datagrams/s, measured per run; the generator has "
          "one core):\n")
        p("| system | " + " | ".join(steps) + " |")
        p("|---|" + "---:|" * len(steps))
        for sy in systems:
            if sy in by:
                p("| %s | %s |" % (sy, " | ".join(rate(num(by[sy][s]["offered_dps"]))
                                                  if s in by[sy] else "-" for s in steps)))
        p("\nKernel drops per step: the socket's drops column in /proc/net/udp / the Udp "
          "RcvbufErrors delta of /proc/net/snmp over the run (box-wide: it also counts other "
          "processes' sockets, so only the first figure is the system's):\n")
        p("| system | " + " | ".join(steps) + " |")
        p("|---|" + "---:|" * len(steps))
        for sy in systems:
            if sy in by:
                p("| %s | %s |" % (sy, " | ".join(
                    "%s / %s" % (by[sy][s]["socket_drops"], by[sy][s]["rcvbuf_errors"])
                    if s in by[sy] else "-" for s in steps)))
        p("")
    drained = {}
    dn = {}
    noisy_n = {}
    for r in drain_rows:
        if r["exit"] != "nostart":
            dn.setdefault(r["system"], []).append(r)
    # The medians use a system's quiet rows when it has any (bench.sh runs a
    # noisy row again); how many were noisy is shown beside them.
    for sy, rs in dn.items():
        quiet = [r for r in rs if r.get("noisy") != "1"]
        noisy_n[sy] = len(rs) - len(quiet) if quiet else len(rs)
        if quiet:
            dn[sy] = quiet
    if dn:
        p("Capacity by drain (each system frozen, its socket filled, then thawed; delivered "
          "datagrams / time until its socket is empty; no generator running meanwhile). Median "
          "of the runs, (min .. max). CPU per datagram: the threads' CPU time over the drain "
          "(/proc/PID/task/*/schedstat) / datagrams; `other` is every other thread (the flusher "
          "and sinks, or the whole process for the others). Peak RSS: VmHWM over the process "
          "tree.\n")
        p("Runs: the quiet runs the medians use, and (+N noisy) the runs left out because "
          "something else took more than %s CPUs of the box meanwhile; (all noisy): no run was "
          "quiet, and the medians use them all. Load: the 1-minute load average at the drains' starts, min .. max.\n"
          % env.get("noisy", "0.25"))
        p("| system | what | datagrams queued | runs | load | delivered | drained rate "
          "(datagrams/s) | vs floor | reactor ns/dg | worker ns/dg | other ns/dg | RSS after / "
          "peak | keys | records per worker |")
        p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for sy in dsystems:
            if sy in dn:
                drained[sy] = median_range([num(r["drained_dps"]) for r in dn[sy]])
        for sy in dsystems:
            if sy not in dn:
                continue
            rs = dn[sy]
            med, lo, hi = drained[sy]
            fl = drained.get("floor", (0,))[0]

            def mid(col):
                xs = [num(r[col]) for r in rs if r.get(col)]
                return "%.0f" % statistics.median(xs) if xs else "-"
            hwm = [num(r["peak_rss_kb"]) for r in rs if r.get("peak_rss_kb")]
            rss = [num(r["rss_kb"]) for r in rs if r.get("rss_kb")]
            mem = "%s / %s" % (mb(max(rss)) if rss else "-", mb(max(hwm)) if hwm else "-")
            split = [r["worker_flows"] for r in rs if r.get("worker_flows")]
            loads = [num(r["load_start"]) for r in rs if r.get("load_start")]
            p("| %s | %s | %s | %d%s | %s | %.2f %% | **%s** (%s .. %s) | %s | %s | %s | %s | %s | %s | %s |"
              % (sy, describe(sy), rs[0]["sent_datagrams"], len(rs),
                 "" if not noisy_n.get(sy) else
                 " (all noisy)" if noisy_n[sy] == len(rs) else " (+%d noisy)" % noisy_n[sy],
                 "%.2f .. %.2f" % (min(loads), max(loads)) if loads else "-",
                 statistics.median(num(r["delivered_pct"]) for r in rs), rate(med), rate(lo),
                 rate(hi), "%.0f %%" % (100 * med / fl) if fl else "-", mid("reactor_ns"),
                 mid("worker_ns"), mid("other_ns"), mem, mid("keys"),
                 split[-1].replace("/", " / ") if split else "-"))
        p("")
    rev = env.get("compare_rev")
    if rev and drained:
        p("Against %s (--compare; the same rotation, the same generator): median drained rate "
          "of each ringflow system and of its %s build, and their ratio.\n" % (rev, rev))
        p("| system | this tree (datagrams/s) | %s | this / %s |" % (rev, rev))
        p("|---|---:|---:|---:|")
        for sy in dsystems:
            twin = sy + "@" + rev
            if "@" in sy or sy not in drained or twin not in drained:
                continue
            a, b = drained[sy][0], drained[twin][0]
            p("| %s | %s | %s | %s |" % (sy, rate(a), rate(b), "%.3f" % (a / b) if b else "-"))
        p("")
    p("Targets (issue 15; same run):\n")
    for line in targets(ll, drained, dn):
        p("- " + line)
    notes = [(r["system"], r["step_pps"], r["note"]) for r in steps_rows if r.get("note")]
    notes += [(r["system"], "drain " + r["run"], r["note"]) for r in drain_rows if r.get("note")]
    if notes:
        p("\nNotes:\n")
        for sy, at, n in notes:
            p("- %s at %s: %s" % (sy, at, n))
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    # Plot data: one block per system, "offered delivered" sorted by offered load.
    blocks = []
    for sy in systems:
        if sy not in by:
            continue
        pts = sorted((num(r["offered_dps"]), num(r["offered_dps"]) * num(r["delivered_pct"]) / 100)
                     for r in by[sy].values() if r["exit"] != "nostart")
        blocks.append('"%s"\n' % sy + "".join("%d %d\n" % xy for xy in pts))
    with open(os.path.join(d, "delivered.dat"), "w") as f:
        f.write("\n\n".join(blocks))


DESCRIPTIONS = {
    "floor": "recvmmsg, count only, 1 CPU",
    "ringflow": "1 CPU",
    "ringflow-coarse": "1 CPU, coarse key, CSV only",
    "nfcapd": "1 CPU",
    "nfacctd": "1 CPU",
    "ringflow-2cpu": "reactor on CPU 0, worker on CPU 1",
    "ringflow-2cpu-warm": "the same, second drain of one process",
    "ringflow-2w": "1 reactor + 2 workers on 2 CPUs",
    "ringflow-1m": "reactor CPU 0, worker CPU 1, 1 M keys",
    "ringflow-1m-warm": "the same, second drain of one process",
    "ringflow-64x": "64 exporters, 2 reactors + 1 worker on 2 CPUs",
    "ringflow-v9": "1 CPU, NetFlow v9 (IPv4)",
    "ringflow-ipfix": "1 CPU, IPFIX (half the keys IPv6)",
    "nfcapd-v9": "1 CPU, NetFlow v9 (IPv4)",
    "nfcapd-ipfix": "1 CPU, IPFIX (half the keys IPv6)",
    "ringflow-sflow": "1 CPU, sFlow v5 (raw headers, half the keys IPv6)",
    "sfcapd": "1 CPU, sFlow v5 (nfdump)",
    "sfacctd": "1 CPU, sFlow v5 (pmacct)",
    "ringflow-forward": "1 CPU, collecting + [[forward]] replicate to one local target",
    "ringflow-2cpu-fwdonly": "2 CPUs, forward only (no sink, no worker): datagrams forwarded",
    "ringflow-polled": "1 CPU, as ringflow, while a client GETs every web page and API endpoint "
                       "once a second",
}


def describe(system):
    """The DESCRIPTIONS line of a system; SYSTEM@REV: the same, built from REV."""
    base, _, rev = system.partition("@")
    d = DESCRIPTIONS.get(base, "")
    return "%s; built from %s" % (d, rev) if rev else d


def targets(ll, drained, dn):
    """The issue's targets, each with the measured value and met / missed by how much."""
    out = []

    def d(sy):
        return drained.get(sy, (0,))[0]

    def vs(label, a, b, want, pct=True):
        if d(a) <= 0 or d(b) <= 0:
            return
        r = d(a) / d(b)
        shown = "%.0f %%" % (100 * r) if pct else "%.1fx" % r
        goal = "%.0f %%" % (100 * want) if pct else "%.1fx" % want
        miss = ("%.0f points" % (100 * (want - r))) if pct else ("%.1fx" % (want - r))
        out.append("%s: %s (target >= %s): %s" % (label, shown, goal,
                                                   "met" if r >= want else "missed by " + miss))
    vs("drain, 2 CPUs (reactor and worker each on its own CPU), 100 k keys / floor",
       "ringflow-2cpu", "floor", 0.80)
    vs("drain, 2 CPUs, 1 M keys / floor", "ringflow-1m", "floor", 0.50)
    vs("drain, 2 CPUs, 1 M keys, warm (second drain of one process) / floor", "ringflow-1m-warm",
       "floor", 0.50)
    vs("drain, 1 CPU / floor", "ringflow", "floor", 0.60)
    vs("drain, 1 CPU / nfcapd", "ringflow", "nfcapd", 2.3, pct=False)
    vs("drain, 1 CPU / nfacctd", "ringflow", "nfacctd", 13.0, pct=False)
    vs("drain, 1 CPU, sFlow / sfcapd", "ringflow-sflow", "sfcapd", 3.0, pct=False)
    vs("drain, 1 CPU, sFlow / sfacctd", "ringflow-sflow", "sfacctd", 10.0, pct=False)
    vs("drain, 1 CPU, sFlow / v5 (datagrams/s)", "ringflow-sflow", "ringflow", 0.90)
    vs("drain, 1 CPU, collecting + replicate / collecting (issue 28: cost <= 10 %)",
       "ringflow-forward", "ringflow", 0.90)
    vs("drain, 2 CPUs, forward only / floor (issue 28)", "ringflow-2cpu-fwdonly", "floor", 0.80)
    # Issue 24: serving the web view costs the collection path nothing
    # measurable: the drained rate within 3 % (this box's run-to-run spread),
    # and the reactor's and worker's CPU per datagram beside it (the
    # listener's own thread is in `other`).
    vs("drain, 1 CPU, web view polled every second / not polled (issue 24: nothing measurable, "
       ">= 97 %)", "ringflow-polled", "ringflow", 0.97)
    if "ringflow-polled" in dn and "ringflow" in dn:
        def path_ns(sy):
            xs = [num(r["reactor_ns"]) + num(r["worker_ns"]) for r in dn[sy]
                  if r.get("reactor_ns") and r.get("worker_ns")]
            return statistics.median(xs) if xs else 0
        a, b = path_ns("ringflow-polled"), path_ns("ringflow")
        if a and b:
            out.append("reactor + worker CPU per datagram, polled / not polled (issue 24): %.0f / "
                       "%.0f ns = %.3f" % (a, b, a / b))
    if "ringflow" in ll:
        best, censored, step, cpf = ll["ringflow"]
        out.append("ringflow lossless at every stepped load: %s" % (
            "yes (>= %s datagrams/s, the generator's top)" % rate(best) if censored
            else "no: lossless up to %s datagrams/s only" % rate(best)))
        if "nfcapd" in ll and ll["nfcapd"][3] > 0 and cpf > 0:
            r = ll["nfcapd"][3] / cpf
            out.append("CPU per flow at the lossless step, nfcapd / ringflow: %.1fx (%.0f vs %.0f "
                       "ns; target >= 3x): %s" % (r, ll["nfcapd"][3], cpf,
                                                 "met" if r >= 3 else "missed by %.1fx" % (3 - r)))
    if "ringflow-2w" in dn:
        splits = [r["worker_flows"] for r in dn["ringflow-2w"] if r.get("worker_flows")]
        worst = 0.0
        for s in splits:
            f = [int(x) for x in s.split("/") if x]
            if len(f) >= 2 and max(f) > 0:
                worst = max(worst, (max(f) - min(f)) / max(f))
        if splits:
            out.append("one exporter, 2 workers: flows per worker differ by at most %.1f %% "
                       "(target <= 20 %%): %s" % (100 * worst, "met" if worst <= 0.2 else "missed"))
    for sy, limit in (("ringflow-2cpu", 64 << 10), ("ringflow-1m", None)):
        rs = [r for r in dn.get(sy, []) if r.get("peak_rss_kb")]
        if not rs:
            continue
        peak = max(num(r["peak_rss_kb"]) for r in rs)
        after = max(num(r.get("rss_kb")) for r in rs)
        keys = max(num(r.get("keys")) for r in rs)
        if limit:
            out.append("RSS at %.0f k keys (%s): %s after the drain, %s at its peak (target <= "
                       "64 MB): %s" % (keys / 1000, sy, mb(after), mb(peak),
                                       "met" if peak <= limit else
                                       "missed by %s" % mb(peak - limit)))
        elif keys:
            rows_kb = keys * 64 / 1024  # one 64-byte row (key + counters) per live key
            out.append("RSS at %.2f M keys (%s): %s after the drain = %.1fx the live rows' %s "
                       "(keys x 64 B), %s = %.1fx at its peak (target <= 2x): %s"
                       % (keys / 1e6, sy, mb(after), after / rows_kb, mb(rows_kb), mb(peak),
                          peak / rows_kb, "met" if peak <= 2 * rows_kb else
                          "missed by %s" % mb(peak - 2 * rows_kb)))
    for fresh, keys in (("ringflow-2cpu", "100 k"), ("ringflow-1m", "1 M")):
        if d(fresh) > 0 and d(fresh + "-warm") > 0:
            r = d(fresh) / d(fresh + "-warm")
            out.append("first interval vs steady state at %s keys (fresh / warm drain, 2 CPUs): "
                       "%.0f %% (target 100 %%)" % (keys, 100 * r))
    # v9/IPFIX: no target of their own; the v5 targets' ratios, for comparison.
    for proto in ("v9", "ipfix"):
        r, n, v5 = d("ringflow-" + proto), d("nfcapd-" + proto), d("ringflow")
        if r > 0 and v5 > 0:
            out.append("drain, 1 CPU, %s: %.0f %% of v5's datagram rate" % (proto, 100 * r / v5))
        if r > 0 and n > 0:
            out.append("drain, 1 CPU, %s: %.1fx nfcapd on the same feed (v5's target: 2.3x)"
                       % (proto, r / n))
    return out


# ---- main ---------------------------------------------------------------------------
def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    cmd, args = argv[1], argv[2:]
    if cmd == "sock":
        s = sock(int(args[0]))
        if s:
            print("%d %d" % s)
    elif cmd == "wait-empty":
        port = int(args[0])
        opt = kv(a.lstrip("-") for a in args[1:])
        poll, quiet, timeout = num(opt.get("poll"), 0.005), int(num(opt.get("quiet"), 1)), \
            num(opt.get("timeout"), 60)
        # --thaw=PID,PID: SIGCONT them first, so that the time runs from the thaw.
        for p in filter(None, opt.get("thaw", "").split(",")):
            try:
                os.kill(int(p), signal.SIGCONT)
            except OSError:
                pass
        t0 = time.monotonic()
        b0 = busy_s()
        seen = 0
        while time.monotonic() - t0 < timeout:
            s = sock(port)
            seen = seen + 1 if not s or s[0] == 0 else 0
            if seen >= quiet:
                print("%.3f" % (time.monotonic() - t0))
                if opt.get("busy-out"):
                    with open(opt["busy-out"], "w") as f:
                        f.write("%.3f\n" % (busy_s() - b0))
                return 0
            time.sleep(poll)
        print("%.3f" % (time.monotonic() - t0))
        return 3
    elif cmd == "last-noisy":
        rows = [r for r in read_csv(args[0]) if r["system"] == args[1]]
        return 0 if rows and rows[-1].get("noisy") == "1" else 1
    elif cmd == "rcvbuf-errors":
        print(rcvbuf_errors())
    elif cmd == "tree":
        print("%.2f %d %d" % tree(int(args[0])))
    elif cmd == "threads":
        for t, name, ns in threads(int(args[0])):
            print(t, name.replace(" ", "_"), ns)
    elif cmd == "metrics":
        try:
            print(metrics(args[0]))
        except OSError as e:
            print("metrics unavailable: %s" % e)
    elif cmd == "poll":
        opt = kv(a.lstrip("-") for a in args[1:])
        poll_view(args[0], opt["out"], num(opt.get("every"), 1.0))
    elif cmd == "delivered":
        print(delivered(args[0], args[1]))
    elif cmd == "truth":
        print(truth(args[0], args[1]))
    elif cmd == "step-row":
        step_row(args[0], kv(args[1:]))
    elif cmd == "drain-row":
        drain_row(args[0], kv(args[1:]))
    elif cmd == "report":
        report(args[0])
    else:
        print("bench_tool.py: unknown command %r (see --help)" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
