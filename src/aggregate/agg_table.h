// AggTable: an open-addressing hash table of aggregation rows that grows
// with its keys, up to max_entries: the unit that workers fill, seal and hand
// to the flusher.
//
// Layout: `capacity` slots of (key_words + 6) 8-byte words in one anonymous
// mapping:
//
//   slot = key[key_words] | flows packets bytes first_ms last_ms tcp_flags
//
// so that for the 5-tuple (2 key words) a slot is exactly one 64-byte cache
// line and a lookup costs one miss. A slot is empty when flows == 0 (every
// stored row has at least one flow). Linear probing; the index is taken from
// the hash with a multiply-shift ("fastrange") so capacity need not be a
// power of two. Load factor <= 0.5: a probe chain walks whole cache lines,
// and with 1 M keys the throughput went from 15.6 M records/s at 0.75 to
// 22.5 M at 0.5 (bench/aggregate_table_bench.cc, same machine and run).
//
// Memory follows the keys. A table starts with room for `initial_entries`
// keys (2 * initial_entries slots: 512 KiB for the 5-tuple at the default
// 4096) and doubles whenever it would pass load 0.5, up to 2 * max_entries
// slots (the old fixed size: ~128 MiB for 1 M 5-tuple keys). So 100 k keys
// live in a 16 MiB table whose hot part fits the caches far better than a
// 128 MiB one, and only the pages of that table are ever touched.
//
// Growth is incremental, never a stall: the grown slot array is mapped, and
// from then on every add() moves a few rows of the old array (kMigrateStep)
// besides its own work. A lookup during growth probes the new array, then the
// old one; a row found in the old array moves over at once. A moved row
// leaves a tombstone (flows = kMoved) so that the old array's probe chains
// stay intact. When the last row has moved the old array is unmapped. A
// growth always ends before the next one is due (each new key moves at least
// one old row, and the new array holds twice the old), so there are at most
// two arrays. The kernel faults the new array's pages in as rows land on
// them. Arrays of kHugeBytes (8 MiB) and more ask for transparent huge pages
// (MADV_HUGEPAGE): a table far larger than the caches then costs no TLB miss
// per lookup, and a fault clears 2 MiB at once instead of 512 faults of
// 4 KiB. Measured on the first interval of a fresh worker
// (bench/aggregate_table_bench.cc, "first interval"): 26-29 M records/s at
// 100 k keys and 11-12 M at 1 M keys with huge pages, 17-20 M and 5-6 M
// without. The price: with the kernel's default THP defrag setting
// ("madvise"), such a fault may compact memory first, which on a fragmented
// box can take milliseconds; it happens at most once per 2 MiB of table.
// The flusher refits returned tables off the hot path (fit()).
//
// Bounds: at most max_entries keys. A record of a new key that finds the
// table at max_entries is added to the overflow row instead (key all zeros,
// flagged overflow by the sinks) and counted; nothing is dropped. If the
// kernel refuses the memory for a growth, the table keeps filling its current
// array up to load 0.9 (grow_failures() counts it), then overflows.
// clear() costs O(entries): it walks the list of used slots.
//
// Allocation: only at construction, at a growth (one mmap per doubling,
// log2(max_entries / initial_entries) at most in a table's life, one munmap
// when it ends) and in fit(). Never in steady state.
//
// Thread safety: none. One thread at a time (a worker while the table is
// active, the flusher after the worker published it sealed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include <ringflow/flow_key.h>

#include "common/mapping.h"

namespace ringflow {

// The counters of one row. 64-bit; packets and bytes are renormalized
// (value * sampling multiplier) and an exporter may send 64-bit values
// (IPFIX), so a sum can pass 2^64: it then saturates at 2^64 - 1 instead of
// wrapping, and accumulate() says how many sums did (counted by the table,
// src/aggregate/hub.h). flows counts records and cannot reach 2^64.
// *a += b, saturating at 2^64 - 1; true when it saturated.
inline bool saturating_add(uint64_t* a, uint64_t b) {
  if (__builtin_add_overflow(*a, b, a)) {
    *a = ~uint64_t{0};
    return true;
  }
  return false;
}

struct AggCounters {
  uint64_t flows = 0;    // records; 0 marks an empty slot
  uint64_t packets = 0;  // after sampling renormalization
  uint64_t bytes = 0;    // after sampling renormalization
  int64_t first_ms = std::numeric_limits<int64_t>::max();  // min flow start
  int64_t last_ms = std::numeric_limits<int64_t>::min();   // max flow end
  uint64_t tcp_flags = 0;  // OR of every record's flags (low 8 bits used)

