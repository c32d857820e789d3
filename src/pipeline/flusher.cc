#include "pipeline/flusher.h"

#include <pthread.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include "common/clock.h"
#include "common/log.h"
#include "sink/time_format.h"

namespace ringflow {
namespace {


}  // namespace

StatsSnapshot stats_delta(const StatsSnapshot& a, const StatsSnapshot& b) {
  StatsSnapshot d;
  d.datagrams = a.datagrams - b.datagrams;
  d.bytes = a.bytes - b.bytes;
  d.handed_off = a.handed_off - b.handed_off;
  d.oversize = a.oversize - b.oversize;
  d.not_allowed = a.not_allowed - b.not_allowed;
  d.queue_full = a.queue_full - b.queue_full;
  d.enobufs = a.enobufs - b.enobufs;
  d.cq_overflow = a.cq_overflow - b.cq_overflow;
  d.kernel_drops = a.kernel_drops - b.kernel_drops;
  d.worker_datagrams = a.worker_datagrams - b.worker_datagrams;
  d.decoded = a.decoded - b.decoded;
  d.pdus = a.pdus - b.pdus;
  d.flows = a.flows - b.flows;
  d.future_records = a.future_records - b.future_records;
  d.inverted_records = a.inverted_records - b.inverted_records;
  d.trailing_accepted = a.trailing_accepted - b.trailing_accepted;
  for (size_t i = 0; i < kRejectReasons; ++i) d.rejects[i] = a.rejects[i] - b.rejects[i];
  return d;
}

Flusher::Flusher(AggregationHub& hub, std::vector<std::unique_ptr<Sink>> sinks,
                 std::function<StatsSnapshot()> pipeline_stats, FlusherOptions options)
    : hub_(hub),
      merger_(hub),
      sinks_(std::move(sinks)),
      pipeline_stats_(std::move(pipeline_stats)),
      options_(options) {
  for (size_t i = 0; i < sinks_.size(); ++i) {
    sink_counters_.push_back(std::make_unique<SinkCounters>());
    sink_failing_.push_back(false);
  }
}

Flusher::~Flusher() {
  stop_.store(true, std::memory_order_release);
  hub_.notify();
  if (thread_.joinable()) thread_.join();
}

void Flusher::start() {
  if (pipeline_stats_) last_stats_ = pipeline_stats_();
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "rf-flush");  // top -H, /proc/PID/task/*/comm
}

void Flusher::run() {
  std::optional<int64_t> first_seen;  // monotonic_ns() of the first seal of the round we wait on
  const int64_t seal_wait_ns = int64_t{options_.seal_wait_ms} * 1000000;
  while (!stop_.load(std::memory_order_acquire)) {
    // Read the epoch before looking, so a seal in between wakes the wait.
    uint64_t epoch = hub_.seal_epoch();
    if (reopen_.exchange(false, std::memory_order_relaxed))
      for (auto& s : sinks_) s->reopen();
    uint32_t ready = hub_.sealed_ready();
    if (ready == 0) {
      first_seen.reset();
      hub_.wait_for_seal(epoch, options_.poll_ms);
      continue;
    }
    const int64_t now = monotonic_ns();
    if (!first_seen) first_seen = now;
    const uint32_t workers = hub_.workers();
    if (ready < workers && now - *first_seen < seal_wait_ns) {
      const int64_t left_ms = (seal_wait_ns - (now - *first_seen)) / 1000000;
      hub_.wait_for_seal(epoch, static_cast<uint32_t>(std::min<int64_t>(left_ms + 1, options_.poll_ms)));
      continue;
    }
    if (ready < workers) {
      counters_.seal_timeouts.add(workers - ready);
      if (!timeout_state_) {
        RF_LOG_WARN("flush: %u of %u workers had not sealed their interval %u ms after the first; "
                    "flushing without them (their rows follow in a later batch)",
                    workers - ready, workers, options_.seal_wait_ms);
        timeout_state_ = true;
      }
    } else if (timeout_state_) {
      RF_LOG_INFO("flush: all workers seal on time again");
      timeout_state_ = false;
    }
    first_seen.reset();
    if (FlushBatch* b = merger_.collect_sealed()) flush(b);
  }
}

