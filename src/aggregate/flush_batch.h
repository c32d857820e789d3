// FlushBatch: what the flusher hands to every sink for one interval (or, after
// a late flush or an idle gap, a span of intervals): the merged rows, their
// key schema, totals, overflow and the pipeline's drop counters.
//
// Rows point into tables owned by the Merger; a batch is valid only during
// the Sink::write() call that receives it.
//
// Thread safety: read-only for the sinks, which run on the flusher thread.
#pragma once

#include <cstdint>
#include <span>

#include <ringflow/config.h>
#include <ringflow/flow_key.h>
#include <ringflow/stats.h>

#include "aggregate/agg_table.h"

namespace ringflow {

struct FlushRow {
  const uint8_t* key;     // packed key (KeySchema layout `layout`); all zeros for the overflow row
  const AggCounters* c;   // flows >= 1
  bool overflow;          // the overflow row: records of keys that found the table full
  uint8_t layout = kNarrow;  // kNarrow (IPv4 record addresses) or kWide
};

struct FlushTotals {
  uint64_t flows = 0, packets = 0, bytes = 0;
};

struct FlushBatch {
  uint64_t seq = 0;            // 1, 2, ... in flush order
  int64_t start_ms = 0;        // first interval's start (wall clock, ms since epoch)
  int64_t end_ms = 0;          // last interval's end; end - start == interval_ms normally
  int64_t interval_ms = 0;     // aggregate.interval
  bool partial = false;        // flushed at shutdown before the interval ended
  bool late = false;           // spans more intervals because the previous flush was late
  TimeMode time = TimeMode::kArrival;
  const KeySchema* schema = nullptr;
  std::span<const FlushRow> rows;  // narrow rows, wide rows, then the overflow row (if any)

  FlushTotals totals;              // over all rows, overflow included
  uint64_t overflow_records = 0;   // records that went to an overflow row (worker tables)
  uint64_t merge_overflow_rows = 0;  // worker rows that did not fit the merge table
  uint64_t late_records = 0;       // older than the interval they were counted in
  uint64_t future_records = 0;     // newer than the newest open interval
  uint32_t tables = 0;             // worker tables merged
  uint32_t workers_missing = 0;    // workers that had not sealed by the deadline

  // Pipeline counters (drops, rejects) accumulated since the previous batch;
  // valid when has_pipeline_stats.
  bool has_pipeline_stats = false;
  StatsSnapshot pipeline;

  uint32_t intervals() const {
    return interval_ms > 0 ? static_cast<uint32_t>((end_ms - start_ms) / interval_ms) : 0;
  }
};

}  // namespace ringflow
