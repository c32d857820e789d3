// Merger: the flusher's side of the hand-over. Takes the tables the workers
// sealed, merges them into one merge table (same max_entries bound as a
// worker table; rows that do not fit go to its overflow row and are counted)
// and exposes the result as a FlushBatch. release() clears the tables and
// returns them to their workers.
//
// A batch built from a single table (one worker, or one sealed so far) points
// at that table directly: no merge pass.
//
// Thread safety: one thread (the flusher) uses a Merger. collect_open()
// REQUIRES that every worker thread has been joined.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "aggregate/flush_batch.h"
#include "aggregate/hub.h"

namespace ringflow {

class Merger {
 public:
  // Allocates the merge table and the row array (max_entries + 1) up front.
  explicit Merger(AggregationHub& hub);

  // Builds a batch from every sealed table waiting now. Returns null when
  // none is waiting.
  FlushBatch* collect_sealed();

  // Shutdown: builds a partial batch from the tables the workers are still
  // filling: stage 0 = active tables, 1 = standby tables holding the next
  // interval (grace period). Returns null when the stage has nothing
  // (stage 0 always yields a batch, possibly empty, once a worker started).
  // REQUIRES: every worker thread joined; the previous batch released.
  FlushBatch* collect_open(int stage);

  // Clears the tables of the last batch; sealed ones go back to their worker.
  void release();

  const AggTable& merge_table(uint8_t layout = kNarrow) const { return *merge_.agg[layout]; }

 private:
  struct Taken {
    IntervalTable* table;
    WorkerAggregator* owner;  // null: not returned (shutdown tables)
  };
  FlushBatch* build(bool partial);

  AggregationHub& hub_;
  IntervalTable merge_;
  AggCounters overflow_;  // the batch's overflow row (every layout and table)
  std::vector<Taken> taken_;
  std::vector<FlushRow> rows_;
  FlushBatch batch_;
  uint64_t seq_ = 0;
};

}  // namespace ringflow
