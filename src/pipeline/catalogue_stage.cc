#include "pipeline/catalogue_stage.h"

namespace ringflow {
namespace {
const enrich::ExporterEntry kUnknown{};
}

CatalogueStage::CatalogueStage(enrich::EnrichTables& tables) : reader_(tables.catalogue.reader()) {}

size_t CatalogueStage::run(FlowRecord*, size_t n, const FlowContext& ctx) {
  ctx.catalogue = &kUnknown;
  // A Reader that could not register (more workers than EpochHolder
  // readers) leaves the fields empty rather than reading without a guard.
  if (!reader_) return n;
  guard_.reset();  // the previous chunk is aggregated: release its version
  guard_.emplace(reader_.enter());
  if (const enrich::Catalogue* c = guard_->get()) {
    if (c->generation() != version_) {
      unlisted_.clear();
      version_ = c->generation();
    }
    if (const enrich::ExporterEntry* e = c->find(ctx.exporter)) {
      ctx.catalogue = e;
    } else if (!c->rules().empty()) {
      auto& slot = unlisted_[ctx.exporter];
      if (!slot) slot = c->classify_unlisted(ctx.exporter);
      ctx.catalogue = slot.get();
    }
  }
  return n;
}

}  // namespace ringflow
