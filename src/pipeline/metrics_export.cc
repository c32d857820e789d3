#include "pipeline/metrics_export.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string_view>

#include "aggregate/hub.h"
#include "common/clock.h"
#include "common/log.h"
#include "metrics/metrics_server.h"
#include "metrics/process_stats.h"
#include "metrics/prom_writer.h"
#include "pipeline/collector.h"
#include "pipeline/flusher.h"
#include "receive/handoff.h"
#include "sink/clickhouse_sink.h"

namespace ringflow {
namespace {

constexpr MetricType kCounter = MetricType::kCounter;
constexpr MetricType kGauge = MetricType::kGauge;


// Decimal text of a small index, for "reactor"/"worker" label values.
// (Copyable: the view is made on demand, never stored over its own buffer.)
class Num {
 public:
  explicit Num(uint64_t v)
      : len_(static_cast<size_t>(
            snprintf(buf_, sizeof buf_, "%llu", static_cast<unsigned long long>(v)))) {}
  std::string_view sv() const { return {buf_, len_}; }

 private:
  char buf_[24];
  size_t len_;
};

// One value per reactor/worker of a counter block, read once per scrape.
struct ReactorValues {
  uint64_t datagrams, bytes, handed_off, oversize, not_allowed, queue_full, enobufs, cq_overflow,
      rearms, kernel_drops, syscalls;
};
struct WorkerValues {
  uint64_t datagrams, decoded, pdus, trailing_accepted, flows, future_records, inverted_records;
  std::array<uint64_t, kRejectReasons> rejects;
};

bool same_stream(const StreamStats& a, const StreamStats& b) {
  return a.exporter == b.exporter && a.engine_type == b.engine_type &&
         a.engine_id == b.engine_id;
}

// A stream is routed to one worker, so each appears once; should a stream
// ever show up in two workers' snapshots (a routing change), merge it rather
// than emit a duplicate series, which would make Prometheus reject the
// whole scrape.
void merge_duplicates(std::vector<StreamStats>* streams) {
  auto key_less = [](const StreamStats& a, const StreamStats& b) {
    if (a.exporter != b.exporter) return a.exporter < b.exporter;
    if (a.engine_type != b.engine_type) return a.engine_type < b.engine_type;
    return a.engine_id < b.engine_id;
  };
  std::sort(streams->begin(), streams->end(), key_less);
  size_t out = 0;
  for (size_t i = 0; i < streams->size(); ++i) {
    StreamStats& s = (*streams)[i];
    if (out > 0 && same_stream((*streams)[out - 1], s)) {
      StreamStats& m = (*streams)[out - 1];
      m.datagrams += s.datagrams;
      m.flows += s.flows;
      m.lost_flows += s.lost_flows;
      m.gaps += s.gaps;
      m.reordered += s.reordered;
      m.late_flows += s.late_flows;
      m.duplicates += s.duplicates;
      m.resets += s.resets;
      if (s.last_seen_ms > m.last_seen_ms) {
        m.last_seen_ms = s.last_seen_ms;
        m.sampling_interval = s.sampling_interval;
      }
      continue;
    }
    if (out != i) (*streams)[out] = s;
    ++out;
  }
  streams->resize(out);
}

}  // namespace

CollectorMetrics::CollectorMetrics(const Collector& collector) : c_(collector) {}

uint64_t CollectorMetrics::cap_exceeded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cap_exceeded_;
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

  // --- read every counter once, workers before reactors (see the header) ---
  std::vector<WorkerValues> wv;
  for (const auto& p : c_.worker_counters()) {
    const WorkerCounters& c = *p;
    WorkerValues v{c.datagrams.load(),         c.decoded.load(),        c.pdus.load(),
                   c.trailing_accepted.load(), c.flows.load(),          c.future_records.load(),
                   c.inverted_records.load(),  {}};
    for (size_t i = 0; i < kRejectReasons; ++i) v.rejects[i] = c.rejects[i].load();
    wv.push_back(v);
  }
  std::vector<ReactorValues> rv;
  for (const auto& p : c_.reactor_counters()) {
    const ReactorCounters& c = *p;
    rv.push_back({c.datagrams.load(), c.bytes.load(), c.handed_off.load(), c.oversize.load(),
                  c.not_allowed.load(), c.queue_full.load(), c.enobufs.load(),
                  c.cq_overflow.load(), c.rearms.load(), c.kernel_drops.load(),
                  c.syscalls.load()});
  }
  const std::vector<std::string>& backends = c_.backends();

