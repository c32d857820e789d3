// Catalogue: the exporter and interface catalogue of enrich.catalogue
// (docs/enrichment.md, "Exporters and interfaces"), with its classification
// rules, as one immutable table built off the hot path.
//
// The file is TOML:
//   [[exporter]]            address, name, site, region, role, tenant
//     [[exporter.interface]]  index (ifIndex >= 1), name, description,
//                             speed (Mbit/s), boundary ("external" |
//                             "internal"), provider, connectivity
//   [[rule]]                ordered classifiers (catalogue_rules.h)
// Every string is interned into names() (names.h); 0 = empty = unknown.
//
// At build time every listed exporter and interface gets its final tags:
// the catalogue's own values, and where it is silent the rules' (first
// matching rule per tag); so does each listed exporter's `unlisted` entry
// (an ifIndex the file does not list: rules on empty name and description).
// An exporter the file does not list is classified by the rules on its
// address when first seen (classify_unlisted(); the catalogue stage caches
// the result per worker). So the per-record cost is one open-addressing
// probe per interface (ExporterEntry::iface), never a regular expression.
//
// ifIndex 0 (the record carries no interface) is never listed and reads
// as all empty, whatever the rules say.
//
// Thread safety: immutable once built; any number of readers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <ringflow/ip.h>

#include "enrich/catalogue_rules.h"

namespace ringflow::enrich {

struct IfaceEntry {
  uint32_t name = 0, description = 0, speed = 0, boundary = 0, provider = 0, connectivity = 0;
};

struct ExporterEntry {
  uint32_t name = 0, site = 0, region = 0, role = 0, tenant = 0;
  IfaceEntry unlisted;  // an ifIndex the catalogue does not list: the rules' tags

  // The entry of ifIndex `idx`: one probe, no allocation.
  const IfaceEntry& iface(uint32_t idx) const noexcept {
    if (idx == 0) return kNone;
    if (!slots.empty()) {
      for (size_t i = slot(idx);; i = (i + 1) & mask) {
        const Slot& sl = slots[i];
        if (sl.index == idx) return sl.entry;
        if (sl.index == 0) break;
      }
    }
    return unlisted;
  }
  // Builds the probe table (at most half full) from `listed`.
  void index(const std::vector<std::pair<uint32_t, IfaceEntry>>& listed);
  size_t interfaces() const { return count; }
  // f(ifIndex, const IfaceEntry&) for each listed interface (any order).
  template <class F>
  void for_each_interface(F&& f) const {
    for (const Slot& s : slots)
      if (s.index != 0) f(s.index, s.entry);
  }

 private:
  static constexpr IfaceEntry kNone{};
  size_t slot(uint32_t idx) const noexcept {
    return static_cast<size_t>((uint64_t{idx} * 0x9E3779B97F4A7C15ull) >> 32) & mask;
  }
  // The key beside its entry: a probe touches one cache line, not two.
  struct Slot {
    uint32_t index = 0;  // 0 = empty slot
    IfaceEntry entry;
  };
  std::vector<Slot> slots;
  size_t mask = 0, count = 0;
};

class Catalogue {
 public:
  // The listed exporter at address a; nullptr when the file does not list it.
  const ExporterEntry* find(const IpAddr& a) const;
  // An exporter the file does not list: its tags from the rules on its
  // address alone (name, interface names and descriptions empty).
  // Allocates and runs regular expressions: call once per exporter.
  std::unique_ptr<ExporterEntry> classify_unlisted(const IpAddr& a) const;

  // Fills the interface tags of *i that are empty from the rules, on e's
  // name, address a and *i's name and description (the catalogue stage, for
  // names learnt from the exporter). Runs regular expressions: once per
  // interface and version, never per record.
  void classify_interface(const IpAddr& a, const ExporterEntry& e, IfaceEntry* i) const;

  size_t exporters() const { return exporters_.size(); }
  size_t interfaces() const;
  const CatalogueRules& rules() const { return rules_; }
  // Distinct per loaded version in the process (a cache keyed by it never
  // mistakes a new version at a freed one's address for the old).
  uint64_t generation() const { return generation_; }

 private:
  friend std::unique_ptr<const Catalogue> load_catalogue(const std::string&, std::string*);
  struct AddrHash {
    size_t operator()(const IpAddr& a) const { return static_cast<size_t>(hash_addr(a)); }
  };
  std::unordered_map<IpAddr, std::unique_ptr<ExporterEntry>, AddrHash> exporters_;
  CatalogueRules rules_;
  uint64_t generation_ = 0;
};

// Reads and builds the catalogue file. nullptr and *error ("FILE:LINE: ..."
// or "FILE: exporter N: ...") when it cannot be read or parsed, a value has
// the wrong type, an exporter or interface is listed twice, a rule does not
// compile or an example gives other tags than it expects: the file is
// refused as a whole.
std::unique_ptr<const Catalogue> load_catalogue(const std::string& path, std::string* error);

}  // namespace ringflow::enrich
