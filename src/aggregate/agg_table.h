// AggTable: one fixed-size open-addressing hash table of aggregation rows,
// the unit that workers fill, seal and hand to the flusher.
//
// Layout: `capacity` slots of (key_words + 6) 8-byte words, in one anonymous
// mapping (MADV_HUGEPAGE: with 1 M keys the table is ~128 MiB and every lookup
// is a random access, so 2 MiB pages save a TLB miss per record):
//
//   slot = key[key_words] | flows packets bytes first_ms last_ms tcp_flags
//
// so that for the 5-tuple (2 key words) a slot is exactly one 64-byte cache
// line and a lookup costs one miss. A slot is empty when flows == 0 (every
// stored row has at least one flow). Linear probing; the index is taken from
// the hash with a multiply-shift ("fastrange") so capacity need not be a
// power of two and memory follows max_entries exactly:
//   capacity = 2 * max_entries            (load factor <= 0.5)
//   memory   = capacity * (key_words + 6) * 8 + max_entries * 4 (used list)
//   5-tuple, 1 M entries: 2 M * 64 B + 4 MB = 128 MiB + 4 MiB = ~132 MiB.
// Why 0.5 and not 0.75: a probe chain walks whole cache lines, and the
// throughput with 1 M keys went from 15.6 M to 22.5 M records/s
// (bench/aggregate_table_bench.cc, same machine and run).
//
// Bounds: at most max_entries keys. A record of a new key that finds the
// table full is added to the overflow row instead (key all zeros, flagged
// overflow by the sinks) and counted; nothing is dropped and nothing grows.
// clear() costs O(entries): it walks the list of used slots.
//
// Memory is mapped up front and never grows. Keys are spread over the whole
// table by the hash, so expect the resident size to reach the full figure
// above after a few thousand keys (2 MiB pages), not in proportion to keys.
//
// Thread safety: none. One thread at a time (a worker while the table is
// active, the flusher after the worker published it sealed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

#include <ringflow/flow_key.h>

#include "common/mapping.h"

namespace ringflow {

// The counters of one row. 64-bit: packets and bytes are renormalized
// (32-bit value * sampling multiplier <= 2^46 per record), so even 2^17
// records of the largest value per row per interval cannot overflow.
struct AggCounters {
  uint64_t flows = 0;    // records; 0 marks an empty slot
  uint64_t packets = 0;  // after sampling renormalization
  uint64_t bytes = 0;    // after sampling renormalization
  int64_t first_ms = std::numeric_limits<int64_t>::max();  // min flow start
  int64_t last_ms = std::numeric_limits<int64_t>::min();   // max flow end
  uint64_t tcp_flags = 0;  // OR of every record's flags (low 8 bits used)