  // --- build and process ---
  w.family("ringflow_build_info", kGauge,
           "Always 1; the labels name the version and the receive backend in use.");
  w.sample({{"version", RINGFLOW_VERSION}, {"backend", backends.empty() ? "" : backends[0]}},
           uint64_t{1});
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

  // --- receive: one series per reactor ---
  w.family("ringflow_receive_backend_info", kGauge,
           "Always 1; the backend label names the receive backend of the reactor.");
  for (size_t r = 0; r < rv.size() && r < backends.size(); ++r)
    w.sample({{"reactor", Num(r).sv()}, {"backend", backends[r]}}, uint64_t{1});
  struct ReactorFamily {
    const char* name;
    const char* help;
    uint64_t ReactorValues::*field;
  };
  static constexpr ReactorFamily kReactorFamilies[] = {
      {"ringflow_receive_datagrams_total", "Datagrams the reactor took from its sockets.",
       &ReactorValues::datagrams},
      {"ringflow_receive_bytes_total", "Payload bytes the reactor took from its sockets.",
       &ReactorValues::bytes},
      {"ringflow_receive_kernel_drops_total",
       "Datagrams the kernel dropped because the socket buffer was full (SO_RXQ_OVFL, "
       "/proc/net/udp).",
       &ReactorValues::kernel_drops},
      {"ringflow_receive_oversize_total",
       "Datagrams larger than receive.buffer_size, truncated by the kernel (MSG_TRUNC): dropped.",
       &ReactorValues::oversize},
      {"ringflow_receive_not_allowed_total",
       "Datagrams from exporters outside receive.allow: dropped.", &ReactorValues::not_allowed},
      {"ringflow_receive_queue_full_total",
       "Datagrams dropped because the target worker's queue was full.",
       &ReactorValues::queue_full},
      {"ringflow_receive_handed_off_total", "Datagrams handed to a worker queue.",
       &ReactorValues::handed_off},
      {"ringflow_receive_enobufs_total",
       "io_uring buffer ring ran dry (the kernel kept the data in the socket buffer).",
       &ReactorValues::enobufs},
      {"ringflow_receive_cq_overflow_total", "io_uring completion queue overflows seen.",
       &ReactorValues::cq_overflow},
      {"ringflow_receive_rearms_total", "Multishot receives re-armed.", &ReactorValues::rearms},
      {"ringflow_receive_syscalls_total", "Receive system calls (io_uring_enter or recvmmsg).",
       &ReactorValues::syscalls},
  };
  for (const ReactorFamily& f : kReactorFamilies) {
    w.family(f.name, kCounter, f.help);
    for (size_t r = 0; r < rv.size(); ++r) w.sample({{"reactor", Num(r).sv()}}, rv[r].*f.field);
  }

  // Every drop of the pipeline in one family, for alerts and dashboards.
  uint64_t kernel = 0, oversize = 0, not_allowed = 0, queue_full = 0;
  for (const ReactorValues& v : rv) {
    kernel += v.kernel_drops;
    oversize += v.oversize;
    not_allowed += v.not_allowed;
    queue_full += v.queue_full;
  }
  w.family("ringflow_datagrams_dropped_total", kCounter,
           "Datagrams dropped, by stage: kernel (socket buffer full), oversize, not_allowed, "
           "queue_full. Sums the ringflow_receive_* families.");
  w.sample({{"stage", "kernel"}}, kernel);
  w.sample({{"stage", "oversize"}}, oversize);
  w.sample({{"stage", "not_allowed"}}, not_allowed);
  w.sample({{"stage", "queue_full"}}, queue_full);

