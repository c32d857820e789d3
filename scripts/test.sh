#!/usr/bin/env bash
# Builds and runs the test suite. Exits non-zero on any failure.
#   scripts/test.sh            Release build, every test (what CI runs first)
#   scripts/test.sh --asan     ASan+UBSan build, every test not labelled nosan
#                              or docs
#   scripts/test.sh --tsan     TSan build, every test labelled threads and
#                              not nosan, docs or sql
#   scripts/test.sh --fuzz     one fuzz run of the decoders (scripts/fuzz.sh)
#   scripts/test.sh --all      Release, then ASan+UBSan, then TSan, then fuzz;
#                              the later trees build in the background (nice
#                              19) while the earlier suites run
# Tests are selected by ctest label, never by name (tests/CMakeLists.txt says
# what each label means). Extra arguments after the mode go to ctest, e.g.
#   scripts/test.sh --tsan -L receive
# A sanitizer build tree defines and builds only the tests its suite runs
# (the label expressions below go to cmake and to ctest), and compiles at
# -O1 -g1: half the compile time of -O2 -g, and line tables for the reports'
# stack traces.
# The sanitizer suites replay a named subset of the shared captures
# (RINGFLOW_REPLAY_SET=sanitizer, tests/e2e_replay_captures_test.sh); Release
# replays all of them.
#
# First, once: scripts/deps.sh --test installs what the tests need (as root);
# no test installs anything.
#
# A skip is loud: a test that cannot run is reported Skipped with its reason.
# With CI=true every skip fails the run (CI machines have everything: io_uring,
# clickhouse-server, promtool, ../shared), and so does a test with ctest's
# DISABLED property (JUnit status "disabled"), which never runs at all.
# At the end it prints the time of each phase and the ten slowest tests.
#
# Env: RINGFLOW_WERROR=ON turns warnings into errors (CI sets it);
#      RINGFLOW_FUZZ_SECONDS (default 60); RINGFLOW_TEST_JOBS (default nproc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-release}
shift || true
werror=-DRINGFLOW_WERROR=${RINGFLOW_WERROR:-OFF}
jobs=${RINGFLOW_TEST_JOBS:-$(nproc)}
ci=false
[ "${CI:-}" = true ] && ci=true
timing=()
slow_list=$(mktemp)  # "seconds<TAB>suite<TAB>test" of every test run

# CPU seconds (user + system) used so far by this script's finished
# children: cutime + cstime of /proc/$$/stat, in clock ticks. ($$ is this
# shell also inside $(...); the command name, field 2, has no spaces here.)
children_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($16 + $17) / hz }' "/proc/$$/stat"
}

# phase NAME COMMAND...: runs it and records its wall time and the CPU time
# of what it ran (also when it fails): on a shared machine the wall time
# depends on the neighbours, the CPU time does not. COMMAND handles its own
# errors: set -e does not reach into it here.
phase() {
  local name=$1 t0=$SECONDS rc=0 cpu0
  cpu0=$(children_cpu)
  shift
  "$@" || rc=$?
  timing+=("$(printf '%-16s %5d s wall %6d s CPU%s' "$name" $((SECONDS - t0)) \
    $(($(children_cpu) - cpu0)) "$([ $rc -eq 0 ] || echo "  (failed: $rc)")")")
  return $rc
}

deps() {
  if ! "$root/scripts/deps.sh" --test; then
    if [ "$ci" = true ]; then
      echo "ringflow: scripts/deps.sh --test failed; CI needs every test dependency" >&2
      exit 1
    fi
    echo "ringflow: test dependencies missing; the tests that need them will be reported Skipped" >&2
  fi
}

