// A Catch2 test case that cannot run here says why and is reported Skipped.
//
// Catch2 2.x (Debian bookworm) has no SKIP, so RF_SKIP prints one line that
// starts with kSkipMarker and returns from the test case. tests/CMakeLists.txt
// gives every Catch2 test SKIP_REGULAR_EXPRESSION on that marker, so ctest
// reports the case as Skipped (never Passed), and scripts/test.sh fails the
// run on any skip when CI=true. Catch2 itself runs with -w NoAssertions, so a
// case that returns without an assertion and without the marker fails.
//
// Use it only at the top of a test case, before any assertion: ctest reports
// a case whose output holds the marker as Skipped even if an assertion failed.
//
//   if (!probe_io_uring(&why)) RF_SKIP("io_uring unusable here: " << why);
//
// Tests that read ../shared/captures (data from other projects, not in the
// repository) call shared_capture(), which skips when the directory is absent
// and carry the ctest label shared-data.
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace ringflow::test {

inline constexpr const char* kSkipMarker = "RINGFLOW-TEST-SKIPPED:";

inline void print_skip(const std::string& why) {
  std::printf("%s %s\n", kSkipMarker, why.c_str());
  std::fflush(stdout);
}

// Path of a file under ../shared/captures beside the source tree, or "" when
// it is not there (a plain clone).
inline std::string shared_capture_path(const std::string& relative) {
  std::string p = std::string(RINGFLOW_SOURCE_DIR) + "/../shared/captures/" + relative;
  return std::ifstream(p).good() ? p : std::string();
}

}  // namespace ringflow::test

// Prints "RINGFLOW-TEST-SKIPPED: <why>" and returns from the test case.
// `why` is a stream expression, as in INFO.
#define RF_SKIP(why)                                            \
  do {                                                          \
    std::ostringstream rf_skip_os_;                             \
    rf_skip_os_ << why;                                         \
    ::ringflow::test::print_skip(rf_skip_os_.str());            \
    return;                                                     \
  } while (0)

// Declares `var` = the path of ../shared/captures/<relative>, or skips the
// test case (label it shared-data) when that file is not beside the clone.
#define RF_SHARED_CAPTURE(var, relative)                                              \
  const std::string var = ::ringflow::test::shared_capture_path(relative);            \
  if (var.empty())                                                                    \
  RF_SKIP("needs ../shared/captures/" << (relative)                                   \
                                      << " beside the source tree (not in the repository)")