  // --- hand-off ---
  if (const Handoff* h = c_.handoff()) {
    w.family("ringflow_handoff_queue_depth", kGauge,
             "Datagrams waiting in the worker's queue (approximate).");
    for (uint32_t i = 0; i < h->workers(); ++i)
      w.sample({{"worker", Num(i).sv()}}, static_cast<uint64_t>(h->depth(i)));
    w.family("ringflow_handoff_queue_full_total", kCounter,
             "Datagrams dropped because this worker's queue was full (summed over reactors).");
    for (uint32_t i = 0; i < h->workers(); ++i) {
      uint64_t n = 0;
      for (const auto& rc : c_.reactor_counters()) n += rc->queue_full_by_worker[i].load();
      w.sample({{"worker", Num(i).sv()}}, n);
    }
    w.family("ringflow_handoff_queue_capacity", kGauge,
             "Datagrams a worker queue holds before reactors drop (receive.queue_depth).");
    w.sample(uint64_t{cfg.receive.queue_depth});
  }

  // --- decode: per worker, rejects by reason ---
  struct WorkerFamily {
    const char* name;
    const char* help;
    uint64_t WorkerValues::*field;
  };
  static constexpr WorkerFamily kWorkerFamilies[] = {
      {"ringflow_decode_datagrams_total", "Datagrams the worker took from its queue.",
       &WorkerValues::datagrams},
      {"ringflow_decode_accepted_total", "Datagrams that decoded (one or more v5 PDUs).",
       &WorkerValues::decoded},
      {"ringflow_decode_pdus_total", "NetFlow v5 PDUs decoded.", &WorkerValues::pdus},
      {"ringflow_decode_flows_total", "Flow records decoded.", &WorkerValues::flows},
      {"ringflow_decode_trailing_accepted_total",
       "Datagrams with trailing bytes accepted (decode.accept_trailing).",
       &WorkerValues::trailing_accepted},
      {"ringflow_decode_future_records_total",
       "Records ending later than now + decode.future_tolerance (kept, counted).",
       &WorkerValues::future_records},
      {"ringflow_decode_inverted_records_total",
       "Records whose first time is after their last (kept, counted).",
       &WorkerValues::inverted_records},
  };
  for (const WorkerFamily& f : kWorkerFamilies) {
    w.family(f.name, kCounter, f.help);
    for (size_t i = 0; i < wv.size(); ++i) w.sample({{"worker", Num(i).sv()}}, wv[i].*f.field);
  }
  w.family("ringflow_decode_rejected_total", kCounter,
           "Datagrams rejected by the decoder, by reason (summed over workers).");
  for (size_t r = 1; r < kRejectReasons; ++r) {
    uint64_t n = 0;
    for (const WorkerValues& v : wv) n += v.rejects[r];
    w.sample({{"reason", reject_reason_name(static_cast<Reject>(r))}}, n);
  }

  // --- exporter streams ---
  streams_.clear();
  c_.streams(&streams_);
  merge_duplicates(&streams_);
  const size_t tracked = streams_.size();
  const size_t cap = cfg.metrics.max_streams;
  uint64_t lost_all = 0;
  for (const StreamStats& s : streams_) lost_all += s.lost_flows;
  if (tracked > cap) {
    ++cap_exceeded_;
    // Keep the busiest streams; ties by key, so the choice is stable.
    std::stable_sort(streams_.begin(), streams_.end(),
                     [](const StreamStats& a, const StreamStats& b) {
                       return a.datagrams > b.datagrams;
                     });
    streams_.resize(cap);
  }
  w.family("ringflow_streams_tracked", kGauge,
           "Exporter streams (exporter, engine_type, engine_id) the workers track.");
  w.sample(static_cast<uint64_t>(tracked));
  w.family("ringflow_streams_exported", kGauge,
           "Exporter streams exported as ringflow_stream_* series (at most metrics.max_streams).");
  w.sample(static_cast<uint64_t>(streams_.size()));
  w.family("ringflow_streams_cap_exceeded_total", kCounter,
           "Scrapes that left streams out because more than metrics.max_streams were tracked.");
  w.sample(cap_exceeded_);
  const SequenceTrackerStats ts = c_.tracker_stats();
  w.family("ringflow_streams_capacity", kGauge,
           "Exporter streams the workers can track (decode.max_streams per worker).");
  w.sample(ts.capacity);
  w.family("ringflow_streams_created_total", kCounter, "Exporter streams ever inserted.");
  w.sample(ts.streams_created);
  w.family("ringflow_streams_expired_total", kCounter,
           "Exporter streams forgotten after decode.stream_idle_timeout of silence.");
  w.sample(ts.streams_expired);
  w.family("ringflow_streams_table_full_total", kCounter,
           "Datagrams of a new stream that found the tracking table full (decoded, not tracked).");
  w.sample(ts.table_full);
  w.family("ringflow_streams_lost_flows", kGauge,
           "Estimated flows lost in transit, summed over every tracked stream (exported or not).");
  w.sample(lost_all);

