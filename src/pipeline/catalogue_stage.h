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
// Versions: the stage holds its epoch guard from one chunk to the next, so
// that the entry stays valid while the worker aggregates the chunk (after
// run() returns); a reload is seen at the next chunk, and a whole chunk is
// packed with one version. The old version is freed once every worker has
// started a chunk after the swap.
//
// Interface names the exporter told us (enrich.snmp: the SNMP poller's
// SnmpTable, src/enrich/snmp_table.h) fill what the catalogue leaves empty
// (name, description, speed; precedence catalogue > learned): the merged
// entry is built at the exporter's first chunk per (catalogue, SNMP table)
// version and kept in this worker's cache, like an unlisted one.
//
// Hot path: run() takes no lock; it allocates only at an unlisted or
// SNMP-known exporter's first chunk per catalogue or SNMP table version.
// Thread safety: one worker thread.
#pragma once

#include <memory>
#include <optional>
#include <unordered_map>

#include "enrich/enrich_tables.h"
#include "pipeline/record_stage.h"

namespace ringflow {

class CatalogueStage final : public RecordStage {
 public:
  // REQUIRES: tables outlives the stage.
  explicit CatalogueStage(enrich::EnrichTables& tables);
  size_t run(FlowRecord* records, size_t n, const FlowContext& ctx) override;
  const char* name() const override { return "catalogue"; }

 private:
  enrich::EpochHolder<enrich::Catalogue>::Reader reader_;
  std::optional<enrich::EpochHolder<enrich::Catalogue>::Guard> guard_;
  bool use_snmp_ = false;  // enrich.snmp.enabled
  enrich::EpochHolder<enrich::SnmpTable>::Reader snmp_reader_;
  std::optional<enrich::EpochHolder<enrich::SnmpTable>::Guard> snmp_guard_;
  // Unlisted exporters classified by the rules, for `version_` only.
  struct AddrHash {
    size_t operator()(const IpAddr& a) const { return static_cast<size_t>(hash_addr(a)); }
  };
  uint64_t version_ = 0;       // Catalogue::generation() the caches are for
  uint64_t snmp_version_ = 0;  // SnmpTable::generation the caches are for
  std::unordered_map<IpAddr, std::unique_ptr<enrich::ExporterEntry>, AddrHash> unlisted_;
  // Exporters with learned interfaces: the catalogue's entry merged with them.
  std::unordered_map<IpAddr, std::unique_ptr<enrich::ExporterEntry>, AddrHash> merged_;
};

}  // namespace ringflow
