// A worker thread: dequeues datagrams from its hand-off queue and, for each,
// loops: the next chunk of finished records (src/decode/record_reader.h:
// decoded as the ordered stage on the reactor described them in the
// buffer's DatagramMeta, times checked, sampling resolved by
// src/decode/sampling.h) -> its record stages (src/pipeline/record_stage.h:
// --print-flows and later enrichment; records a stage drops are counted in
// stage_dropped_records) -> its aggregation table (src/aggregate). It counts
// what the chunks say. It is the only consumer of Handoff::queue(index) and
// the only writer of its WorkerCounters and WorkerAggregator. It keeps no
// per-stream state: any worker can take any datagram. Packets and bytes are
// multiplied by each record's `sampling` in aggregation (src/aggregate/hub.h;
// the product saturates at 2^64 - 1, counted).
//
// Buffer ownership: a DatagramRef's buffer (and its DatagramMeta) belongs to
// this worker from dequeue until it is released (pushed back on the owning
// reactor's return queue), which happens once per batch, after every record
// of the batch has been added to the aggregation table (the table copies
// what it keeps).
//
// Life cycle: run() loops until request_drain() has been called AND its
// queue is empty; the caller must have stopped (joined) every reactor before
// calling request_drain(), so that "empty" means "nothing more will come".
// It ticks the aggregator at least every 100 ms, also when idle, so interval
// boundaries are sealed on time without traffic.
//
// Thread safety: run() on the worker's own thread; request_drain() from any
// thread.
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
#include "decode/record_reader.h"
#include "decode/sampling.h"
#include "decode/sessions.h"
#include "pipeline/record_stage.h"
#include "receive/handoff.h"

namespace ringflow {

class Worker {
 public:
  // sessions[r]: the ordered stage of reactor r, whose DatagramMeta describe
  // the datagrams of its buffers. stages: its record stages
  // (make_record_stages(); empty = none).
  Worker(uint32_t index, const Config& cfg, Handoff& handoff,
         std::vector<const Sessions*> sessions, WorkerAggregator& aggregator,
         WorkerCounters& counters, RecordStageChain stages);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void run();
  void request_drain() { drain_.store(true, std::memory_order_release); }

 private:
  static constexpr size_t kBatch = 256;
  static constexpr size_t kChunk = 64;  // records decoded per add_batch

  // Processes one datagram; the buffer stays valid until release.
  void process(const DatagramRef& d, int64_t now_ms);
  void housekeeping(int64_t now_ms);

  const uint32_t index_;
  Handoff& handoff_;
  std::vector<const Sessions*> sessions_;
  WorkerAggregator& aggregator_;
  WorkerCounters& counters_;
  RecordStageChain stages_;
  DecodeOptions decode_opts_;
  SflowOptions sflow_opts_;  // decode.sflow_bytes
  RecordSampling sampling_;
  alignas(64) FlowRecord records_[kChunk];  // scratch for one chunk (8 KB: a member, not on the stack)
  std::atomic<bool> drain_{false};

  int64_t last_tick_ms_ = 0;
};

}  // namespace ringflow
