// The process's enrichment names: what an enriched key field holds (a small
// fixed-width id) and how a sink turns it back into text.
//
//   names()       every enriched string (network names, roles, sites,
//                 regions, tenants, AS organisations): one Interner
//                 (interner.h) for the process, ids stable for its life.
//   net tuples    a network's (name, role, site, region, tenant) ids as one
//                 16-bit id, what FlowRecord::enrich holds per address
//                 (the record has 8 bytes for enrichment). Interned into a
//                 second Interner over the tuple's 20 bytes: append-only,
//                 so a record enriched before a reload still decodes after
//                 it. At most kMaxNetTuples distinct tuples; a networks file
//                 with more is refused by the loader (enrich_tables.h).
//   as_names()    AS number -> interned organisation id, filled when an ASN
//                 MMDB is loaded (every record of the database is read once,
//                 off the hot path). A fixed open-addressing table of 64-bit
//                 atomic slots (asn << 32 | id): readers probe without a
//                 lock; set() (the loader) serialises on a mutex; entries
//                 are never removed, a later set() of the same AS replaces
//                 its id. The slots (8 MiB) are mapped at the first set().
//
// Hot path: net_tuple(), AsNames::get() and names().str() take no lock and
// allocate nothing. intern_net_tuple() and AsNames::set() lock (loaders).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

#include "enrich/interner.h"

namespace ringflow::enrich {

Interner& names();

struct NetTuple {
  uint32_t name = 0, role = 0, site = 0, region = 0, tenant = 0;
  friend bool operator==(const NetTuple&, const NetTuple&) = default;
};

inline constexpr uint32_t kMaxNetTuples = 65535;  // ids 1..65535; 0 = no network

// The tuple's id (>= 1); nullopt when kMaxNetTuples are already interned.
std::optional<uint16_t> intern_net_tuple(const NetTuple& t);
// The tuple of an id; all zero (empty strings) for 0 or an unknown id.
NetTuple net_tuple(uint16_t id) noexcept;
// Distinct tuples interned so far (for metrics and tests).
uint32_t net_tuples();

class AsNames {
 public:
  static constexpr unsigned kSlotBits = 20;  // 1 M slots, at most half used
  static constexpr size_t kMaxEntries = size_t{1} << (kSlotBits - 1);

  // The organisation id of `asn`; kEmptyId when unknown (or asn 0).
  uint32_t get(uint32_t asn) const noexcept {
    const std::atomic<uint64_t>* s = slots_.load(std::memory_order_acquire);
    if (!s || asn == 0) return kEmptyId;
    for (size_t i = hash(asn);; i = (i + 1) & kMask) {
      const uint64_t v = s[i].load(std::memory_order_acquire);
      if (v == 0) return kEmptyId;
      if (static_cast<uint32_t>(v >> 32) == asn) return static_cast<uint32_t>(v);
    }
  }
  // Records asn -> id; false when the table holds kMaxEntries ASes already
  // (or asn is 0).
  bool set(uint32_t asn, uint32_t id);
  size_t size() const;

 private:
  static constexpr size_t kMask = (size_t{1} << kSlotBits) - 1;
  static size_t hash(uint32_t asn) noexcept {
    return static_cast<size_t>((uint64_t{asn} * 0x9E3779B97F4A7C15ull) >> (64 - kSlotBits));
  }
  std::atomic<std::atomic<uint64_t>*> slots_{nullptr};
  std::unique_ptr<std::atomic<uint64_t>[]> owner_;
  mutable std::mutex mu_;
  size_t size_ = 0;
};

AsNames& as_names();

}  // namespace ringflow::enrich