  void accumulate(const AggCounters& d) {
    flows += d.flows;
    packets += d.packets;
    bytes += d.bytes;
    if (d.first_ms < first_ms) first_ms = d.first_ms;
    if (d.last_ms > last_ms) last_ms = d.last_ms;
    tcp_flags |= d.tcp_flags;
  }
};
static_assert(sizeof(AggCounters) == 48);

// 64x64->128 multiply, folded: the mixing step of wyhash.
inline uint64_t mix128(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// Hash of a packed key: one 128-bit multiply per two words.
inline uint64_t hash_key(const uint64_t* key, uint32_t words) {
  constexpr uint64_t kS0 = 0xa0761d6478bd642full, kS1 = 0xe7037ed1a0b428dbull,
                     kS2 = 0x8ebc6af09c88c6e3ull;
  uint64_t h = kS2 ^ words;
  for (uint32_t i = 0; i < words; i += 2) {
    uint64_t b = i + 1 < words ? key[i + 1] : 0;
    h = mix128(key[i] ^ kS0 ^ h, b ^ kS1);
  }
  return mix128(h ^ kS0, kS2);
}

class AggTable {
 public:
  // REQUIRES: 1 <= key_words <= kMaxKeyWords, max_entries >= 1.
  // Throws std::bad_alloc when the memory cannot be mapped (start-up only).
  AggTable(uint32_t key_words, uint64_t max_entries);
  ~AggTable();
  AggTable(const AggTable&) = delete;
  AggTable& operator=(const AggTable&) = delete;

  uint32_t key_words() const { return key_words_; }
  uint64_t capacity() const { return capacity_; }
  uint64_t max_entries() const { return max_entries_; }
  uint64_t size() const { return size_; }
  size_t memory_bytes() const { return map_bytes_ + max_entries_ * sizeof(uint32_t); }
  // What memory_bytes() will be for a table of this shape (for start-up
  // messages: the table need not exist).
  static size_t memory_bytes_for(uint32_t key_words, uint64_t max_entries) {
    return map_bytes_for(key_words, max_entries) + max_entries * sizeof(uint32_t);
  }

  // Rows that went to the overflow row (flows == 0: none).
  const AggCounters& overflow() const { return overflow_; }

  // Hint the slot of hash h into cache (used a batch ahead of add()). The
  // next slot too: at 75 % load a hit probes 2.5 slots on average, and each
  // slot of the 5-tuple is its own cache line. (Prefetches never fault, so
  // touching one past the end is harmless.)
  void prefetch(uint64_t h) const {
    const uint64_t* s = slot(index(h));
    __builtin_prefetch(s, 1, 3);
    __builtin_prefetch(s + stride_, 1, 3);
  }

  // Adds d to the row of key (h = hash_key(key, key_words())). Returns false
  // when the key was new and the table full: d went to the overflow row.
  // Hot path: no allocation, no exceptions.
  bool add(const uint64_t* key, uint64_t h, const AggCounters& d) {
    switch (key_words_) {
      case 1: return add_k<1>(key, h, d);
      case 2: return add_k<2>(key, h, d);
      case 3: return add_k<3>(key, h, d);
      case 4: return add_k<4>(key, h, d);
      case 5: return add_k<5>(key, h, d);
      default: return add_k<6>(key, h, d);
    }
  }

  // Adds d straight to the overflow row (merging another table's overflow).
  void add_overflow(const AggCounters& d) { overflow_.accumulate(d); }

  // Calls f(const uint64_t* key, const AggCounters& c) for every stored row,
  // in insertion order (not the overflow row).
  template <class F>
  void for_each(F&& f) const {
    constexpr uint64_t kAhead = 16;  // rows are scattered: fetch ahead
    for (uint64_t i = 0; i < size_; ++i) {
      if (i + kAhead < size_) __builtin_prefetch(slot(used_[i + kAhead]), 0, 3);
      const uint64_t* s = slot(used_[i]);
      f(s, *counters(s));
    }
  }

  // Empties the table in O(size()).
  void clear();

 private:
  static constexpr uint32_t kCounterWords = sizeof(AggCounters) / 8;

  uint64_t index(uint64_t h) const {
    return static_cast<uint64_t>((static_cast<__uint128_t>(h) * capacity_) >> 64);
  }
  uint64_t* slot(uint64_t i) const { return slots_ + i * stride_; }
  AggCounters* counters(uint64_t* s) const {
    return reinterpret_cast<AggCounters*>(s + key_words_);
  }
  const AggCounters* counters(const uint64_t* s) const {
    return reinterpret_cast<const AggCounters*>(s + key_words_);
  }

  template <uint32_t K>
  bool add_k(const uint64_t* key, uint64_t h, const AggCounters& d) {
    uint64_t i = index(h);
    for (;;) {
      uint64_t* s = slot(i);
      AggCounters* c = counters(s);
      if (c->flows == 0) {
        if (size_ >= max_entries_) {
          overflow_.accumulate(d);
          return false;
        }
        for (uint32_t w = 0; w < K; ++w) s[w] = key[w];
        *c = d;
        used_[size_++] = static_cast<uint32_t>(i);
        return true;
      }
      bool eq = true;
      for (uint32_t w = 0; w < K; ++w) eq &= s[w] == key[w];
      if (eq) {
        c->accumulate(d);
        return true;
      }
      if (++i == capacity_) i = 0;
    }
  }

  uint32_t key_words_;
  uint32_t stride_;  // words per slot
  uint64_t max_entries_;
  uint64_t capacity_;
  uint64_t size_ = 0;
  Mapping mem_;                  // the slots; slots_ caches mem_.get()
  uint64_t* slots_ = nullptr;
  size_t map_bytes_ = 0;
  // The slots' mapping, rounded up to whole 2 MiB pages.
  static size_t map_bytes_for(uint32_t key_words, uint64_t max_entries) {
    constexpr size_t kHuge = 2u << 20;
    const size_t bytes = max_entries * 2 * (key_words + kCounterWords) * 8;
    return (bytes + kHuge - 1) / kHuge * kHuge;
  }
  std::unique_ptr<uint32_t[]> used_;  // slot index of each row, insertion order
  AggCounters overflow_;
};

}  // namespace ringflow
