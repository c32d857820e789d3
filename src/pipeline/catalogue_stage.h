// CatalogueStage: the record stage that attaches the exporter catalogue
// (enrich.catalogue; src/enrich/catalogue.h, docs/enrichment.md) to each
// chunk. Per chunk it resolves the chunk's exporter once to its
// ExporterEntry and sets FlowContext::catalogue; the key packer then reads
// exporter_* from the entry and in_if_* / out_if_* with one probe of the
// entry's ifIndex table per interface (src/aggregate/key_codec.cc). Records
// are not changed and none is dropped.
//
// An exporter the catalogue does not list gets the rules' answer for its
// address (Catalogue::classify_unlisted), computed once per exporter and
// catalogue version and kept in this worker's cache (that first sight
// allocates and runs the regular expressions; every later chunk of the
// exporter is one hash lookup); without rules, an all-empty entry (names
// print empty, never made up).
//
// Interface names learnt from the exporters' options data
// (src/enrich/learned_interfaces.h, published by src/pipeline/learned_names.h)
// fill what the catalogue leaves empty: an exporter with learnt names gets,
// per (exporter, domain), a merged entry (resolve_exporter() in
// catalogue_stage.cc: the catalogue's listed interfaces with their empty
// name / description filled from the learnt ones, plus the learnt
// interfaces it does not list; the rules classify each merged interface
// with its learnt name and description), built at the first chunk of that
// (exporter, domain) per version of either table and cached in this
// worker. Precedence per field: the catalogue, then the options data.
//
// Versions: the stage holds its epoch guard from one chunk to the next, so
// that the entry stays valid while the worker aggregates the chunk (after
// run() returns); a reload is seen at the next chunk, and a whole chunk is
// packed with one version. The old version is freed once every worker has
// started a chunk after the swap.
//
// Interface names, descriptions and speeds polled over SNMP (enrich.snmp:
// the SNMP poller's SnmpTable, src/enrich/snmp_table.h) merge in the same
// entry, under the options data: precedence per field is the catalogue,
// then the options data, then SNMP. The rules classify every interface
// whose name or description came from either source.
//
// Hot path: run() takes no lock; it allocates only at an unlisted or
// SNMP-known exporter's first chunk per catalogue or SNMP table version.
// Thread safety: one worker thread.
#pragma once

#include <memory>
#include <optional>
#include <unordered_map>

#include "enrich/enrich_tables.h"
#include "enrich/learned_interfaces.h"
#include "enrich/snmp_table.h"
#include "pipeline/record_stage.h"

namespace ringflow {

class CatalogueStage final : public RecordStage {
 public:
  // REQUIRES: tables outlives the stage.
  explicit CatalogueStage(enrich::EnrichTables& tables);
  // Either may be nullptr (no catalogue file; names not learnt). REQUIRES:
  // both outlive the stage.
  CatalogueStage(enrich::EnrichTables* tables,
                 enrich::EpochHolder<enrich::LearnedInterfaces>* learned);
  size_t run(FlowRecord* records, size_t n, const FlowContext& ctx) override;
  const char* name() const override { return "catalogue"; }

 private:
  const enrich::ExporterEntry* resolve_exporter(const enrich::Catalogue* c,
                                                const enrich::LearnedInterfaces* l,
                                                const enrich::SnmpTable* s,
                                                const FlowContext& ctx);

  enrich::EpochHolder<enrich::Catalogue>::Reader reader_;
  std::optional<enrich::EpochHolder<enrich::Catalogue>::Guard> guard_;
  enrich::EpochHolder<enrich::LearnedInterfaces>::Reader learned_reader_;
  std::optional<enrich::EpochHolder<enrich::LearnedInterfaces>::Guard> learned_guard_;
  uint64_t learned_version_ = 0;  // LearnedInterfaces::generation() merged_ is for
  // Exporters with learnt names: (exporter, domain) -> merged entry.
  struct DomainKey {
    IpAddr exporter;
    uint32_t domain;
    friend bool operator==(const DomainKey&, const DomainKey&) = default;
  };
  struct DomainHash {
    size_t operator()(const DomainKey& k) const {
      return static_cast<size_t>(hash_addr(k.exporter) ^
                                 (uint64_t{k.domain} * 0x9E3779B97F4A7C15ull));
    }
  };
  std::unordered_map<DomainKey, std::unique_ptr<enrich::ExporterEntry>, DomainHash> merged_;
  enrich::EpochHolder<enrich::SnmpTable>::Reader snmp_reader_;  // enrich.snmp.enabled
  std::optional<enrich::EpochHolder<enrich::SnmpTable>::Guard> snmp_guard_;
  // Unlisted exporters classified by the rules, for `version_` only.
  struct AddrHash {
    size_t operator()(const IpAddr& a) const { return static_cast<size_t>(hash_addr(a)); }
  };
  uint64_t version_ = 0;       // Catalogue::generation() the caches are for
  uint64_t snmp_version_ = 0;  // SnmpTable::generation the caches are for
  std::unordered_map<IpAddr, std::unique_ptr<enrich::ExporterEntry>, AddrHash> unlisted_;
};

}  // namespace ringflow
