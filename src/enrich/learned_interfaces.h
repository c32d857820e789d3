// LearnedInterfaces: the interface names and descriptions the exporters
// announced in their v9/IPFIX options data (src/decode/interface_names.h),
// as one immutable table the workers read: per (exporter address, domain),
// the ifIndexes with their interned name and description ids (names(),
// names.h).
//
// find(exporter, domain) gives that domain's interfaces; an ifIndex the
// domain did not name but another domain of the same exporter did is
// included (an ifIndex is the device's, and a router may send its interface
// table in one domain only); a domain with no names of its own gets the
// exporter's. Where two domains name one ifIndex differently, the lower
// domain's wins (a stable choice).
//
// Built off the hot path (the collector's main thread, about once a second
// when a reactor published a change: src/pipeline/learned_names.h) and
// swapped in through an EpochHolder; the catalogue stage
// (src/pipeline/catalogue_stage.h) merges it under the catalogue, which
// overrides it.
//
// Thread safety: immutable once built (add() and finish() before
// publishing); any number of readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <ringflow/ip.h>

namespace ringflow::enrich {

struct LearnedIface {
  uint32_t if_index = 0;
  uint32_t name = 0, description = 0;  // interned ids; 0 = not announced
};

class LearnedInterfaces {
 public:
  LearnedInterfaces();
  // Builder: rows in any order; a later row of the same (exporter, domain,
  // ifIndex) fills only what the earlier left empty.
  void add(const IpAddr& exporter, uint32_t domain, const LearnedIface& iface);
  void finish();

  // Sorted by ifIndex; nullptr when the exporter announced none.
  const std::vector<LearnedIface>* find(const IpAddr& exporter, uint32_t domain) const;
  size_t size() const { return rows_; }  // (exporter, domain, ifIndex) rows added
  // Distinct per built table in the process (a cache keyed by it never
  // mistakes a new table at a freed one's address for the old).
  uint64_t generation() const { return generation_; }

 private:
  struct Key {
    IpAddr exporter;
    uint32_t domain;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return static_cast<size_t>(hash_addr(k.exporter) ^
                                 (uint64_t{k.domain} * 0x9E3779B97F4A7C15ull));
    }
  };
  struct AddrHash {
    size_t operator()(const IpAddr& a) const { return static_cast<size_t>(hash_addr(a)); }
  };
  std::unordered_map<Key, std::vector<LearnedIface>, KeyHash> by_domain_;
  std::unordered_map<IpAddr, std::vector<LearnedIface>, AddrHash> by_exporter_;
  size_t rows_ = 0;
  uint64_t generation_;
};

}  // namespace ringflow::enrich