  std::vector<std::string> addrs;
  std::vector<Num> types, ids;
  addrs.reserve(streams_.size());
  types.reserve(streams_.size());
  ids.reserve(streams_.size());
  for (const StreamStats& s : streams_) {
    addrs.push_back(s.exporter.str());
    types.emplace_back(s.engine_type);
    ids.emplace_back(s.engine_id);
  }
  auto stream_family = [&](const char* name, MetricType type, const char* help, auto value) {
    w.family(name, type, help);
    for (size_t i = 0; i < streams_.size(); ++i) {
      const Label labels[] = {
          {"exporter", addrs[i]}, {"engine_type", types[i].sv()}, {"engine_id", ids[i].sv()}};
      w.sample(labels, value(streams_[i]));
    }
  };
  stream_family("ringflow_stream_datagrams_total", kCounter,
                "v5 PDUs received on the stream (duplicates included).",
                [](const StreamStats& s) { return s.datagrams; });
  stream_family("ringflow_stream_flows_total", kCounter, "Flow records received on the stream.",
                [](const StreamStats& s) { return s.flows; });
  stream_family("ringflow_stream_lost_flows", kGauge,
                "Estimated flows lost in transit: forward sequence gaps minus flows that late "
                "datagrams filled in. A gauge: a late datagram lowers it.",
                [](const StreamStats& s) { return s.lost_flows; });
  stream_family("ringflow_stream_gaps_total", kCounter, "Forward jumps of flow_sequence.",
                [](const StreamStats& s) { return s.gaps; });
  stream_family("ringflow_stream_reordered_total", kCounter,
                "Late datagrams that filled (part of) an earlier gap.",
                [](const StreamStats& s) { return s.reordered; });
  stream_family("ringflow_stream_late_flows_total", kCounter,
                "Flows delivered by reordered datagrams.",
                [](const StreamStats& s) { return s.late_flows; });
  stream_family("ringflow_stream_duplicates_total", kCounter,
                "Datagrams behind the expected sequence that filled no gap (duplicates).",
                [](const StreamStats& s) { return s.duplicates; });
  stream_family("ringflow_stream_resets_total", kCounter,
                "Exporter restarts and sequence resynchronisations.",
                [](const StreamStats& s) { return s.resets; });
  stream_family("ringflow_stream_sampling_interval", kGauge,
                "Effective sampling interval (override, header or default), >= 1.",
                [](const StreamStats& s) { return uint64_t{s.sampling_interval}; });
  stream_family("ringflow_stream_last_datagram_age_seconds", kGauge,
                "Seconds since the stream's latest datagram.", [now_ms](const StreamStats& s) {
                  return static_cast<double>(std::max<int64_t>(0, now_ms - s.last_seen_ms)) /
                         1000.0;
                });

