// Per-worker aggregation with wall-clock intervals, and the hand-over of
// sealed tables from the workers to the flusher. See docs/architecture.md
// (aggregate stage) for where this sits in the pipeline.
//
// Ownership. The AggregationHub owns, for every worker, two IntervalTables
// (allocated up front) and a WorkerAggregator that worker thread i alone uses
// to fill them. At any time each table is in exactly one place:
//   worker:  `active` (being filled) or `standby` (empty, or holding records of
//            the next interval during the grace period);
//   sealed mailbox -> flusher (merging, writing) -> returned mailbox -> worker.
// The mailboxes are one atomic pointer each (release on store, acquire on
// exchange), so the hot path takes no lock and the worker never waits for the
// flusher. Memory is bounded: 2 tables per worker + the flusher's merge table.
//
// Intervals. Interval k covers [k*I, (k+1)*I) ms since the epoch (I =
// aggregate.interval), so boundaries fall on wall-clock multiples. A record
// belongs to the interval of its arrival time, flow end or flow start
// (aggregate.time). The active table covers the intervals [first, last]
// (normally first == last). tick(now) seals it once now >= end(last) + grace
// (grace = 0 in arrival mode), publishing it to the flusher and making the
// standby active. Records of interval last+1 that come before that (during
// the grace period, or in arrival mode between the boundary and the next
// tick) go to the standby, which becomes active with them.
//
// Late flush. If the flusher has not returned the standby when the active
// table is due (the previous flush is still running), the worker keeps
// aggregating into the active table and extends its span (last grows); the
// table is flagged late and deferred_seals counted. The rows then carry the
// longer span. Nothing is dropped and memory stays bounded.
//
// Records older than the active table's first interval go to the active table
// and are counted late_records; records newer than the newest open interval
// go to the newest open table and are counted future_records.
//
// Thread safety: WorkerAggregator i: only worker thread i (add, tick).
// Mailboxes: worker i and the flusher (see above). Counters: readable from
// any thread. AggregationHub::worker() itself is thread-safe (no mutation).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/flow_key.h>
#include <ringflow/flow_record.h>
#include <ringflow/stats.h>

#include "aggregate/agg_table.h"
#include "aggregate/key_codec.h"

namespace ringflow {

class AggregationHub;
class Merger;

// Floor division (times before 1970 or negative intervals indexes stay
// consistent: -1 ms is in interval -1, not 0).
inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Written by one worker; alignas(64) so two workers' blocks never share a
// cache line.
struct alignas(64) AggregateWorkerCounters {
  Counter records;           // records added
  Counter entries;           // gauge: keys in the active table (updated at each tick)
  Counter overflow_records;  // records of new keys added to the overflow row (table full)
  Counter late_records;      // older than the active table's first interval
  Counter future_records;    // newer than the newest open interval
  Counter seals;             // tables handed to the flusher
  Counter deferred_seals;    // seal due but the standby not yet returned (late flush)
  // Packets or bytes that saturated at 2^64 - 1 instead of wrapping: in the
  // renormalization (value x sampling rate) of a record, and in the sums of
  // the worker's table rows (counted when the table is sealed).
  Counter saturated_renormalize;
  Counter saturated_sum;
};

// A table (one AggTable per key layout: narrow for IPv4 records, wide for
// IPv6 ones, see include/ringflow/flow_key.h) and the span of intervals it
// holds. Metadata is written by the owner of the moment (see the header
// comment) and published with the table. Each AggTable starts small and
// grows with its keys (src/aggregate/agg_table.h); reset() refits it for the
// keys it just held, so a table that comes back from the flusher has the
// right size, its pages already faulted in (off the worker's hot path).
struct IntervalTable {
  IntervalTable(const KeySchema& schema, uint64_t max_entries) {
    agg[kNarrow] = std::make_unique<AggTable>(schema.key_words(kNarrow), max_entries);
    if (schema.two_layouts())
      agg[kWide] = std::make_unique<AggTable>(schema.key_words(kWide), max_entries);
  }

