#!/usr/bin/env bash
# Side-by-side load benchmark: the receive floor, ringflow (two setups), nfcapd
# and nfacctd, fed by the same ringflow-gen at stepped offered loads, with the
# generator's ground truth. Writes results.csv, results.md (Markdown table with
# the machine's description) and delivered.png (gnuplot) to the output dir.
# How to read the results, and the latest ones: docs/performance.md.
#
#   scripts/bench.sh [--quick] [--out DIR] [--steps "10000 20000 max"] [--duration S]
#                    [--systems "floor ringflow ringflow-coarse nfcapd nfacctd"]
#                    [--keys N] [--rcvbuf BYTES] [--drain-count N] [--drain-runs N]
#                    [--drain-rcvbuf BYTES] [--drain-systems "... ringflow-2cpu ringflow-2w"]
#                    [--build-dir DIR] [--no-build] [--compare REV]
#                    [--noisy CPUS] [--retries N]
#   scripts/bench.sh --micro [RUNS]     every microbenchmark in bench/ (not the floor)
#   scripts/bench.sh --report [--out DIR]   re-render results.md and the plot from DIR
#
# Must run as root: it installs the Debian packages it needs (nfdump, pmacct,
# gnuplot-nox) when missing, and raises net.core.rmem_max to --rcvbuf so that
# every system gets the same socket buffer (ringflow and the floor use
# SO_RCVBUFFORCE, nfcapd and nfacctd plain SO_RCVBUF, which rmem_max caps);
# the old value is restored on exit.
#
# Method (see docs/performance.md): the system under test is pinned to CPU 0,
# the generator to CPU 1. For each load step every system runs once, in an
# order rotated from step to step, so drift (other load on the box, thermal)
# hits everyone alike. A run: start the system, wait until its port is bound,
# send for --duration seconds, wait until its socket is drained, stop it
# gracefully, count what it delivered from its own output (CSV rows, nfdump
# totals, the floor's count) against the generator's truth. CPU seconds and
# peak RSS come from /usr/bin/time (all reaped descendants included) and from
# /proc (the process tree, sampled before the stop); the larger of each pair
# is kept. Kernel drops: the socket's drops column of /proc/net/udp, and the
# Udp RcvbufErrors delta of /proc/net/snmp (box-wide, so other processes'
# drops would show there too).
#
# Then the capacity test (--drain-count datagrams, 0 skips it): each system,
# frozen with SIGSTOP, gets its socket (--drain-rcvbuf, default 1 GiB) filled,
# is thawed, and the time until its socket is empty gives the rate it takes on
# its core when no generator shares the box's other core with it -- what the
# stepped loads cannot show once the generator's core is the limit. Each
# system drains --drain-runs times (interleaved); the table gives the median,
# the CPU time of its reactor and worker threads per datagram (schedstat),
# its peak RSS and, for ringflow, how its workers shared the records.
# Drain-only systems (all in --drain-systems by default), each ringflow with
# the default configuration but for what its name says:
#   ringflow-2cpu       both CPUs: reactor pinned to CPU 0, worker to CPU 1
#   ringflow-2cpu-warm  the same, timing the second drain of one process
#                       (the first interval's growth and page faults done)
#   ringflow-2w         one exporter, 1 reactor + 2 workers on 2 CPUs
#   ringflow-1m         as ringflow-2cpu with 1 M keys (uniform: every key live)
#   ringflow-1m-warm    the same, timing the second drain of one process
#   ringflow-64x        64 exporters, 2 reactors + 1 worker on 2 CPUs
#   ringflow-v9         1 CPU, NetFlow v9 (IPv4 keys, templates every 20 datagrams)
#   ringflow-ipfix      1 CPU, IPFIX, half the keys IPv6
#   nfcapd-v9, nfcapd-ipfix   nfcapd on the same two feeds
#   ringflow-sflow      1 CPU, sFlow v5 (flow samples with a raw Ethernet/IP
#                       header and extended switch/router/gateway records,
#                       ringflow-gen's defaults), half the keys IPv6
#   sfcapd, sfacctd     nfdump's and pmacct's sFlow collectors on that feed
#   ringflow-forward    1 CPU, the default collector + a [[forward]] replicating
#                       every datagram to one local target (a socket that is
#                       never read: the kernel takes each send, then drops it
#                       at the full buffer), against ringflow (issue 28)
#   ringflow-2cpu-fwdonly  2 CPUs, forward only (sink = [], no worker): the
#                       datagrams it sent to that target, against the floor
#   ringflow-polled     ringflow (1 CPU, the same configuration: the web view is
#                       on by default) while a client (bench_tool.py poll, on
#                       CPU 1 with this script) GETs every page and API endpoint
#                       of its metrics listener once a second, from before the
#                       freeze until the socket is empty: what serving the view
#                       costs the collection path (issue 24), as a ratio to
#                       ringflow in the same run. The listener's threads run
#                       where the process may (taskset: CPU 0, with the reactor
#                       and the worker); logs/ringflow-polled-drainN.affinity
#                       has every thread's CPUs, .polls the client's counts
# Results: drain.csv, and a table in results.md with the targets of issue 15.
#
# Noise (issue 25): every drain row records the load average at its start and
# end, and "other CPU": the box's busy CPU time over the drain (/proc/stat)
# minus the system's own threads' (schedstat), per second of drain -- what
# anything else on the box (a compiler, another test, this script's polling)
# took meanwhile. A row above --noisy CPUS (default 0.25) is marked noisy and
# run again, up to --retries times (default 2); the report's medians use the
# quiet rows of a system when it has any, and say how many noisy rows each
# system had.
#
# --compare REV: builds revision REV (any git revision) in a worktree of its
# own under the build directory's parent (build/compare-SHA, kept for the
# next run) and runs every ringflow system twice, as SYSTEM and SYSTEM@REV,
# next to each other in the same rotation, so that a claim "this change is
# N % faster" is a ratio from one run. The report adds a table of the medians
# and their ratio. The generator is this tree's for both.
#
# Every figure is computed by scripts/bench_tool.py (the statistics, the
# report and the plot data), from what this script collects.
#
# Env: RINGFLOW_BUILD_JOBS (default 2), RINGFLOW_BENCH_NICE (default -20).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# ---- options -------------------------------------------------------------------
quick=0 micro=0 micro_runs=5 build=1 report_only=0
out=$root/bench/results
build_dir=$root/build/release
steps="" duration=""
systems="floor ringflow ringflow-coarse nfcapd nfacctd"
keys=100000 records=30 rcvbuf=33554432
drain_count="" drain_rcvbuf=1073741824 drain_runs="" drain_systems=""
compare="" noisy=0.25 retries=2
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --micro) micro=1; if [[ ${2:-} =~ ^[0-9]+$ ]]; then micro_runs=$2; shift; fi ;;
    --out) out=$2; shift ;;
    --steps) steps=$2; shift ;;
    --duration) duration=$2; shift ;;
    --systems) systems=$2; shift ;;
    --keys) keys=$2; shift ;;
    --rcvbuf) rcvbuf=$2; shift ;;
    --drain-count) drain_count=$2; shift ;;
    --drain-rcvbuf) drain_rcvbuf=$2; shift ;;
    --drain-runs) drain_runs=$2; shift ;;
    --drain-systems) drain_systems=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --no-build) build=0 ;;
    --compare) compare=$2; shift ;;
    --noisy) noisy=$2; shift ;;
    --retries) retries=$2; shift ;;
    --report) report_only=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
