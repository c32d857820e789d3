// SflowIfTable (src/decode/sflow_if_table.h): deltas of sFlow interface
// counters across wraps, resets, agent restarts, duplicates and late samples,
// and the flow bytes reconciled over the same periods.
#include <catch2/catch.hpp>

#include "decode/sflow_if_table.h"

using namespace ringflow;
using Seen = SflowIfTable::Seen;

namespace {

GenericIfCounters ifc(uint32_t if_index, uint64_t in_octets, uint32_t in_ucast,
                      uint64_t out_octets = 0, uint32_t out_ucast = 0) {
  GenericIfCounters c;
  c.if_index = if_index;
  c.in_octets = in_octets;
  c.in_ucast = in_ucast;
  c.out_octets = out_octets;
  c.out_ucast = out_ucast;
  return c;
}

}  // namespace

TEST_CASE("in-order counter samples give their deltas") {
  SflowIfTable t(8);
  SflowIfDelta d;
  REQUIRE(t.counters(0, 1000, 1, ifc(3, 5000, 10, 700, 2), &d) == Seen::kBaseline);
  GenericIfCounters c = ifc(3, 8000, 14, 900, 5);
  c.in_mcast = 2;
  c.in_errors = 1;
  c.out_discards = 4;
  REQUIRE(t.counters(0, 31000, 2, c, &d) == Seen::kDelta);
  CHECK(d.if_index == 3);
  CHECK(d.elapsed_ms == 30000);
  CHECK(d.in_octets == 3000);
  CHECK(d.out_octets == 200);
  CHECK(d.in_packets == 4 + 2);
  CHECK(d.out_packets == 3);
  CHECK(d.in_errors == 1);
  CHECK(d.out_discards == 4);
  CHECK(t.size() == 1);
}

TEST_CASE("32-bit counters wrap, and a 64-bit octet counter holding 32-bit values wraps too") {
  SflowIfTable t(8);
  SflowIfDelta d;
  REQUIRE(t.counters(0, 0, 1, ifc(1, 0xFFFFFF00u, 0xFFFFFFF0u), &d) == Seen::kBaseline);
  REQUIRE(t.counters(0, 1000, 2, ifc(1, 0x100, 0x10), &d) == Seen::kDelta);
  CHECK(d.in_octets == 0x200);
  CHECK(d.in_packets == 0x20);
}

TEST_CASE("a true 64-bit octet counter that goes back is a reset, not a wrap") {
  SflowIfTable t(8);
  SflowIfDelta d;
  REQUIRE(t.counters(0, 0, 1, ifc(1, uint64_t{1} << 40, 5), &d) == Seen::kBaseline);
  CHECK(t.counters(0, 1000, 2, ifc(1, 100, 6), &d) == Seen::kReset);
  // Re-baselined on the cleared values: the next sample is a delta from them.
  REQUIRE(t.counters(0, 2000, 3, ifc(1, 400, 9), &d) == Seen::kDelta);
  CHECK(d.in_octets == 300);
  CHECK(d.in_packets == 3);
}

