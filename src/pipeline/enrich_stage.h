// EnrichStage: the record stage that enriches every record before
// aggregation from the collector's EnrichTables (src/enrich/enrich_tables.h;
// [enrich] in the config, docs/enrichment.md). Per address (source and
// destination):
//   - networks: the longest prefix of the networks file holding it -> its
//     NetTuple id (name, role, site, region, tenant; src/enrich/names.h) in
//     FlowRecord::enrich[kEnrichSrcNet / kEnrichDstNet], 0 when none;
//   - AS number: the first non-zero of enrich.as_sources, in order: the
//     record's own src_as/dst_as, the networks prefix's asn, the ASN MMDB's
//     autonomous_system_number; written to src_as/dst_as, with which source
//     gave it in FlowRecord::as_sources (kFlowSrcAsSourceShift); the AS name is
//     the organisation of that number (as_names(), read at packing);
//   - country: the country MMDB's country.iso_code in
//     FlowRecord::enrich[kEnrichSrcCountry / kEnrichDstCountry].
// A record without addresses (ip_version 0) is left as it is. Nothing is
// dropped.
//
// One epoch guard per table per chunk: every record of a chunk sees the same
// version of each table, so a reload never half-enriches a chunk (and never
// a record). MMDB answers go through a per-worker MmdbReader cache per file.
//
// Hot path: run() takes no lock and allocates nothing.
// Thread safety: one worker thread; the counters readable from any.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "enrich/enrich_tables.h"
#include "enrich/mmdb.h"
#include "pipeline/record_stage.h"

namespace ringflow {

class EnrichStage final : public RecordStage {
 public:
  // REQUIRES: tables outlives the stage.
  explicit EnrichStage(enrich::EnrichTables& tables);
  ~EnrichStage() override;
  size_t run(FlowRecord* records, size_t n, const FlowContext& ctx) override;
  const char* name() const override { return "enrich"; }

  // The MMDB caches' counters (hits, misses, errors by reason).
  const enrich::MmdbReader& asn_reader() const { return asn_cache_; }
  const enrich::MmdbReader& country_reader() const { return country_cache_; }

 private:
  enum Source : uint8_t { kNone = 0, kRecord = 1, kNetworks = 2, kMmdb = 3 };
  // Resolves one address; returns the AS source.
  uint8_t resolve(const IpAddr& a, uint32_t* as, uint16_t* net, uint16_t* country);

  enrich::EnrichTables& tables_;
  enrich::EpochHolder<enrich::NetworksTable>::Reader nets_r_;
  enrich::EpochHolder<enrich::MmdbFile>::Reader asn_r_, country_r_;
  enrich::MmdbReader asn_cache_, country_cache_;
  std::array<uint8_t, 3> order_{};  // Source values, kNone-terminated
  // Current chunk's versions (set by run()).
  const enrich::NetworksTable* nets_ = nullptr;
  const enrich::MmdbFile* asn_ = nullptr;
  const enrich::MmdbFile* country_ = nullptr;
};

}  // namespace ringflow
