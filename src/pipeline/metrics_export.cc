#include "pipeline/metrics_export.h"

#include "aggregate/aggregate_metrics.h"
#include "common/clock.h"
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

void write_process_metrics(PromWriter& w, std::string_view backend) {
  w.family("ringflow_build_info", kGauge,
           "Always 1; the labels name the version and the receive backend in use.");
  w.sample({{"version", RINGFLOW_VERSION}, {"backend", backend}}, uint64_t{1});
  ProcessStats ps = read_process_stats();
  if (ps.ok) {
    w.family("process_start_time_seconds", kGauge, "Start time of the process, Unix seconds.");
    w.sample(ps.start_time_seconds);
    w.family("process_cpu_seconds_total", kCounter, "User and system CPU time, seconds.");
    w.sample(ps.cpu_seconds);
    w.family("process_resident_memory_bytes", kGauge, "Resident memory, bytes.");
    w.sample(ps.resident_bytes);
    w.family("process_virtual_memory_bytes", kGauge, "Virtual memory, bytes.");
    w.sample(ps.virtual_bytes);
    w.family("process_open_fds", kGauge, "Open file descriptors.");
    w.sample(ps.open_fds);
  }
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
  e->server_ = MetricsServer::start(
      collector.config().metrics.listen, [m](PromWriter& w) { m->write(w); }, error);
  if (!e->server_) return nullptr;
  RF_LOG_INFO("metrics: serving %s", e->server_->url().c_str());
  return e;
}

}  // namespace ringflow
