#include "pipeline/metrics_export.h"

#include <algorithm>
#include <cstring>

#include "aggregate/aggregate_metrics.h"
#include "common/clock.h"
#include "common/fd_limit.h"
#include "common/log.h"
#include "decode/capture_ring.h"
#include "decode/decode_metrics.h"
#include "enrich/enrich_tables.h"
#include "enrich/names.h"
#include "metrics/family.h"
#include "metrics/metrics_server.h"
#include "metrics/process_stats.h"
#include "metrics/prom_writer.h"
#include "pipeline/collector.h"
#include "pipeline/flusher_metrics.h"
#include "pipeline/forward_stage.h"
#include "pipeline/live_view.h"
#include "pipeline/sflow_interfaces.h"
#include "receive/receive_metrics.h"

namespace ringflow {
namespace {

// New streams refused, by reason, and the address quota's refusals by
// exporter address: the busiest max_series addresses, the rest as "other"
// (the same cap as the per-stream series).
void write_stream_refusals(PromWriter& w, const Collector& c, uint64_t table_full,
                           size_t max_series) {
  uint64_t quota = 0;
  for (const auto& sc : c.session_counters()) quota += sc->stream_quota_refusals.load();
  w.family("ringflow_streams_refused_total", kCounter,
           "Datagrams of a new exporter stream that was not tracked, by reason: table_full "
           "(decode.max_streams) or address_quota (decode.max_streams_per_address).");
  w.sample({{"reason", "table_full"}}, table_full);
  w.sample({{"reason", "address_quota"}}, quota);

  std::vector<AddressRefusals> by;
  uint64_t other = 0;
  c.refused_addresses(&by, &other);
  // Merge one address's counts from several reactors.
  std::sort(by.begin(), by.end(), [](const AddressRefusals& a, const AddressRefusals& b) {
    return a.exporter.bytes < b.exporter.bytes;
  });
  size_t n = 0;
  for (size_t i = 0; i < by.size(); ++i) {
    if (n > 0 && by[n - 1].exporter == by[i].exporter) {
      by[n - 1].datagrams += by[i].datagrams;
    } else {
      by[n++] = by[i];
    }
  }
  by.resize(n);
  std::stable_sort(by.begin(), by.end(), [](const AddressRefusals& a, const AddressRefusals& b) {
    return a.datagrams > b.datagrams;
  });
  for (size_t i = max_series; i < by.size(); ++i) other += by[i].datagrams;
  if (by.size() > max_series) by.resize(max_series);
  w.family("ringflow_streams_refused_by_exporter_total", kCounter,
           "Datagrams refused by decode.max_streams_per_address, by exporter address (at most "
           "metrics.max_streams addresses, the busiest; the rest as exporter=\"other\"; "
           "published once a second).");
  for (const AddressRefusals& r : by) {
    const std::string addr = r.exporter.str();
    w.sample({{"exporter", addr}, {"reason", "address_quota"}}, r.datagrams);
  }
  if (other) w.sample({{"exporter", "other"}, {"reason", "address_quota"}}, other);
}

// [filter]: records kept and dropped, summed over the workers.
void write_filter_metrics(PromWriter& w, const std::vector<std::unique_ptr<FilterCounters>>& c) {
  uint64_t kept = 0, dropped = 0;
  for (const auto& f : c) {
    kept += f->kept.load(std::memory_order_relaxed);
    dropped += f->dropped.load(std::memory_order_relaxed);
  }
  w.family("ringflow_filter_records_total", kCounter,
           "Records the filter stage ([filter] expression, after enrichment) kept for aggregation "
           "or dropped (docs/filter.md).");
  w.sample({{"result", "kept"}}, kept);
  w.sample({{"result", "dropped"}}, dropped);
}

// output.counters: the sFlow interface rows written, and what failed.
void write_counter_rows_metrics(PromWriter& w, const SflowCountersOutput& o) {
  w.family("ringflow_sflow_counter_rows_total", kCounter,
           "sFlow interface counter rows (output.counters) written to their file or inserted "
           "into ClickHouse (written), waiting after a failed INSERT (pending, a gauge-like "
           "count), or dropped because the pending rows reached their cap (dropped).");
  w.sample({{"outcome", "written"}}, o.rows());
  w.sample({{"outcome", "dropped"}}, o.dropped_rows());
  w.family("ringflow_sflow_counter_rows_pending", kGauge,
           "sFlow interface counter rows waiting for a successful ClickHouse INSERT.");
  w.sample(o.pending_rows());
  w.family("ringflow_sflow_counter_write_errors_total", kCounter,
           "Failed writes of the counter rows: a file write, or a ClickHouse CREATE or INSERT "
           "(the rows stay pending and go with the next interval's).");
  w.sample(o.errors());
}

// [enrich]: reloads, table sizes, the workers' MMDB caches (only when some
// enrichment file is configured).
void write_enrich_metrics(PromWriter& w, const enrich::EnrichTables& t) {
  w.family("ringflow_enrich_reloads_total", kCounter,
           "Reloads of an enrichment file (SIGHUP or a change seen by enrich.watch_interval), "
           "by table and result; a failed reload keeps the previous table.");
  for (size_t i = 0; i < enrich::kEnrichTableNames.size(); ++i) {
    w.sample({{"table", enrich::kEnrichTableNames[i]}, {"result", "ok"}}, t.reloads[i].load());
    w.sample({{"table", enrich::kEnrichTableNames[i]}, {"result", "failed"}},
             t.reloads_failed[i].load());
  }
  w.family("ringflow_enrich_networks_prefixes", kGauge,
           "Prefixes of the networks file in use, by address family.");
  w.sample({{"family", "ipv4"}}, t.networks_v4.load());
  w.sample({{"family", "ipv6"}}, t.networks_v6.load());
  w.family("ringflow_enrich_names", kGauge,
           "Distinct enrichment strings interned (network names, roles, AS organisations...) and "
           "distinct network attribute tuples (at most 65535).");
  w.sample({{"kind", "strings"}}, uint64_t{enrich::names().size()});
  w.sample({{"kind", "net_tuples"}}, uint64_t{enrich::net_tuples()});
  const auto caches = t.cache_stats();
  w.family("ringflow_enrich_mmdb_lookups_total", kCounter,
           "MMDB lookups of the workers' enrich stages, by database and result (hit: answered by "
           "the per-worker cache).");
  for (int i = 0; i < 2; ++i) {
    const char* db = i ? "country_mmdb" : "asn_mmdb";
    w.sample({{"database", db}, {"result", "hit"}}, caches[i].hits);
    w.sample({{"database", db}, {"result", "miss"}}, caches[i].misses);
  }
  w.family("ringflow_enrich_mmdb_errors_total", kCounter,
           "MMDB lookups that failed, by database and reason (the address is then left "
           "without AS or country).");
  for (int i = 0; i < 2; ++i) {
    const char* db = i ? "country_mmdb" : "asn_mmdb";
    for (size_t e = 0; e < enrich::kMmdbErrorNames.size(); ++e)
      w.sample({{"database", db}, {"reason", enrich::kMmdbErrorNames[e]}}, caches[i].errors[e]);
  }
  if (const enrich::SnmpPoller* p = t.snmp_poller()) {
    w.family("ringflow_enrich_snmp_polls_total", kCounter,
             "SNMP polls of an exporter's interface names ([enrich.snmp]), by result: ok, timeout "
             "(no answer; also a wrong v2c community), auth (v3 credentials refused), "
             "no_such_object (no ifName), too_many_interfaces (cut at max_interfaces), error");
    for (size_t r = 0; r < enrich::kSnmpResults; ++r)
      w.sample({{"result", enrich::kSnmpResultNames[r]}}, p->polls[r].load());
    w.family("ringflow_enrich_snmp_exporters", kGauge,
             "Exporters by SNMP state: named (interface names published), without_agent (seen, "
             "but no [[enrich.snmp.agent]] covers them), refused (beyond "
             "enrich.snmp.max_exporters), polling (a poll in flight)");
    w.sample({{"state", "named"}}, p->exporters.load());
    w.sample({{"state", "without_agent"}}, p->without_agent.load());
    w.sample({{"state", "refused"}}, p->refused.load());
    w.sample({{"state", "polling"}}, p->in_flight.load());
    w.family("ringflow_enrich_snmp_interfaces", kGauge,
             "Interfaces whose names the SNMP poller publishes, over every exporter");
    w.sample({}, p->interfaces.load());
  }
}

}  // namespace

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

namespace {
// The Capture page's rings (metrics.capture_datagrams; src/decode/capture_ring.h).
void write_capture_metrics(PromWriter& w, const std::vector<std::unique_ptr<CaptureRing>>& rings) {
  uint64_t captured = 0, truncated = 0, bytes = 0;
  uint64_t skipped[static_cast<size_t>(CaptureSkip::kCount)] = {};
  for (const auto& r : rings) {
    captured += r->captured();
    truncated += r->truncated();
    bytes += r->bytes();
    for (size_t i = 0; i < std::size(skipped); ++i) skipped[i] += r->skipped(CaptureSkip(i));
  }
  w.family("ringflow_capture_datagrams_total", MetricType::kCounter,
           "Datagrams copied into the Capture page's rings (metrics.capture_datagrams).");
  w.sample(captured);
  w.family("ringflow_capture_truncated_total", MetricType::kCounter,
           "Captured datagrams cut to metrics.capture_snaplen.");
  w.sample(truncated);
  w.family("ringflow_capture_skipped_total", MetricType::kCounter,
           "Datagrams not captured, by reason: busy (a reader was copying the slot out), "
           "streams_full (metrics.capture_bytes holds no more streams), unrecognised (no wire "
           "format, or too short to name its stream).");
  w.sample({{"reason", "busy"}}, skipped[size_t(CaptureSkip::kBusy)]);
  w.sample({{"reason", "streams_full"}}, skipped[size_t(CaptureSkip::kStreamsFull)]);
  w.sample({{"reason", "unrecognised"}}, skipped[size_t(CaptureSkip::kUnrecognised)]);
  w.family("ringflow_capture_ring_bytes", MetricType::kGauge,
           "Bytes of datagram slots the Capture page's rings hold, allocated at start.");
  w.sample(bytes);
}
}  // namespace

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
  const SequenceTrackerStats ts = c_.tracker_stats();
  stream_metrics_.write(w, &streams_, ts, cfg.metrics.max_streams, now_ms);
  write_stream_refusals(w, c_, ts.table_full, cfg.metrics.max_streams);
  sflow_ifs_.clear();
  c_.sflow_interfaces(&sflow_ifs_);
  write_sflow_interface_metrics(w, &sflow_ifs_, cfg.metrics.max_sflow_interfaces);
  if (const SflowCountersOutput* o = c_.counters_output()) write_counter_rows_metrics(w, *o);
  if (const AggregationHub* hub = c_.hub()) write_aggregate_metrics(w, *hub);
  if (const Flusher* fl = c_.flusher()) write_flusher_metrics(w, *fl);
  if (const enrich::EnrichTables* e = c_.enrichment()) write_enrich_metrics(w, *e);
  if (!c_.filter_counters().empty()) write_filter_metrics(w, c_.filter_counters());
  if (const ForwardStage* fw = c_.forward()) write_forward_metrics(w, *fw);
  if (!c_.captures().empty()) write_capture_metrics(w, c_.captures());
}