TEST_CASE("a 32-bit counter cleared to a small value on a slow link is a reset") {
  SflowIfTable t(8);
  SflowIfDelta d;
  GenericIfCounters a = ifc(1, 1000, 3'000'000'000u);
  a.if_speed = 10'000'000;  // 10 Mb/s: at most ~20k packets/s
  REQUIRE(t.counters(0, 0, 1, a, &d) == Seen::kBaseline);
  GenericIfCounters b = ifc(1, 2000, 50);
  b.if_speed = a.if_speed;
  // Mod 2^32 this is a step of ~1.29e9 packets in 20 s: implausible at 10 Mb/s.
  CHECK(t.counters(0, 20000, 2, b, &d) == Seen::kReset);
  // Without a speed the same step is under 2^31 and read as a wrap.
  CHECK(sflow_counter_step32(3'000'000'000u, 50, uint64_t{1} << 31, &d.in_packets));
  CHECK(d.in_packets == (uint64_t{1} << 32) - 3'000'000'000u + 50);
}

TEST_CASE("duplicates and late samples are dropped, the delta is not counted twice") {
  SflowIfTable t(8);
  SflowIfDelta d;
  REQUIRE(t.counters(0, 1000, 10, ifc(1, 100, 1), &d) == Seen::kBaseline);
  REQUIRE(t.counters(0, 2000, 11, ifc(1, 200, 2), &d) == Seen::kDelta);
  CHECK(t.counters(0, 2000, 11, ifc(1, 200, 2), &d) == Seen::kDuplicate);
  CHECK(t.counters(0, 1000, 10, ifc(1, 100, 1), &d) == Seen::kLate);
  REQUIRE(t.counters(0, 3000, 12, ifc(1, 350, 3), &d) == Seen::kDelta);
  CHECK(d.in_octets == 150);
}

TEST_CASE("an agent restart re-baselines: no negative or huge delta") {
  SflowIfTable t(8);
  SflowIfDelta d;
  REQUIRE(t.counters(0, 500000, 100, ifc(1, 1'000'000, 5000), &d) == Seen::kBaseline);
  REQUIRE(t.counters(0, 530000, 101, ifc(1, 1'100'000, 5100), &d) == Seen::kDelta);
  // Restarted: uptime and sequence from the start, counters from 0.
  CHECK(t.counters(0, 2000, 1, ifc(1, 3000, 4), &d) == Seen::kRestart);
  REQUIRE(t.counters(0, 32000, 2, ifc(1, 9000, 10), &d) == Seen::kDelta);
  CHECK(d.in_octets == 6000);
  CHECK(d.in_packets == 6);
  // Sequence forward but the uptime went back: a restart too.
  CHECK(t.counters(0, 1000, 3, ifc(1, 9500, 11), &d) == Seen::kRestart);
  // A sequence jump past kMaxGap: a restart.
  CHECK(t.counters(0, 5000, 3 + SflowIfTable::kMaxGap + 1, ifc(1, 9600, 12), &d) == Seen::kRestart);
}

TEST_CASE("sequence and uptime wraps are exact") {
  SflowIfTable t(8);
  SflowIfDelta d;
  REQUIRE(t.counters(0, 0xFFFFFC18u, 0xFFFFFFFFu, ifc(1, 10, 1), &d) == Seen::kBaseline);
  REQUIRE(t.counters(0, 1000, 0, ifc(1, 20, 2), &d) == Seen::kDelta);
  CHECK(d.elapsed_ms == 2000);
  CHECK(d.in_octets == 10);
}

TEST_CASE("flow bytes are reconciled over the period between two counter samples") {
  SflowIfTable t(8);
  SflowIfDelta d;
  t.flow(0, 1, 2, 999);  // before any counters: the table holds no interface
  REQUIRE(t.counters(0, 100000, 1, ifc(1, 0, 0), &d) == Seen::kBaseline);
  REQUIRE(t.counters(0, 100000, 1, ifc(2, 0, 0), &d) == Seen::kBaseline);
  t.flow(0, 1, 2, 1000);
  t.flow(0, 1, 7, 500);          // output 7 has no counters: only the input side counts
  t.flow(1, 1, 2, 4000);         // another stream's interface 1: not this one
  t.flow(0, 0x3FFFFFFF, 1, 50);  // internal input; output 1 is counted as out
  REQUIRE(t.counters(0, 101000, 2, ifc(1, 1600, 3, 60, 1), &d) == Seen::kDelta);
  CHECK(d.flow_in_bytes == 1500);
  CHECK(d.flow_out_bytes == 50);
  CHECK(d.in_octets == 1600);
  REQUIRE(t.counters(0, 101000, 2, ifc(2, 0, 0, 1000, 1), &d) == Seen::kDelta);
  CHECK(d.flow_in_bytes == 0);
  CHECK(d.flow_out_bytes == 1000);
  // The next period starts empty.
  t.flow(0, 1, 0, 10);
  REQUIRE(t.counters(0, 102000, 3, ifc(1, 1610, 4, 60, 1), &d) == Seen::kDelta);
  CHECK(d.flow_in_bytes == 10);
  // A restart throws the period's flows away with the counters' baseline.
  t.flow(0, 1, 0, 77);
  REQUIRE(t.counters(0, 10, 1, ifc(1, 0, 0), &d) == Seen::kRestart);
  t.flow(0, 1, 0, 5);
  REQUIRE(t.counters(0, 1010, 2, ifc(1, 5, 1), &d) == Seen::kDelta);
  CHECK(d.flow_in_bytes == 5);
  SflowIfTable::Totals tot;
  t.for_each([&](uint32_t s, uint32_t i, const SflowIfTable::Totals& x) {
    if (s == 0 && i == 1) tot = x;
  });
  CHECK(tot.flow_in_bytes == 1500 + 10 + 5);
  CHECK(tot.in_octets == 1600 + 10 + 5);
}

TEST_CASE("the table is bounded, and forget frees a stream's interfaces") {
  SflowIfTable t(3);
  SflowIfDelta d;
  CHECK(t.counters(0, 0, 1, ifc(1, 0, 0), &d) == Seen::kBaseline);
  CHECK(t.counters(0, 0, 1, ifc(2, 0, 0), &d) == Seen::kBaseline);
  CHECK(t.counters(1, 0, 1, ifc(1, 0, 0), &d) == Seen::kBaseline);
  CHECK(t.counters(1, 0, 1, ifc(2, 0, 0), &d) == Seen::kTableFull);
  CHECK(t.size() == 3);
  t.forget(0);
  CHECK(t.size() == 1);
  // Stream 1's interface survived the deletions and is still found in order.
  REQUIRE(t.counters(1, 1000, 2, ifc(1, 10, 1), &d) == Seen::kDelta);
  CHECK(d.in_octets == 10);
  CHECK(t.counters(1, 0, 1, ifc(2, 0, 0), &d) == Seen::kBaseline);
}

TEST_CASE("many interfaces across streams: lookups stay exact after deletions") {
  SflowIfTable t(1000);
  SflowIfDelta d;
  for (uint32_t s = 0; s < 10; ++s)
    for (uint32_t i = 1; i <= 100; ++i)
      REQUIRE(t.counters(s, 0, 1, ifc(i, i, 0), &d) == Seen::kBaseline);
  CHECK(t.counters(11, 0, 1, ifc(1, 0, 0), &d) == Seen::kTableFull);
  for (uint32_t s = 0; s < 10; s += 2) t.forget(s);
  CHECK(t.size() == 500);
  for (uint32_t s = 1; s < 10; s += 2)
    for (uint32_t i = 1; i <= 100; ++i) {
      REQUIRE(t.counters(s, 1000, 2, ifc(i, 2 * uint64_t{i}, 0), &d) == Seen::kDelta);
      REQUIRE(d.in_octets == i);
    }
}
