#include "pipeline/worker.h"

#include <chrono>

#include "common/clock.h"
#include "pipeline/flow_print.h"

namespace ringflow {

Worker::Worker(uint32_t index, const Config& cfg, Handoff& handoff,
               std::vector<const Sessions*> sessions, WorkerAggregator& aggregator,
               WorkerCounters& counters, FILE* flow_out)
    : index_(index),
      handoff_(handoff),
      sessions_(std::move(sessions)),
      aggregator_(aggregator),
      counters_(counters),
      flow_out_(flow_out),
      sampling_(cfg.decode),
      max_sampling_rate_(cfg.decode.max_sampling_rate) {
  decode_opts_.accept_trailing = cfg.decode.accept_trailing;
  decode_opts_.future_tolerance_ms = cfg.decode.future_tolerance_ms;
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
  ctx.version = m.version;
  ctx.domain = m.domain;
  ctx.arrival_ms = d.recv_ns / 1000000;
  const size_t vslot = version_slot(m.version);
  RecordReader reader(m, d.data, d.len, now_ms, decode_opts_);
  RecordChunk chunk;
  size_t n;
  while ((n = reader.next(records_, kChunk, &chunk)) > 0) {
    if (chunk.v5) {
      counters_.pdus.add();
      ctx.domain = uint32_t{chunk.v5->engine_type} << 8 | chunk.v5->engine_id;
      if (chunk.future_records) counters_.future_records.add(chunk.future_records);
      if (chunk.inverted_records) counters_.inverted_records.add(chunk.inverted_records);
      if (chunk.unknown_time_records)
        counters_.time_unknown_records.add(chunk.unknown_time_records);
    } else {
      // v9/IPFIX times: the same two checks v5's decoder makes.
      const int64_t future_limit = now_ms + decode_opts_.future_tolerance_ms;
      uint64_t future = 0, inverted = 0, unknown_time = 0;
      for (size_t i = 0; i < n; ++i) {
        future += records_[i].end_ms > future_limit;
        inverted += records_[i].start_ms > records_[i].end_ms;
        unknown_time += (records_[i].flags & kFlowTimeUnknown) != 0;
      }
      if (future) counters_.future_records.add(future);
      if (inverted) counters_.inverted_records.add(inverted);
      if (unknown_time) counters_.time_unknown_records.add(unknown_time);
    }
    if (chunk.biflow) counters_.biflow_records.add(n);
    if (chunk.reverse) counters_.biflow_reverse_records.add(n);
    if (chunk.unknown_counters && !chunk.reverse) counters_.unknown_counter_records.add(n);
    ctx.template_id = chunk.template_id;
    resolve_sampling(records_, n, m, d.exporter, chunk.v5);
    counters_.flows.add(n);
    counters_.flows_by_version[vslot].add(n);
    if (late) counters_.late_flows.add(n);
    aggregator_.add_batch(records_, n, ctx);
    if (flow_out_) {
      for (size_t i = 0; i < n; ++i) print_flow(records_[i], ctx);
    }
  }
  if (reader.empty_directions()) counters_.biflow_empty_directions.add(reader.empty_directions());
}

void Worker::resolve_sampling(FlowRecord* r, size_t n, const DatagramMeta& m,
                              const IpAddr& exporter, const v5::Header* v5) {
  const bool renormalize = sampling_.renormalize();
  if (v5) {
    const uint32_t mult = sampling_.multiplier(exporter, *v5);
    for (size_t i = 0; i < n; ++i) r[i].sampling = mult;
    return;
  }
  const uint32_t forced = sampling_.override_for(exporter);
  const SamplerSet* set = m.sampling;
  const uint32_t without_id = set ? set->rate_without_id() : 0;
  const uint32_t max_rate = max_sampling_rate_;
  uint64_t unknown = 0, too_high = 0;
  for (size_t i = 0; i < n; ++i) {
    FlowRecord& f = r[i];
    uint32_t rate = forced;
    if (rate == 0 && (f.flags & kFlowHasRate)) rate = f.sampling;
    if (rate == 0 && (f.flags & kFlowHasSamplerId) && set) rate = set->rate_of(f.sampler_id);
    if (rate == 0) rate = without_id;
    bool above;
    rate = believed_rate(rate, max_rate, &above);
    if (above) {
      // Past decode.max_sampling_rate: not believed, taken as unknown.
      ++too_high;
      rate = sampling_.default_interval();
    } else if (rate == 0) {
      // Unknown: a sampler named and never announced, or several announced
      // and none named. Unsampled exporters (nothing announced, no id) are not.
      unknown += ((f.flags & kFlowHasSamplerId) && f.sampler_id != 0) || (set && set->n > 1);
      rate = sampling_.default_interval();
    }
    f.sampling = renormalize ? rate : 1;
  }
  if (unknown) counters_.unknown_sampling_records.add(unknown);
  if (too_high) counters_.sampling_rate_too_high_records.add(too_high);
}

void Worker::print_flow(const FlowRecord& r, const FlowContext& ctx) {
  char line[400];
  const size_t len = format_flow_line(r, ctx, line, sizeof line);
  if (len > 0) fwrite(line, 1, len, flow_out_);
}

void Worker::housekeeping(int64_t now_ms) {
  last_tick_ms_ = now_ms;
  aggregator_.tick(now_ms);
}

}  // namespace ringflow
