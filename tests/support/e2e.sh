# Helpers for the end-to-end test scripts (tests/*_test.sh), sourced. Every
# script starts the same way:
#
#   set -euo pipefail
#   . "$(dirname "$0")/support/e2e.sh"
#   rf_setup "$@"                     # BUILD_DIR SOURCE_DIR
#
# and then has build, src (absolute), ringflow, gen (the binaries) and work
# (a fresh temporary directory), fail, and an EXIT trap (cleanup) that stops
# what the script started and removes its temporary directories.
#
# Synchronise, don't sleep: a script waits for the counter or the file it
# needs, polling with a deadline, and fails naming what it waited for, rather
# than sleeping a guessed time (too short on a loaded CI box, wasted
# elsewhere). The 50 ms poll is the only sleep.
#
# Set-up and clean-up:
#   rf_setup BUILD_DIR SOURCE_DIR     the variables above; installs the trap
#   fail MESSAGE...                   "FAIL: MESSAGE" on stderr, exit 1
#   rf_skip REASON                    "SKIP: REASON" on stderr, exit 77
#                                     (ctest's skip; a failure under CI=true)
#   rf_need_tool COMMAND WHERE_FROM   rf_skip unless COMMAND is installed
#   rf_sanitized                      true in a sanitizer build (slower: the
#                                     scripts offer it less load)
#   rf_track_pid PID                  cleanup stops PID (SIGKILL), if alive
#   rf_untrack_pid PID                it was stopped and waited for already
#   rf_track_dir DIR                  cleanup removes DIR
#   rf_on_cleanup COMMAND...          cleanup runs COMMAND first (e.g. stop a
#                                     server started by a script of its own)
#   cleanup                           the EXIT trap: the hooks (last first),
#                                     then SIGKILL to each tracked PID still
#                                     alive, then the directories. After a
#                                     failure, or with KEEP=1 in the
#                                     environment, the directories are kept
#                                     and named, and the end of every
#                                     collector's log is printed.
# Processes are stopped only by the PID they were started with.
#
# The collector:
#   rf_start_collector NAME ARGS...   runs ringflow ARGS (e.g. -c CONFIG) in
#                                     the background, stdout and stderr in
#                                     $work/NAME; waits for its "listening
#                                     on" line and, when --metrics-listen or
#                                     else the -c CONFIG's [metrics] names an
#                                     address, its "metrics: serving" line;
#                                     fails at once if it exits. Sets
#                                     RF_PID, RF_PORT (the first
#                                     UDP port it listens on), RF_MURL (its
#                                     /metrics URL, or "") and RF_LOG (its
#                                     stderr). RF_WRAP, an array, is put in
#                                     front of the command when set (e.g.
#                                     prlimit --as=BYTES).
#   rf_start_toml NAME TOML           writes TOML (the config's text) to
#                                     $work/NAME/netflow.toml and
#                                     rf_start_collector NAME -c that file
#   rf_csv_toml OUT LISTEN [RECEIVE] [METRICS]
#                                     prints the config most scripts start
#                                     from: one worker listening on LISTEN
#                                     (e.g. 127.0.0.1:0), the csv sink's
#                                     1 s interval files in OUT, /metrics on
#                                     127.0.0.1:0, no stats lines; RECEIVE
#                                     and METRICS: more lines for those tables
#                                     (e.g. 'backend = "io_uring"')
#   rf_stop_collector [PID]           SIGTERM (RF_PID by default), waits;
#                                     fails unless it exits 0
#
# Waiting and /metrics:
#   rf_wait SECONDS WHAT COMMAND...   runs COMMAND until it succeeds; after
#                                     SECONDS prints "timed out after S s
#                                     waiting for WHAT" and returns 1
#   rf_scrape URL                     GET URL (the /metrics page) to stdout
#   rf_metric URL FAMILY              sum of every sample of FAMILY on that
#                                     page; "" when the page cannot be read
#   rf_metric_is URL FAMILY VALUE     true when rf_metric equals VALUE
#   rf_page_sample FILE SERIES        the value of the sample SERIES
#                                     ('name{labels}') on a page saved in
#                                     FILE; "" when absent
#   rf_page_total FILE FAMILY         the sum of FAMILY's samples on a page
#                                     saved in FILE (0 when none)
#   rf_page_sum FILE NAME [RE]        the same, of the samples whose label
#                                     set matches the regex RE
#   rf_metric_at_least URL FAMILY N   true when rf_metric >= N
#   rf_pmacctd CONF                   runs pmacctd on CONF until its plugins
#                                     have exported everything and exited
#   rf_serving_url LOGFILE            the /metrics URL a collector logged
#                                     ("metrics: serving http://...")
#   rf_listening_port LOGFILE         the UDP port a collector logged
#                                     ("listening on 127.0.0.1:PORT")
#   rf_udp_port                       a UDP port on loopback that no socket
#                                     uses, below the ephemeral range (32768
#                                     up), where another test's socket could
#                                     take it before ringflow binds it
#   rf_truth_total TSV COLUMN         COLUMN of the "total" row of a truth
#                                     file ringflow-gen --truth wrote
#   rf_csv_sum DIR COLUMN             COLUMN summed over every row of the
#                                     csv sink's interval files in DIR
#   rf_csv_keys DIR                   per 5-tuple over every interval file
#                                     of the csv sink in DIR: src_addr,
#                                     dst_addr, src_port, dst_port, protocol,
#                                     flows, packets, bytes (tab-separated,
#                                     sorted): the rows of ringflow-gen
#                                     --truth-keys, to diff with them
#
# Needs curl (scripts/deps.sh --test installs it).

