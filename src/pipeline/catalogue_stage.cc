#include "pipeline/catalogue_stage.h"

namespace ringflow {
namespace {
const enrich::ExporterEntry kUnknown{};

// The interfaces the exporter itself told us about, for `exporter`: today
// the SNMP poller's (enrich.snmp); nullptr when nothing was learned. Other
// sources of learned names (options data) merge here, in their precedence
// order, below the catalogue.
const enrich::ExporterEntry* learned_interfaces(const enrich::SnmpTable* snmp,
                                                const IpAddr& exporter) {
  return snmp ? snmp->find(exporter) : nullptr;
}

// The catalogue's entry (or nullptr) with the learned interfaces under it:
// every field the catalogue leaves empty (name, description, speed) is the
// learned one; an ifIndex only the exporter knows gets the catalogue's
// `unlisted` tags (its rules' answer) and the learned name, description and
// speed.
std::unique_ptr<enrich::ExporterEntry> merge_learned(const enrich::ExporterEntry* cat,
                                                     const enrich::ExporterEntry& learned) {
  auto out = std::make_unique<enrich::ExporterEntry>(cat ? *cat : enrich::ExporterEntry{});
  auto fill = [](enrich::IfaceEntry e, const enrich::IfaceEntry& l) {
    if (!e.name) e.name = l.name;
    if (!e.description) e.description = l.description;
    if (!e.speed) e.speed = l.speed;
    return e;
  };
  std::vector<std::pair<uint32_t, enrich::IfaceEntry>> listed =
      cat ? cat->listed() : decltype(listed){};
  for (auto& [idx, e] : listed) e = fill(e, learned.iface(idx));
  for (const auto& [idx, l] : learned.listed()) {
    bool in_cat = false;
    for (const auto& [ci, ce] : listed) in_cat = in_cat || ci == idx;
    if (!in_cat) listed.emplace_back(idx, fill(out->unlisted, l));
  }
  out->index(listed);
  return out;
}
}  // namespace

CatalogueStage::CatalogueStage(enrich::EnrichTables& tables)
    : reader_(tables.catalogue.reader()), use_snmp_(tables.config().snmp.enabled) {
  // Without enrich.snmp no reader slot is taken and no guard entered.
  if (use_snmp_) snmp_reader_ = tables.snmp.reader();
}

size_t CatalogueStage::run(FlowRecord*, size_t n, const FlowContext& ctx) {
  ctx.catalogue = &kUnknown;
  // A Reader that could not register (more workers than EpochHolder
  // readers) leaves the fields empty rather than reading without a guard.
  if (!reader_ || (use_snmp_ && !snmp_reader_)) return n;
  guard_.reset();  // the previous chunk is aggregated: release its version
  snmp_guard_.reset();
  guard_.emplace(reader_.enter());
  if (use_snmp_) snmp_guard_.emplace(snmp_reader_.enter());
  const enrich::Catalogue* c = guard_->get();
  const enrich::SnmpTable* s = use_snmp_ ? snmp_guard_->get() : nullptr;
  const uint64_t cv = c ? c->generation() : 0, sv = s ? s->generation : 0;
  if (cv != version_ || sv != snmp_version_) {
    unlisted_.clear();
    merged_.clear();
    version_ = cv;
    snmp_version_ = sv;
  }
  const enrich::ExporterEntry* entry = nullptr;
  if (c) {
    entry = c->find(ctx.exporter);
    if (!entry && !c->rules().empty()) {
      auto& slot = unlisted_[ctx.exporter];
      if (!slot) slot = c->classify_unlisted(ctx.exporter);
      entry = slot.get();
    }
  }
  if (const enrich::ExporterEntry* learned = learned_interfaces(s, ctx.exporter)) {
    auto& slot = merged_[ctx.exporter];
    if (!slot) slot = merge_learned(entry, *learned);
    entry = slot.get();
  }
  if (entry) ctx.catalogue = entry;
  return n;
}

}  // namespace ringflow