  std::unique_ptr<AggTable> agg[2];  // agg[kWide] null when the key has no record address
  uint64_t size() const { return agg[0]->size() + (agg[1] ? agg[1]->size() : 0); }
  int64_t first = 0, last = 0;   // interval indexes covered, inclusive
  bool late = false;             // span was extended because the flusher was late
  uint64_t records = 0;          // records added since the last clear
  uint64_t overflow_records = 0; // of which went to the overflow row
  uint64_t late_records = 0, future_records = 0;

  void reset() {
    for (auto& a : agg) {
      if (!a) continue;
      const uint64_t rows = a->size();
      a->clear();
      a->fit(rows);
    }
    first = last = 0;
    late = false;
    records = overflow_records = late_records = future_records = 0;
  }
};

class WorkerAggregator {
 public:
  WorkerAggregator(AggregationHub* hub, uint32_t index, const AggregateConfig& cfg,
                   const KeySchema& schema);
  WorkerAggregator(const WorkerAggregator&) = delete;
  WorkerAggregator& operator=(const WorkerAggregator&) = delete;

  // Adds one record. Hot path: no allocation, no lock, no exception.
  // Packets and bytes are multiplied by the record's sampling rate.
  void add(const FlowRecord& r, const FlowContext& ctx);
  // Adds a run of records (one PDU or set), software-pipelined: each record is routed,
  // packed, hashed and its slot prefetched now, and inserted kPipeline
  // records later (during this or a later call), so that the cache misses
  // of a table far larger than the caches overlap instead of stalling one
  // by one. Records still in flight are inserted by the next tick() before
  // it seals, so a seal never misses one.
  void add_batch(const FlowRecord* r, size_t n, const FlowContext& ctx);

  // Called by the worker at least every 100 ms, also when idle, with the
  // current wall-clock time (explicit so that tests drive time). Seals the
  // active table when its interval (plus grace) has ended and swaps tables.
  void tick(int64_t now_ms);

  const AggregateWorkerCounters& counters() const { return counters_; }

 private:
  friend class Merger;
  friend class AggregationHub;

  IntervalTable* route(int64_t t_ms);
  // Caches the active span in ms; REQUIRES a call whenever active_, its
  // first or its last changes.
  void refresh_bounds() {
    active_lo_ms_ = active_->first * interval_ms_;
    active_hi_ms_ = (active_->last + 1) * interval_ms_;
  }
  void start(int64_t now_ms);
  int64_t record_time(const FlowRecord& r, const FlowContext& ctx) const {
    switch (mode_) {
      case TimeMode::kFlowEnd: return r.end_ms;
      case TimeMode::kFlowStart: return r.start_ms;
      default: return ctx.arrival_ms;
    }
  }
  // The record's counters, renormalized: packets and bytes times the sampling
  // multiplier, saturating at 2^64 - 1 (counted) instead of wrapping.
  AggCounters delta_of(const FlowRecord& r) {
    AggCounters d;
    d.flows = 1;
    const bool p = __builtin_mul_overflow(r.packets, uint64_t{r.sampling}, &d.packets);
    const bool b = __builtin_mul_overflow(r.bytes, uint64_t{r.sampling}, &d.bytes);
    if (__builtin_expect(p | b, 0)) {
      if (p) d.packets = ~uint64_t{0};
      if (b) d.bytes = ~uint64_t{0};
      counters_.saturated_renormalize.add(uint64_t{p} + b);
    }
    d.first_ms = r.start_ms;
    d.last_ms = r.end_ms;
    d.tcp_flags = r.tcp_flags;
    return d;
  }
  // Inserts every record still in the add_batch pipeline.
  void drain() {
    while (pending_count_ > 0) {
      Pending& p = pending_[pending_head_];
      insert(p.table, p.layout, p.key, p.hash, p.d);
      pending_head_ = (pending_head_ + 1) & (kPipeline - 1);
      --pending_count_;
    }
  }
  void insert(IntervalTable* t, uint8_t layout, const uint64_t* key, uint64_t h,
              const AggCounters& d) {
    ++t->records;
    if (!t->agg[layout]->add(key, h, d)) {
      ++t->overflow_records;
      counters_.overflow_records.add();
    }
  }

