// Longest-prefix match tables for IPv4 and IPv6: prefix -> uint32 value
// (value 0 means "no prefix covers the address"). Built once, off the hot
// path, from a list of prefixes; immutable afterwards, so any number of
// threads may look up at once with no lock and no allocation.
//
// Both families are built the same way first: the prefixes are flattened
// into the sorted list of disjoint address ranges they induce, each range
// carrying the value of its longest covering prefix (flatten_prefixes()).
// Then:
//
//   IPv4, large tables (Lpm4::Layout::kDir24_8; the default from
//   kDir24Threshold ranges up): DIR-24-8 (Gupta, Lin, McKeown, 1998). A
//   2^24-entry first-level array indexed by the top 24 bits holds either the
//   value or the number of a 256-entry second-level group for the last 8
//   bits. A lookup is one load, two when the /24 holds a longer prefix's
//   edge. Memory: 64 MiB for the first level (mapped with
//   MADV_HUGEPAGE so random lookups do not miss the TLB on each) plus 1 KiB
//   per /24 that a prefix longer than /24 cuts. Chosen over poptrie/DXR for
//   IPv4 because it needs no bit tricks to stay at one memory access, its
//   build is a single linear pass over the ranges (each first-level entry
//   written once, ~0.1 s), and 64 MiB is small beside a 1 M-prefix table's
//   own attribute rows and the aggregation tables. For a small networks file
//   the 64 MiB would be waste, so below the threshold IPv4 uses the range
//   layout below (a few KiB).
//
//   IPv6 (and small IPv4): sorted ranges with a direct index on the top 16
//   bits (Layout::kRanges). Each index entry names the range holding its
//   bucket's first address; a bucket with more than RangeLpm::kMaxBucket
//   candidate ranges gets a child index on the next 8 bits, recursively; a
//   branch-free binary search over the remaining range starts (128-bit
//   compares) finishes. Chosen over a compressed multibit trie because the
//   same flattening serves both families, /128 and /0 need no special
//   cases, and the memory is 20 bytes per range (16-byte start, 4-byte
//   value) plus 512 KiB of top index and 2 KiB per child node. The cost is
//   latency: a lookup into prefixes crowded into a few /16s walks two or
//   three index levels and the search, each a dependent cache miss
//   (docs/performance.md has the figures).
//
// Duplicates: the same prefix (same family, length and network bits) given
// more than once keeps the value of the LAST occurrence in the input order;
// the builder reports how many it dropped. Host bits beyond the length are
// ignored (the caller validates them: networks_csv.h refuses them).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/mapping.h"

namespace ringflow::enrich {

__extension__ typedef unsigned __int128 uint128;

struct Prefix4 {
  uint32_t net = 0;  // host order
  uint8_t len = 0;   // 0..32
  uint32_t value = 0;
};
struct Prefix6 {
  uint128 net = 0;  // the 16 address bytes as one big-endian number
  uint8_t len = 0;  // 0..128
  uint32_t value = 0;
};

// One range of the flattened list: [start, next range's start) -> value.
template <class U>
struct RangeStart {
  U start;
  uint32_t value;
};

// The disjoint ranges that `prefixes` induce, sorted, the first starting at
// 0, adjacent ranges with equal values merged. *duplicates (if set) gets the
// number of prefixes dropped as duplicates (last one wins, see above).
std::vector<RangeStart<uint32_t>> flatten_prefixes(std::vector<Prefix4> prefixes,
                                                   size_t* duplicates = nullptr);
std::vector<RangeStart<uint128>> flatten_prefixes(std::vector<Prefix6> prefixes,
                                                  size_t* duplicates = nullptr);

// Sorted ranges with a 16-bit direct index, refined where ranges crowd:
// a bucket holding more than kMaxBucket ranges gets a child index on the
// next 8 address bits, recursively, so the final binary search stays
// within a few compares. U is uint32_t or uint128.
template <class U>
class RangeLpm {
 public:
  static constexpr uint32_t kMaxBucket = 16;

  RangeLpm() = default;
  explicit RangeLpm(const std::vector<RangeStart<U>>& ranges);