RF_PIDS_TRACKED=()
RF_DIRS_TRACKED=()
RF_CLEANUP_HOOKS=()
declare -A RF_COLLECTOR_LOGS=()  # PID -> its stderr
RF_WRAP=()

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rf_skip() {
  echo "SKIP: $*" >&2
  exit 77
}

rf_need_tool() {
  command -v "$1" >/dev/null 2>&1 ||
    rf_skip "$1 is not installed ($2; as root: scripts/deps.sh --test)"
}

rf_setup() {
  build=$(cd "${1:?usage: $(basename "$0") BUILD_DIR SOURCE_DIR}" && pwd)
  src=$(cd "${2:?usage: $(basename "$0") BUILD_DIR SOURCE_DIR}" && pwd)
  ringflow=$build/ringflow
  gen=$build/ringflow-gen
  work=$(mktemp -d "/tmp/ringflow-$(basename "$0" _test.sh)-XXXXXX")
  rf_track_dir "$work"
  trap cleanup EXIT
  # A ctest timeout or ^C: still through cleanup.
  trap 'exit 143' TERM INT
}

rf_sanitized() {
  grep -q '^RINGFLOW_SANITIZE:STRING=.\+' "$build/CMakeCache.txt" 2>/dev/null
}

rf_track_pid() { RF_PIDS_TRACKED+=("$1"); }
rf_untrack_pid() {
  local i
  for i in "${!RF_PIDS_TRACKED[@]}"; do
    [ "${RF_PIDS_TRACKED[$i]}" != "$1" ] || unset "RF_PIDS_TRACKED[$i]"
  done
}
rf_track_dir() { RF_DIRS_TRACKED+=("$1"); }
rf_on_cleanup() { RF_CLEANUP_HOOKS+=("$*"); }

