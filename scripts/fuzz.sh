#!/usr/bin/env bash
# Fuzzes the decoders with libFuzzer under ASan+UBSan for SECONDS in all
# (default 60: a quarter to the v5 decoder, a sixth to the template state
# file's loader, a sixth to sFlow and the packet parser, the rest to v9/IPFIX
# with template state) and fails on any
# crash, sanitizer report or broken invariant (tests/fuzz/*_fuzz.cc trap on
# those). Prints the executions run per target.
#   scripts/fuzz.sh [SECONDS]
# Builds with clang in build/fuzz (only the fuzz targets). The corpora
# persist in build/fuzz/corpus/<target>: decode_v5 is seeded from
# tests/data/v5-pmacct.pcap, decode_templated from the v9/IPFIX captures in
# ../shared/captures/v9ipfix/pcap (read in place; without them, from a
# synthetic sequence, which under CI=true is a failure: CI machines have
# ../shared, and a run seeded synthetically fuzzes far less); state_load from
# the template states those sequences end with; decode_sflow from the sFlow
# captures in ../shared/captures/sflow/pcap (read in place; without them, from
# pcap_to_corpus's synthetic seeds). Crash inputs go to build/fuzz/artifacts/.
# Env: RINGFLOW_WERROR=ON|OFF (CI sets ON), RINGFLOW_FUZZ_JOBS (build jobs, default 2),
# RINGFLOW_FUZZ_BUILD_ONLY=1 (build the targets, fuzz nothing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=$root/build/fuzz
V5_CAPTURE=$root/tests/data/v5-pmacct.pcap
captures=$root/../shared/captures/v9ipfix/pcap
if ! compgen -G "$captures/*.pcap*" >/dev/null; then
  if [ "${CI:-}" = true ]; then
    echo "fuzz: CI=true and no v9/IPFIX captures in $captures: refusing to fuzz from a synthetic seed" >&2
    exit 1
  fi
  echo "fuzz: warning: no v9/IPFIX captures in $captures; decode_templated starts from a synthetic seed" >&2
fi

"$root/scripts/deps.sh" clang libclang-rt-14-dev

# -O2 for the executions per second; -g1 (clang: line tables only) is what a
# crash's stack trace needs, and compiles faster than -g.
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" \
    -DRINGFLOW_FUZZ=ON \
    -DRINGFLOW_SANITIZE=address,undefined \
    -DRINGFLOW_BUILD_TESTS=OFF -DRINGFLOW_BUILD_BENCH=OFF \
    -DRINGFLOW_WERROR="${RINGFLOW_WERROR:-OFF}" >/dev/null
else
  cmake "$build" -DRINGFLOW_WERROR="${RINGFLOW_WERROR:-OFF}" >/dev/null
fi
cmake --build "$build" --target decode_v5_fuzz decode_templated_fuzz state_load_fuzz \
  decode_sflow_fuzz pcap_to_corpus captures_to_sequences sequences_to_states -j "${RINGFLOW_FUZZ_JOBS:-2}"

# RINGFLOW_FUZZ_BUILD_ONLY=1: stop here (scripts/test.sh --all builds this
# tree in the background while the test suites run).
[ "${RINGFLOW_FUZZ_BUILD_ONLY:-}" = 1 ] && exit 0

artifacts=$build/artifacts
mkdir -p "$build/corpus/decode_v5" "$build/corpus/decode_templated" "$build/corpus/state_load" \
  "$build/corpus/decode_sflow" "$artifacts"
"$build/tests/fuzz/pcap_to_corpus" "$V5_CAPTURE" "$build/corpus/decode_v5"
"$build/tests/fuzz/captures_to_sequences" "$captures" \
  "$build/corpus/decode_templated"
"$build/tests/fuzz/sequences_to_states" "$build/corpus/decode_templated" "$build/corpus/state_load"
# One seed directory per sFlow capture (pcap_to_corpus names its files seed-N),
# copied in under the capture's name.
sflow_seeds=$(mktemp -d)
trap 'rm -rf "$sflow_seeds"' EXIT
for cap in "$root/../shared/captures/sflow/pcap/"*.pcap; do
  [ -f "$cap" ] || continue
  name=$(basename "$cap" .pcap)
  mkdir -p "$sflow_seeds/$name"
  "$build/tests/fuzz/pcap_to_corpus" "$cap" "$sflow_seeds/$name" >/dev/null
  for f in "$sflow_seeds/$name"/*; do cp "$f" "$build/corpus/decode_sflow/$name-$(basename "$f")"; done
done
if [ -z "$(ls -A "$build/corpus/decode_sflow")" ]; then
  "$build/tests/fuzz/pcap_to_corpus" /nonexistent.pcap "$build/corpus/decode_sflow" >/dev/null 2>&1
fi

# run TARGET SECONDS MAX_LEN: fuzz one target; exit 1 on a finding.
run() {
  local target=$1 secs=$2 max_len=$3 corpus=$build/corpus/$1 log=$build/fuzz-$1.log status=0
  echo "=== ringflow fuzz: $target for ${secs}s ===" >&2
  ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/${target}_fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$corpus" \
    >"$log" 2>&1 || status=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz: $target FAILED (exit $status) after ${execs:-?} executions; crash input in $artifacts/" >&2
    exit 1
  fi
  echo "fuzz: $target ok, ${execs:-?} executions in ${secs}s, corpus $(find "$corpus" -type f | wc -l) inputs" >&2
}

# Two lanes, one per core (libFuzzer runs one thread): decode_templated in
# one, the three smaller targets one after the other in the other. SECONDS
# is the wall time; each lane fuzzes for all of it (before, the four ran one
# after the other inside it and a core idled).
v5_secs=$(( seconds * 2 / 5 > 0 ? seconds * 2 / 5 : 1 ))
state_secs=$(( seconds * 3 / 10 > 0 ? seconds * 3 / 10 : 1 ))
sflow_secs=$(( seconds - v5_secs - state_secs > 0 ? seconds - v5_secs - state_secs : 1 ))
( run decode_v5 "$v5_secs" 4096 && run state_load "$state_secs" 16384 &&
  run decode_sflow "$sflow_secs" 9000 ) &
lane=$!
lane_rc=0 templated_rc=0
( run decode_templated "$seconds" 16384 ) || templated_rc=$?
wait "$lane" || lane_rc=$?
[ "$templated_rc" -eq 0 ] && [ "$lane_rc" -eq 0 ]