  uint32_t lookup(U addr) const noexcept {
    unsigned shift = sizeof(U) * 8 - 16;
    uint32_t t = static_cast<uint32_t>(addr >> shift);
    const Index* ix = &idx_[t];
    while (ix->child) {
      shift -= 8;
      ix = &sub_[(ix->child - 1) * 257 + (static_cast<uint32_t>(addr >> shift) & 0xff)];
    }
    const uint32_t lo = ix->first;
    uint32_t n = ix[1].first - lo + 1;  // candidates; starts_[lo] <= addr
    const U* base = starts_.data() + lo;
    while (n > 1) {
      const uint32_t half = n / 2;
      base += static_cast<size_t>(base[half] <= addr) * half;  // no branch to mispredict
      n -= half;
    }
    return values_[base - starts_.data()];
  }
  size_t ranges() const { return starts_.size(); }
  size_t index_nodes() const { return sub_.size() / 257; }
  size_t memory_bytes() const {
    return starts_.capacity() * sizeof(U) + values_.capacity() * 4 +
           (idx_.capacity() + sub_.capacity()) * sizeof(Index);
  }

 private:
  struct Index {
    uint32_t first = 0;  // the range holding the bucket's first address
    uint32_t child = 0;  // 1 + child node number, 0 for none
  };
  // Fills entries [at, at + n] (n buckets and the end marker) for buckets
  // of 2^shift addresses from `base`, scanning from range j; returns the
  // range holding the last address.
  void fill(std::vector<Index>* v, size_t at, uint32_t n, U base, unsigned shift, size_t j);
  void refine(std::vector<Index>* v, size_t at, uint32_t n, U base, unsigned shift);

  std::vector<U> starts_{U{0}};
  std::vector<uint32_t> values_{0};
  std::vector<Index> idx_ = std::vector<Index>(65537);
  std::vector<Index> sub_;  // child nodes, 257 entries each
};

class Lpm4 {
 public:
  enum class Layout { kAuto, kDir24_8, kRanges };
  // Auto: DIR-24-8 from this many flattened ranges up, else ranges.
  static constexpr size_t kDir24Threshold = 16384;

  Lpm4() = default;  // matches nothing
  // REQUIRES: every value < 2^31 (DIR-24-8 uses the top bit). Returns false
  // (and leaves the table matching nothing) only when the 64 MiB first level
  // cannot be mapped.
  bool build(std::vector<Prefix4> prefixes, Layout layout = Layout::kAuto,
             size_t* duplicates = nullptr);

  uint32_t lookup(uint32_t addr) const noexcept {
    if (tbl24_ == nullptr) return ranges_.lookup(addr);
    uint32_t e = tbl24_[addr >> 8];
    if (e & kGroupFlag) e = tbl8_[static_cast<size_t>(e & ~kGroupFlag) << 8 | (addr & 0xff)];
    return e;
  }
  bool is_dir24_8() const { return tbl24_ != nullptr; }
  size_t tbl8_groups() const { return tbl8_.size() / 256; }
  size_t memory_bytes() const {
    return mapping_.size() + tbl8_.capacity() * 4 + (tbl24_ ? 0 : ranges_.memory_bytes());
  }

 private:
  static constexpr uint32_t kGroupFlag = 0x8000'0000u;
  Mapping mapping_;                  // DIR-24-8 first level
  const uint32_t* tbl24_ = nullptr;  // into mapping_, or nullptr for ranges_
  std::vector<uint32_t> tbl8_;
  RangeLpm<uint32_t> ranges_;
};

class Lpm6 {
 public:
  Lpm6() = default;  // matches nothing
  void build(std::vector<Prefix6> prefixes, size_t* duplicates = nullptr) {
    ranges_ = RangeLpm<uint128>(flatten_prefixes(std::move(prefixes), duplicates));
  }
  uint32_t lookup(uint128 addr) const noexcept { return ranges_.lookup(addr); }
  size_t ranges() const { return ranges_.ranges(); }
  size_t memory_bytes() const { return ranges_.memory_bytes(); }

 private:
  RangeLpm<uint128> ranges_;
};

// The 16 address bytes (network order) as one number.
inline uint128 load_u128(const uint8_t b[16]) {
  uint64_t hi, lo;
  std::memcpy(&hi, b, 8);
  std::memcpy(&lo, b + 8, 8);
  if constexpr (std::endian::native == std::endian::little) {
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
  }
  return uint128{hi} << 64 | lo;
}

}  // namespace ringflow::enrich
