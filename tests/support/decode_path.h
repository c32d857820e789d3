// Runs a test case on one of decode_records()' paths (DecodePath), chosen
// with GENERATE, and says which paths really ran: no silent fallback.
//
//   RF_DECODE_PATH(GENERATE(DecodePath::kVbmi, DecodePath::kShuffle, DecodePath::kScalar));
//
// At the top of a test case, before any assertion. For each generated path:
//   - available: selected, named in INFO, and listed in the line the process
//     prints at exit ("decode paths run: ...");
//   - not available because the CPU lacks its instructions (AVX-512 VBMI,
//     SSSE3): this run of the case ends with one SUCCEED, and the process
//     says so once, by name ("decode path avx512vbmi: not run, this CPU
//     lacks ..."), so a log shows what was not covered;
//   - not available although the CPU has the instructions (a build without
//     that path): the case is reported Skipped (RF_SKIP), which fails CI.
#pragma once

#include <cstdio>
#include <set>
#include <string>

#include "decode/decode_plan.h"
#include "support/skip.h"

namespace ringflow::test {

// Whether the CPU itself has what `path` needs, asked of cpuid directly
// (not through decode_plan.cc, whose answer is what is being checked).
inline bool cpu_has_path(DecodePath path) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (path) {
    case DecodePath::kScalar: return true;
    case DecodePath::kShuffle: return __builtin_cpu_supports("ssse3");
    case DecodePath::kVbmi:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vbmi");
  }
  return false;
#else
  return path == DecodePath::kScalar;
#endif
}

// The paths this process ran and the ones it could not, printed at exit.
struct DecodePathsReport {
  std::set<std::string> ran, lacking;
  ~DecodePathsReport() {
    std::string r;
    for (const auto& p : ran) r += (r.empty() ? "" : ", ") + p;
    if (!ran.empty()) std::printf("decode paths run: %s\n", r.c_str());
  }
};
inline DecodePathsReport& decode_paths_report() {
  static DecodePathsReport r;
  return r;
}

// Says once per process that `path` is not run because the CPU lacks it.
inline void note_cpu_lacks(DecodePath path) {
  if (decode_paths_report().lacking.insert(decode_path_name(path)).second)
    std::printf("decode path %s: not run, this CPU lacks its instructions (cpuid)\n",
                decode_path_name(path));
}

}  // namespace ringflow::test

#define RF_DECODE_PATH(path_expr)                                                          \
  const ::ringflow::DecodePath rf_decode_path_ = (path_expr);                             \
  if (!::ringflow::set_decode_path(rf_decode_path_)) {                                    \
    if (::ringflow::test::cpu_has_path(rf_decode_path_))                                  \
      RF_SKIP("decode path " << ::ringflow::decode_path_name(rf_decode_path_)             \
                             << " is not built in, although this CPU has it");            \
    ::ringflow::test::note_cpu_lacks(rf_decode_path_);                                    \
    SUCCEED("decode path " << ::ringflow::decode_path_name(rf_decode_path_)               \
                           << ": not on this CPU");                                       \
    return;                                                                               \
  }                                                                                       \
  ::ringflow::test::decode_paths_report().ran.insert(                                     \
      ::ringflow::decode_path_name(::ringflow::decode_path()));                           \
  INFO("decode path " << ::ringflow::decode_path_name(::ringflow::decode_path()))
