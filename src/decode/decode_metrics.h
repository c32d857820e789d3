// The decode stage's metrics (docs/metrics.md, "Decode" and "Exporter
// streams"): ringflow_decode_* per worker and rejects by reason, from the
// workers' WorkerCounters; ringflow_streams_* and the per-stream
// ringflow_stream_* families, from the sequence trackers' statistics.
//
// As in receive_metrics.h, reading is split from writing: read_workers()
// takes one snapshot (the exporter reads workers before reactors).
//
// Thread safety: the functions any thread (relaxed counters); a
// StreamMetrics object one scrape at a time (the caller serialises).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <ringflow/stats.h>
#include <ringflow/streams.h>

#include "metrics/prom_writer.h"

namespace ringflow {

// One worker's decode counters, read once per scrape.
struct WorkerSample {
  uint64_t datagrams, decoded, pdus, trailing_accepted, flows, future_records, inverted_records;
  std::array<uint64_t, kRejectReasons> rejects;
};

std::vector<WorkerSample> read_workers(const std::vector<std::unique_ptr<WorkerCounters>>& workers);

void write_decode_metrics(PromWriter& w, const std::vector<WorkerSample>& workers);

class StreamMetrics {
 public:
  // Writes the stream families. *streams (every worker's snapshot) is
  // consumed: merged by key, and cut to the max_streams busiest when more
  // are tracked (counted in cap_exceeded()). now_ms: wall clock, for ages.
  void write(PromWriter& w, std::vector<StreamStats>* streams, const SequenceTrackerStats& trackers,
             size_t max_streams, int64_t now_ms);

  // Scrapes so far at which more streams were tracked than max_streams.
  uint64_t cap_exceeded() const { return cap_exceeded_; }

 private:
  uint64_t cap_exceeded_ = 0;
};

}  // namespace ringflow
