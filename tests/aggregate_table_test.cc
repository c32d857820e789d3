// AggTable: open addressing, byte-compared packed keys, bounded by
// max_entries with an overflow row.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "aggregate/agg_table.h"

using namespace ringflow;

namespace {

AggCounters delta(uint64_t packets, uint64_t bytes, int64_t first, int64_t last, uint8_t flags) {
  AggCounters d;
  d.flows = 1;
  d.packets = packets;
  d.bytes = bytes;
  d.first_ms = first;
  d.last_ms = last;
  d.tcp_flags = flags;
  return d;
}

bool add(AggTable& t, uint64_t k0, uint64_t k1, const AggCounters& d) {
  uint64_t key[2] = {k0, k1};
  return t.add(key, hash_key(key, 2), d);
}

std::map<std::pair<uint64_t, uint64_t>, AggCounters> dump(const AggTable& t) {
  std::map<std::pair<uint64_t, uint64_t>, AggCounters> m;
  t.for_each([&](const uint64_t* k, const AggCounters& c) { m[{k[0], k[1]}] = c; });
  return m;
}

}  // namespace

TEST_CASE("Records of one key accumulate: sums, min first, max last, OR of flags", "[table]") {
  // "Counters per key: flows, packets, bytes, first (min start), last (max end), tcp_flags (OR)."
  AggTable t(2, 1024);
  REQUIRE(add(t, 1, 2, delta(10, 1000, 5000, 6000, 0x02)));
  REQUIRE(add(t, 1, 2, delta(5, 200, 4000, 5500, 0x10)));
  REQUIRE(add(t, 1, 2, delta(1, 40, 4500, 9000, 0x01)));
  REQUIRE(add(t, 1, 3, delta(7, 70, 1, 2, 0)));
  CHECK(t.size() == 2);
  auto m = dump(t);
  const AggCounters& c = m[{1, 2}];
  CHECK(c.flows == 3);
  CHECK(c.packets == 16);
  CHECK(c.bytes == 1240);
  CHECK(c.first_ms == 4000);
  CHECK(c.last_ms == 9000);
  CHECK(c.tcp_flags == 0x13);
  CHECK(m[{1, 3}].bytes == 70);
}

TEST_CASE("Counters are 64-bit: renormalized values do not wrap", "[table]") {
  AggTable t(2, 1024);
  // The largest renormalized record: 0xFFFFFFFF * 16383, many times.
  const uint64_t big = 0xFFFFFFFFull * 16383;
  for (int i = 0; i < 1000; ++i) add(t, 9, 9, delta(big, big, 0, 0, 0));
  CHECK(dump(t)[{9, 9}].bytes == big * 1000);
}

TEST_CASE("The table matches a reference map under many colliding keys", "[table]") {
  // Small table, keys from a small space: long probe chains and wrap-around.
  AggTable t(2, 3000);
  std::map<std::pair<uint64_t, uint64_t>, AggCounters> ref;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) {
    uint64_t k0 = rng() % 50, k1 = rng() % 50;
    auto d = delta(rng() % 100, rng() % 10000, static_cast<int64_t>(rng() % 1000),
                   static_cast<int64_t>(rng() % 1000), static_cast<uint8_t>(rng()));
    REQUIRE(add(t, k0, k1, d));
    ref[{k0, k1}].accumulate(d);
  }
  auto m = dump(t);
  REQUIRE(m.size() == ref.size());
  for (auto& [k, c] : ref) {
    const AggCounters& g = m[k];
    REQUIRE(g.flows == c.flows);
    REQUIRE(g.packets == c.packets);
    REQUIRE(g.bytes == c.bytes);
    REQUIRE(g.first_ms == c.first_ms);
    REQUIRE(g.last_ms == c.last_ms);
    REQUIRE(g.tcp_flags == c.tcp_flags);
  }
  CHECK(t.overflow().flows == 0);
}