  // --- aggregation ---
  if (const AggregationHub* hub = c_.hub()) {
    struct AggFamily {
      const char* name;
      MetricType type;
      const char* help;
      const Counter AggregateWorkerCounters::*field;
    };
    static constexpr AggFamily kAggFamilies[] = {
        {"ringflow_aggregate_records_total", kCounter, "Records added to the worker's table.",
         &AggregateWorkerCounters::records},
        {"ringflow_aggregate_table_entries", kGauge,
         "Keys in the worker's active table (updated at each tick).",
         &AggregateWorkerCounters::entries},
        {"ringflow_aggregate_overflow_records_total", kCounter,
         "Records of new keys that found the table full and went to the overflow row.",
         &AggregateWorkerCounters::overflow_records},
        {"ringflow_aggregate_late_records_total", kCounter,
         "Records older than the active table's first interval.",
         &AggregateWorkerCounters::late_records},
        {"ringflow_aggregate_future_records_total", kCounter,
         "Records newer than the newest open interval.",
         &AggregateWorkerCounters::future_records},
        {"ringflow_aggregate_seals_total", kCounter, "Tables sealed and handed to the flusher.",
         &AggregateWorkerCounters::seals},
        {"ringflow_aggregate_deferred_seals_total", kCounter,
         "Seals deferred because the flusher had not returned the standby table (late flush).",
         &AggregateWorkerCounters::deferred_seals},
    };
    for (const AggFamily& f : kAggFamilies) {
      w.family(f.name, f.type, f.help);
      for (uint32_t i = 0; i < hub->workers(); ++i)
        w.sample({{"worker", Num(i).sv()}}, (hub->worker(i).counters().*f.field).load());
    }
    w.family("ringflow_aggregate_table_max_entries", kGauge,
             "Keys a worker table holds before the overflow row (aggregate.max_entries).");
    w.sample(hub->config().max_entries);
  }

