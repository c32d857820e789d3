#include "pipeline/catalogue_stage.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace ringflow {
namespace {
const enrich::ExporterEntry kUnknown{};

// The catalogue's entry for exporter a (listed: its own; else the rules'
// answer; else empty) with the interfaces the exporter told us about merged
// under it. Per interface field the catalogue's value wins; the options
// data's name / description (`learned`) fill what it leaves empty; then
// SNMP's name, description and speed (`snmp`). The rules classify every
// interface whose name or description came from the exporter (once, after
// both sources). Off the hot path: once per (exporter, domain) and version
// of any of the three tables, per worker.
std::unique_ptr<enrich::ExporterEntry> merge_learned(
    const enrich::Catalogue* c, const enrich::ExporterEntry* listed, const IpAddr& a,
    const std::vector<enrich::LearnedIface>* learned, const enrich::ExporterEntry* snmp) {
  std::unique_ptr<enrich::ExporterEntry> e;
  if (listed) {
    e = std::make_unique<enrich::ExporterEntry>(*listed);
  } else if (c && !c->rules().empty()) {
    e = c->classify_unlisted(a);
  } else {
    e = std::make_unique<enrich::ExporterEntry>();
  }
  std::vector<std::pair<uint32_t, enrich::IfaceEntry>> ifaces;
  std::unordered_map<uint32_t, size_t> at;  // ifIndex -> position in ifaces
  if (listed)
    listed->for_each_interface([&](uint32_t idx, const enrich::IfaceEntry& ie) {
      at.emplace(idx, ifaces.size());
      ifaces.emplace_back(idx, ie);
    });
  std::vector<bool> filled(ifaces.size(), false);
  auto fill = [&](uint32_t idx, uint32_t name, uint32_t description, uint32_t speed) {
    auto [it, fresh] = at.try_emplace(idx, ifaces.size());
    if (fresh) {
      ifaces.emplace_back(idx, enrich::IfaceEntry{});
      filled.push_back(false);
    }
    enrich::IfaceEntry& ie = ifaces[it->second].second;
    if (ie.name == 0 && name != 0) {
      ie.name = name;
      filled[it->second] = true;
    }
    if (ie.description == 0 && description != 0) {
      ie.description = description;
      filled[it->second] = true;
    }
    if (ie.speed == 0) ie.speed = speed;
  };
  if (learned)
    for (const enrich::LearnedIface& li : *learned) fill(li.if_index, li.name, li.description, 0);
  if (snmp)
    snmp->for_each_interface([&](uint32_t idx, const enrich::IfaceEntry& ie) {
      fill(idx, ie.name, ie.description, ie.speed);
    });
  if (c)
    for (size_t i = 0; i < ifaces.size(); ++i)
      if (filled[i]) c->classify_interface(a, *e, &ifaces[i].second);
  e->index(ifaces);
  return e;
}

}  // namespace

CatalogueStage::CatalogueStage(enrich::EnrichTables& tables) : CatalogueStage(&tables, nullptr) {}

CatalogueStage::CatalogueStage(enrich::EnrichTables* tables,
                               enrich::EpochHolder<enrich::LearnedInterfaces>* learned) {
  if (tables && !tables->config().catalogue.empty()) reader_ = tables->catalogue.reader();
  // Without enrich.snmp no reader slot is taken and no guard entered.
  if (tables && tables->config().snmp.enabled) snmp_reader_ = tables->snmp.reader();
  if (learned) learned_reader_ = learned->reader();
}

// The one place that chooses the exporter entry the key packer reads.
const enrich::ExporterEntry* CatalogueStage::resolve_exporter(const enrich::Catalogue* c,
                                                              const enrich::LearnedInterfaces* l,
                                                              const enrich::SnmpTable* s,
                                                              const FlowContext& ctx) {
  const uint64_t cat_version = c ? c->generation() : 0;
  const uint64_t learned_version = l ? l->generation() : 0;
  const uint64_t snmp_version = s ? s->generation : 0;
  if (cat_version != version_ || learned_version != learned_version_ ||
      snmp_version != snmp_version_) {
    unlisted_.clear();
    merged_.clear();
    version_ = cat_version;
    learned_version_ = learned_version;
    snmp_version_ = snmp_version;
  }
  const enrich::ExporterEntry* listed = c ? c->find(ctx.exporter) : nullptr;
  const std::vector<enrich::LearnedIface>* learned = l ? l->find(ctx.exporter, ctx.domain) : nullptr;
  const enrich::ExporterEntry* polled = s ? s->find(ctx.exporter) : nullptr;
  if (learned || polled) {
    auto& slot = merged_[DomainKey{ctx.exporter, ctx.domain}];
    if (!slot) slot = merge_learned(c, listed, ctx.exporter, learned, polled);
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
  snmp_guard_.reset();
  // A Reader that could not register (more workers than EpochHolder
  // readers) leaves its source out rather than reading without a guard.
  const enrich::Catalogue* c = nullptr;
  const enrich::LearnedInterfaces* l = nullptr;
  const enrich::SnmpTable* s = nullptr;
  if (reader_) c = guard_.emplace(reader_.enter()).get();
  if (learned_reader_) l = learned_guard_.emplace(learned_reader_.enter()).get();
  if (snmp_reader_) s = snmp_guard_.emplace(snmp_reader_.enter()).get();
  if (!c && !l && !s) return n;
  ctx.catalogue = resolve_exporter(c, l, s, ctx);
  return n;
}

}  // namespace ringflow
