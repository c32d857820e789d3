// Record stages: the steps a worker runs on finished records between decode
// and aggregation. The worker's loop is: the next chunk of finished records
// from its RecordReader (src/decode/record_reader.h; one datagram, one
// template) -> every stage of its RecordStageChain in order ->
// WorkerAggregator::add_batch. A stage may
//   - add fields: FlowRecord::enrich (include/ringflow/flow_record.h) is the
//     room kept for ids an enrichment stage interns; or change fields;
//   - drop records: it moves the records it keeps to the front and returns
//     how many it kept; the worker counts the rest in
//     WorkerCounters::stage_dropped_records
//     (ringflow_decode_stage_dropped_records_total, docs/metrics.md);
//   - only look (--print-flows, src/pipeline/flow_print.h).
// The chain is built once per worker by make_record_stages()
// (record_stage.cc): the one place a stage is registered (docs/
// architecture.md, "Where to add a record stage"). With no stage (the
// default) the worker skips the chain: the default path costs one test per
// chunk.
//
// Hot path: run() must not allocate, lock, throw or block for long (a slow
// stage slows its worker; its queue then fills and the reactor counts
// queue_full).
//
// Thread safety: a chain and its stages belong to one worker thread.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/flow_key.h>
#include <ringflow/flow_record.h>

namespace ringflow {
namespace enrich {
class EnrichTables;
class LearnedInterfaces;
template <class T>
class EpochHolder;
}
class FilterProgram;
struct FilterCounters;

class RecordStage {
 public:
  virtual ~RecordStage() = default;
  // records[0..n): finished records of one chunk, all of context ctx.
  // Returns how many are kept (<= n), moved to records[0..kept).
  virtual size_t run(FlowRecord* records, size_t n, const FlowContext& ctx) = 0;
  // For logs and tests.
  virtual const char* name() const = 0;
};

class RecordStageChain {
 public:
  void add(std::unique_ptr<RecordStage> stage) { stages_.push_back(std::move(stage)); }
  bool empty() const { return stages_.empty(); }
  size_t size() const { return stages_.size(); }
  const RecordStage& stage(size_t i) const { return *stages_[i]; }

  // Runs the stages in order on records[0..n); returns how many are kept.
  size_t run(FlowRecord* records, size_t n, const FlowContext& ctx) {
    for (const auto& s : stages_) {
      if (n == 0) break;
      n = s->run(records, n, ctx);
    }
    return n;
  }

 private:
  std::vector<std::unique_ptr<RecordStage>> stages_;
};

// Options of the command line that add stages (not config keys).
struct RecordStageOptions {
  FILE* print_flows = nullptr;  // --print-flows: where the lines go (nullptr = off)
  bool print_json = false;      // --print-flows=json: JSON objects, not text lines
  // [enrich]: the collector's tables (nullptr = no enrichment configured);
  // adds an EnrichStage (src/pipeline/enrich_stage.h) for the networks and
  // MMDB files and a CatalogueStage (src/pipeline/catalogue_stage.h) for
  // enrich.catalogue.
  enrich::EnrichTables* enrich = nullptr;
  // [filter]: the compiled expression (nullptr = none) and this worker's
  // counters; adds a FilterStage (src/pipeline/filter_stage.h) after the
  // enrichment, with cfg.filter.action.
  // Interface names learnt from options data (src/pipeline/learned_names.h;
  // nullptr = not learnt, or no key field or filter reads them): the
  // CatalogueStage is added for them even without enrich.catalogue.
  enrich::EpochHolder<enrich::LearnedInterfaces>* learned_if_names = nullptr;
  const FilterProgram* filter = nullptr;
  FilterCounters* filter_counters = nullptr;
};

// The stages of one worker, in the order they run. Register a new stage here.
RecordStageChain make_record_stages(const Config& cfg, const RecordStageOptions& opts);

}  // namespace ringflow
