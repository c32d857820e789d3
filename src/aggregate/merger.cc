#include "aggregate/merger.h"

#include <algorithm>

namespace ringflow {
namespace {
const uint64_t kZeroKey[kMaxKeyWords] = {};
}  // namespace

Merger::Merger(AggregationHub& hub) : hub_(hub), merge_(hub.schema(), hub.config().max_entries) {
  taken_.reserve(hub.workers() * 2);
  rows_.reserve(hub.config().max_entries * (hub.schema().two_layouts() ? 2 : 1) + 1);
}

FlushBatch* Merger::collect_sealed() {
  taken_.clear();
  for (uint32_t i = 0; i < hub_.workers(); ++i) {
    WorkerAggregator& w = hub_.worker(i);
    if (IntervalTable* t = w.sealed_.exchange(nullptr, std::memory_order_acquire))
      taken_.push_back({t, &w});
  }
  if (taken_.empty()) return nullptr;
  return build(false);
}

FlushBatch* Merger::collect_open(int stage) {
  taken_.clear();
  for (uint32_t i = 0; i < hub_.workers(); ++i) {
    WorkerAggregator& w = hub_.worker(i);
    if (!w.started_) continue;
    w.drain();  // the worker is joined: its pipeline is ours to finish
    if (stage == 0) {
      taken_.push_back({w.active_, nullptr});
    } else if (w.standby_ && w.standby_used_) {
      taken_.push_back({w.standby_, nullptr});
    }
  }
  if (taken_.empty()) return nullptr;
  return build(true);
}

FlushBatch* Merger::build(bool partial) {
  FlushBatch& b = batch_;
  b = FlushBatch{};
  b.seq = ++seq_;
  b.interval_ms = hub_.interval_ms();
  b.partial = partial;
  b.time = hub_.config().time;
  b.schema = &hub_.schema();
  b.tables = static_cast<uint32_t>(taken_.size());
  b.workers_missing = partial ? 0 : hub_.workers() - b.tables;

  int64_t first = taken_[0].table->first, last = taken_[0].table->last;
  for (const Taken& t : taken_) {
    first = std::min(first, t.table->first);
    last = std::max(last, t.table->last);
    b.late |= t.table->late;
    b.overflow_records += t.table->overflow_records;
    b.late_records += t.table->late_records;
    b.future_records += t.table->future_records;
  }
  b.start_ms = first * b.interval_ms;
  b.end_ms = (last + 1) * b.interval_ms;

  // Per layout: one table's rows as they are, or several merged.
  rows_.clear();
  AggCounters overflow;
  uint64_t saturated = 0;  // sums of the merge that saturated
  const uint8_t layouts = hub_.schema().two_layouts() ? 2 : 1;
  for (uint8_t l = 0; l < layouts; ++l) {
    const uint32_t words = hub_.schema().key_words(l);
    const AggTable* src = taken_[0].table->agg[l].get();
    if (taken_.size() > 1) {
      AggTable& m = *merge_.agg[l];
      m.clear();
      // Sized for the largest table (the rows of the others are mostly the
      // same keys when the workers share streams); it grows if they are not.
      uint64_t most = 0;
      for (const Taken& t : taken_) most = std::max(most, t.table->agg[l]->size());
      m.fit(most);
      for (const Taken& t : taken_) {
        t.table->agg[l]->for_each([&](const uint64_t* key, const AggCounters& c) {
          if (!m.add(key, hash_key(key, words), c)) ++b.merge_overflow_rows;
        });
        if (t.table->agg[l]->overflow().flows)
          saturated += overflow.accumulate(t.table->agg[l]->overflow());
      }
      // The merge table's own overflow (rows that did not fit) joins the
      // workers' overflow rows: one overflow row per batch.
      if (m.overflow().flows) saturated += overflow.accumulate(m.overflow());
      saturated += m.saturated();
      src = &m;
    } else if (src->overflow().flows) {
      saturated += overflow.accumulate(src->overflow());
    }
    src->for_each([&](const uint64_t* key, const AggCounters& c) {
      rows_.push_back({reinterpret_cast<const uint8_t*>(key), &c, false, l});
    });
  }
  overflow_ = overflow;
  if (saturated) hub_.merge_saturated_sum().add(saturated);
  if (overflow_.flows)
    rows_.push_back({reinterpret_cast<const uint8_t*>(kZeroKey), &overflow_, true, kNarrow});
  for (const FlushRow& r : rows_) {
    // The batch's totals saturate too (a summary, not a row: not counted).
    b.totals.flows += r.c->flows;
    saturating_add(&b.totals.packets, r.c->packets);
    saturating_add(&b.totals.bytes, r.c->bytes);
  }
  b.rows = std::span<const FlushRow>(rows_.data(), rows_.size());
  return &b;
}

void Merger::release() {
  for (const Taken& t : taken_) {
    t.table->reset();
    if (t.owner) t.owner->returned_.store(t.table, std::memory_order_release);
  }
  taken_.clear();
  rows_.clear();
  batch_.rows = {};
}

}  // namespace ringflow
