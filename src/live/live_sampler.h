// LiveSampler: the thread that fills a RateHistory (live/rate_history.h)
// once a second, off the hot path, and the read side the web view's handlers
// use (live/overview_json.h).
//
// Thread contract:
//   - one thread, "rf-live", started by start() and joined by stop(); once a
//     second (on a steady 1 s cadence: a slow tick does not shift the next)
//     it calls `read`, which must only load counters (relaxed atomics, as
//     Collector::snapshot() does) and never block, then appends the result
//     under mu_;
//   - the HTTP handlers call with_history()/read_now() from their own
//     threads; they hold mu_ only to copy what they render;
//   - no hot-path thread (reactor, worker) ever takes mu_ or waits for this
//     thread: the sampler only reads what they publish.
// The first sample is taken in start(), before it returns, so the history
// starts at the collector's start (all zeros when no datagram has arrived).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "live/rate_history.h"

namespace ringflow {

class LiveSampler {
 public:
  using Read = std::function<LiveTotals()>;

  LiveSampler(uint32_t interval_s, Read read);
  ~LiveSampler();  // stop()
  LiveSampler(const LiveSampler&) = delete;
  LiveSampler& operator=(const LiveSampler&) = delete;

  void start();
  void stop();  // idempotent

  // Calls f(history) under the lock; f must only copy.
  template <typename F>
  void with_history(F&& f) const {
    std::lock_guard<std::mutex> lock(mu_);
    f(history_);
  }
  // One sample now, appended as the thread appends its once-a-second one:
  // bench/live_view_bench.cc fills the hour's rings without waiting an hour.
  // REQUIRES: start() was called. Any thread.
  void sample_now();
  // The counters now (not from the history): the API's totals.
  LiveTotals read_now() const { return stamp(read_()); }

 private:
  void run();
  // wall_ms from the steady clock: the wall clock at start() plus the
  // steady time since, so that the times of the history are exactly as far
  // apart as the steps its rates were computed over (a clock step after
  // start does not bend the charts or the sums).
  LiveTotals stamp(LiveTotals t) const;

  Read read_;
  int64_t wall_base_ms_ = 0, mono_base_ms_ = 0;  // set in start(), before any reader
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;    // guarded by mu_
  RateHistory history_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ringflow