  AggregationHub* hub_;
  uint32_t index_;
  KeyPacker packer_;
  TimeMode mode_;
  int64_t interval_ms_;
  int64_t grace_ms_;

  std::unique_ptr<IntervalTable> tables_[2];
  // Worker-thread state.
  bool started_ = false;
  IntervalTable* active_ = nullptr;
  IntervalTable* standby_ = nullptr;  // null while the flusher holds it
  bool standby_used_ = false;         // standby holds records of active_->last + 1
  int64_t last_tick_ms_ = 0;
  int64_t active_lo_ms_ = 0, active_hi_ms_ = 0;  // [first, last + 1) * interval, see route()

  // add_batch pipeline: records routed, hashed and prefetched, not yet
  // inserted. 32 records (~1 PDU) ahead is enough to cover a DRAM miss.
  static constexpr uint32_t kPipeline = 32;  // power of two
  struct Pending {
    IntervalTable* table;
    uint64_t hash;
    AggCounters d;
    uint8_t layout;
    uint64_t key[kMaxKeyWords];
  };
  Pending pending_[kPipeline];
  uint32_t pending_head_ = 0, pending_count_ = 0;

  AggregateWorkerCounters counters_;
  // Hand-over mailboxes, each on its own cache line: written by different
  // threads.
  alignas(64) std::atomic<IntervalTable*> sealed_{nullptr};    // worker -> flusher
  alignas(64) std::atomic<IntervalTable*> returned_{nullptr};  // flusher -> worker
};

class AggregationHub {
 public:
  // Allocates every worker's two tables up front (see agg_table.h for the
  // memory per table). REQUIRES: workers >= 1, cfg.interval_s >= 1,
  // cfg.max_entries >= 1, cfg.key valid (KeySchema::parse); throws
  // std::invalid_argument otherwise and std::bad_alloc when memory cannot be
  // mapped (start-up only).
  AggregationHub(const AggregateConfig& cfg, uint32_t workers);
  AggregationHub(const AggregationHub&) = delete;
  AggregationHub& operator=(const AggregationHub&) = delete;

  WorkerAggregator& worker(uint32_t i) { return *workers_[i]; }
  const WorkerAggregator& worker(uint32_t i) const { return *workers_[i]; }
  uint32_t workers() const { return static_cast<uint32_t>(workers_.size()); }
  const AggregateConfig& config() const { return cfg_; }
  const KeySchema& schema() const { return schema_; }
  int64_t interval_ms() const { return int64_t{cfg_.interval_s} * 1000; }

  // Number of workers whose sealed table waits in the mailbox.
  uint32_t sealed_ready() const;

  // Sums that saturated while the flusher merged the workers' tables
  // (src/aggregate/merger.cc): written by the flusher, read by metrics.
  Counter& merge_saturated_sum() { return merge_saturated_sum_; }
  const Counter& merge_saturated_sum() const { return merge_saturated_sum_; }

  // Flusher side: read seal_epoch(), check sealed_ready(), then
  // wait_for_seal(epoch, ...) returns as soon as a worker seals after the
  // read (no lost wake-up) or timeout_ms passes.
  uint64_t seal_epoch();
  void wait_for_seal(uint64_t epoch, uint32_t timeout_ms);
  // Wakes wait_for_seal (workers after sealing; the flusher to stop).
  void notify();

 private:
  friend class WorkerAggregator;

  AggregateConfig cfg_;
  KeySchema schema_;
  std::vector<std::unique_ptr<WorkerAggregator>> workers_;
  std::mutex mu_;  // only for the flusher's sleep; taken once per seal
  std::condition_variable cv_;
  uint64_t seal_events_ = 0;  // guarded by mu_
  Counter merge_saturated_sum_;
};

}  // namespace ringflow
