// The collector: owns and wires every stage of the pipeline (see
// docs/architecture.md for the path of a datagram):
//
//   sockets -> Reactor threads -> Handoff queues -> Worker threads
//           -> AggregationHub tables -> Flusher thread -> Sinks
//
// Threads and their contracts:
//   - one thread per Reactor (src/receive): receives, routes, never blocks;
//   - one thread per Worker (src/pipeline/worker.h): decode + aggregate;
//   - one Flusher thread (src/pipeline/flusher.h): merges sealed tables,
//     calls sinks;
//   - the metrics HTTP server's threads (src/metrics), read-only on counters;
//   - the caller's thread: start(), periodic stats line, stop().
//
// Shutdown (stop()): the reactors keep receiving until the exporters have
// been quiet for kDrainQuietMs (receive.drain_timeout at most; see
// src/receive/reactor.h), then seal their sockets, take what the kernel still
// holds and are joined (everything that reached the sockets has been handed
// off or counted, later arrivals are kernel drops); workers then drain their
// queues and are joined; the flusher flushes the final, partial interval to
// every sink; sinks are closed. Nothing received is lost.
//
// Thread safety: start()/stop()/run_until_signal() from one thread;
// snapshot()/reopen_outputs() from any thread after start().
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/stats.h>
#include <ringflow/streams.h>

#include "decode/address_quota.h"
#include "pipeline/filter_stage.h"
#include "pipeline/learned_names.h"

namespace ringflow {

namespace enrich {
class EnrichTables;
}

class Admission;
class AggregationHub;
class Sessions;
class CaptureRing;
struct ExporterSnapshot;
struct SessionCounters;
class Flusher;
class TopKeeper;
class SflowCountersOutput;
struct SflowIfStat;
class ForwardStage;
class Handoff;
class MetricsEndpoint;
class Reactor;
class Sink;
class Worker;

// The Capture page is on: metrics.capture_datagrams > 0 on a served web
// view (docs/api.md, "Capture").
inline bool capture_on(const Config& c) {
  return !c.metrics.listen.empty() && c.metrics.web && c.metrics.capture_datagrams > 0;
}

struct RunOptions {
  bool print_flows = false;  // --print-flows: one line per decoded flow on stdout
  bool print_json = false;   // --print-flows=json: the lines are JSON objects
};

class Collector {
 public:
  Collector(Config config, RunOptions options);
  ~Collector();  // stops if still running
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Opens sockets, sets up the reactors (io_uring), drops privileges
  // (config.process, src/common/privileges.h), then creates the sinks,
  // allocates the aggregation tables and starts every thread. false +
  // *error (one line) on failure, e.g. the port is in use, process.user does
  // not exist or the aggregation tables of aggregate.max_entries cannot be
  // mapped; nothing is left running then. Never throws.
  bool start(std::string* error);
  // Graceful stop as described above. Idempotent.
  void stop();

  // Sum of every thread's counters.
  StatsSnapshot snapshot() const;
  // Per-exporter-stream statistics from every reactor's ordered stage.
  void streams(std::vector<StreamStats>* out) const;
  // Every reactor's published sFlow interfaces (src/decode/sflow_if_table.h),
  // appended, not merged.
  void sflow_interfaces(std::vector<SflowIfStat>* out) const;
  // output.counters; nullptr when "none".
  const SflowCountersOutput* counters_output() const { return counters_out_.get(); }
  // Datagrams refused by decode.max_streams_per_address, by exporter address
  // (merged over the reactors; *other: addresses past each reactor's list).
  void refused_addresses(std::vector<AddressRefusals>* out, uint64_t* other) const;
  // Each reactor's latest exporters snapshot (src/decode/exporter_snapshot.h;
  // null before its first tick). Any thread: loads published pointers only.
  void exporter_snapshots(std::vector<std::shared_ptr<const ExporterSnapshot>>* out) const;
  // Sequence-tracker counters summed over reactors (published once a second).
  SequenceTrackerStats tracker_stats() const;
  // SIGHUP: sinks reopen/re-create their outputs before the next write.
  void reopen_outputs();
  // SIGHUP: the enrichment files ([enrich]) are reloaded by their watch
  // thread (src/enrich/enrich_tables.h); a no-op without [enrich] files.
  void reload_enrichment();
  // About once a second (the main thread's loop): publishes the interface
  // names the reactors learnt to the workers (src/pipeline/learned_names.h);
  // a no-op when no key field or filter reads them.
  void refresh_learned_names();
  // The enrichment tables; nullptr without [enrich] files.
  const enrich::EnrichTables* enrichment() const { return enrich_.get(); }
  // [filter]: each worker's kept/dropped counters; empty without a filter.
  const std::vector<std::unique_ptr<FilterCounters>>& filter_counters() const {
    return filter_counters_;
  }

