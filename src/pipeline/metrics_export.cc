#include "pipeline/metrics_export.h"

#include "aggregate/aggregate_metrics.h"
#include "common/clock.h"
#include "common/fd_limit.h"
#include "common/log.h"
#include "decode/decode_metrics.h"
#include "metrics/family.h"
#include "metrics/metrics_server.h"
#include "metrics/process_stats.h"
#include "metrics/prom_writer.h"
#include "pipeline/collector.h"
#include "pipeline/flusher_metrics.h"
#include "receive/receive_metrics.h"

namespace ringflow {

CollectorMetrics::CollectorMetrics(const Collector& collector) : c_(collector) {}

uint64_t CollectorMetrics::cap_exceeded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stream_metrics_.cap_exceeded();
}

std::string CollectorMetrics::render() {
  PromWriter w;
  write(w);
  return w.take();
}

void CollectorMetrics::write(PromWriter& w) {
  std::lock_guard<std::mutex> lock(mu_);
  const Config& cfg = c_.config();
  const int64_t now_ms = wall_ms();

  // Read every counter once, workers before reactors (see the header).
  const std::vector<WorkerSample> workers = read_workers(c_.worker_counters());
  const std::vector<ReactorSample> reactors = read_reactors(c_.reactor_counters());
  const std::vector<std::string>& backends = c_.backends();

  write_process_metrics(w, backends.empty() ? "" : backends[0]);
  write_receive_metrics(w, reactors, backends);
  if (const Handoff* h = c_.handoff())
    write_handoff_metrics(w, *h, c_.reactor_counters(), cfg.receive.queue_depth);
  write_decode_metrics(w, workers, read_sessions(c_.session_counters()));
  streams_.clear();
  c_.streams(&streams_);
  stream_metrics_.write(w, &streams_, c_.tracker_stats(), cfg.metrics.max_streams, now_ms);
  if (const AggregationHub* hub = c_.hub()) write_aggregate_metrics(w, *hub);
  if (const Flusher* fl = c_.flusher()) write_flusher_metrics(w, *fl);
}

MetricsEndpoint::MetricsEndpoint(const Collector& collector) : metrics_(collector) {}

MetricsEndpoint::~MetricsEndpoint() { stop(); }

void MetricsEndpoint::stop() {
  if (server_) server_->stop();
}

std::unique_ptr<MetricsEndpoint> MetricsEndpoint::start(const Collector& collector,
                                                        std::string* error) {
  std::unique_ptr<MetricsEndpoint> e(new MetricsEndpoint(collector));
  CollectorMetrics* m = &e->metrics_;
  const Config& cfg = collector.config();
  MetricsServerOptions o;
  o.max_connections_per_ip = cfg.metrics.max_connections_per_ip;
  o.connection_timeout_s = cfg.metrics.connection_timeout_s;
  // Each connection holds a descriptor: keep the sinks' reserve out of the
  // server's reach (docs/config.md, [metrics]).
  const uint64_t soft = fd_soft_limit(), open_now = open_fd_count();
  const uint64_t reserve = sink_fd_reserve(cfg.output.sinks.size());
  o.max_connections = connection_budget(cfg.metrics.max_connections, soft, open_now, reserve);
  if (o.max_connections < cfg.metrics.max_connections)
    RF_LOG_WARN("metrics: at most %u HTTP connections, not metrics.max_connections = %u: the "
                "file-descriptor limit is %llu, %llu are open and %llu are kept for the sinks",
                o.max_connections, cfg.metrics.max_connections,
                static_cast<unsigned long long>(soft), static_cast<unsigned long long>(open_now),
                static_cast<unsigned long long>(reserve));
  e->server_ = MetricsServer::start(
      cfg.metrics.listen, [m](PromWriter& w) { m->write(w); }, error, std::move(o));
  if (!e->server_) return nullptr;
  RF_LOG_INFO("metrics: serving %s", e->server_->url().c_str());
  return e;
}

}  // namespace ringflow