  // --- flushes and sinks ---
  if (const Flusher* fl = c_.flusher()) {
    const FlusherCounters& f = fl->counters();
    w.family("ringflow_flushes_total", kCounter, "Interval batches flushed to the sinks.");
    w.sample(f.flushes.load());
    w.family("ringflow_flushes_partial_total", kCounter,
             "Flushes of a partial interval (at shutdown).");
    w.sample(f.partial_flushes.load());
    w.family("ringflow_flushes_late_total", kCounter,
             "Flushes spanning extra intervals because the previous flush was late.");
    w.sample(f.late_flushes.load());
    w.family("ringflow_flush_seal_timeouts_total", kCounter,
             "Workers that had not sealed their table by the flusher's deadline.");
    w.sample(f.seal_timeouts.load());
    w.family("ringflow_flush_rows_total", kCounter, "Rows flushed (overflow rows included).");
    w.sample(f.rows_flushed.load());
    w.family("ringflow_flush_overflow_rows_total", kCounter,
             "Flushes that carried an overflow row (a table was full).");
    w.sample(f.overflow_rows.load());
    w.family("ringflow_flush_overflow_records_total", kCounter,
             "Records in worker overflow rows, as flushed.");
    w.sample(f.overflow_records.load());
    w.family("ringflow_flush_merge_overflow_rows_total", kCounter,
             "Worker rows that did not fit the flusher's merge table (went to its overflow row).");
    w.sample(f.merge_overflow_rows.load());
    w.family("ringflow_flush_last_duration_seconds", kGauge,
             "Duration of the last flush (merge, sinks, release), seconds.");
    w.sample(static_cast<double>(f.flush_ns_last.load()) / 1e9);
    w.family("ringflow_flush_max_duration_seconds", kGauge, "Longest flush so far, seconds.");
    w.sample(static_cast<double>(f.flush_ns_max.load()) / 1e9);
    w.family("ringflow_flush_seconds_total", kCounter, "Time spent flushing, seconds.");
    w.sample(static_cast<double>(f.flush_ns_total.load()) / 1e9);
    w.family("ringflow_flush_last_interval_end_timestamp_seconds", kGauge,
             "End of the last flushed interval, Unix seconds (0 = none yet).");
    w.sample(static_cast<double>(f.last_interval_end_ms.load()) / 1000.0);

    struct SinkFamily {
      const char* name;
      MetricType type;
      const char* help;
      const Counter SinkCounters::*field;
    };
    static constexpr SinkFamily kSinkFamilies[] = {
        {"ringflow_sink_batches_total", kCounter, "Batches the sink wrote successfully.",
         &SinkCounters::batches},
        {"ringflow_sink_rows_written_total", kCounter, "Rows of the batches written successfully.",
         &SinkCounters::rows_written},
        {"ringflow_sink_errors_total", kCounter, "Failed writes (the batch is not retried).",
         &SinkCounters::errors},
    };
    for (const SinkFamily& sf : kSinkFamilies) {
      w.family(sf.name, sf.type, sf.help);
      for (size_t i = 0; i < fl->sink_count(); ++i)
        w.sample({{"sink", fl->sink(i).name()}}, (fl->sink_counters(i).*sf.field).load());
    }
    w.family("ringflow_sink_last_success_timestamp_seconds", kGauge,
             "Wall clock of the sink's last successful write, Unix seconds (0 = never).");
    for (size_t i = 0; i < fl->sink_count(); ++i)
      w.sample({{"sink", fl->sink(i).name()}},
               static_cast<double>(fl->sink_counters(i).last_success_ms.load()) / 1000.0);

    // ClickHouse sinks: inserts, the spool and its bound (src/sink/clickhouse_sink.h).
    std::vector<const ClickHouseSink*> ch;
    for (size_t i = 0; i < fl->sink_count(); ++i)
      if (auto* c = dynamic_cast<const ClickHouseSink*>(&fl->sink(i))) ch.push_back(c);
    if (!ch.empty()) {
      struct ChFamily {
        const char* name;
        MetricType type;
        const char* help;
        const Counter ClickHouseCounters::*field;
      };
      static constexpr ChFamily kChFamilies[] = {
          {"ringflow_clickhouse_rows_inserted_total", kCounter,
           "Rows the ClickHouse server acknowledged.", &ClickHouseCounters::rows_inserted},
          {"ringflow_clickhouse_inserts_total", kCounter,
           "INSERTs acknowledged (direct and replayed).", &ClickHouseCounters::batches_inserted},
          {"ringflow_clickhouse_inserts_replayed_total", kCounter,
           "INSERTs replayed from the spool.", &ClickHouseCounters::batches_replayed},
          {"ringflow_clickhouse_duplicates_skipped_total", kCounter,
           "Spooled INSERTs found already in the table and skipped.",
           &ClickHouseCounters::duplicates_skipped},
          {"ringflow_clickhouse_retries_total", kCounter, "Replay attempts that failed.",
           &ClickHouseCounters::retries},
          {"ringflow_clickhouse_errors_total", kCounter, "Failed requests of any kind.",
           &ClickHouseCounters::errors},
          {"ringflow_clickhouse_spooled_inserts_total", kCounter,
           "INSERTs written to the spool (server down or slow).",
           &ClickHouseCounters::spooled_batches_total},
          {"ringflow_clickhouse_spooled_rows_total", kCounter, "Rows written to the spool.",
           &ClickHouseCounters::spooled_rows_total},
          {"ringflow_clickhouse_spool_inserts", kGauge, "INSERTs waiting in the spool now.",
           &ClickHouseCounters::spool_batches},
          {"ringflow_clickhouse_spool_bytes", kGauge, "Bytes in the spool now.",
           &ClickHouseCounters::spool_bytes},
          {"ringflow_clickhouse_spool_dropped_rows_total", kCounter,
           "Rows refused because the spool was full (spool_max_bytes): lost.",
           &ClickHouseCounters::spool_dropped_rows},
          {"ringflow_clickhouse_spool_corrupt_total", kCounter,
           "Spool files set aside as corrupt.", &ClickHouseCounters::spool_corrupt},
      };
      for (const ChFamily& f : kChFamilies) {
        w.family(f.name, f.type, f.help);
        for (const ClickHouseSink* c : ch) w.sample({{"sink", c->name()}}, (c->counters().*f.field).load());
      }
    }
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
