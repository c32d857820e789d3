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
#include <ctime>
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

// CPU time this process has used, in seconds (all its threads).
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs `body` (which returns the number of items it processed) `runs` times
// and prints "<name>: median X items/s (min .. max) over N runs", then the
// median per second of the process's CPU time, which a busy shared machine
// disturbs far less than the wall clock (time slices taken by others do not
// count; their cache pressure still does).
template <class F>
inline Summary rate(const char* name, int runs, F&& body, const char* unit = "items") {
  std::vector<double> rates, cpu_rates;
  for (int i = 0; i < runs; ++i) {
    const double c0 = process_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    uint64_t n = body();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = process_cpu_seconds() - c0;
    rates.push_back(s > 0 ? n / s : 0);
    cpu_rates.push_back(cpu > 0 ? n / cpu : 0);
  }
  Summary sm = summarize(rates);
  std::printf("%-44s median %12.0f %s/s  (min %.0f, max %.0f, %d runs; per CPU-second %.0f)\n",
              name, sm.median, unit, sm.min, sm.max, runs, summarize(cpu_rates).median);
  std::fflush(stdout);
  return sm;
}

// Number of runs: argv[1] if given (CI smoke uses 1), else `dflt`.
inline int runs_from_args(int argc, char** argv, int dflt) {
  return argc > 1 ? std::max(1, std::atoi(argv[1])) : dflt;
}

}  // namespace ringflow::bench