# Steps in datagrams/s (30 records each); "max" = as fast as the generator can
# (on the reference box one generator core tops out between 90 k and 180 k
# datagrams/s, depending on what else runs there).
if [ -z "$steps" ]; then
  if [ $quick = 1 ]; then steps="20000 40000 60000 80000 100000 120000 max"
  else steps="10000 20000 30000 40000 60000 80000 100000 120000 140000 160000 max"; fi
fi
[ -n "$duration" ] || { [ $quick = 1 ] && duration=5 || duration=10; }
[ -n "$drain_count" ] || { [ $quick = 1 ] && drain_count=200000 || drain_count=400000; }
[ -n "$drain_runs" ] || { [ $quick = 1 ] && drain_runs=3 || drain_runs=5; }
[ -n "$drain_systems" ] ||
  drain_systems="$systems ringflow-2cpu ringflow-2cpu-warm ringflow-2w ringflow-1m ringflow-1m-warm ringflow-64x ringflow-v9 ringflow-ipfix nfcapd-v9 nfcapd-ipfix ringflow-sflow sfcapd sfacctd ringflow-forward ringflow-2cpu-fwdonly ringflow-polled"
jobs=${RINGFLOW_BUILD_JOBS:-2}

log() { echo "bench: $*" >&2; }

# render: results.md and delivered.png from $out/{results.csv,drain.csv,run.env}.
render() {
  local run_date="" commit=""  # set by run.env, like the run's parameters
  # shellcheck disable=SC1091
  . "$out/run.env"
  $btool report "$out"
  [ -s "$out/delivered.dat" ] || return 0
  gnuplot -e "datafile='$out/delivered.dat'; outfile='$out/delivered.png'; machine='$machine'" \
    "$root/scripts/bench_plot.gp"
}
die() { echo "bench: $*" >&2; exit 1; }
btool="python3 $root/scripts/bench_tool.py"

# ---- build -----------------------------------------------------------------------
configure() {
  if [ ! -f "$build_dir/build.ninja" ]; then
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
}

if [ $report_only = 1 ]; then
  [ -f "$out/run.env" ] || die "no run.env in $out: nothing to render"
  out=$(cd "$out" && pwd)
  render
  cat "$out/results.md"
  exit 0
fi

