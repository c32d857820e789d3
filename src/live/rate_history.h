// RateHistory: the collector's counters over the last hour, for the web
// view's Overview page (issue 24; docs/api.md, GET /api/v1/overview).
//
// It keeps snapshots of pipeline-wide totals (LiveTotals: monotonic counters
// summed over every thread), not rates: the rate between two snapshots is
// their difference over their time apart, so nothing is lost to rounding and
// a window's loss by reason is one subtraction.
//   - recent: one snapshot a second, the last kRecentSlots (5 minutes + 1);
//   - hour:   one snapshot per aggregate.interval, enough for one hour
//             (ceil(3600 / interval) + 1 of them).
// Both rings are allocated once, in the constructor, and never grow: memory
// is sizeof(LiveTotals) (192 bytes) x (301 + ceil(3600 / interval) + 1),
// 68 KB at the default 60 s interval and 732 KB at the smallest (1 s).
//
// Thread safety: none of its own; LiveSampler (live/live_sampler.h) guards
// one RateHistory with a mutex shared by its sampling thread and the HTTP
// handlers. Never touched by a hot-path thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <ringflow/stats.h>

namespace ringflow {

// Pipeline-wide totals at one moment, read with relaxed loads (see
// Collector::snapshot()). Every field is monotonic.
struct LiveTotals {
  int64_t wall_ms = 0;           // wall clock when read (for the charts' time axis)
  int64_t mono_ms = 0;           // steady clock when read (for rates)
  uint64_t datagrams = 0;        // taken from the kernel, every reactor
  uint64_t bytes = 0;            // their UDP payload bytes
  uint64_t accepted = 0;         // accepted by the ordered stage (handed off or consumed)
  uint64_t flows = 0;            // flow records decoded by the workers
  uint64_t kernel_drops = 0;     // dropped by the kernel: socket receive buffer full
  uint64_t oversize = 0;         // receive: larger than receive.buffer_size
  uint64_t not_allowed = 0;      // receive: exporter outside receive.allow
  uint64_t queue_full = 0;       // hand-off: a worker's queue was full
  uint64_t late_queue_full = 0;  // hand-off: released held sets, the queue was full
  std::array<uint64_t, kRejectReasons> rejects{};  // decode: rejected whole, by reason

  uint64_t rejected() const;
  // Datagrams lost anywhere: kernel drops, receive and hand-off drops, rejects.
  uint64_t lost() const;
};

// One loss counter of LiveTotals, named for the API and the status line.
struct LossKind {
  const char* stage;   // "kernel", "receive", "handoff", "decode"
  const char* reason;  // e.g. "socket_buffer_full", "too_short"
  uint64_t (*read)(const LiveTotals&);
};
// Every loss counter, in a fixed order (the decode rejects last, by reason).
const std::vector<LossKind>& loss_kinds();

class RateHistory {
 public:
  static constexpr size_t kRecentSlots = 301;  // 300 one-second steps
  static constexpr uint32_t kHourSeconds = 3600;

  // interval_s: aggregate.interval (>= 1), the resolution of the hour ring.
  explicit RateHistory(uint32_t interval_s);

  // A new one-second snapshot; every interval_s-th one also enters the hour
  // ring (the first one always does).
  void push(const LiveTotals& t);

  uint32_t interval_s() const { return interval_s_; }
  // Snapshots oldest first.
  std::vector<LiveTotals> recent() const { return in_order(recent_, recent_head_, recent_n_); }
  std::vector<LiveTotals> hour() const { return in_order(hour_, hour_head_, hour_n_); }
  // The newest snapshot at least `seconds` older than the newest one, or the
  // oldest kept; nullptr when empty.
  const LiveTotals* back(uint32_t seconds) const;
  const LiveTotals* latest() const;
  size_t hour_capacity() const { return hour_.size(); }

 private:
  static std::vector<LiveTotals> in_order(const std::vector<LiveTotals>& ring, size_t head,
                                          size_t n);
  const LiveTotals& recent_at(size_t age) const;  // 0 = newest

  uint32_t interval_s_;
  std::vector<LiveTotals> recent_;         // ring, kRecentSlots
  size_t recent_head_ = 0, recent_n_ = 0;  // head: next slot written
  std::vector<LiveTotals> hour_;           // ring, ceil(3600 / interval_s) + 1
  size_t hour_head_ = 0, hour_n_ = 0;
  uint64_t pushes_ = 0;
};

}  // namespace ringflow