TEST_CASE("A full table sends new keys to the overflow row and never grows past max_entries",
          "[table]") {
  // "When a table is full, records of new keys are added to an overflow row
  //  (key of all zeros, flagged) and counted — never silently lost, never
  //  unbounded growth."
  AggTable t(2, 100, 8);  // starts with room for 8 keys: grows on the way
  CHECK(t.capacity() == 16);
  uint64_t total_bytes = 0, overflowed = 0;
  for (uint64_t k = 1; k <= 250; ++k) {
    total_bytes += k;
    if (!add(t, k, 0, delta(1, k, static_cast<int64_t>(k), static_cast<int64_t>(k), 0)))
      ++overflowed;
  }
  const uint64_t cap = t.capacity();
  const size_t mem = t.memory_bytes();
  CHECK(cap == t.max_capacity());
  CHECK(cap == 200);
  CHECK(t.grows() >= 3);  // 16 -> 32 -> 64 -> 128 -> 200 slots
  // Existing keys still accumulate when full.
  CHECK(add(t, 1, 0, delta(1, 1, 1, 1, 0)));
  total_bytes += 1;
  CHECK(t.size() == 100);
  CHECK(overflowed == 150);
  CHECK(t.overflow().flows == 150);
  CHECK(t.capacity() == cap);
  CHECK(t.memory_bytes() == mem);
  CHECK_FALSE(t.growing());
  uint64_t sum = t.overflow().bytes;
  t.for_each([&](const uint64_t*, const AggCounters& c) { sum += c.bytes; });
  CHECK(sum == total_bytes);  // nothing lost
  CHECK(t.overflow().first_ms == 101);
  CHECK(t.overflow().last_ms == 250);
}

TEST_CASE("A growing table matches a reference map at every step", "[table]") {
  // From room for 4 keys to 20 000: every growth happens with lookups of
  // old keys, new keys and for_each mid-way, while rows are still moving.
  AggTable t(2, 20000, 4);
  std::map<std::pair<uint64_t, uint64_t>, AggCounters> ref;
  std::mt19937_64 rng(7);
  uint64_t seen_growing = 0, checks = 0;
  for (int i = 0; i < 200000; ++i) {
    // Keys from a space that widens over time, so new keys keep coming.
    const uint64_t space = 10 + static_cast<uint64_t>(i) / 10;
    uint64_t k0 = rng() % space, k1 = k0 * 3;
    auto d = delta(rng() % 100, rng() % 10000, static_cast<int64_t>(rng() % 1000),
                   static_cast<int64_t>(rng() % 1000), static_cast<uint8_t>(rng()));
    REQUIRE(add(t, k0, k1, d));
    ref[{k0, k1}].accumulate(d);
    REQUIRE(t.size() == ref.size());
    if (t.growing()) ++seen_growing;
    // Full comparison now and then, growing or not.
    if ((i % 9973 == 0) || (t.growing() && i % 97 == 0)) {
      ++checks;
      auto m = dump(t);
      REQUIRE(m.size() == ref.size());
      for (auto& [k, c] : ref) {
        const AggCounters& g = m[k];
        REQUIRE(g.flows == c.flows);
        REQUIRE(g.bytes == c.bytes);
        REQUIRE(g.first_ms == c.first_ms);
        REQUIRE(g.last_ms == c.last_ms);
        REQUIRE(g.tcp_flags == c.tcp_flags);
      }
    }
  }
  CHECK(t.grows() >= 10);
  CHECK(seen_growing > 0);
  CHECK(checks > 30);
  CHECK(t.overflow().flows == 0);
  // Load stays <= 0.5 once a growth is done.
  if (!t.growing()) CHECK(t.size() * 2 <= t.capacity());
}

TEST_CASE("Memory follows the keys: small at start, fit() shrinks and grows empty tables",
          "[table]") {
  AggTable t(2, 1000000);  // default start: room for 4096 keys
  CHECK(t.capacity() == 2 * AggTable::kInitialEntries);
  CHECK(t.memory_bytes() == 2 * AggTable::kInitialEntries * 64);
  for (uint64_t k = 0; k < 100000; ++k) REQUIRE(add(t, k, 1, delta(1, 1, 0, 0, 0)));
  // 100 k keys: 262 144 slots (16 MiB) once the growth is done, 24 MiB
  // while the last one runs; never the 128 MiB of max_entries.
  CHECK(t.capacity() == 262144);
  CHECK(t.memory_bytes() <= (24u << 20) + 100000 * 8);
  CHECK(t.max_memory_bytes() >= 128000000u);
  const uint64_t rows = t.size();
  t.clear();
  CHECK_FALSE(t.growing());
  // Refit for the keys it held: the same size (already faulted in).
  REQUIRE(t.fit(rows));
  CHECK(t.capacity() == 262144);
  // One quiet interval does not shrink it (the peak decays by half a call)...
  REQUIRE(t.fit(1000));
  CHECK(t.capacity() == 262144);
  // ... but once the keys stay away, a table more than 4x too big shrinks.
  for (int i = 0; i < 8; ++i) REQUIRE(t.fit(1000));
  CHECK(t.capacity() <= 32768);
  CHECK(t.memory_bytes() <= 32768 * 64);
  // The merge table's case: sized ahead for a known number of rows.
  REQUIRE(t.fit(300000));
  CHECK(t.capacity() == 1048576);
  for (uint64_t k = 0; k < 300000; ++k) REQUIRE(add(t, k, 2, delta(1, 1, 0, 0, 0)));
  CHECK(t.grows() == 5);  // the five of the first fill (8 Ki -> 256 Ki slots), none since
  CHECK(t.size() == 300000);
}