if [ $micro = 1 ]; then
  "$root/scripts/deps.sh"
  mapfile -t benches < <(cd "$root/bench" && ls -1 ./*_bench.cc | sed 's|^\./||; s|\.cc$||' |
                         grep -v '^receive_floor_bench$')
  if [ $build = 1 ]; then
    configure
    cmake --build "$build_dir" --target "${benches[@]}" -j "$jobs" >&2
  fi
  log "microbenchmarks, $micro_runs run(s) each; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for b in "${benches[@]}"; do
    echo "== $b"
    "$build_dir/bench/$b" "$micro_runs"
  done
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "run as root (rmem_max, package installs; see the header)"
"$root/scripts/deps.sh" gnuplot-nox nfdump pmacct
for tool in nfcapd nfdump nfacctd sfcapd sfacctd gnuplot taskset /usr/bin/time; do
  command -v "$tool" >/dev/null || die "missing $tool"
done
if [ $build = 1 ]; then
  configure
  cmake --build "$build_dir" --target ringflow ringflow-gen receive_floor_bench -j "$jobs" >&2
fi
build_dir=$(cd "$build_dir" && pwd)
ringflow=$build_dir/ringflow gen=$build_dir/ringflow-gen floor=$build_dir/bench/receive_floor_bench
for b in "$ringflow" "$gen" "$floor"; do [ -x "$b" ] || die "not built: $b"; done
# --compare REV: REV's collector, built from a worktree of its own (same
# compiler, same flags, Release), used by every SYSTEM@REV row.
base_ringflow="" compare_rev=""
if [ -n "$compare" ]; then
  compare_rev=$(git -C "$root" rev-parse --short "$compare^{commit}") || die "--compare: no revision '$compare'"
  cmp_src=$(dirname "$build_dir")/compare-$compare_rev-src cmp_build=$(dirname "$build_dir")/compare-$compare_rev
  if [ ! -d "$cmp_src" ]; then
    git -C "$root" worktree add --detach "$cmp_src" "$compare_rev" >&2 || die "--compare: cannot check out $compare_rev"
  fi
  [ -f "$cmp_build/build.ninja" ] || cmake -S "$cmp_src" -B "$cmp_build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$cmp_build" --target ringflow -j "$jobs" >&2 || die "--compare: $compare_rev does not build"
  base_ringflow=$cmp_build/ringflow
  log "compare: this tree ($(git -C "$root" rev-parse --short HEAD)) against $compare_rev ($base_ringflow)"
fi

# ---- machine state ---------------------------------------------------------------
[ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] || die "needs 2 CPUs (system under test on CPU 0, generator on CPU 1)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ringflow-bench.XXXXXX")
cd "$work"  # nothing is written to the caller's directory
old_rmem=$(cat /proc/sys/net/core/rmem_max)
sut_pid="" time_pid=""
cleanup() {
  # Only what this script started, by pid.
  [ -n "${discard_pid:-}" ] && kill "$discard_pid" 2>/dev/null || true
  [ -n "$sut_pid" ] && kill -KILL "$sut_pid" 2>/dev/null || true
  [ -n "$time_pid" ] && wait "$time_pid" 2>/dev/null || true
  echo "$old_rmem" >/proc/sys/net/core/rmem_max
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# SO_RCVBUF is capped at rmem_max (then doubled by the kernel); raising the cap
# to the asked size gives nfcapd and nfacctd what SO_RCVBUFFORCE gives ringflow.
if [ "$old_rmem" -lt "$rcvbuf" ]; then echo "$rcvbuf" >/proc/sys/net/core/rmem_max; fi

# This script's own work (polling /proc, starting processes) stays on the
# generator's CPU, away from the system under test.
taskset -pc 1 $$ >/dev/null
# Pinning keeps the system on CPU 0 but does not keep others off it: on a
# shared box a compiler landing on CPU 0 took 39 % of it during one step
# (perf record -C 0). The system under test and the generator run at nice
# -20, every system alike, so that they win the core (RINGFLOW_BENCH_NICE=0
# turns this off).
prio=(nice -n "${RINGFLOW_BENCH_NICE--20}")
# With the kernel's autogroup scheduling (sched_autogroup_enabled, the default
# on desktops and on this box) nice only ranks a task within its session:
# every other shell's build still gets an equal share of the CPU, and a
# measured drain then spent 2.1 of its 2.9 s waiting for a CPU (schedstat).
# So the system under test and the generator each run in a session of their
# own (setsid) whose autogroup gets the same nice value.
boost() {  # PID: give its autogroup the bench's nice value
  [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] || return 0
  echo "${RINGFLOW_BENCH_NICE--20}" >"/proc/$1/autogroup" 2>/dev/null || true
}
# run_gen CPU ARGS...: the generator on CPU, in a boosted session of its own.
run_gen() {
  local cpu=$1; shift
  setsid "${prio[@]}" taskset -c "$cpu" "$gen" "$@" &
  local p=$!
  boost "$p"
  wait "$p"
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
machine="$cpu_model, $(getconf _NPROCESSORS_ONLN) CPUs, Linux $(uname -r)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $machine; load $load_start"
log "steps: $steps (datagrams/s, $records records each), ${duration}s each; systems: $systems"

# ---- helpers -----------------------------------------------------------------------
# "rx_queue drops" of the socket bound to 127.0.0.1:PORT, or nothing.
udp_sock() { $btool sock "$1"; }
port_free() { [ -z "$(udp_sock "$1")" ]; }
tree() {  # pid and all descendants
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree "$c"; done
}

# ---- the systems -------------------------------------------------------------------
# start_<system> DIR PORT: the command line, written to DIR/cmd (one word a line).
cmd_floor() {
  printf '%s\n' "$floor" --listen "127.0.0.1:$2" --rcvbuf "$rcvbuf"
}
# ringflow_conf DIR PORT SINKS KEY [RECEIVE-LINES]: every other key at its
# default (aggregate.max_entries 1 M, interval 60 s, so that a run is one
# first interval; threads auto: 1 + 1 on this box). /metrics on a free
# loopback port, read at the end of a drain.
ringflow_conf() {
  cat >"$1/ringflow.toml" <<EOF
$3
[receive]
listen = ["127.0.0.1:$2"]
socket_buffer = $rcvbuf
${5:-}
[aggregate]
key = $4
[output]
directory = "$1/out"
[metrics]
listen = "127.0.0.1:0"
[log]
stats_interval = 0
EOF
}
five_tuple='["src_addr", "dst_addr", "src_port", "dst_port", "protocol"]'
# CPUs a system runs on: CPU 0, but for the drain-only ringflow-2cpu & co.
sut_cpus() { case "$1" in ringflow-2*|ringflow-1m*|ringflow-64x) echo 0,1 ;; *) echo 0 ;; esac; }
# Generator options of a system (drain only: the stepped runs use --keys).
gen_opts() {
  case "$1" in
    ringflow-1m*) echo --keys 1000000 --zipf 0 ;;
    ringflow-64x) echo --keys "$keys" --exporters 64 ;;
    *-v9) echo --keys "$keys" --protocol v9 ;;
    *-ipfix) echo --keys "$keys" --protocol ipfix --ipv6-share 0.5 ;;
    *-sflow|sfcapd|sfacctd) echo --keys "$keys" --protocol sflow --ipv6-share 0.5 ;;
    *) echo --keys "$keys" ;;
  esac
}
cmd_ringflow() {  # default 5-tuple key, default sinks (text summary + CSV)
  ringflow_conf "$1" "$2" "" "$five_tuple"
  printf '%s\n' "$ringflow" -c "$1/ringflow.toml"
}
cmd_ringflow-2cpu() {  # reactor and worker each on a CPU of its own
  ringflow_conf "$1" "$2" "" "$five_tuple" 'reactor_cpus = ["0"]
worker_cpus = ["1"]'
  printf '%s\n' "$ringflow" -c "$1/ringflow.toml"
}
cmd_ringflow-2cpu-warm() { cmd_ringflow-2cpu "$@"; }
cmd_ringflow-1m() { cmd_ringflow-2cpu "$@"; }
cmd_ringflow-1m-warm() { cmd_ringflow-2cpu "$@"; }
cmd_ringflow-2w() {  # one exporter spread over two workers
  ringflow_conf "$1" "$2" "" "$five_tuple" 'workers = 2'
  printf '%s\n' "$ringflow" -c "$1/ringflow.toml"
}
cmd_ringflow-64x() {  # many exporters: SO_REUSEPORT spreads them over 2 reactors
  ringflow_conf "$1" "$2" "" "$five_tuple" 'reactors = 2
workers = 1'
  printf '%s\n' "$ringflow" -c "$1/ringflow.toml"
}
# The same collector and the same keys in NetFlow v9 (IPv4) and in IPFIX (half
# the keys IPv6): what templates cost against v5 on one CPU, beside nfcapd.
cmd_ringflow-v9() { cmd_ringflow "$@"; }
cmd_ringflow-ipfix() { cmd_ringflow "$@"; }
cmd_nfcapd-v9() { cmd_nfcapd "$@"; }
cmd_nfcapd-ipfix() { cmd_nfcapd "$@"; }
# sFlow: ringflow with sflow enabled, and the two peers' sFlow collectors.
cmd_ringflow-sflow() {
  ringflow_conf "$1" "$2" '[decode]
versions = ["sflow"]' "$five_tuple"
  printf '%s\n' "$ringflow" -c "$1/ringflow.toml"
}
# Forwarding: the target is one UDP socket bound for the whole run and never
# read (discard_target, started before the runs, stopped by its PID at exit).
discard_port="" discard_pid=""
discard_target() {
  [ -n "$discard_port" ] && return 0
  local f
  f=$(mktemp)
  python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(86400)' >"$f" &
  discard_pid=$!
  for _ in $(seq 50); do [ -s "$f" ] && break; sleep 0.1; done
  discard_port=$(cat "$f")
  rm -f "$f"
  [ -n "$discard_port" ] || die "the forwarding target did not start"
}
forward_toml() {  # forward_toml DIR: the [[forward]] of both forwarding systems
  printf '[[forward]]\nname = "bench"\ntargets = ["127.0.0.1:%s"]\nmode = "replicate"\nencapsulation = "ringflow"\n' \
    "$discard_port" >>"$1/ringflow.toml"
}
cmd_ringflow-polled() { cmd_ringflow "$@"; }  # the client is started by run_drain
cmd_ringflow-forward() {
  ringflow_conf "$1" "$2" "" "$five_tuple"
  forward_toml "$1"
  printf '%s\n' "$ringflow" -c "$1/ringflow.toml"
}
cmd_ringflow-2cpu-fwdonly() {
  ringflow_conf "$1" "$2" "sink = []" "$five_tuple" 'reactor_cpus = ["0"]'
  forward_toml "$1"
  printf '%s\n' "$ringflow" -c "$1/ringflow.toml"
}
cmd_sfcapd() {
  mkdir -p "$1/out"
  printf '%s\n' sfcapd -B "$rcvbuf" -b 127.0.0.1 -p "$2" -w "$1/out" -t 60
}
cmd_sfacctd() {
  # As nfacctd (pipe sizes, cache), without renormalisation: PACKETS then
  # counts the flow samples, which is what delivered() compares.
  mkdir -p "$1/out"
  cat >"$1/sfacctd.conf" <<EOF
daemonize: false
sfacctd_ip: 127.0.0.1
sfacctd_port: $2
sfacctd_pipe_size: $rcvbuf
plugin_pipe_size: 134217728
plugin_buffer_size: 131072
aggregate: src_host, dst_host, src_port, dst_port, proto
plugins: print
print_output: csv
print_output_file: $1/out/flows-%s.csv
print_refresh_time: 5
print_cache_entries: 65537
logfile: $1/sfacctd.log
EOF
  printf '%s\n' sfacctd -f "$1/sfacctd.conf"
}
cmd_ringflow-coarse() {  # coarse key, CSV only (no text summary, no flow printing)
  ringflow_conf "$1" "$2" 'sink = [{ type = "csv", name = "csv" }]' '["protocol", "dst_port"]'
  printf '%s\n' "$ringflow" -c "$1/ringflow.toml"
}
cmd_nfcapd() {
  mkdir -p "$1/out"
  printf '%s\n' nfcapd -B "$rcvbuf" -b 127.0.0.1 -p "$2" -w "$1/out" -t 60
}
cmd_nfacctd() {
  mkdir -p "$1/out"
  # The plugin pipe: pmacct's default (4 MB, unbuffered) loses records between
  # its core and plugin processes at a few thousand datagrams/s on this box;
  # 128 MB with 128 KB buffers (the 1:1000 ratio CONFIG-KEYS recommends) does
  # not. The cache: 65537 buckets x ~10 deep holds the 100 k keys.
  cat >"$1/nfacctd.conf" <<EOF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $2
nfacctd_pipe_size: $rcvbuf
plugin_pipe_size: 134217728
plugin_buffer_size: 131072
aggregate: src_host, dst_host, src_port, dst_port, proto, flows
plugins: print
print_output: csv
print_output_file: $1/out/flows-%s.csv
print_refresh_time: 5
print_cache_entries: 65537
logfile: $1/nfacctd.log
EOF
  printf '%s\n' nfacctd -f "$1/nfacctd.conf"
}
stop_signal() { case "$1" in nfcapd*|sfcapd) echo TERM ;; *) echo INT ;; esac; }
# Flows the system itself reports (its CSV files, nfdump, the floor's line).
delivered() {
  local sys=$1
  case "$sys" in ringflow*) sys=ringflow ;; nfcapd*|sfcapd) sys=nfcapd ;; esac
  $btool delivered "$sys" "$2"
}

csv=$out/results.csv
drain_csv=$out/drain.csv
rm -f "$csv" "$drain_csv"  # bench_tool.py writes each header with the first row
port=39100

# start_sut SYSTEM DIR: starts the system pinned to CPU 0 on a free port
# ($port), sets sut_pid/time_pid; false if it did not bind within 10 s.
start_sut() {
  local sys=${1%@*} dir=$2
  mkdir -p "$dir"
  while ! port_free "$port"; do port=$((port + 1)); done
  local -a cmd
  # SYSTEM@REV: the same command line with REV's collector (the cmd_
  # functions read $ringflow when called).
  local ringflow=$ringflow
  [ "$1" = "$sys" ] || ringflow=$base_ringflow
  mapfile -t cmd < <("cmd_$sys" "$dir" "$port")
  # /usr/bin/time forks the system (taskset execs into it), so the system is
  # time's only child and its pid is found below.
  setsid /usr/bin/time -f '%U %S %M' -o "$dir/time" "${prio[@]}" taskset -c "$(sut_cpus "$sys")" "${cmd[@]}" \
    >"$dir/stdout" 2>"$dir/stderr" &
  time_pid=$!
  boost "$time_pid"
  for _ in $(seq 100); do
    sut_pid=$(ps -o pid= --ppid "$time_pid" | tr -d ' ' | head -1 || true)
    [ -n "$sut_pid" ] && [ -n "$(udp_sock "$port")" ] && return 0
    kill -0 "$time_pid" 2>/dev/null || break
    sleep 0.1
  done
  log "$sys did not start; its stderr:"
  tail -5 "$dir/stderr" >&2 || true
  [ -n "$sut_pid" ] && kill -KILL "$sut_pid" 2>/dev/null || true
  wait "$time_pid" 2>/dev/null || true
  sut_pid="" time_pid=""
  return 1
}

# wait_drained: until the socket's receive queue is empty (2 quiet polls in a
# row), at most 60 s; false on time-out.
wait_drained() { $btool wait-empty "$port" --poll=0.1 --quiet=2 --timeout=60 >/dev/null; }

# stop_sut SYSTEM: graceful stop (SIGKILL after 60 s); sets rc and appends
# to note.
stop_sut() {
  local sys=${1%@*}
  # nfacctd: the records still travel from the core process to the plugin's
  # pipe; give them time to land before the stop.
  if [ "$sys" = nfacctd ] || [ "$sys" = sfacctd ]; then sleep 2; fi
  kill "-$(stop_signal "$sys")" "$sut_pid" 2>/dev/null || true
  for _ in $(seq 600); do kill -0 "$sut_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$sut_pid" 2>/dev/null; then
    note="${note:+$note; }killed: no exit 60 s after SIG$(stop_signal "$sys")"
    kill -KILL "$sut_pid" 2>/dev/null || true
  fi
  rc=0
  wait "$time_pid" || rc=$?
  sut_pid="" time_pid=""
}

keep_logs() {  # SYSTEM LABEL DIR
  mkdir -p "$out/logs"
  cp "$3/stderr" "$out/logs/$1-$2.stderr" 2>/dev/null || true
  cp "$3/nfacctd.log" "$out/logs/$1-$2.log" 2>/dev/null || true
  cp "$3/sfacctd.log" "$out/logs/$1-$2.log" 2>/dev/null || true
  cp "$3/affinity" "$out/logs/$1-$2.affinity" 2>/dev/null || true
  cp "$3/polls" "$out/logs/$1-$2.polls" 2>/dev/null || true
  rm -rf "$3"
  port=$((port + 1))
}

# run_one SYSTEM STEP ORDER: one stepped-load run, one row of results.csv.
run_one() {
  local sys=$1 step=$2 order=$3 dir note="" pps rc=0
  dir=$work/$sys-$step
  if ! start_sut "$sys" "$dir"; then
    $btool step-row "$csv" step_pps="$step" system="$sys" order="$order" loss_pct=100 \
      exit=nostart note="did not start" >&2
    rm -rf "$dir"
    return
  fi
  local err0 err1 t0 t1
  err0=$($btool rcvbuf-errors)
  pps=$step; [ "$pps" = max ] && pps=0
  t0=$(date +%s%N)
  run_gen 1 --target "127.0.0.1:$port" --pps "$pps" --duration "$duration" \
    --keys "$keys" --records "$records" --truth "$dir/truth.tsv" 2>"$dir/gen.stderr" ||
    note="generator failed"
  t1=$(date +%s%N)
  wait_drained || note="${note:+$note; }socket not drained after 60 s"
  local drops tree_cpu tree_hwm
  drops=$(udp_sock "$port" | cut -d' ' -f2)
  err1=$($btool rcvbuf-errors)
  read -r tree_cpu tree_hwm _ < <($btool tree "$sut_pid")
  stop_sut "$sys"
  local ut st rss
  read -r ut st rss < <(tail -1 "$dir/time" 2>/dev/null || echo "0 0 0")
  $btool step-row "$csv" step_pps="$step" system="$sys" order="$order" \
    send_s="$(( (t1 - t0) / 1000000 ))e-3" \
    gen_rate="$(sed -n 's|^ringflow-gen: rate .* slots/s, \([0-9]*\) datagrams/s.*|\1|p' "$dir/gen.stderr")" \
    sent_datagrams="$($btool truth "$dir/truth.tsv" datagrams)" \
    sent_flows="$($btool truth "$dir/truth.tsv" flows)" \
    delivered_flows="$(delivered "$sys" "$dir")" socket_drops="${drops:-0}" \
    rcvbuf_errors=$((err1 - err0)) time_user_s="$ut" time_sys_s="$st" tree_cpu_s="$tree_cpu" \
    time_rss_kb="$rss" tree_hwm_kb="$tree_hwm" exit="$rc" note="$note" >&2
  keep_logs "$sys" "$step" "$dir"
}

# metrics_url DIR: ringflow's /metrics address, from its log.
metrics_url() { sed -n 's/.*metrics: serving \(http:[^ ]*\).*/\1/p' "$1/stderr" | head -1; }

# run_drain SYSTEM: the capacity test. One generator core cannot offer what
# the floor takes, so stepped loads only bound the fast systems from below.
# Here the system is frozen (SIGSTOP, its whole process tree), its socket
# (with a --drain-rcvbuf buffer) is filled with --drain-count datagrams, and
# it is thawed: the time until its socket is empty again gives its receive
# capacity on its CPUs, with no generator running and no pacing. Delivered
# datagrams (its own output) / drain time = drained rate. A *-warm system
# drains once untimed first, so the timed drain finds its tables grown.
run_drain() {
  local sys=$1 dir note="" rc=0 p
  dir=$work/$sys-drain-$run
  local saved=$rcvbuf
  rcvbuf=$drain_rcvbuf
  if ! start_sut "$sys" "$dir"; then
    rcvbuf=$saved
    $btool drain-row "$drain_csv" run="$run" system="$sys" exit=nostart note="did not start" >&2
    rm -rf "$dir"
    return
  fi
  rcvbuf=$saved
  sleep 1  # let start-up work (table allocation, caches) finish first
  local -a gopts
  read -r -a gopts <<<"$(gen_opts "${sys%@*}")"
  local pre_flows=0
  if [[ ${sys%@*} == *-warm ]]; then
    run_gen 1 -q --target "127.0.0.1:$port" --pps 0 --count "$drain_count" \
      "${gopts[@]}" --records "$records" --truth "$dir/warmup.tsv" 2>"$dir/gen.stderr" ||
      note="generator failed"
    wait_drained || note="${note:+$note; }warm-up not drained after 60 s"
    pre_flows=$($btool truth "$dir/warmup.tsv" flows)
  fi
  # ringflow-polled: the web view's client, from before the freeze (its
  # requests then wait for the thaw, as a browser's would) to the drain's end.
  local poll_pid=""
  if [[ ${sys%@*} == ringflow-polled ]]; then
    $btool poll "$(metrics_url "$dir")" --out="$dir/polls" --every=1 2>"$dir/poll.stderr" &
    poll_pid=$!
    for _ in $(seq 50); do [ -s "$dir/polls" ] && break; sleep 0.1; done
    [ -s "$dir/polls" ] || note="${note:+$note; }the web view's client did no round before the drain"
  fi
  local pids
  pids=$(tree "$sut_pid")
  for p in $pids; do kill -STOP "$p" 2>/dev/null || true; done
  # The fill runs on CPU 0, the frozen system's receive CPU: on loopback the
  # kernel allocates each datagram's buffer on the sender's CPU, and a
  # receiver on another CPU hands its free back to that CPU
  # (skb_attempt_defer_free), where it ran as softirq inside whatever thread
  # was there: with the fill on CPU 1, 28 % of ringflow-2cpu's worker time
  # (perf), while the 1-CPU systems had their frees done for free on CPU 1.
  # Filled from CPU 0, every system pays its own frees, as with a NIC whose
  # receive interrupts go to the receiving CPU.
  run_gen 0 -q --target "127.0.0.1:$port" --pps 0 --count "$drain_count" \
    "${gopts[@]}" --records "$records" --truth "$dir/truth.tsv" 2>"$dir/gen.stderr" ||
    note="generator failed"
  local queued drops0 secs
  read -r queued drops0 < <(udp_sock "$port")
  [ "${drops0:-0}" = 0 ] || note="${note:+$note; }socket overflowed while frozen"
  $btool threads "$sut_pid" >"$dir/threads.0"
  local load0
  load0=$(cut -d' ' -f1 /proc/loadavg)
  # Thaws the tree and polls the socket every 5 ms until it is empty (this
  # script runs on CPU 1, away from the system); the time is taken from the
  # thaw, inside the tool.
  secs=$($btool wait-empty "$port" --poll=0.005 --quiet=1 --timeout=60 --thaw="${pids//$'\n'/,}" \
    --busy-out="$dir/busy") ||
    note="${note:+$note; }not drained after 60 s"
  $btool threads "$sut_pid" >"$dir/threads.1"
  if [ -n "$poll_pid" ]; then
    kill "$poll_pid" 2>/dev/null || true
    wait "$poll_pid" 2>/dev/null || true
    # Which CPUs each thread may run on (the listener's among them).
    for p in /proc/"$sut_pid"/task/*; do
      printf '%s %s %s\n' "${p##*/}" "$(cat "$p/comm" 2>/dev/null | tr ' ' _)" \
        "$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$p/status" 2>/dev/null)"
    done >"$dir/affinity"
    note="${note:+$note; }web view polled: $(cat "$dir/polls" 2>/dev/null || echo nothing)"
  fi
  local hwm rss m=""
  read -r _ hwm rss < <($btool tree "$sut_pid")
  if [[ $sys == ringflow* ]]; then
    sleep 0.3  # the workers' counters after their last batch
    m=$($btool metrics "$(metrics_url "$dir")")
    if [[ ${sys%@*} == *-fwdonly ]]; then
      curl -fsS -m 5 "$(metrics_url "$dir")" |
        awk -v r="$records" '$1 ~ /^ringflow_forward_sent_total\{/ { s += $2 } END { printf "%.0f\n", s * r }' \
          >"$dir/forwarded_flows"
    fi
  fi
  stop_sut "$sys"
  local got
  got=$(delivered "$sys" "$dir")
  $btool drain-row "$drain_csv" run="$run" system="$sys" \
    sent_datagrams="$($btool truth "$dir/truth.tsv" datagrams)" queued_bytes="$queued" \
    drain_s="$secs" delivered_flows=$((got - pre_flows)) \
    sent_flows="$($btool truth "$dir/truth.tsv" flows)" records="$records" hwm_kb="$hwm" rss_kb="$rss" \
    threads_before="$dir/threads.0" threads_after="$dir/threads.1" metrics="$m" exit="$rc" \
    load_start="$load0" load_end="$(cut -d' ' -f1 /proc/loadavg)" \
    busy_s="$(cat "$dir/busy" 2>/dev/null)" noisy="$noisy" note="$note" >&2
  keep_logs "$sys" "drain$run" "$dir"
}

