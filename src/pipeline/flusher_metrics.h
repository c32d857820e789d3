// The flusher's metrics (docs/metrics.md, "Flushes and sinks"):
// ringflow_flush* from FlusherCounters, ringflow_sink_* per sink from the
// flusher's SinkCounters, then every sink's own families through the Sink
// interface (write_sink_metrics, src/sink/sink.h).
//
// Thread safety: any thread (relaxed counters; the sink list is fixed once
// the flusher is built).
#pragma once

#include "metrics/prom_writer.h"
#include "pipeline/flusher.h"

namespace ringflow {

void write_flusher_metrics(PromWriter& w, const Flusher& flusher);

}  // namespace ringflow
