#include "pipeline/enrich_stage.h"

#include <optional>

namespace ringflow {

EnrichStage::EnrichStage(enrich::EnrichTables& tables)
    : tables_(tables),
      nets_r_(tables.networks.reader()),
      asn_r_(tables.asn.reader()),
      country_r_(tables.country.reader()),
      asn_cache_(tables.config().mmdb_cache),
      country_cache_(tables.config().mmdb_cache) {
  size_t i = 0;
  for (const std::string& s : tables.config().as_sources) {
    if (i == order_.size()) break;
    order_[i++] = s == "record" ? kRecord : s == "networks" ? kNetworks : kMmdb;
  }
  tables_.add_cache(&asn_cache_, &country_cache_);
}

EnrichStage::~EnrichStage() { tables_.remove_cache(&asn_cache_); }

uint8_t EnrichStage::resolve(const IpAddr& a, uint32_t* as, uint16_t* net, uint16_t* country) {
  uint32_t row = 0;
  if (nets_) {
    row = nets_->nets->lookup_row(a);
    *net = row ? nets_->tuple[row - 1] : 0;
  }
  if (country_) {
    const auto& g = country_cache_.lookup(*country_, a);
    *country = g.country[0] ? static_cast<uint16_t>(static_cast<uint8_t>(g.country[0]) |
                                                    static_cast<uint8_t>(g.country[1]) << 8)
                            : 0;
  }
  for (uint8_t src : order_) {
    uint32_t v = 0;
    switch (src) {
      case kRecord: v = *as; break;
      case kNetworks: v = row ? nets_->nets->row(row).asn : 0; break;
      case kMmdb: v = asn_ ? asn_cache_.lookup(*asn_, a).asn : 0; break;
      default: break;
    }
    if (src == kNone) break;
    if (v != 0) {
      *as = v;
      return src;
    }
  }
  *as = 0;
  return kNone;
}

size_t EnrichStage::run(FlowRecord* records, size_t n, const FlowContext&) {
  // A Reader that could not register (more than kMaxReaders workers) leaves
  // that table out for this worker rather than reading without a guard.
  auto gn = nets_r_ ? std::optional(nets_r_.enter()) : std::nullopt;
  auto ga = asn_r_ ? std::optional(asn_r_.enter()) : std::nullopt;
  auto gc = country_r_ ? std::optional(country_r_.enter()) : std::nullopt;
  nets_ = gn ? gn->get() : nullptr;
  asn_ = ga ? ga->get() : nullptr;
  country_ = gc ? gc->get() : nullptr;
  for (size_t i = 0; i < n; ++i) {
    FlowRecord& r = records[i];
    if (r.ip_version == 0) continue;
    const uint8_t s = resolve(r.src, &r.src_as, &r.enrich[kEnrichSrcNet],
                              &r.enrich[kEnrichSrcCountry]);
    const uint8_t d = resolve(r.dst, &r.dst_as, &r.enrich[kEnrichDstNet],
                              &r.enrich[kEnrichDstCountry]);
    r.as_sources = static_cast<uint8_t>(s << kFlowSrcAsSourceShift | d << kFlowDstAsSourceShift);
  }
  nets_ = nullptr;
  asn_ = nullptr;
  country_ = nullptr;
  return n;
}

}  // namespace ringflow