void Flusher::flush(FlushBatch* b) {
  const int64_t t0 = monotonic_ns();
  if (reopen_.exchange(false, std::memory_order_relaxed))
    for (auto& s : sinks_) s->reopen();
  if (pipeline_stats_) {
    StatsSnapshot now = pipeline_stats_();
    b->pipeline = stats_delta(now, last_stats_);
    b->has_pipeline_stats = true;
    last_stats_ = now;
  }

  if (b->late) {
    counters_.late_flushes.add();
    if (!late_state_) {
      char start[kIsoMsLen + 1] = {};
      format_iso_ms(b->start_ms, start);
      RF_LOG_WARN("flush: late: the previous flush (%.1f ms) was still running when the interval "
                  "after %s was due; the workers kept aggregating, so this batch spans %u "
                  "intervals (counted in late_flushes; logged again when on time)",
                  counters_.flush_ns_last.load() / 1e6, start, b->intervals());
      late_state_ = true;
    }
  } else if (late_state_ && !b->partial) {
    RF_LOG_INFO("flush: on time again");
    late_state_ = false;
  }

  for (size_t i = 0; i < sinks_.size(); ++i) {
    SinkCounters& sc = *sink_counters_[i];
    if (sinks_[i]->write(*b)) {
      sc.batches.add();
      sc.rows_written.add(b->rows.size());
      sc.last_success_ms.set(static_cast<uint64_t>(wall_ms()));
      if (sink_failing_[i]) {
        RF_LOG_INFO("sink %s: writing again", sinks_[i]->name().c_str());
        sink_failing_[i] = false;
      }
    } else {
      sc.errors.add();
      const SinkLoss lost = sinks_[i]->last_loss(*b);
      sc.rows_lost.add(lost.rows);
      sc.flows_lost.add(lost.flows);
      if (!sink_failing_[i]) {
        RF_LOG_ERROR("sink %s: write failed: %s; %llu rows (%llu flows) lost (counted; logged "
                     "again when it recovers)",
                     sinks_[i]->name().c_str(), sinks_[i]->last_error().c_str(),
                     static_cast<unsigned long long>(lost.rows),
                     static_cast<unsigned long long>(lost.flows));
        sink_failing_[i] = true;
      }
    }
  }

  if (options_.observe) options_.observe(*b);

  if (b->partial) counters_.partial_flushes.add();
  counters_.rows_flushed.add(b->rows.size());
  if (!b->rows.empty() && b->rows.back().overflow) counters_.overflow_rows.add();
  counters_.overflow_records.add(b->overflow_records);
  counters_.merge_overflow_rows.add(b->merge_overflow_rows);
  counters_.last_interval_end_ms.set(static_cast<uint64_t>(b->end_ms));
  merger_.release();
  // Counted after the tables went back to the workers: whoever sees
  // `flushes` grow knows the workers can seal again.
  counters_.flushes.add();

  const uint64_t ns = static_cast<uint64_t>(monotonic_ns() - t0);
  counters_.flush_ns_last.set(ns);
  counters_.flush_ns_total.add(ns);
  if (ns > counters_.flush_ns_max.load()) counters_.flush_ns_max.set(ns);
}

void Flusher::stop_and_flush_final() {
  if (finished_) return;
  finished_ = true;
  stop_.store(true, std::memory_order_release);
  hub_.notify();
  if (thread_.joinable()) thread_.join();
  // The thread is joined and so are the workers: this thread now owns every
  // table. First what was sealed (complete intervals), then the open ones.
  if (FlushBatch* b = merger_.collect_sealed()) {
    b->workers_missing = 0;  // the others' rows follow in the partial batch
    flush(b);
  }
  for (int stage = 0; stage < 2; ++stage)
    if (FlushBatch* b = merger_.collect_open(stage)) flush(b);
  for (auto& s : sinks_) s->close();
}

}  // namespace ringflow
