// A worker thread: dequeues datagrams from its hand-off queue, validates and
// decodes them (src/decode), tracks exporter sequence numbers, renormalizes
// by sampling and adds every record to its aggregation table
// (src/aggregate). It is the only consumer of Handoff::queue(index) and the
// only writer of its WorkerCounters, SequenceTracker and WorkerAggregator.
//
// Buffer ownership: a DatagramRef's buffer belongs to this worker from
// dequeue until it is released (pushed back on the owning reactor's return
// queue), which happens once per batch, after every record of the batch has
// been added to the aggregation table (the table copies what it keeps).
//
// Life cycle: run() loops until request_drain() has been called AND its
// queue is empty; the caller must have stopped (joined) every reactor before
// calling request_drain(), so that "empty" means "nothing more will come".
// It ticks the aggregator at least every 100 ms, also when idle, so interval
// boundaries are sealed on time without traffic.
//
// Thread safety: run() on the worker's own thread; request_drain() and
// streams_snapshot() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/stats.h>
#include <ringflow/streams.h>

#include "aggregate/hub.h"
#include "decode/sampling.h"
#include "decode/sequence_tracker.h"
#include "decode/v5_decoder.h"
#include "receive/handoff.h"

namespace ringflow {

class Worker {
 public:
  // flow_out: where --print-flows lines go (nullptr = off).
  Worker(uint32_t index, const Config& cfg, Handoff& handoff, WorkerAggregator& aggregator,
         WorkerCounters& counters, FILE* flow_out);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void run();
  void request_drain() { drain_.store(true, std::memory_order_release); }

  // Last published per-stream statistics (refreshed about once a second).
  void streams_snapshot(std::vector<StreamStats>* out) const;
  // Sequence-tracker-wide counters (streams created/expired/table full).
  SequenceTrackerStats tracker_stats() const;

 private:
  static constexpr size_t kBatch = 256;

  // Processes one datagram; the buffer stays valid until release.
  void process(const DatagramRef& d, int64_t now_ms);
  void print_flow(const v5::Record& r, const FlowContext& ctx);
  void housekeeping(int64_t now_ms);

  const uint32_t index_;
  Handoff& handoff_;
  WorkerAggregator& aggregator_;
  WorkerCounters& counters_;
  FILE* flow_out_;
  DecodeOptions decode_opts_;
  SamplingPolicy sampling_;
  SequenceTracker tracker_;
  Pdu pdu_;  // scratch for one decoded PDU (about 2 KB; a member, not on the stack)
  std::atomic<bool> drain_{false};

  int64_t last_tick_ms_ = 0;
  int64_t last_publish_ms_ = 0;

  // Published snapshot: written by the worker under try_lock (it skips a
  // round rather than wait), read by the metrics thread under lock.
  mutable std::mutex snapshot_mu_;
  std::vector<StreamStats> snapshot_;
  SequenceTrackerStats tracker_snapshot_{};
  std::vector<StreamStats> scratch_;
};

}  // namespace ringflow
