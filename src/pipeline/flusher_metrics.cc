#include "pipeline/flusher_metrics.h"

#include <vector>

#include "metrics/family.h"

namespace ringflow {
namespace {

double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

constexpr Family<FlusherCounters> kFlushFamilies[] = {
    {"ringflow_flushes_total", kCounter, "Interval batches flushed to the sinks.",
     [](const FlusherCounters& f) { return f.flushes.load(); }},
    {"ringflow_flushes_partial_total", kCounter, "Flushes of a partial interval (at shutdown).",
     [](const FlusherCounters& f) { return f.partial_flushes.load(); }},
    {"ringflow_flushes_late_total", kCounter,
     "Flushes spanning extra intervals because the previous flush was late.",
     [](const FlusherCounters& f) { return f.late_flushes.load(); }},
    {"ringflow_flush_seal_timeouts_total", kCounter,
     "Workers that had not sealed their table by the flusher's deadline.",
     [](const FlusherCounters& f) { return f.seal_timeouts.load(); }},
    {"ringflow_flush_rows_total", kCounter, "Rows flushed (overflow rows included).",
     [](const FlusherCounters& f) { return f.rows_flushed.load(); }},
    {"ringflow_flush_overflow_rows_total", kCounter,
     "Flushes that carried an overflow row (a table was full).",
     [](const FlusherCounters& f) { return f.overflow_rows.load(); }},
    {"ringflow_flush_overflow_records_total", kCounter,
     "Records in worker overflow rows, as flushed.",
     [](const FlusherCounters& f) { return f.overflow_records.load(); }},
    {"ringflow_flush_merge_overflow_rows_total", kCounter,
     "Worker rows that did not fit the flusher's merge table (went to its overflow row).",
     [](const FlusherCounters& f) { return f.merge_overflow_rows.load(); }},
};

constexpr Family<FlusherCounters, double> kFlushTimeFamilies[] = {
    {"ringflow_flush_last_duration_seconds", kGauge,
     "Duration of the last flush (merge, sinks, release), seconds.",
     [](const FlusherCounters& f) { return seconds(f.flush_ns_last.load()); }},
    {"ringflow_flush_max_duration_seconds", kGauge, "Longest flush so far, seconds.",
     [](const FlusherCounters& f) { return seconds(f.flush_ns_max.load()); }},
    {"ringflow_flush_seconds_total", kCounter, "Time spent flushing, seconds.",
     [](const FlusherCounters& f) { return seconds(f.flush_ns_total.load()); }},
    {"ringflow_flush_last_interval_end_timestamp_seconds", kGauge,
     "End of the last flushed interval, Unix seconds (0 = none yet).",
     [](const FlusherCounters& f) {
       return static_cast<double>(f.last_interval_end_ms.load()) / 1000.0;
     }},
};

constexpr Family<SinkCounters> kSinkFamilies[] = {
    {"ringflow_sink_batches_total", kCounter, "Batches the sink wrote successfully.",
     [](const SinkCounters& c) { return c.batches.load(); }},
    {"ringflow_sink_rows_written_total", kCounter, "Rows of the batches written successfully.",
     [](const SinkCounters& c) { return c.rows_written.load(); }},
    {"ringflow_sink_errors_total", kCounter, "Failed writes (the batch is not retried).",
     [](const SinkCounters& c) { return c.errors.load(); }},
    {"ringflow_sink_rows_lost_total", kCounter,
     "Rows that failed writes lost for good (not written, not spooled).",
     [](const SinkCounters& c) { return c.rows_lost.load(); }},
    {"ringflow_sink_flows_lost_total", kCounter,
     "Flows (records) aggregated into the rows lost by failed writes.",
     [](const SinkCounters& c) { return c.flows_lost.load(); }},
};

constexpr Family<SinkCounters, double> kSinkTimeFamilies[] = {
    {"ringflow_sink_last_success_timestamp_seconds", kGauge,
     "Wall clock of the sink's last successful write, Unix seconds (0 = never).",
     [](const SinkCounters& c) { return static_cast<double>(c.last_success_ms.load()) / 1000.0; }},
};

}  // namespace

void write_flusher_metrics(PromWriter& w, const Flusher& fl) {
  write_single_families(w, kFlushFamilies, fl.counters());
  write_single_families(w, kFlushTimeFamilies, fl.counters());

  auto row = [&fl](size_t i) -> const SinkCounters& { return fl.sink_counters(i); };
  auto name = [&fl](size_t i) -> std::string_view { return fl.sink(i).name(); };
  write_families(w, kSinkFamilies, "sink", fl.sink_count(), row, name);
  write_families(w, kSinkTimeFamilies, "sink", fl.sink_count(), row, name);

  std::vector<const Sink*> sinks;
  for (size_t i = 0; i < fl.sink_count(); ++i) sinks.push_back(&fl.sink(i));
  write_sink_metrics(w, sinks);
}

}  // namespace ringflow
