// The aggregate stage's metrics (docs/metrics.md, "Aggregation"):
// ringflow_aggregate_* per worker from each WorkerAggregator's
// AggregateWorkerCounters, and the table size limit.
//
// Thread safety: any thread (relaxed counters; the hub's shape is fixed).
#pragma once

#include "aggregate/hub.h"
#include "metrics/prom_writer.h"

namespace ringflow {

void write_aggregate_metrics(PromWriter& w, const AggregationHub& hub);

}  // namespace ringflow
