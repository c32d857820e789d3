// StreamTable (src/decode/stream_table.h) alone: streams admitted under the
// per-address quota and the table's size, evicted when silent (telling the
// caller before an index is reused), and published for other threads.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "decode/stream_table.h"
#include "decode/wire_formats.h"

namespace ringflow {
namespace {

constexpr int64_t kNow = 1700000000000;

StreamKey key(uint32_t addr, uint32_t domain, uint8_t version = 10) {
  StreamKey k;
  k.exporter = IpAddr::from_v4(addr);
  k.domain = domain;
  k.format = version == 5 ? kFormatV5 : version == 9 ? kFormatV9 : kFormatIpfix;
  return k;
}

// A table with its own counters; cfg: decode.max_streams_per_address,
// decode.max_streams, decode.stream_idle_timeout.
DecodeConfig config(uint32_t per_address, uint32_t max_streams = 4096, uint32_t idle_s = 3600) {
  DecodeConfig cfg;
  cfg.max_streams_per_address = per_address;
  cfg.max_streams = max_streams;
  cfg.stream_idle_timeout_s = idle_s;
  return cfg;
}
struct Table {
  SessionCounters counters;
  StreamTable t;
  explicit Table(const DecodeConfig& cfg) : t(cfg, counters) {}
};

TEST_CASE(
    "a stream keeps its index, and a new domain or version of the address is another stream") {
  Table tb(config(64));
  StreamTable& t = tb.t;
  const uint32_t a = t.admit(key(0x0A000001, 1), kNow);
  REQUIRE(a != StreamTable::kNoStream);
  CHECK(t.admit(key(0x0A000001, 1), kNow + 5) == a);
  CHECK(t.stream(a).last_seen_ms == kNow + 5);
  CHECK(t.find(key(0x0A000001, 1)) == a);
  const uint32_t b = t.admit(key(0x0A000001, 2), kNow);
  const uint32_t c = t.admit(key(0x0A000001, 1, 9), kNow);
  CHECK(b != a);
  CHECK(c != a);
  CHECK(c != b);
  CHECK(t.find(key(0x0A000002, 1)) == StreamTable::kNoStream);
}

TEST_CASE("a new stream over decode.max_streams_per_address is refused and counted by address") {
  Table tb(config(2));
  StreamTable& t = tb.t;
  REQUIRE(t.admit(key(0x0A000001, 1), kNow) != StreamTable::kNoStream);
  REQUIRE(t.admit(key(0x0A000001, 2), kNow) != StreamTable::kNoStream);
  CHECK(t.admit(key(0x0A000001, 3), kNow) == StreamTable::kNoStream);
  CHECK(t.quota_refused());
  CHECK(t.admit(key(0x0A000001, 4), kNow) == StreamTable::kNoStream);
  CHECK(tb.counters.stream_quota_refusals.load() == 2);
  // Known streams and other addresses are unaffected.
  CHECK(t.admit(key(0x0A000001, 1), kNow) != StreamTable::kNoStream);
  CHECK_FALSE(t.quota_refused());
  CHECK(t.admit(key(0x0A000002, 3), kNow) != StreamTable::kNoStream);

  t.publish();
  std::vector<AddressRefusals> refused;
  uint64_t other = 0;
  t.refused_snapshot(&refused, &other);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].exporter == IpAddr::from_v4(0x0A000001));
  CHECK(refused[0].datagrams == 2);
  CHECK(other == 0);
}

TEST_CASE("a full table refuses a new stream without charging its address") {
  Table tb(config(64, 16));
  StreamTable& t = tb.t;
  for (uint32_t d = 0; d < 16; ++d)
    REQUIRE(t.admit(key(0x0A000001, d), kNow) != StreamTable::kNoStream);
  CHECK(t.admit(key(0x0A000002, 0), kNow) == StreamTable::kNoStream);
  CHECK_FALSE(t.quota_refused());
  CHECK(tb.counters.stream_quota_refusals.load() == 0);
  CHECK(t.quota().count(IpAddr::from_v4(0x0A000002)) == 0);
  CHECK(t.quota().count(IpAddr::from_v4(0x0A000001)) == 16);
  t.publish();
  CHECK(t.tracker_stats().table_full == 1);
}

TEST_CASE("silent streams expire: the caller hears each index first, and the quota is given back") {
  Table tb(config(1, 4096, 60));
  StreamTable& t = tb.t;
  const uint32_t quiet = t.admit(key(0x0A000001, 1), kNow);
  const uint32_t busy = t.admit(key(0x0A000002, 1), kNow);
  REQUIRE(quiet != StreamTable::kNoStream);
  REQUIRE(busy != StreamTable::kNoStream);
  t.admit(key(0x0A000002, 1), kNow + 50000);
  std::vector<uint32_t> forgotten;
  t.expire(kNow + 61000, [&](uint32_t idx) {
    forgotten.push_back(idx);
    CHECK(t.find(key(0x0A000001, 1)) == idx);  // still there while the caller forgets it
  });
  CHECK(forgotten == std::vector<uint32_t>{quiet});
  CHECK(t.find(key(0x0A000001, 1)) == StreamTable::kNoStream);
  CHECK(t.find(key(0x0A000002, 1)) == busy);
  // The address's one stream is free again: another domain of it is admitted.
  CHECK(t.admit(key(0x0A000001, 2), kNow + 61000) != StreamTable::kNoStream);
}

TEST_CASE("publish() copies the streams for other threads") {
  Table tb(config(64));
  StreamTable& t = tb.t;
  t.admit(key(0x0A000001, 1), kNow);
  t.admit(key(0x0A000001, 2, 9), kNow);
  std::vector<StreamStats> before;
  t.streams_snapshot(&before);
  CHECK(before.empty());  // nothing published yet
  t.publish();
  std::vector<StreamStats> after;
  t.streams_snapshot(&after);
  REQUIRE(after.size() == 2);
  CHECK(after[0].exporter == IpAddr::from_v4(0x0A000001));
  CHECK(t.tracker_stats().active == 2);
}

}  // namespace
}  // namespace ringflow