cleanup() {
  local rf_rc=$? rf_i rf_pid rf_f rf_failed=1
  set +e
  # Locals are rf_-prefixed: hooks run in here and see them.
  # 77 is a skip, not a failure.
  [ $rf_rc -ne 0 ] && [ $rf_rc -ne 77 ] || rf_failed=0
  for ((rf_i = ${#RF_CLEANUP_HOOKS[@]} - 1; rf_i >= 0; rf_i--)); do
    eval "${RF_CLEANUP_HOOKS[$rf_i]}"
  done
  for rf_pid in "${RF_PIDS_TRACKED[@]}"; do
    if kill -0 "$rf_pid" 2>/dev/null; then
      kill -KILL "$rf_pid" 2>/dev/null
      wait "$rf_pid" 2>/dev/null
    fi
  done
  # After a failure: the logs of the collectors that were still running,
  # and of the last one started.
  if [ $rf_failed = 1 ]; then
    for rf_pid in "${RF_PIDS_TRACKED[@]}" "${RF_PID:-}"; do
      [ -n "$rf_pid" ] || continue
      rf_f=${RF_COLLECTOR_LOGS[$rf_pid]:-}
      [ -n "$rf_f" ] && [ -s "$rf_f" ] || continue
      echo "=== $rf_f (last lines)" >&2
      tail -n 30 "$rf_f" >&2
      unset "RF_COLLECTOR_LOGS[$rf_pid]"
    done
  fi
  for rf_f in "${RF_DIRS_TRACKED[@]}"; do
    if [ $rf_failed = 1 ] || [ -n "${KEEP:-}" ]; then
      [ -d "$rf_f" ] && echo "=== kept $rf_f" >&2
    else
      rm -rf "$rf_f"
    fi
  done
  return $rf_rc
}

rf_start_collector() {
  local name=$1 dir=$work/$1 pid config='' prev=''
  shift
  [ -x "$ringflow" ] || fail "$ringflow not built"
  mkdir -p "$dir"
  local metrics_arg=none
  for a in "$@"; do
    [ "$prev" != -c ] || config=$a
    [ "$prev" != --metrics-listen ] || metrics_arg=$a
    prev=$a
  done
  # Exists before the first read below, whoever runs first.
  : >"$dir/stderr"
  "${RF_WRAP[@]}" "$ringflow" "$@" </dev/null >"$dir/stdout" 2>"$dir/stderr" &
  pid=$!
  rf_track_pid "$pid"
  RF_COLLECTOR_LOGS[$pid]=$dir/stderr
  RF_PID=$pid RF_LOG=$dir/stderr RF_PORT='' RF_MURL=''
  # /metrics is expected when --metrics-listen names an address, or, without
  # that option, when the config's [metrics] table does.
  local want_metrics=0
  if [ "$metrics_arg" != none ]; then
    [ -z "$metrics_arg" ] || want_metrics=1
  elif [ -n "$config" ] && awk '/^\[/ { in_m = ($0 == "[metrics]") }
                               in_m && /^listen *= *"[^"]/ { found = 1 }
                               END { exit !found }' "$config"; then
    want_metrics=1
  fi
  rf_collector_up() {
    if ! kill -0 "$RF_PID" 2>/dev/null; then
      local rc=0
      wait "$RF_PID" || rc=$?
      cat "$RF_LOG" >&2
      fail "$name: ringflow exited at start-up ($rc)"
    fi
    grep -q "listening on" "$RF_LOG" || return 1
    # The /metrics endpoint is up before the collector says it listens.
    [ $want_metrics = 0 ] || grep -q "metrics: serving" "$RF_LOG" ||
      fail "$name: ringflow listens but does not serve /metrics (Collector::start() must" \
        "start MetricsEndpoint, src/pipeline/metrics_export.h)"
  }
  rf_wait 30 "$name: ringflow's 'listening on' line" rf_collector_up ||
    fail "$name: ringflow did not start"
  RF_PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\)[:,].*/\1/p' "$RF_LOG" | head -n 1)
  RF_MURL=$(rf_serving_url "$RF_LOG")
}

rf_start_toml() {
  mkdir -p "$work/$1"
  printf '%s\n' "$2" >"$work/$1/netflow.toml"
  rf_start_collector "$1" -c "$work/$1/netflow.toml"
}

rf_csv_toml() {
  cat <<EOF
[receive]
listen = ["$2"]
workers = 1
${3:-}
[aggregate]
interval = 1
[output]
directory = "$1"
[[sink]]
type = "csv"
[metrics]
listen = "127.0.0.1:0"
${4:-}
[log]
stats_interval = 0
EOF
}

rf_stop_collector() {
  local pid=${1:-$RF_PID} rc=0
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  rf_untrack_pid "$pid"
  [ $rc -eq 0 ] || fail "ringflow ($pid) exited $rc on SIGTERM"
}

rf_wait() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after $seconds s waiting for $what" >&2
      return 1
    fi
    sleep 0.05
  done
}

rf_scrape() {
  curl -fsS -m 5 "$1"
}

