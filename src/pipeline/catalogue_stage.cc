#include "pipeline/catalogue_stage.h"

#include <algorithm>

namespace ringflow {
namespace {
const enrich::ExporterEntry kUnknown{};

// The catalogue's entry for exporter a (listed: its own; else the rules'
// answer; else empty) with the interfaces it learnt from options data merged
// under it: per interface field, the catalogue's value wins, the learnt
// name / description fill what it leaves empty, and the rules classify
// every interface whose name or description came from the exporter.
std::unique_ptr<enrich::ExporterEntry> merge_learned(
    const enrich::Catalogue* c, const enrich::ExporterEntry* listed, const IpAddr& a,
    const std::vector<enrich::LearnedIface>& learned) {
  std::unique_ptr<enrich::ExporterEntry> e;
  if (listed) {
    e = std::make_unique<enrich::ExporterEntry>(*listed);
  } else if (c && !c->rules().empty()) {
    e = c->classify_unlisted(a);
  } else {
    e = std::make_unique<enrich::ExporterEntry>();
  }
  std::vector<std::pair<uint32_t, enrich::IfaceEntry>> ifaces;
  if (listed)
    listed->for_each_interface(
        [&](uint32_t idx, const enrich::IfaceEntry& ie) { ifaces.emplace_back(idx, ie); });
  std::sort(ifaces.begin(), ifaces.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  const size_t n_listed = ifaces.size();
  for (const enrich::LearnedIface& li : learned) {
    auto end = ifaces.begin() + static_cast<ptrdiff_t>(n_listed);
    auto it = std::lower_bound(ifaces.begin(), end, li.if_index,
                               [](const auto& x, uint32_t idx) { return x.first < idx; });
    enrich::IfaceEntry* ie = nullptr;
    bool filled = false;
    if (it != end && it->first == li.if_index) {
      ie = &it->second;
    } else {
      ifaces.emplace_back(li.if_index, enrich::IfaceEntry{});
      ie = &ifaces.back().second;
    }
    if (ie->name == 0 && li.name != 0) {
      ie->name = li.name;
      filled = true;
    }
    if (ie->description == 0 && li.description != 0) {
      ie->description = li.description;
      filled = true;
    }
    if (filled && c) c->classify_interface(a, *e, ie);
  }
  e->index(ifaces);
  return e;
}

}  // namespace

CatalogueStage::CatalogueStage(enrich::EnrichTables& tables) : CatalogueStage(&tables, nullptr) {}

CatalogueStage::CatalogueStage(enrich::EnrichTables* tables,
                               enrich::EpochHolder<enrich::LearnedInterfaces>* learned) {
  if (tables && !tables->config().catalogue.empty()) reader_ = tables->catalogue.reader();
  if (learned) learned_reader_ = learned->reader();
}

// The one place that chooses the exporter entry the key packer reads; a
// further source of interface names (SNMP) merges here, under the options
// data.
const enrich::ExporterEntry* CatalogueStage::resolve_exporter(const enrich::Catalogue* c,
                                                              const enrich::LearnedInterfaces* l,
                                                              const FlowContext& ctx) {
  const uint64_t cat_version = c ? c->generation() : 0;
  const uint64_t learned_version = l ? l->generation() : 0;
  if (cat_version != version_ || learned_version != learned_version_) {
    unlisted_.clear();
    merged_.clear();
    version_ = cat_version;
    learned_version_ = learned_version;
  }
  const enrich::ExporterEntry* listed = c ? c->find(ctx.exporter) : nullptr;
  if (const std::vector<enrich::LearnedIface>* learned =
          l ? l->find(ctx.exporter, ctx.domain) : nullptr) {
    auto& slot = merged_[DomainKey{ctx.exporter, ctx.domain}];
    if (!slot) slot = merge_learned(c, listed, ctx.exporter, *learned);
    return slot.get();
  }
  if (listed) return listed;
  if (c && !c->rules().empty()) {
    auto& slot = unlisted_[ctx.exporter];
    if (!slot) slot = c->classify_unlisted(ctx.exporter);
    return slot.get();
  }
  return &kUnknown;
}

size_t CatalogueStage::run(FlowRecord*, size_t n, const FlowContext& ctx) {
  ctx.catalogue = &kUnknown;
  // The previous chunk is aggregated: release its versions.
  guard_.reset();
  learned_guard_.reset();
  // A Reader that could not register (more workers than EpochHolder
  // readers) leaves its source out rather than reading without a guard.
  const enrich::Catalogue* c = nullptr;
  const enrich::LearnedInterfaces* l = nullptr;
  if (reader_) c = guard_.emplace(reader_.enter()).get();
  if (learned_reader_) l = learned_guard_.emplace(learned_reader_.enter()).get();
  if (!c && !l) return n;
  ctx.catalogue = resolve_exporter(c, l, ctx);
  return n;
}

}  // namespace ringflow
