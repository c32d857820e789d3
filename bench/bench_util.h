// Helpers shared by the microbenchmarks: run a body several times, report the
// median and spread, and keep results from being optimised away.
//
// Benchmarks print figures; they never assert thresholds (CI machines are
// shared and noisy). Compare ratios measured within one run.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace ringflow::bench {

template <class T>
inline void do_not_optimize(T const& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

struct Summary {
  double median = 0, min = 0, max = 0;
};

inline Summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Summary s;
  if (v.empty()) return s;
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

// Runs `body` (which returns the number of items it processed) `runs` times
// and prints "<name>: median X items/s (min .. max) over N runs".
template <class F>
inline Summary rate(const char* name, int runs, F&& body, const char* unit = "items") {
  std::vector<double> rates;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    uint64_t n = body();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(s > 0 ? n / s : 0);
  }
  Summary sm = summarize(rates);
  std::printf("%-44s median %12.0f %s/s  (min %.0f, max %.0f, %d runs)\n", name, sm.median, unit,
              sm.min, sm.max, runs);
  std::fflush(stdout);
  return sm;
}

// Number of runs: argv[1] if given (CI smoke uses 1), else `dflt`.
inline int runs_from_args(int argc, char** argv, int dflt) {
  return argc > 1 ? std::max(1, std::atoi(argv[1])) : dflt;
}

}  // namespace ringflow::bench
