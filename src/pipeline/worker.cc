#include "pipeline/worker.h"

#include <time.h>

#include <chrono>

#include "common/clock.h"

namespace ringflow {
namespace {

// The coarse wall clock (common/clock.h): 1-4 ms resolution, plenty for
// "now" in future-record checks and for ticks.
int64_t realtime_ms() { return wall_ms_coarse(); }

void format_time(int64_t ms, char* buf, size_t cap) {
  time_t s = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  tm t;
  gmtime_r(&s, &t);
  snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1,
           t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ms - int64_t{s} * 1000));
}

void format_v4(uint32_t a, char* buf, size_t cap) {
  snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF, a & 0xFF);
}

}  // namespace

Worker::Worker(uint32_t index, const Config& cfg, Handoff& handoff, WorkerAggregator& aggregator,
               WorkerCounters& counters, FILE* flow_out)
    : index_(index),
      handoff_(handoff),
      aggregator_(aggregator),
      counters_(counters),
      flow_out_(flow_out),
      sampling_(cfg.decode),
      tracker_(cfg.decode) {
  decode_opts_.accept_trailing = cfg.decode.accept_trailing;
  decode_opts_.future_tolerance_ms = cfg.decode.future_tolerance_ms;
  snapshot_.reserve(cfg.decode.max_streams);
  scratch_.reserve(cfg.decode.max_streams);
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

  last_tick_ms_ = realtime_ms();
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
    int64_t now = realtime_ms();
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
  housekeeping(realtime_ms());
}

void Worker::process(const DatagramRef& d, int64_t now_ms) {
  counters_.datagrams.add();
  DatagramShape shape = validate_datagram(d.data, d.len, decode_opts_);
  if (shape.reject != Reject::kNone) {
    counters_.rejects[static_cast<size_t>(shape.reject)].add();
    return;
  }
  counters_.decoded.add();
  if (shape.trailing) counters_.trailing_accepted.add();
  FlowContext ctx;
  ctx.exporter = d.exporter;
  ctx.arrival_ms = d.recv_ns / 1000000;
  for (size_t i = 0; i < shape.pdus; ++i) {
    decode_pdu(d.data, d.len, i, now_ms, decode_opts_, &pdu_);
    counters_.pdus.add();
    counters_.flows.add(pdu_.count);
    if (pdu_.future_records) counters_.future_records.add(pdu_.future_records);
    if (pdu_.inverted_records) counters_.inverted_records.add(pdu_.inverted_records);
    tracker_.observe(d.exporter, pdu_.header, now_ms);
    ctx.engine_type = pdu_.header.engine_type;
    ctx.engine_id = pdu_.header.engine_id;
    ctx.sample_multiplier = sampling_.multiplier(d.exporter, pdu_.header);
    aggregator_.add_batch(pdu_.records, pdu_.count, ctx);
    if (flow_out_) {
      for (size_t r = 0; r < pdu_.count; ++r) print_flow(pdu_.records[r], ctx);
    }
  }
}

void Worker::print_flow(const v5::Record& r, const FlowContext& ctx) {
  char src[20], dst[20], start[48], end[48], line[320];
  format_v4(r.src_addr, src, sizeof src);
  format_v4(r.dst_addr, dst, sizeof dst);
  format_time(r.start_ms, start, sizeof start);
  format_time(r.end_ms, end, sizeof end);
  int len = snprintf(line, sizeof line,
                     "%s:%u -> %s:%u proto %u packets %llu bytes %llu start %s end %s\n", src,
                     r.src_port, dst, r.dst_port, r.protocol,
                     static_cast<unsigned long long>(uint64_t{r.packets} * ctx.sample_multiplier),
                     static_cast<unsigned long long>(uint64_t{r.octets} * ctx.sample_multiplier),
                     start, end);
  fwrite(line, 1, static_cast<size_t>(len), flow_out_);
}

void Worker::housekeeping(int64_t now_ms) {
  last_tick_ms_ = now_ms;
  aggregator_.tick(now_ms);
  if (now_ms - last_publish_ms_ < 1000) return;
  last_publish_ms_ = now_ms;
  tracker_.expire(now_ms);
  scratch_.clear();
  tracker_.snapshot(&scratch_);
  // try_lock: never wait for a reader; a skipped publication is retried in
  // a second. The swap keeps both vectors' capacity (no allocation).
  std::unique_lock<std::mutex> lock(snapshot_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  snapshot_.swap(scratch_);
  tracker_snapshot_ = tracker_.stats();
}

void Worker::streams_snapshot(std::vector<StreamStats>* out) const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  out->insert(out->end(), snapshot_.begin(), snapshot_.end());
}

SequenceTrackerStats Worker::tracker_stats() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return tracker_snapshot_;
}

}  // namespace ringflow
