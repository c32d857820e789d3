// The collector's state as Prometheus metrics: every stage's counters, the
// hand-off queues, per-exporter-stream sequence statistics (capped at
// metrics.max_streams series), aggregation, flushes, sinks, the process and
// the build. docs/metrics.md lists every family with its type, labels and
// meaning, and the accounting identity they satisfy:
//
//   kernel received = kernel_drops + datagrams            (per reactor)
//                   = decoded + rejected + dropped + in the queues
//
// Each stage writes its own families, next to its counters, from a family
// table (src/metrics/family.h): receive/receive_metrics.h,
// decode/decode_metrics.h, aggregate/aggregate_metrics.h,
// pipeline/flusher_metrics.h, and every sink through Sink::metric_families()
// (sink/sink.h). This file only reads the collector's stages in the right
// order and calls them; the generic pieces (text format, HTTP) are in
// src/metrics, which knows nothing of ringflow.
//
// How it reads without slowing the pipeline: per-thread Counter blocks with
// relaxed loads (single writers, no lock); queue depth with size_approx();
// per-stream statistics from the snapshots the workers publish about once a
// second (a worker only try_locks its snapshot, so a scrape never makes it
// wait). Worker counters are read before reactor counters, so a scrape never
// shows a worker having taken more than the reactors handed off.
//
// Thread safety: CollectorMetrics::write() may be called from any thread,
// concurrently (serialized by an internal mutex), after Collector::start()
// has built the stages and until the Collector is destroyed. A stage that
// does not exist yet is left out.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/streams.h>

#include "decode/decode_metrics.h"
#include "decode/sflow_if_table.h"

namespace ringflow {

class Collector;
class LiveView;
class MetricsServer;
class PromWriter;

class CollectorMetrics {
 public:
  // REQUIRES: collector outlives this object.
  explicit CollectorMetrics(const Collector& collector);

  // Writes every family (see docs/metrics.md) to out.
  void write(PromWriter& out);
  // write() into a fresh writer; returns its text (tests, debugging).
  std::string render();

  // Scrapes so far at which more streams were tracked than metrics.max_streams.
  uint64_t cap_exceeded() const;

 private:
  const Collector& c_;
  mutable std::mutex mu_;
  std::vector<StreamStats> streams_;  // scratch for one scrape; guarded by mu_
  std::vector<SflowIfStat> sflow_ifs_;  // likewise
  StreamMetrics stream_metrics_;      // guarded by mu_
};

// True when `listen` ("host:port") binds a loopback address only
// (127.0.0.0/8, ::1); false for a wildcard or anything else.
bool listen_is_loopback(const std::string& listen);

// CollectorMetrics served over HTTP on config.metrics.listen.
class MetricsEndpoint {
 public:
  // Binds config().metrics.listen and serves GET /metrics, and the web view
  // (src/pipeline/live_view.h) when metrics.web is true; logs the URL.
  // nullptr and *error when the address is invalid or cannot be bound.
  // REQUIRES: the collector's stages are built (called from
  // Collector::start()), and the collector outlives the endpoint.
  static std::unique_ptr<MetricsEndpoint> start(const Collector& collector, std::string* error);
  ~MetricsEndpoint();  // stop()
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Stops serving and joins the server's threads. Idempotent.
  void stop();
  const MetricsServer& server() const { return *server_; }

 private:
  explicit MetricsEndpoint(const Collector& collector);

  CollectorMetrics metrics_;
  std::unique_ptr<LiveView> live_;        // metrics.web; its routes run on server_
  std::unique_ptr<MetricsServer> server_;  // destroyed (stopped) before live_
};

}  // namespace ringflow