# run_suite NAME BUILD_DIR CTEST_ARGS...: ctest, then the skip check.
run_suite() {
  local name=$1 dir=$2
  shift 2
  local junit=$dir/Testing/ringflow-junit.xml rc=0
  mkdir -p "$dir/Testing"
  rm -f "$junit"
  echo "=== ringflow tests: $name ===" >&2
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 120 \
    --output-junit "$junit" "$@" || rc=$?
  local ran skipped
  ran=$(grep -c '<testcase ' "$junit" 2>/dev/null || true)
  if [ "${ran:-0}" -eq 0 ]; then
    echo "ringflow tests ($name): no test selected" >&2
    return 1
  fi
  # "  test name: reason" for every skipped test; the reason is the line its
  # output starts with RF_SKIP's marker or "SKIP:" (ctest shows no output of
  # a skipped test, so it is taken from the JUnit file).
  skipped=$(awk '
    /<testcase / {
      inside = 0
      if ($0 ~ /status="notrun"/ && match($0, /name="[^"]*"/)) {
        inside = 1; n++; name[n] = substr($0, RSTART + 6, RLENGTH - 7); why[n] = ""
      }
    }
    inside && why[n] == "" && /(RINGFLOW-TEST-SKIPPED:|SKIP:)/ {
      w = $0; sub(/.*(RINGFLOW-TEST-SKIPPED:|SKIP:) */, "", w); why[n] = w
    }
    /<\/testcase>/ { inside = 0 }
    END { for (i = 1; i <= n; i++) printf "  %s: %s\n", name[i], why[i] == "" ? "(no reason printed)" : why[i] }
  ' "$junit" | sed "s/&apos;/'/g; s/&quot;/\"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g")
  if [ -n "$skipped" ]; then
    echo "ringflow tests ($name): $(wc -l <<<"$skipped") of $ran skipped:" >&2
    echo "$skipped" >&2
    if [ "$ci" = true ]; then
      echo "ringflow tests ($name): CI=true and a test was skipped: failing the run" >&2
      rc=1
    fi
  fi
  # A DISABLED test is not run and not counted as failed or skipped by ctest.
  local disabled
  disabled=$(sed -n 's/.*<testcase name="\([^"]*\)".*status="disabled".*/  \1/p' "$junit")
  if [ -n "$disabled" ]; then
    echo "ringflow tests ($name): $(wc -l <<<"$disabled") of $ran disabled (ctest DISABLED property):" >&2
    echo "$disabled" >&2
    if [ "$ci" = true ]; then
      echo "ringflow tests ($name): CI=true and a test is disabled: failing the run" >&2
      rc=1
    fi
  fi
  sed -n 's/.*<testcase name="\([^"]*\)".* time="\([0-9.]*\)".*/\2\t\1/p' "$junit" |
    awk -F'\t' -v OFS='\t' -v s="$name" '{ print $1, s, $2 }' >>"$slow_list"
  return $rc
}

build() {  # build DIR cmake-args...
  "$root/scripts/build.sh" "$@"
}

# Which tests each sanitizer suite runs, as ctest label expressions. The
# same expressions go to cmake (RINGFLOW_TEST_LABELS, _EXCLUDE_LABELS), so a
# sanitizer tree builds only the test executables its suite runs.
asan_exclude='nosan|docs'
tsan_labels=threads
tsan_exclude='nosan|docs|sql|notsan'
# Compile flags of the sanitizer trees: -O1 (the level the sanitizers'
# documentation asks for at least) and -g1 (line tables: file:line in every
# sanitizer report, no local variables). Against RelWithDebInfo's -O2 -g this
# halves their compile time; under ASan, CPU seconds for one file: the largest
# test 69 -> 32, src/config/config.cc 30 -> 15 (-O2 -g1: 66 for that test,
# so the saving is -O1's).
san_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
  -DRINGFLOW_BUILD_BENCH=OFF)

asan_build() {
  build "$root/build/asan" "${san_flags[@]}" -DRINGFLOW_SANITIZE=address,undefined \
    -DRINGFLOW_TEST_LABELS= "-DRINGFLOW_TEST_EXCLUDE_LABELS=$asan_exclude" "$werror"
}
tsan_build() {
  build "$root/build/tsan" "${san_flags[@]}" -DRINGFLOW_SANITIZE=thread \
    "-DRINGFLOW_TEST_LABELS=$tsan_labels" "-DRINGFLOW_TEST_EXCLUDE_LABELS=$tsan_exclude" "$werror"
}

