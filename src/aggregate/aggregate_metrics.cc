#include "aggregate/aggregate_metrics.h"

#include "metrics/family.h"

namespace ringflow {
namespace {

using AggFamily = Family<AggregateWorkerCounters>;

constexpr AggFamily kAggFamilies[] = {
    {"ringflow_aggregate_records_total", kCounter, "Records added to the worker's table.",
     [](const AggregateWorkerCounters& c) { return c.records.load(); }},
    {"ringflow_aggregate_table_entries", kGauge,
     "Keys in the worker's active table (updated at each tick).",
     [](const AggregateWorkerCounters& c) { return c.entries.load(); }},
    {"ringflow_aggregate_overflow_records_total", kCounter,
     "Records of new keys that found the table full and went to the overflow row.",
     [](const AggregateWorkerCounters& c) { return c.overflow_records.load(); }},
    {"ringflow_aggregate_late_records_total", kCounter,
     "Records older than the active table's first interval.",
     [](const AggregateWorkerCounters& c) { return c.late_records.load(); }},
    {"ringflow_aggregate_future_records_total", kCounter,
     "Records newer than the newest open interval.",
     [](const AggregateWorkerCounters& c) { return c.future_records.load(); }},
    {"ringflow_aggregate_seals_total", kCounter, "Tables sealed and handed to the flusher.",
     [](const AggregateWorkerCounters& c) { return c.seals.load(); }},
    {"ringflow_aggregate_deferred_seals_total", kCounter,
     "Seals deferred because the flusher had not returned the standby table (late flush).",
     [](const AggregateWorkerCounters& c) { return c.deferred_seals.load(); }},
};

}  // namespace

void write_aggregate_metrics(PromWriter& w, const AggregationHub& hub) {
  write_indexed_families(w, kAggFamilies, "worker", hub.workers(),
                         [&hub](size_t i) -> const AggregateWorkerCounters& {
                           return hub.worker(static_cast<uint32_t>(i)).counters();
                         });
  // Saturations by reason: summed over the workers (and, for sums, the
  // flusher's merge of their tables).
  uint64_t renormalize = 0, sum = hub.merge_saturated_sum().load();
  for (uint32_t i = 0; i < hub.workers(); ++i) {
    renormalize += hub.worker(i).counters().saturated_renormalize.load();
    sum += hub.worker(i).counters().saturated_sum.load();
  }
  w.family("ringflow_aggregate_saturated_total", kCounter,
           "Packet or byte counters that reached 2^64 - 1 and saturated instead of wrapping: in a "
           "record's renormalization (value x sampling rate), or in a sum of rows.");
  w.sample({{"reason", "renormalize"}}, renormalize);
  w.sample({{"reason", "sum"}}, sum);
  w.family("ringflow_aggregate_table_max_entries", kGauge,
           "Keys a worker table holds before the overflow row (aggregate.max_entries).");
  w.sample(hub.config().max_entries);
}

}  // namespace ringflow
