#include "aggregate/hub.h"

#include <chrono>
#include <stdexcept>

namespace ringflow {

WorkerAggregator::WorkerAggregator(AggregationHub* hub, uint32_t index, const AggregateConfig& cfg,
                                   const KeySchema& schema)
    : hub_(hub),
      index_(index),
      packer_(schema),
      mode_(cfg.time),
      interval_ms_(int64_t{cfg.interval_s} * 1000),
      // Arrival time is "now": nothing arrives late, so there is nothing to
      // wait for.
      grace_ms_(cfg.time == TimeMode::kArrival ? 0 : int64_t{cfg.grace_s} * 1000) {
  for (auto& t : tables_) t = std::make_unique<IntervalTable>(schema, cfg.max_entries);
}

void WorkerAggregator::start(int64_t now_ms) {
  started_ = true;
  active_ = tables_[0].get();
  standby_ = tables_[1].get();
  standby_used_ = false;
  // During the first grace period we are still collecting the previous
  // interval (its records may still come), so start there.
  active_->first = active_->last = floor_div(now_ms - grace_ms_, interval_ms_);
  refresh_bounds();
  last_tick_ms_ = now_ms;
}

IntervalTable* WorkerAggregator::route(int64_t t_ms) {
  // Nearly every record falls in the active span: no 64-bit division then.
  if (t_ms >= active_lo_ms_ && t_ms < active_hi_ms_) return active_;
  int64_t idx = floor_div(t_ms, interval_ms_);
  IntervalTable* a = active_;
  if (idx <= a->last) {
    if (idx < a->first) {
      ++a->late_records;
      counters_.late_records.add();
    }
    return a;
  }
  if (standby_) {
    if (!standby_used_) {
      standby_used_ = true;
      standby_->first = standby_->last = a->last + 1;
    }
    if (idx > standby_->last) {
      ++standby_->future_records;
      counters_.future_records.add();
    }
    return standby_;
  }
  // The flusher still holds the standby: the active table takes the next
  // interval too (a late flush), rather than dropping anything.
  if (idx == a->last + 1) {
    a->last = idx;
    refresh_bounds();
    a->late = true;
    counters_.deferred_seals.add();
    return a;
  }
  ++a->future_records;
  counters_.future_records.add();
  return a;
}

void WorkerAggregator::add(const FlowRecord& r, const FlowContext& ctx) {
  if (!started_) start(ctx.arrival_ms);
  counters_.records.add();
  IntervalTable* t = route(record_time(r, ctx));
  uint64_t key[kMaxKeyWords];
  const uint8_t layout = packer_.pack(r, ctx, key);
  insert(t, layout, key, hash_key(key, packer_.words(layout)), delta_of(r));
}

void WorkerAggregator::add_batch(const FlowRecord* r, size_t n, const FlowContext& ctx) {
  if (!started_) start(ctx.arrival_ms);
  counters_.records.add(n);
  for (size_t i = 0; i < n; ++i) {
    if (pending_count_ == kPipeline) {
      // The oldest record's slot was prefetched kPipeline records ago.
      Pending& p = pending_[pending_head_];
      insert(p.table, p.layout, p.key, p.hash, p.d);
      pending_head_ = (pending_head_ + 1) & (kPipeline - 1);
      --pending_count_;
    }
    Pending& q = pending_[(pending_head_ + pending_count_) & (kPipeline - 1)];
    ++pending_count_;
    q.table = route(record_time(r[i], ctx));
    q.layout = packer_.pack(r[i], ctx, q.key);
    q.hash = hash_key(q.key, packer_.words(q.layout));
    q.d = delta_of(r[i]);
    q.table->agg[q.layout]->prefetch(q.hash);
  }
}

void WorkerAggregator::tick(int64_t now_ms) {
  if (!started_) start(now_ms);
  drain();
  last_tick_ms_ = now_ms;
  if (!standby_) {
    if (IntervalTable* t = returned_.exchange(nullptr, std::memory_order_acquire)) {
      standby_ = t;
      standby_used_ = false;
    }
  }
  counters_.entries.set(active_->size());
  if (now_ms < (active_->last + 1) * interval_ms_ + grace_ms_) return;

  // The first interval whose seal time has not come yet.
  int64_t open_now = floor_div(now_ms - grace_ms_, interval_ms_);
  if (!standby_) {
    // The previous flush is still running: keep aggregating into the active
    // table, which now also covers the intervals up to open_now.
    active_->last = open_now;
    refresh_bounds();
    active_->late = true;
    counters_.deferred_seals.add();
    return;
  }
  IntervalTable* sealed = active_;
  IntervalTable* next = standby_;
  if (!standby_used_) {
    // After a clock step (or ticks that stopped) the sealed table also
    // covers the empty intervals up to now, so that the new one starts at
    // the current interval: one flush for the gap, not one per interval.
    if (open_now > sealed->last + 1) sealed->last = open_now - 1;
    next->first = next->last = sealed->last + 1;
  } else if (open_now > next->last) {
    // The standby already holds records of sealed->last + 1: it keeps that
    // start and covers the gap.
    next->last = open_now;
  }
  active_ = next;
  refresh_bounds();
  standby_ = nullptr;
  standby_used_ = false;
  counters_.entries.set(active_->size());
  counters_.seals.add();
  uint64_t saturated = 0;
  for (const auto& a : sealed->agg)
    if (a) saturated += a->saturated();
  if (saturated) counters_.saturated_sum.add(saturated);
  sealed_.store(sealed, std::memory_order_release);
  hub_->notify();
}

AggregationHub::AggregationHub(const AggregateConfig& cfg, uint32_t workers) : cfg_(cfg) {
  std::string error;
  if (!KeySchema::parse(cfg.key, &schema_, &error)) throw std::invalid_argument(error);
  if (workers == 0 || cfg.interval_s == 0 || cfg.max_entries == 0)
    throw std::invalid_argument("aggregation needs workers >= 1, interval >= 1 s, max_entries >= 1");
  for (uint32_t i = 0; i < workers; ++i)
    workers_.push_back(std::make_unique<WorkerAggregator>(this, i, cfg_, schema_));
}

uint32_t AggregationHub::sealed_ready() const {
  uint32_t n = 0;
  for (const auto& w : workers_) n += w->sealed_.load(std::memory_order_acquire) != nullptr;
  return n;
}

uint64_t AggregationHub::seal_epoch() {
  std::lock_guard<std::mutex> lock(mu_);
  return seal_events_;
}

void AggregationHub::wait_for_seal(uint64_t epoch, uint32_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return seal_events_ != epoch; });
}

void AggregationHub::notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++seal_events_;
  }
  cv_.notify_all();
}

}  // namespace ringflow
