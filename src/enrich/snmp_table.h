// SnmpTable: the interface names, descriptions and speeds that the SNMP
// poller (snmp_poller.h) learned, as one immutable table keyed by exporter
// address and then ifIndex, published through an EpochHolder<SnmpTable>
// (EnrichTables::snmp) and read by the catalogue stage
// (src/pipeline/catalogue_stage.cc), where the catalogue overrides it.
//
// Each exporter's interfaces are an ExporterEntry (catalogue.h) whose
// exporter-level tags are empty and whose interfaces carry only name
// (ifName), description (ifAlias) and speed (ifHighSpeed: Mbit/s, the
// catalogue's unit), the strings interned into names(); an ifIndex the agent did not list reads as
// all empty. So a lookup is one hash probe per exporter (once per chunk)
// and one open-addressing probe per interface, as for the catalogue.
//
// Thread safety: immutable once built; any number of readers.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include <ringflow/ip.h>

#include "enrich/catalogue.h"

namespace ringflow::enrich {

struct SnmpTable {
  struct AddrHash {
    size_t operator()(const IpAddr& a) const { return static_cast<size_t>(hash_addr(a)); }
  };
  std::unordered_map<IpAddr, std::unique_ptr<ExporterEntry>, AddrHash> exporters;
  // Distinct per published version in the process (as Catalogue::generation).
  uint64_t generation = 0;

  // The exporter's interfaces; nullptr when it has none polled.
  const ExporterEntry* find(const IpAddr& a) const {
    auto it = exporters.find(a);
    return it == exporters.end() ? nullptr : it->second.get();
  }
};

}  // namespace ringflow::enrich