TEST_CASE("clear() in the middle of a growth drops the old array", "[table]") {
  AggTable t(2, 100000, 16);
  uint64_t k = 0;
  while (!t.growing() || t.size() < 100) REQUIRE(add(t, ++k, 0, delta(1, 1, 0, 0, 0)));
  REQUIRE(t.growing());
  t.clear();
  CHECK_FALSE(t.growing());
  CHECK(t.size() == 0);
  size_t n = 0;
  t.for_each([&](const uint64_t*, const AggCounters&) { ++n; });
  CHECK(n == 0);
  for (uint64_t j = 1; j <= 500; ++j) REQUIRE(add(t, j, 9, delta(1, 2, 0, 0, 0)));
  CHECK(dump(t).size() == 500);
}

TEST_CASE("clear() empties the table for reuse", "[table]") {
  AggTable t(3, 1000);
  for (uint64_t k = 0; k < 1000; ++k) {
    uint64_t key[3] = {k, ~k, k * 7};
    t.add(key, hash_key(key, 3), delta(1, 1, 0, 0, 0));
  }
  uint64_t key[3] = {5000, 1, 2};
  CHECK_FALSE(t.add(key, hash_key(key, 3), delta(1, 1, 0, 0, 0)));
  t.clear();
  CHECK(t.size() == 0);
  CHECK(t.overflow().flows == 0);
  size_t n = 0;
  t.for_each([&](const uint64_t*, const AggCounters&) { ++n; });
  CHECK(n == 0);
  // Same keys again: fresh counters, no stale rows.
  for (uint64_t k = 0; k < 1000; ++k) {
    uint64_t kk[3] = {k, ~k, k * 7};
    REQUIRE(t.add(kk, hash_key(kk, 3), delta(2, 3, 0, 0, 0)));
  }
  CHECK(t.size() == 1000);
  t.for_each([&](const uint64_t*, const AggCounters& c) {
    REQUIRE(c.flows == 1);
    REQUIRE(c.bytes == 3);
  });
}

TEST_CASE("Memory is bounded by max_entries: ~136 MiB at most for 1 M 5-tuple keys", "[table]") {
  AggTable t(2, 1000000);
  CHECK(t.max_capacity() == 2000000);
  CHECK(t.max_memory_bytes() <= 137u << 20);
  CHECK(t.max_memory_bytes() >= 128000000u);
}

// Issue 26: two records of 2^64 - 1 bytes once summed to 2^64 - 2. A sum past
// 2^64 - 1 saturates there and the table counts it (reason "sum").
TEST_CASE("Sums saturate at 2^64 - 1 instead of wrapping, and are counted", "[table]") {
  const uint64_t max = ~uint64_t{0};
  AggTable t(2, 1024);
  REQUIRE(add(t, 1, 1, delta(max, max, 0, 0, 0)));
  CHECK(t.saturated() == 0);
  REQUIRE(add(t, 1, 1, delta(1, max, 0, 0, 0)));
  CHECK(t.saturated() == 2);  // packets and bytes
  REQUIRE(add(t, 1, 1, delta(5, 5, 0, 0, 0)));
  CHECK(t.saturated() == 4);
  const AggCounters c = dump(t)[{1, 1}];
  CHECK(c.packets == max);
  CHECK(c.bytes == max);
  CHECK(c.flows == 3);
  // Below the limit nothing changes, and clear() starts the count again.
  REQUIRE(add(t, 2, 2, delta(max - 1, 0, 0, 0, 0)));
  REQUIRE(add(t, 2, 2, delta(1, 0, 0, 0, 0)));
  CHECK(dump(t)[{2, 2}].packets == max);
  CHECK(t.saturated() == 4);
  t.clear();
  CHECK(t.saturated() == 0);
  // The overflow row saturates too.
  AggTable full(2, 1);
  REQUIRE(add(full, 1, 1, delta(1, 1, 0, 0, 0)));
  CHECK_FALSE(add(full, 2, 2, delta(max, 1, 0, 0, 0)));
  CHECK_FALSE(add(full, 3, 3, delta(max, 1, 0, 0, 0)));
  CHECK(full.overflow().packets == max);
  CHECK(full.saturated() == 1);
  uint64_t a = max - 3;
  CHECK_FALSE(saturating_add(&a, 3));
  CHECK(saturating_add(&a, 1));
  CHECK(a == max);
}
