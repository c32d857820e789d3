// Flusher: the thread that turns sealed worker tables into FlushBatches and
// hands them to every sink, then gives the tables back to the workers.
//
// Loop: sleep until a worker seals (or poll_ms passes); once one worker has
// sealed, wait for the others until seal_wait_ms has passed since the first
// (workers tick every <= 100 ms, so normally all seal within ~100 ms); a
// worker still missing then is counted (seal_timeouts) and its table joins a
// later batch, so a stuck worker delays nothing and loses nothing. Merge,
// build the batch, call each sink in order, count, release the tables.
//
// Slow sinks: the workers never wait for the flusher. While it is busy they
// keep aggregating (see hub.h, "Late flush"); the next batch then spans
// several intervals, is flagged late, counted (late_flushes) and logged once
// per change of state. Memory stays bounded by the preallocated tables.
//
// Reopen (SIGHUP): request_reopen() only sets an atomic flag (lock-free, so
// async-signal-safe); the flusher calls every sink's reopen() before its
// next write, at the latest poll_ms later.
//
// Sink failures are counted per sink and logged when a sink goes from
// working to failing and back, not on every batch.
//
// Thread safety: start/stop_and_flush_final from one controlling thread;
// request_reopen from any thread or a signal handler; counters readable
// from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <ringflow/stats.h>

#include "aggregate/hub.h"
#include "aggregate/merger.h"
#include "sink/sink.h"

namespace ringflow {

struct FlusherOptions {
  uint32_t seal_wait_ms = 2000;  // wait for the other workers after the first seal
  uint32_t poll_ms = 50;         // longest sleep (reopen latency, stop latency)
  // Called on the flusher thread with every batch, after the sinks and
  // before its tables go back to the workers (the web view's top-K,
  // src/live/top_k.h). Its time counts in the flush's duration.
  std::function<void(const FlushBatch&)> observe;
};

// Written by the flusher thread only (and, after it stopped, by
// stop_and_flush_final on the controlling thread).
struct alignas(64) FlusherCounters {
  Counter flushes;               // batches done (counted after the tables went back)
  Counter partial_flushes;       // of which partial (shutdown)
  Counter late_flushes;          // batches spanning extra intervals because a flush was late
  Counter seal_timeouts;         // workers that missed the seal deadline (per batch)
  Counter rows_flushed;          // rows in all batches (overflow rows included)
  Counter overflow_rows;         // batches that carried an overflow row
  Counter overflow_records;      // records in worker overflow rows
  Counter merge_overflow_rows;   // worker rows that did not fit the merge table
  Counter flush_ns_last;         // duration of the last flush (merge + sinks + release)
  Counter flush_ns_total;
  Counter flush_ns_max;
  Counter last_interval_end_ms;  // end of the last flushed batch
};

struct alignas(64) SinkCounters {
  Counter batches;          // batches written successfully
  Counter rows_written;     // rows of those batches
  Counter errors;           // failed writes
  Counter rows_lost;        // rows those writes lost for good (Sink::last_loss)
  Counter flows_lost;       // records aggregated into the rows lost
  Counter last_success_ms;  // wall clock of the last successful write (0 = never)
};

class Flusher {
 public:
  Flusher(AggregationHub& hub, std::vector<std::unique_ptr<Sink>> sinks,
          std::function<StatsSnapshot()> pipeline_stats, FlusherOptions options = {});
  // Stops the thread if still running, without a final flush.
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  void start();
  // Thread-safe and async-signal-safe (a lock-free atomic store only).
  void request_reopen() { reopen_.store(true, std::memory_order_relaxed); }
  static_assert(std::atomic<bool>::is_always_lock_free, "request_reopen must be signal-safe");
  // REQUIRES: every worker thread has been joined. Flushes whatever is
  // sealed, then the open interval(s) as partial batches, closes the sinks
  // and stops the thread. Nothing that was added is lost. Idempotent.
  void stop_and_flush_final();

  const FlusherCounters& counters() const { return counters_; }
  size_t sink_count() const { return sinks_.size(); }
  const Sink& sink(size_t i) const { return *sinks_[i]; }
  const SinkCounters& sink_counters(size_t i) const { return *sink_counters_[i]; }

 private:
  void run();
  void flush(FlushBatch* batch);

  AggregationHub& hub_;
  Merger merger_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::vector<std::unique_ptr<SinkCounters>> sink_counters_;
  std::vector<bool> sink_failing_;  // flusher thread only: for log-once
  std::function<StatsSnapshot()> pipeline_stats_;
  StatsSnapshot last_stats_;
  FlusherOptions options_;
  FlusherCounters counters_;

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reopen_{false};
  bool finished_ = false;
  bool late_state_ = false;     // for log-once
  bool timeout_state_ = false;  // for log-once
};

// a - b, field by field (counters are monotonic; a later snapshot minus an
// earlier one).
StatsSnapshot stats_delta(const StatsSnapshot& a, const StatsSnapshot& b);

}  // namespace ringflow
