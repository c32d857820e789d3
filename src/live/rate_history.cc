#include "live/rate_history.h"

#include <algorithm>

namespace ringflow {

// docs/api.md states the history's memory from this size.
static_assert(sizeof(LiveTotals) == 264);

uint64_t LiveTotals::rejected() const {
  uint64_t n = 0;
  for (size_t i = 1; i < kRejectReasons; ++i) n += rejects[i];
  return n;
}

uint64_t LiveTotals::lost() const {
  return kernel_drops + oversize + not_allowed + queue_full + late_queue_full + rejected();
}

namespace {

template <size_t I>
uint64_t reject_at(const LiveTotals& t) {
  return t.rejects[I];
}

template <size_t... I>
void add_rejects(std::vector<LossKind>* out, std::index_sequence<I...>) {
  // Slot 0 (kNone) is unused: start at 1.
  ((out->push_back(
       {"decode", reject_reason_name(static_cast<Reject>(I + 1)).data(), &reject_at<I + 1>})),
   ...);
}

std::vector<LossKind> make_loss_kinds() {
  std::vector<LossKind> k = {
      {"kernel", "socket_buffer_full", [](const LiveTotals& t) { return t.kernel_drops; }},
      {"receive", "oversize", [](const LiveTotals& t) { return t.oversize; }},
      {"receive", "not_allowed", [](const LiveTotals& t) { return t.not_allowed; }},
      {"handoff", "queue_full", [](const LiveTotals& t) { return t.queue_full; }},
      {"handoff", "late_queue_full", [](const LiveTotals& t) { return t.late_queue_full; }},
  };
  add_rejects(&k, std::make_index_sequence<kRejectReasons - 1>());
  return k;
}

}  // namespace

const std::vector<LossKind>& loss_kinds() {
  static const std::vector<LossKind> kinds = make_loss_kinds();
  return kinds;
}

RateHistory::RateHistory(uint32_t interval_s)
    : interval_s_(std::max<uint32_t>(interval_s, 1)),
      recent_(kRecentSlots),
      hour_((kHourSeconds + interval_s_ - 1) / interval_s_ + 1) {}

void RateHistory::push(const LiveTotals& t) {
  recent_[recent_head_] = t;
  recent_head_ = (recent_head_ + 1) % recent_.size();
  recent_n_ = std::min(recent_n_ + 1, recent_.size());
  if (pushes_ % interval_s_ == 0) {
    hour_[hour_head_] = t;
    hour_head_ = (hour_head_ + 1) % hour_.size();
    hour_n_ = std::min(hour_n_ + 1, hour_.size());
  }
  ++pushes_;
}

const LiveTotals& RateHistory::recent_at(size_t age) const {
  return recent_[(recent_head_ + recent_.size() - 1 - age) % recent_.size()];
}

const LiveTotals* RateHistory::latest() const { return recent_n_ ? &recent_at(0) : nullptr; }

const LiveTotals* RateHistory::back(uint32_t seconds) const {
  if (recent_n_ == 0) return nullptr;
  const int64_t newest = recent_at(0).mono_ms;
  for (size_t age = 1; age < recent_n_; ++age) {
    const LiveTotals& t = recent_at(age);
    if (newest - t.mono_ms >= int64_t{seconds} * 1000) return &t;
  }
  return &recent_at(recent_n_ - 1);
}

std::vector<LiveTotals> RateHistory::in_order(const std::vector<LiveTotals>& ring, size_t head,
                                              size_t n) {
  std::vector<LiveTotals> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(ring[(head + ring.size() - n + i) % ring.size()]);
  return out;
}

}  // namespace ringflow
