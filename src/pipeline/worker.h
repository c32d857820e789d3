// A worker thread: dequeues datagrams from its hand-off queue, decodes their
// records into FlowRecords (src/decode/record_reader.h) as the ordered stage
// on the reactor described them (the buffer's DatagramMeta), resolves each
// record's sampling rate and adds every record to its aggregation table
// (src/aggregate). It is the only consumer of Handoff::queue(index) and the
// only writer of its WorkerCounters and WorkerAggregator. It keeps no
// per-stream state: any worker can take any datagram.
//
// Sampling rate of a record, first rule that applies (docs/config.md):
//   1. decode.sampling_override for the exporter;
//   2. v5: the header's interval; v9/IPFIX: the rate inside the record
//      (samplingInterval 34 and kin), else the rate its exporter stream
//      announced in options records for the record's sampler/selector id,
//      else the stream's rate announced without an id (or its only one);
//   3. decode.default_sampling (unsampled exporters). A record that names a
//      sampler its stream never announced, or comes from a stream with
//      several samplers without naming one, is counted in
//      unknown_sampling_records.
// A rate from rule 2 above decode.max_sampling_rate is not believed: rule 3
// applies and the record is counted in sampling_rate_too_high_records.
// Packets and bytes are multiplied by it when decode.renormalize is on
// (src/aggregate/hub.h; the product saturates at 2^64 - 1, counted).
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
#include "receive/handoff.h"

namespace ringflow {

class Worker {
 public:
  // sessions[r]: the ordered stage of reactor r, whose DatagramMeta describe
  // the datagrams of its buffers. flow_out: where --print-flows lines go
  // (nullptr = off).
  Worker(uint32_t index, const Config& cfg, Handoff& handoff,
         std::vector<const Sessions*> sessions, WorkerAggregator& aggregator,
         WorkerCounters& counters, FILE* flow_out);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void run();
  void request_drain() { drain_.store(true, std::memory_order_release); }

 private:
  static constexpr size_t kBatch = 256;
  static constexpr size_t kChunk = 64;  // records decoded per add_batch

  // Processes one datagram; the buffer stays valid until release.
  void process(const DatagramRef& d, int64_t now_ms);
  // Sets each record's `sampling` to the multiplier its packets and bytes
  // take (see the class comment) and counts what it has to.
  void resolve_sampling(FlowRecord* r, size_t n, const DatagramMeta& m, const IpAddr& exporter,
                        const v5::Header* v5);
  void print_flow(const FlowRecord& r, const FlowContext& ctx);
  void housekeeping(int64_t now_ms);

  const uint32_t index_;
  Handoff& handoff_;
  std::vector<const Sessions*> sessions_;
  WorkerAggregator& aggregator_;
  WorkerCounters& counters_;
  FILE* flow_out_;
  DecodeOptions decode_opts_;
  SamplingPolicy sampling_;
  uint32_t max_sampling_rate_;  // decode.max_sampling_rate: a larger rate is taken as unknown
  alignas(64) FlowRecord records_[kChunk];  // scratch for one chunk (8 KB: a member, not on the stack)
  std::atomic<bool> drain_{false};

  int64_t last_tick_ms_ = 0;
};

}  // namespace ringflow