  // Returns the number of sums (packets, bytes) that saturated: 0 but for
  // absurd input. Costs two add-with-carry checks, no branch taken.
  unsigned accumulate(const AggCounters& d) {
    flows += d.flows;
    const unsigned saturated = unsigned{saturating_add(&packets, d.packets)} +
                               unsigned{saturating_add(&bytes, d.bytes)};
    if (d.first_ms < first_ms) first_ms = d.first_ms;
    if (d.last_ms > last_ms) last_ms = d.last_ms;
    tcp_flags |= d.tcp_flags;
    return saturated;
  }
};
static_assert(sizeof(AggCounters) == 48);

// Prefetch of a line the caller will write. Not __builtin_prefetch: g++ 12
// (ipa-modref) judged AggTable::prefetch() free of side effects once it had
// a branch and dropped every call of it, prefetches and all, and
// the table ran at a third of its speed (bench/aggregate_table_bench.cc,
// 100 k keys). A volatile asm cannot be dropped.
inline void prefetch_line(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1, 3);
#endif
}

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
  // Keys a new table has room for before its first growth.
  static constexpr uint64_t kInitialEntries = 4096;
  // Old rows moved per add() while growing.
  static constexpr uint32_t kMigrateStep = 4;

  // REQUIRES: 1 <= key_words <= kMaxKeyWords, max_entries >= 1,
  // initial_entries >= 1. Throws std::bad_alloc when the first array cannot
  // be mapped (start-up only).
  AggTable(uint32_t key_words, uint64_t max_entries, uint64_t initial_entries = kInitialEntries);
  ~AggTable();
  AggTable(const AggTable&) = delete;
  AggTable& operator=(const AggTable&) = delete;

  uint32_t key_words() const { return key_words_; }
  // Slots of the current array (the one new keys go to).
  uint64_t capacity() const { return cur_.capacity; }
  // The most slots a table of this max_entries ever has.
  uint64_t max_capacity() const { return max_entries_ * 2; }
  uint64_t max_entries() const { return max_entries_; }
  uint64_t size() const { return size_; }
  bool growing() const { return old_.slots != nullptr; }
  uint64_t grows() const { return grows_; }               // growths started, ever
  uint64_t grow_failures() const { return grow_failures_; }  // growths the kernel refused memory for
  // Bytes mapped for slots now (both arrays while growing) plus the used
  // lists' bytes in use: what the table can make resident.
  size_t memory_bytes() const;
  // The most memory_bytes() can reach: the full array plus the used lists.
  size_t max_memory_bytes() const { return max_memory_bytes_for(key_words_, max_entries_); }
  // The same for a table of this shape that need not exist (start-up error
  // messages: src/pipeline/collector.cc).
  static size_t max_memory_bytes_for(uint32_t key_words, uint64_t max_entries) {
    return max_entries * 2 * (key_words + kCounterWords) * 8 + 2 * max_entries * sizeof(uint32_t);
  }

  // Rows that went to the overflow row (flows == 0: none).
  const AggCounters& overflow() const { return overflow_; }

  // Hint the slot of hash h into cache (used a batch ahead of add()). The
  // next slot too: a probe that does not stop at the home slot reads the
  // next line. While growing, the old array's slot as well. (Prefetches
  // never fault, so touching one past the end is harmless.)
  void prefetch(uint64_t h) const {
    const uint64_t* s = slot(cur_, index(h, cur_.capacity));
    prefetch_line(s);
    prefetch_line(s + stride_);
    // A slot wider than a line (wide keys: IPv6) can straddle two or three
    // lines: fetch the ones between its first and the next slot's first too.
    if (stride_ > 8) {
      prefetch_line(s + 8);
      if (stride_ > 16) prefetch_line(s + 16);
    }
    if (old_.slots) prefetch_line(slot(old_, index(h, old_.capacity)));
  }

  // Adds d to the row of key (h = hash_key(key, key_words())). Returns false
  // when the key was new and the table full (max_entries keys): d went to
  // the overflow row. Hot path: no exceptions; allocates only when the table
  // grows (see the header comment).
  bool add(const uint64_t* key, uint64_t h, const AggCounters& d) {
    if (old_.slots) return add_growing(key, h, d);
    switch (key_words_) {
      case 1: return add_k<1>(key, h, d);
      case 2: return add_k<2>(key, h, d);
      case 3: return add_k<3>(key, h, d);
      case 4: return add_k<4>(key, h, d);
      case 5: return add_k<5>(key, h, d);
      case 6: return add_k<6>(key, h, d);
      default: return add_k<0>(key, h, d);  // wide keys: words from key_words_
    }
  }

  // Adds d straight to the overflow row (merging another table's overflow).
  void add_overflow(const AggCounters& d) { saturated_ += overflow_.accumulate(d); }

  // Sums (packets or bytes) that saturated at 2^64 - 1 since the last clear().
  uint64_t saturated() const { return saturated_; }

  // Calls f(const uint64_t* key, const AggCounters& c) for every stored row
  // (not the overflow row): the current array's rows in insertion order,
  // then, while growing, the old array's rows not moved yet.
  template <class F>
  void for_each(F&& f) const {
    constexpr uint64_t kAhead = 16;  // rows are scattered: fetch ahead
    for (uint64_t i = 0; i < cur_rows_; ++i) {
      if (i + kAhead < cur_rows_) __builtin_prefetch(slot(cur_, used_.at(i + kAhead)), 0, 3);
      const uint64_t* s = slot(cur_, used_.at(i));
      f(s, *counters(s));
    }
    for (uint64_t i = mig_; i < old_rows_; ++i) {
      const uint64_t* s = slot(old_, old_used_.at(i));
      if (counters(s)->flows != kMoved) f(s, *counters(s));
    }
  }

  // Empties the table in O(size()). Keeps the current array (and its
  // resident pages) for the next interval; drops an old array mid-growth.
  void clear();

  // REQUIRES: the table is empty (after clear()). Off the hot path (the
  // flusher, or start-up): sizes the table for `rows` keys, or for half the
  // rows of the previous fit() when that is more (a peak that decays by half
  // per call, so one quiet interval does not shrink a busy table): a new
  // array when the current one is smaller than that needs, or more than 4x
  // larger (memory goes back to the kernel when the keys went away). A new array
  // of `huge_bytes` or more is backed by transparent huge pages where the
  // kernel offers them (fewer TLB misses for a table far larger than the
  // caches) and its pages are faulted in here, so that the worker that gets
  // it never pays a first touch. Returns false when the memory could not be
  // mapped (the table keeps its array).
  bool fit(uint64_t rows, size_t huge_bytes = kHugeBytes);
  static constexpr size_t kHugeBytes = 8u << 20;

 private:
  static constexpr uint32_t kCounterWords = sizeof(AggCounters) / 8;
  static constexpr uint64_t kMoved = ~uint64_t{0};  // flows of a row moved to the new array

  // One slot array.
  struct Slots {
    Mapping mem;
    uint64_t* slots = nullptr;
    uint64_t capacity = 0;
  };
  // A list of slot indexes (insertion order), lazily faulted.
  struct Used {
    Mapping mem;
    uint32_t* ids = nullptr;
    uint32_t at(uint64_t i) const { return ids[i]; }
  };

  static uint64_t index(uint64_t h, uint64_t capacity) {
    return static_cast<uint64_t>((static_cast<__uint128_t>(h) * capacity) >> 64);
  }
  uint64_t* slot(const Slots& a, uint64_t i) const { return a.slots + i * stride_; }
  AggCounters* counters(uint64_t* s) const {
    return reinterpret_cast<AggCounters*>(s + key_words_);
  }
  const AggCounters* counters(const uint64_t* s) const {
    return reinterpret_cast<const AggCounters*>(s + key_words_);
  }
  // Slots for `rows` keys on the growth schedule (initial * 2^k, capped).
  uint64_t capacity_for(uint64_t rows) const;
  // Rows at which the current array must grow (or, at max capacity, is full).
  void set_grow_at();
  bool map_slots(Slots* a, uint64_t capacity, bool huge, bool populate);
  bool map_used(Used* u);

  // The rare paths: a new key at grow_at_, and every add while growing.
  bool add_new_at_limit(const uint64_t* key, uint64_t h, const AggCounters& d);
  bool add_growing(const uint64_t* key, uint64_t h, const AggCounters& d);
  bool begin_growth();
  void migrate(uint32_t n);  // moves up to n old rows; ends the growth when done
  void end_growth();

  // K = key words, or 0 for "key_words_, not known at compile time".
  template <uint32_t K>
  bool add_k(const uint64_t* key, uint64_t h, const AggCounters& d) {
    const uint32_t words = K ? K : key_words_;
    uint64_t i = index(h, cur_.capacity);
    for (;;) {
      uint64_t* s = slot(cur_, i);
      AggCounters* c = counters(s);
      if (c->flows == 0) {
        if (size_ >= grow_at_) return add_new_at_limit(key, h, d);
        for (uint32_t w = 0; w < words; ++w) s[w] = key[w];
        *c = d;
        used_.ids[cur_rows_++] = static_cast<uint32_t>(i);
        ++size_;
        return true;
      }
      bool eq = true;
      for (uint32_t w = 0; w < words; ++w) eq &= s[w] == key[w];
      if (eq) {
        saturated_ += c->accumulate(d);
        return true;
      }
      if (++i == cur_.capacity) i = 0;
    }
  }

  uint32_t key_words_;
  uint32_t stride_;  // words per slot
  uint64_t max_entries_;
  uint64_t initial_capacity_;
  uint64_t size_ = 0;      // rows, both arrays
  uint64_t grow_at_ = 0;   // size_ at which a new key makes the table grow (or overflow)
  Slots cur_;              // new keys go here
  Used used_;              // slot of each of cur_'s rows
  uint64_t cur_rows_ = 0;  // rows in cur_ (== size_ unless growing)
  Slots old_;              // while growing: the array being emptied
  Used old_used_;          // its rows (swapped with used_ at each growth)
  uint64_t old_rows_ = 0;  // rows old_ held when the growth began
  uint64_t mig_ = 0;       // old_used_[0..mig_) are moved
  bool cur_huge_ = false;  // cur_ was mapped with huge pages by fit()
  bool grow_failed_ = false;  // the kernel refused a growth since the last clear()
  uint64_t recent_rows_ = 0;  // fit(): rows the table is sized for (decaying peak)
  uint64_t grows_ = 0, grow_failures_ = 0;
  AggCounters overflow_;
  uint64_t saturated_ = 0;  // see saturated()
};

}  // namespace ringflow
