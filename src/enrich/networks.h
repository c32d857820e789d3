// Networks: the user's prefixes (IPv4 and IPv6) with their attributes (name,
// role, site, region, tenant, ASN), looked up by longest prefix match.
//
// Built by NetworksBuilder off the hot path (from a file: networks_csv.h),
// then immutable: lookup() takes no lock, allocates nothing and may run on
// any number of threads. A new version replaces the old one through an
// EpochHolder<Networks> (epoch_holder.h), never by modification.
//
// Families: an IPv4 address (IpAddr's v4-mapped form) is looked up in the
// IPv4 table only, an IPv6 address in the IPv6 table only; an IPv6 prefix
// written inside ::ffff:0:0/96 is an IPv4 prefix (Cidr's convention). Both
// tables are described in lpm.h (DIR-24-8 or ranges for IPv4, ranges with a
// 16-bit index for IPv6). Duplicate prefixes: the last one added wins.
//
// Attribute strings are ids of a shared Interner (interner.h): a row is 24
// bytes whatever the names, and the aggregation key can carry the ids.
#pragma once

#include <ringflow/ip.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "enrich/lpm.h"

namespace ringflow::enrich {

// One prefix's attributes; string fields are Interner ids (kEmptyId: none).
struct NetAttrs {
  uint32_t name = 0;
  uint32_t role = 0;
  uint32_t site = 0;
  uint32_t region = 0;
  uint32_t tenant = 0;
  uint32_t asn = 0;  // 0: none given
  friend bool operator==(const NetAttrs&, const NetAttrs&) = default;
};

class Networks {
 public:
  // The attributes of the longest prefix covering a; nullptr when none does.
  const NetAttrs* lookup(const IpAddr& a) const noexcept {
    const uint32_t v = lookup_row(a);
    return v ? &rows_[v - 1] : nullptr;
  }
  // Row number + 1 of the longest covering prefix; 0 when none covers it.
  uint32_t lookup_row(const IpAddr& a) const noexcept {
    // Inline forms of IpAddr::is_v4() and v4() (out of line in ip.cc; the
    // calls halved the lookup rate): ::ffff:a.b.c.d is 10 zero bytes, ff ff.
    uint64_t head;
    uint32_t mid, v4;
    std::memcpy(&head, a.bytes.data(), 8);
    std::memcpy(&mid, a.bytes.data() + 8, 4);
    std::memcpy(&v4, a.bytes.data() + 12, 4);
    constexpr uint32_t kMapped = std::endian::native == std::endian::little ? 0xffff0000u : 0xffffu;
    if (head == 0 && mid == kMapped) {
      return v4_.lookup(std::endian::native == std::endian::little ? __builtin_bswap32(v4) : v4);
    }
    return v6_.lookup(load_u128(a.bytes.data()));
  }
  uint32_t lookup_v4(uint32_t host_order) const noexcept { return v4_.lookup(host_order); }
  uint32_t lookup_v6(uint128 addr) const noexcept { return v6_.lookup(addr); }
  const NetAttrs& row(uint32_t row_plus_one) const { return rows_[row_plus_one - 1]; }

  size_t v4_prefixes() const { return v4_prefixes_; }
  size_t v6_prefixes() const { return v6_prefixes_; }
  size_t duplicates() const { return duplicates_; }  // dropped, last one won
  bool v4_is_dir24_8() const { return v4_.is_dir24_8(); }
  // Bytes of the lookup structures and the rows (the Interner is shared).
  size_t memory_bytes() const {
    return v4_.memory_bytes() + v6_.memory_bytes() + rows_.capacity() * sizeof(NetAttrs);
  }

 private:
  friend class NetworksBuilder;
  Lpm4 v4_;
  Lpm6 v6_;
  std::vector<NetAttrs> rows_;
  size_t v4_prefixes_ = 0, v6_prefixes_ = 0, duplicates_ = 0;
};

class NetworksBuilder {
 public:
  static constexpr size_t kMaxRows = (size_t{1} << 31) - 1;

  // Adds a prefix (Cidr: IPv4 as prefix_len 96..128 on the v4-mapped form).
  // false when kMaxRows rows are already added.
  bool add(const Cidr& prefix, const NetAttrs& attrs);
  size_t size() const { return rows_.size(); }
  // The table; nullptr only when the IPv4 first level cannot be mapped.
  // The builder is left empty.
  std::unique_ptr<Networks> build(Lpm4::Layout v4_layout = Lpm4::Layout::kAuto);

 private:
  std::vector<Prefix4> v4_;
  std::vector<Prefix6> v6_;
  std::vector<NetAttrs> rows_;
};

}  // namespace ringflow::enrich