# ---- the runs: steps interleaved, order rotated ----------------------------------
read -r -a sys_list <<<"$systems"
for s in "${sys_list[@]}"; do
  declare -F "cmd_${s%@*}" >/dev/null || die "unknown system '$s' (floor ringflow ringflow-coarse nfcapd nfacctd)"
done
read -r -a drain_list <<<"$drain_systems"
# with_compare LIST...: each ringflow system followed by its @REV twin.
with_compare() {
  local s
  for s in "$@"; do
    echo "$s"
    if [ -n "$compare_rev" ] && [[ $s == ringflow* ]]; then echo "$s@$compare_rev"; fi
  done
}
mapfile -t sys_list < <(with_compare "${sys_list[@]}")
mapfile -t drain_list < <(with_compare "${drain_list[@]}")
systems="${sys_list[*]}" drain_systems="${drain_list[*]}"
for s in "${drain_list[@]}"; do
  s=${s%@*}
  declare -F "cmd_$s" >/dev/null ||
    die "unknown system '$s' (floor ringflow ringflow-coarse nfcapd nfacctd ringflow-2cpu ringflow-2cpu-warm ringflow-2w ringflow-1m ringflow-1m-warm ringflow-64x ringflow-v9 ringflow-ipfix nfcapd-v9 nfcapd-ipfix ringflow-sflow sfcapd sfacctd ringflow-forward ringflow-2cpu-fwdonly ringflow-polled)"
