// Sink: where a flushed interval goes (text summary, CSV and JSON-lines
// files, ClickHouse). The Flusher (src/pipeline/flusher.h) calls every sink with
// each FlushBatch, in order, on its own thread.
//
// make_sinks() builds the sinks of output.sink from the config. It knows the
// text, csv and jsonl types; other types (ClickHouse) plug in through
// register_sink_factory() before make_sinks() is called, so this file does
// not depend on their libraries. An unregistered type is an error.
//
// Error policy: write() returns false on failure (the flusher counts it and
// logs once per change of state, with last_error()); it never throws and
// never blocks receive (it runs on the flusher thread). After a failed
// write the flusher asks last_loss() what was lost for good, and counts its
// rows and flows (ringflow_sink_rows_lost_total, ..._flows_lost_total), so a
// failure is measured in data, not only in batches.
//
// Metrics: a sink type with metrics of its own (beyond the flusher's
// per-sink ringflow_sink_* counters) returns their family table from
// metric_families(); write_sink_metrics() writes them for every sink, with
// label sink=name(). docs/metrics.md lists them.
//
// Thread safety: one thread (the flusher) calls a sink's methods, never
// concurrently, except metric_families() and the table's readers, which any
// thread may call (they read relaxed counters). make_sinks /
// register_sink_factory: start-up only.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <ringflow/config.h>

#include "aggregate/flush_batch.h"
#include "metrics/family.h"

namespace ringflow {

// What a failed write lost for good: not written, not spooled, not retried.
struct SinkLoss {
  uint64_t rows = 0;
  uint64_t flows = 0;  // records aggregated into those rows
};

class Sink {
 public:
  virtual ~Sink();
  virtual const std::string& name() const = 0;
  // Writes one batch. false = failed; the batch is not retried by the flusher
  // (a sink that wants retries spools itself).
  virtual bool write(const FlushBatch& batch) = 0;
  // SIGHUP: re-create / reopen outputs. Called on the flusher thread before
  // the next write.
  virtual void reopen() {}
  // Shutdown, after the final batch.
  virtual void close() {}
  // Why the last write failed (for the log); empty when unknown.
  virtual std::string last_error() const { return {}; }
  // Called after write(batch) returned false, with the same batch: what that
  // write lost. Default: the whole batch (a sink that keeps part of it, e.g.
  // in a spool, says how much it could not keep).
  virtual SinkLoss last_loss(const FlushBatch& batch) const {
    return {batch.rows.size(), batch.totals.flows};
  }
  // This sink type's own metric families: the same table for every sink of
  // the type, each entry reading its value from the sink it is given.
  // Default: none.
  virtual std::span<const Family<Sink>> metric_families() const { return {}; }
};

// Writes the metric_families() of every sink: each family once, in order of
// first appearance, with one sample (label sink=name()) per sink whose table
// has it.
void write_sink_metrics(PromWriter& w, std::span<const Sink* const> sinks);

// Builds a sink for one [[sink]] entry. On failure returns null and sets
// *error to a sentence naming the sink and the cause.
using SinkFactory = std::function<std::unique_ptr<Sink>(const SinkConfig& sink,
                                                        const OutputConfig& output,
                                                        std::string* error)>;

// Registers (or replaces) the factory of a sink type. Start-up only.
void register_sink_factory(SinkType type, SinkFactory factory);

// One sink per cfg.sinks entry, in order (an empty list gives no sinks; the
// config loader supplies the default text + csv). Creates output.directory for the file sinks. On any error
// returns an empty vector and sets *error.
std::vector<std::unique_ptr<Sink>> make_sinks(const OutputConfig& cfg, std::string* error);

// The sink type's config name ("text", "csv", "jsonl", "clickhouse"): its
// entry of kSinkTypeNames (include/ringflow/config.h).
const char* sink_type_name(SinkType type);

}  // namespace ringflow
