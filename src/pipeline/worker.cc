#include "pipeline/worker.h"

#include <chrono>

#include "common/clock.h"
#include "decode/wire_formats.h"

namespace ringflow {

Worker::Worker(uint32_t index, const Config& cfg, Handoff& handoff,
               std::vector<const Sessions*> sessions, WorkerAggregator& aggregator,
               WorkerCounters& counters, RecordStageChain stages)
    : index_(index),
      handoff_(handoff),
      sessions_(std::move(sessions)),
      aggregator_(aggregator),
      counters_(counters),
      stages_(std::move(stages)),
      sampling_(cfg.decode) {
  decode_opts_.accept_trailing = cfg.decode.accept_trailing;
  decode_opts_.future_tolerance_ms = cfg.decode.future_tolerance_ms;
  sflow_opts_.bytes = sflow_bytes_mode(cfg.decode.sflow_bytes);
}

void Worker::run() {
  auto& queue = handoff_.queue(index_);
  moodycamel::ConsumerToken ctok(queue);
  const uint32_t reactors = handoff_.reactors();
  std::vector<moodycamel::ProducerToken> ret_tokens;
  ret_tokens.reserve(reactors);
  for (uint32_t r = 0; r < reactors; ++r) ret_tokens.emplace_back(handoff_.returns(r));
  // Buffer ids to return, grouped by owning reactor (allocated once).
  std::vector<std::vector<uint16_t>> ret(reactors, std::vector<uint16_t>(kBatch));
  std::vector<size_t> nret(reactors, 0);
  std::vector<DatagramRef> batch(kBatch);

  last_tick_ms_ = wall_ms_coarse();
  for (;;) {
    // Wait at most 50 ms so that ticks happen on time when idle.
    size_t n = queue.wait_dequeue_bulk_timed(ctok, batch.data(), kBatch,
                                             std::chrono::milliseconds(50));
    if (n == 0 && drain_.load(std::memory_order_acquire)) {
      // Every reactor has been joined before drain was requested, so an
      // empty queue now stays empty. One tokenless sweep as a safety net.
      n = queue.try_dequeue_bulk(batch.data(), kBatch);
      if (n == 0) break;
    }
    int64_t now = wall_ms_coarse();
    if (n > 0) {
      counters_.batches.add();
      for (size_t i = 0; i < n; ++i) {
        const DatagramRef& d = batch[i];
        handoff_.acquire(d.reactor, d.buf_id);  // TSan only: see Handoff::acquire
        process(d, now);
        handoff_.release(d.reactor, d.buf_id);
        ret[d.reactor][nret[d.reactor]++] = d.buf_id;
      }
      for (uint32_t r = 0; r < reactors; ++r) {
        if (nret[r] == 0) continue;
        // The return queue has room for every buffer of the ring per
        // producer (see Handoff), so try_enqueue_bulk fails only if that
        // invariant is broken; fall back to an allocating enqueue rather
        // than leak the buffers.
#pragma GCC diagnostic push
        // g++ 12 reports a false -Wstringop-overflow deep inside moodycamel's
        // inlined bulk enqueue of 2-byte elements.
#pragma GCC diagnostic ignored "-Wstringop-overflow"
        if (!handoff_.returns(r).try_enqueue_bulk(ret_tokens[r], ret[r].data(), nret[r]))
          handoff_.returns(r).enqueue_bulk(ret_tokens[r], ret[r].data(), nret[r]);
#pragma GCC diagnostic pop
        nret[r] = 0;
      }
    }
    if (now - last_tick_ms_ >= 100) housekeeping(now);
  }
  housekeeping(wall_ms_coarse());
}

void Worker::process(const DatagramRef& d, int64_t now_ms) {
  counters_.datagrams.add();
  const DatagramMeta& m = sessions_[d.reactor]->meta(d.buf_id);
  const bool late = (m.flags & kMetaLate) != 0;
  if (late) counters_.late_datagrams.add();
  FlowContext ctx;
  ctx.exporter = d.exporter;
  ctx.format = m.format;
  ctx.arrival_ms = d.recv_ns / 1000000;
  const size_t vslot = id_slot(m.format);
  RecordReader reader(m, d.data, d.len, now_ms, decode_opts_, &sampling_, &d.exporter,
                      &sflow_opts_);
  RecordChunk chunk;
  size_t n;
  while ((n = reader.next(records_, kChunk, &chunk)) > 0) {
    if (chunk.v5) counters_.pdus.add();
    if (chunk.future_records) counters_.future_records.add(chunk.future_records);
    if (chunk.inverted_records) counters_.inverted_records.add(chunk.inverted_records);
    if (chunk.unknown_time_records) counters_.time_unknown_records.add(chunk.unknown_time_records);
    if (chunk.unknown_sampling_records)
      counters_.unknown_sampling_records.add(chunk.unknown_sampling_records);
    if (chunk.sampling_too_high_records)
      counters_.sampling_rate_too_high_records.add(chunk.sampling_too_high_records);
    if (chunk.biflow) counters_.biflow_records.add(n);
    if (chunk.reverse) counters_.biflow_reverse_records.add(n);
    if (chunk.unknown_counters && !chunk.reverse) counters_.unknown_counter_records.add(n);
    if (chunk.sections)
      for (size_t i = 0; i < kSectionReasons; ++i)
        if (chunk.section_records[i]) counters_.section_records[i].add(chunk.section_records[i]);
    if (chunk.cut_headers) counters_.sflow_cut_headers.add(chunk.cut_headers);
    ctx.version = chunk.version;
    ctx.domain = chunk.domain;
    ctx.template_id = chunk.template_id;
    counters_.flows.add(n);
    counters_.flows_by_version[vslot].add(n);
    if (late) counters_.late_flows.add(n);
    size_t kept = n;
    if (!stages_.empty()) {
      kept = stages_.run(records_, n, ctx);
      if (kept != n) counters_.stage_dropped_records.add(n - kept);
    }
    aggregator_.add_batch(records_, kept, ctx);
  }
  if (reader.empty_directions()) counters_.biflow_empty_directions.add(reader.empty_directions());
}

void Worker::housekeeping(int64_t now_ms) {
  last_tick_ms_ = now_ms;
  aggregator_.tick(now_ms);
}

}  // namespace ringflow