# --all: the ASan, TSan and fuzz trees build one after the other in the
# background, at nice 19, from the moment the Release tests start. The test
# suites leave about half of the two CPUs idle (e2e tests wait on sockets and
# servers), and nice 19 takes only what they leave (CFS weight 15 against
# 1024), so a suite runs as fast as alone. Each foreground build step below
# first waits for its background build, then runs the same build again: a
# no-op when it succeeded, and where it failed, the error shows in the log in
# the usual place. The background job has its own process group (set -m), so
# the EXIT trap stops all of it when the run ends early.
prebuild_dir=$root/build/prebuild
prebuild_pid=
prebuild_start() {
  rm -rf "$prebuild_dir"
  mkdir -p "$prebuild_dir"
  set -m
  (
    set +e
    renice -n 19 -p "$BASHPID" >/dev/null  # inherited by everything it starts
    for what in asan tsan fuzz; do
      t0=$SECONDS
      case $what in
        asan) asan_build ;;
        tsan) tsan_build ;;
        fuzz) RINGFLOW_FUZZ_BUILD_ONLY=1 "$root/scripts/fuzz.sh" ;;
      esac >"$prebuild_dir/$what.log" 2>&1
      echo "$? $((SECONDS - t0))" >"$prebuild_dir/$what.rc"
    done
  ) &
  prebuild_pid=$!
  set +m
}
# prebuild_wait WHAT: waits for WHAT's background build (if one was started)
# and says how it went. Always returns 0: the foreground build that follows
# is what fails the run.
prebuild_wait() {
  [ -n "$prebuild_pid" ] || return 0
  local rc_file=$prebuild_dir/$1.rc waited=$SECONDS
  while [ ! -e "$rc_file" ]; do sleep 1; done
  local rc secs
  read -r rc secs <"$rc_file"
  echo "=== ringflow: background $1 build: exit $rc after ${secs} s (waited $((SECONDS - waited)) s for it; log $prebuild_dir/$1.log) ===" >&2
  timing+=("$(printf '%-16s %5d s wall (background, nice 19)' "$1 prebuild" "$secs")")
}

release() {
  phase "release build" build "$root/build/release" "$werror"
  [ "$mode" = --all ] && prebuild_start
  phase "release tests" run_suite release "$root/build/release" "$@"
}
asan() {
  prebuild_wait asan
  phase "asan build" asan_build
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    RINGFLOW_REPLAY_SET=sanitizer \
    phase "asan tests" run_suite asan+ubsan "$root/build/asan" -LE "$asan_exclude" "$@"
}
tsan() {
  prebuild_wait tsan
  phase "tsan build" tsan_build
  TSAN_OPTIONS="halt_on_error=1 suppressions=$root/tests/tsan.supp" RINGFLOW_REPLAY_SET=sanitizer \
    phase "tsan tests" run_suite tsan "$root/build/tsan" -L "$tsan_labels" -LE "$tsan_exclude" "$@"
}
fuzz() {
  prebuild_wait fuzz
  phase "fuzz" "$root/scripts/fuzz.sh" "${RINGFLOW_FUZZ_SECONDS:-60}"
}

report() {
  if [ -n "$prebuild_pid" ] && kill -0 "$prebuild_pid" 2>/dev/null; then
    kill -- "-$prebuild_pid" 2>/dev/null || true
  fi
  if [ -s "$slow_list" ]; then
    echo "=== ringflow tests: the ten slowest (wall seconds, from ctest's JUnit) ===" >&2
    # awk, not head: head closing the pipe early would make sort die of
    # SIGPIPE, and with pipefail that would be this script's exit status.
    sort -t$'\t' -k1,1gr "$slow_list" |
      awk -F'\t' 'NR <= 10 { printf "  %8.2f s  %-10s %s\n", $1, $2, $3 }' >&2
  fi
  rm -f "$slow_list"
  [ ${#timing[@]} -gt 0 ] || return 0
  echo "=== ringflow tests: time per phase (load average now: $(cut -d' ' -f1-3 /proc/loadavg)) ===" >&2
  printf '  %s\n' "${timing[@]}" >&2
}
trap report EXIT

phase "deps" deps
case "$mode" in
  release|"") release "$@" ;;
  --asan) asan "$@" ;;
  --tsan) tsan "$@" ;;
  --fuzz) fuzz ;;
  --all) release "$@"; asan "$@"; tsan "$@"; fuzz ;;
  *) echo "usage: scripts/test.sh [--asan|--tsan|--fuzz|--all] [ctest args...]" >&2; exit 2 ;;
esac
