#!/usr/bin/env bash
# Fuzzes the NetFlow v5 decoder with libFuzzer under ASan+UBSan for SECONDS
# (default 60) and fails on any crash, sanitizer report or broken invariant
# (tests/fuzz/decode_v5_fuzz.cc traps on those). Prints the executions run.
#   scripts/fuzz.sh [SECONDS]
# Builds with clang in build/fuzz (only the fuzz targets); the corpus, seeded
# from tests/data/v5-pmacct.pcap, persists in build/fuzz/corpus and
# crash inputs are written to build/fuzz/artifacts/.
# Env: RINGFLOW_WERROR=ON|OFF (CI sets ON), RINGFLOW_FUZZ_JOBS (build jobs, default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=$root/build/fuzz

"$root/scripts/deps.sh" clang libclang-rt-14-dev

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGFLOW_FUZZ=ON \
    -DRINGFLOW_SANITIZE=address,undefined \
    -DRINGFLOW_BUILD_TESTS=OFF -DRINGFLOW_BUILD_BENCH=OFF \
    -DRINGFLOW_WERROR="${RINGFLOW_WERROR:-OFF}" >/dev/null
else
  cmake "$build" -DRINGFLOW_WERROR="${RINGFLOW_WERROR:-OFF}" >/dev/null
fi
cmake --build "$build" --target decode_v5_fuzz pcap_to_corpus -j "${RINGFLOW_FUZZ_JOBS:-2}"

corpus=$build/corpus/decode_v5
artifacts=$build/artifacts
mkdir -p "$corpus" "$artifacts"
"$build/tests/fuzz/pcap_to_corpus" "$root/tests/data/v5-pmacct.pcap" "$corpus"

log=$build/fuzz.log
echo "=== ringflow fuzz: decode_v5 for ${seconds}s ===" >&2
status=0
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/tests/fuzz/decode_v5_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || status=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log" >&2
  echo "fuzz: FAILED (exit $status) after ${execs:-?} executions; crash input in $artifacts/" >&2
  exit 1
fi
grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 >&2 || true
echo "fuzz: ok, ${execs:-?} executions in ${seconds}s, corpus $(find "$corpus" -type f | wc -l) inputs" >&2