rf_metric() {
  local page
  page=$(rf_scrape "$1" 2>/dev/null) || { echo ""; return 0; }
  rf_family_sum "$2" <<<"$page"
}

# rf_family_sum FAMILY: the sum of FAMILY's samples on the page on stdin; ""
# when it has none.
rf_family_sum() {
  awk -v n="$1" 'substr($0, 1, 1) != "#" && ($1 == n || index($1, n "{") == 1) { s += $2; seen = 1 }
                 END { if (seen) printf "%.0f\n", s; else print "" }'
}

# rf_page_sum PAGE NAME [LABEL_REGEX]: the sum of NAME's samples in the
# scraped page PAGE (a file) whose label set matches LABEL_REGEX (all when
# empty); 0 when none.
rf_page_sum() {
  awk -v n="$2" -v re="${3:-}" '
    substr($0, 1, 1) != "#" {
      name = $1; labels = ""
      i = index($1, "{")
      if (i > 0) { name = substr($1, 1, i - 1); labels = substr($1, i) }
      if (name == n && (re == "" || labels ~ re)) s += $2
    }
    END { printf "%.0f\n", s }' "$1"
}

rf_page_sample() {
  awk -v s="$2" '$1 == s { print $2; exit }' "$1"
}

rf_page_total() {
  local v
  v=$(rf_family_sum "$2" <"$1")
  echo "${v:-0}"
}

rf_metric_is() {
  [ "$(rf_metric "$1" "$2")" = "$3" ]
}

rf_metric_at_least() {
  local v
  v=$(rf_metric "$1" "$2")
  [ -n "$v" ] && [ "$v" -ge "$3" ]
}

rf_serving_url() {
  sed -n 's/.*metrics: serving \(http:[^ ]*\).*/\1/p' "$1" 2>/dev/null | head -n 1
}

rf_listening_port() {
  sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n 1
}

rf_truth_total() {
  awk -F'\t' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
                        $1 == "total" { print $k }' "$1"
}

rf_csv_sum() {
  awk -F, -v c="$2" 'FNR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } { s += $k }
                     END { printf "%.0f\n", s }' "$1"/flows-*.csv
}

rf_csv_keys() {
  awk -F, -v OFS='\t' '
      FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
      { k = $c["src_addr"] OFS $c["dst_addr"] OFS $c["src_port"] OFS $c["dst_port"] OFS $c["protocol"]
        f[k] += $c["flows"]; p[k] += $c["packets"]; b[k] += $c["bytes"] }
      END { for (k in f) printf "%s\t%.0f\t%.0f\t%.0f\n", k, f[k], p[k], b[k] }' "$1"/flows-*.csv |
    sort
}

# rf_pmacctd CONF: runs pmacct's pmacctd on CONF (a pcap_savefile config)
# until it has exported everything, its log in CONF's directory as
# pmacctd.log. The core exits at the end of the savefile; its plugins
# (nfprobe, sfprobe) are processes of their own that flush and export after
# that. They run in a session of their own (setsid), so "exported
# everything" is the positive event that no process of that session is left.
# Fails the test on a non-zero exit or after 60 s for either.
rf_pmacctd() {
  local log
  log=$(dirname "$1")/pmacctd.log
  setsid pmacctd -f "$1" > "$log" 2>&1 &
  local pm=$! rc=0
  rf_track_pid "$pm"
  rf_pm_core_done() { ! kill -0 "$1" 2> /dev/null; }
  rf_wait 60 "pmacctd to read the whole savefile" rf_pm_core_done "$pm" || fail "pmacctd did not exit"
  wait "$pm" || rc=$?
  rf_untrack_pid "$pm"
  [ "$rc" = 0 ] || { cat "$log" >&2; fail "pmacctd exited $rc"; }
  rf_pm_session_gone() { ! pgrep -s "$1" > /dev/null; }
  rf_wait 60 "pmacctd's plugins to export and exit" rf_pm_session_gone "$pm" ||
    { cat "$log" >&2; fail "pmacctd's plugins did not exit"; }
}

rf_udp_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))
    ss -Huan "sport = :$p" | grep -q . || { echo "$p"; return 0; }
  done
  echo "no free UDP port in 20000..31999" >&2
  return 1
}