bool listen_is_loopback(const std::string& listen) {
  const auto at = Endpoint::parse(listen);
  if (!at || at->any_v6) return false;
  if (at->addr.is_v4()) return (at->addr.v4() >> 24) == 127;
  static const uint8_t kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(at->addr.bytes.data(), kLoop6, 16) == 0;
}

MetricsEndpoint::MetricsEndpoint(const Collector& collector) : metrics_(collector) {}

MetricsEndpoint::~MetricsEndpoint() { stop(); }

void MetricsEndpoint::stop() {
  if (server_) server_->stop();
  if (live_) live_->stop();
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
  o.max_request_bytes = cfg.metrics.max_request_bytes;
  if (!HttpAuth::load(cfg.metrics.auth_token_file, cfg.metrics.auth_basic_file, &o.auth, error))
    return nullptr;
  // The Capture page holds traffic metadata (addresses, ports, the
  // exporters' datagrams): beyond this host only behind credentials.
  if (!listen_is_loopback(cfg.metrics.listen)) {
    if (capture_on(cfg) && !o.auth.enabled()) {
      *error = "metrics.capture_datagrams: the Capture page holds traffic metadata and "
               "metrics.listen \"" + cfg.metrics.listen + "\" is not loopback: set "
               "metrics.auth_token_file or metrics.auth_basic_file, or listen on 127.0.0.1 "
               "(docs/config.md, \"Exposing the listener\")";
      return nullptr;
    }
    if (!o.auth.enabled())
      RF_LOG_WARN("metrics: %s is not loopback and needs no credentials: anyone who reaches it "
                  "reads the metrics and the web view (set metrics.auth_token_file or "
                  "metrics.auth_basic_file)",
                  cfg.metrics.listen.c_str());
  }
  if (cfg.metrics.web) {
    e->live_ = std::make_unique<LiveView>(collector);
    o.routes = e->live_->routes();
    e->live_->start();  // the first sample (zeros) before the first request
  }
  e->server_ = MetricsServer::start(
      cfg.metrics.listen, [m](PromWriter& w) { m->write(w); }, error, std::move(o));
  if (!e->server_) return nullptr;
  RF_LOG_INFO("metrics: serving %s", e->server_->url().c_str());
  return e;
}

}  // namespace ringflow
