#!/usr/bin/env bash
# Builds and runs the whole test suite. Exits non-zero on any failure.
#   scripts/test.sh            Release build, all tests (what CI runs first)
#   scripts/test.sh --asan     ASan+UBSan build, all tests
#   scripts/test.sh --tsan     TSan build, the threaded tests (receive/pipeline/e2e)
#   scripts/test.sh --all      Release, then ASan+UBSan, then TSan, then fuzz smoke
# Env: RINGFLOW_WERROR=1 turns warnings into errors (CI sets it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-release}
werror=-DRINGFLOW_WERROR=${RINGFLOW_WERROR:-OFF}
jobs=$(nproc)

run_suite() {  # name build-dir ctest-args...
  local name=$1 dir=$2; shift 2
  echo "=== ringflow tests: $name ===" >&2
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 "$@"
}

release() {
  "$root/scripts/build.sh" "$root/build/release" "$werror"
  "$root/scripts/deps.sh" tshark  # gen_tshark_test, gen_replay_captures_test
  run_suite release "$root/build/release"
}
asan() {
  "$root/scripts/build.sh" "$root/build/asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRINGFLOW_SANITIZE=address,undefined -DRINGFLOW_BUILD_BENCH=OFF "$werror"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite asan+ubsan "$root/build/asan" -LE nosan
}
tsan() {
  "$root/scripts/build.sh" "$root/build/tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRINGFLOW_SANITIZE=thread -DRINGFLOW_BUILD_BENCH=OFF "$werror"
  TSAN_OPTIONS="halt_on_error=1 suppressions=$root/tests/tsan.supp" run_suite tsan "$root/build/tsan" -R "receive|pipeline|e2e" -LE nosan
}
fuzz() {
  if [ -x "$root/scripts/fuzz.sh" ]; then "$root/scripts/fuzz.sh" "${RINGFLOW_FUZZ_SECONDS:-60}"; fi
}

case "$mode" in
  release|"") release ;;
  --asan) asan ;;
  --tsan) tsan ;;
  --fuzz) fuzz ;;
  --all) release; asan; tsan; fuzz ;;
  *) echo "usage: scripts/test.sh [--asan|--tsan|--fuzz|--all]" >&2; exit 2 ;;
esac