  const Config& config() const { return config_; }
  const std::vector<std::string>& backends() const { return backends_; }
  // The addresses bound, one per listen address (ports the kernel chose for
  // port 0 filled in). Valid after start().
  const std::vector<Endpoint>& bound() const { return bound_; }
  uint32_t workers() const { return static_cast<uint32_t>(worker_counters_.size()); }

  // Accessors for the metrics exporter (read-only use).
  const std::vector<std::unique_ptr<ReactorCounters>>& reactor_counters() const { return reactor_counters_; }
  const std::vector<std::unique_ptr<WorkerCounters>>& worker_counters() const { return worker_counters_; }
  const std::vector<std::unique_ptr<SessionCounters>>& session_counters() const { return session_counters_; }
  const ForwardStage* forward() const { return forward_.get(); }
  const Handoff* handoff() const { return handoff_.get(); }
  const AggregationHub* hub() const { return hub_.get(); }
  const Flusher* flusher() const { return flusher_.get(); }
  // The Capture page's rings, one per reactor (src/decode/capture_ring.h);
  // empty unless capture_on(config()).
  const std::vector<std::unique_ptr<CaptureRing>>& captures() const { return captures_; }
  // The Top page's data (src/live/top_k.h): null unless metrics.web serves it.
  const TopKeeper* top() const { return top_.get(); }

 private:
  bool start_stages(std::string* error);  // start() without the clean-up; may throw
  // The hub, flusher, enrich tables and workers (not their threads); not
  // called for a node that only forwards.
  bool start_aggregation(std::vector<std::unique_ptr<Sink>> sinks, uint32_t nworkers,
                         std::string* error);
  void drain_receive();                   // stop() step 1: wait for quiet reactors
  void abandon_start();                   // undoes a partial start_stages()

  Config config_;
  RunOptions options_;
  bool running_ = false;
  bool activated_ = false;  // the receive sockets came from systemd (socket activation)

  std::string template_state_path() const;
  void restore_template_state();  // decode.persist_templates, at start (logs what it did)
  void write_template_state() const;

  // Before the workers (their enrich stages hold readers of it), so it is
  // destroyed after them.
  std::unique_ptr<enrich::EnrichTables> enrich_;
  // Interface names from options data, for the workers' catalogue stages
  // (null unless a key field or the filter reads in_if_* / out_if_*).
  std::unique_ptr<LearnedNamesPublisher> learned_names_;
  // [filter]: the compiled expression and each worker's counters, also
  // outliving the workers' stages.
  std::unique_ptr<FilterProgram> filter_;
  std::vector<std::unique_ptr<FilterCounters>> filter_counters_;
  std::unique_ptr<Handoff> handoff_;
  std::vector<std::unique_ptr<SessionCounters>> session_counters_;
  std::vector<std::unique_ptr<Sessions>> sessions_;  // per reactor: the ordered stage
  std::vector<std::unique_ptr<CaptureRing>> captures_;  // per reactor; before admissions_
  std::vector<std::unique_ptr<Admission>> admissions_;  // per reactor, over sessions_
  std::unique_ptr<ForwardStage> forward_;  // [[forward]], receive.forwarded_from; else null
  std::vector<std::unique_ptr<ReactorCounters>> reactor_counters_;
  std::vector<std::unique_ptr<WorkerCounters>> worker_counters_;
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::string> backends_;
  std::vector<Endpoint> bound_;
  std::unique_ptr<AggregationHub> hub_;
  std::unique_ptr<TopKeeper> top_;  // before flusher_: the flusher calls it
  std::unique_ptr<SflowCountersOutput> counters_out_;  // output.counters; before flusher_ too
  std::unique_ptr<Flusher> flusher_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> reactor_threads_;
  std::vector<std::thread> worker_threads_;
  // Last member: destroyed first, so no scrape reads a stage being torn down.
  std::unique_ptr<MetricsEndpoint> metrics_;
};

// Runs a collector until SIGINT/SIGTERM (graceful stop; a second signal
// exits at once), reopening outputs on SIGHUP and printing the stats line
// every log.stats_interval seconds. Returns the process exit code.
// REQUIRES: called from the main thread before any other thread exists
// (it blocks the signals for every thread it starts).
int run_collector(const Config& config, const RunOptions& options);

}  // namespace ringflow