done
case " $systems $drain_systems " in *" ringflow-forward"* | *"-fwdonly"*) discard_target ;; esac
rm -rf "$out/logs"
t_start=$(date +%s)
k=0
for step in $steps; do
  n=${#sys_list[@]}
  for ((j = 0; j < n; j++)); do
    run_one "${sys_list[$(((j + k) % n))]}" "$step" "$j"
  done
  k=$((k + 1))
done
if [ "$drain_count" -gt 0 ]; then
  log "capacity by drain: $drain_count datagrams queued on a frozen system, then thawed"
  # SO_RCVBUF for the drain runs: the queue must hold every datagram (about
  # 2.3 KB of kernel memory each at 30 records on loopback).
  [ "$(cat /proc/sys/net/core/rmem_max)" -ge "$drain_rcvbuf" ] ||
    echo "$drain_rcvbuf" >/proc/sys/net/core/rmem_max
  for ((run = 1; run <= drain_runs; run++)); do
    n=${#drain_list[@]}
    for ((j = 0; j < n; j++)); do
      sys=${drain_list[$(((j + run) % n))]}
      run_drain "$sys"
      # A noisy row (see the header) is run again, at most --retries times.
      for ((r = 0; r < retries; r++)); do
        $btool last-noisy "$drain_csv" "$sys" || break
        log "$sys: drain $run was noisy (other CPU above $noisy); again ($((r + 1)) of $retries)"
        run_drain "$sys"
      done
    done
  done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report and plot ---------------------------------------------------------------
# The run's parameters go to run.env so that --report can render again later.
{
  for v in machine load_start load_end duration keys records rcvbuf systems drain_systems compare_rev noisy; do
    printf '%s=%q\n' "$v" "${!v}"
  done
  printf 'run_date=%q\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
  printf 'commit=%q\n' "$(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
} >"$out/run.env"
render
log "done in $(( $(date +%s) - t_start )) s: $out/results.csv, drain.csv, results.md, delivered.png"
cat "$out/results.md"
