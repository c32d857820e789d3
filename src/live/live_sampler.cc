#include "live/live_sampler.h"

#include <chrono>

#include <pthread.h>

namespace ringflow {

LiveSampler::LiveSampler(uint32_t interval_s, Read read)
    : read_(std::move(read)), history_(interval_s) {}

LiveSampler::~LiveSampler() { stop(); }

LiveTotals LiveSampler::stamp(LiveTotals t) const {
  t.wall_ms = wall_base_ms_ + (t.mono_ms - mono_base_ms_);
  return t;
}

void LiveSampler::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const LiveTotals first = read_();
    wall_base_ms_ = first.wall_ms;
    mono_base_ms_ = first.mono_ms;
    history_.push(first);
  }
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "rf-live");
}

void LiveSampler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LiveSampler::sample_now() {
  const LiveTotals t = stamp(read_());
  std::lock_guard<std::mutex> lock(mu_);
  history_.push(t);
}

void LiveSampler::run() {
  using Clock = std::chrono::steady_clock;
  auto next = Clock::now() + std::chrono::seconds(1);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (cv_.wait_until(lock, next, [this] { return stop_; })) break;
    lock.unlock();
    const LiveTotals t = stamp(read_());  // counters only: not under the lock
    lock.lock();
    history_.push(t);
    next += std::chrono::seconds(1);
    // After a long stall (suspend, a stopped process), resume from now
    // rather than catching up with a burst of samples.
    const auto now = Clock::now();
    if (next < now) next = now + std::chrono::seconds(1);
  }
}

}  // namespace ringflow
