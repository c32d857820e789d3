// HeldData (src/decode/held_data.h) alone: data sets that came before their
// template, held within their bounds and handed on, used, dropped or
// forgotten when the template comes, the time runs out or the stream goes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "decode/held_data.h"

namespace ringflow {
namespace {

constexpr int64_t kNow = 1700000000000;
constexpr uint32_t kRing = 16;   // receive buffers: held slots are buffer ids from 16
constexpr uint32_t kSlot = 256;  // bytes per slot

struct Pool {
  DecodeConfig cfg;
  SessionCounters counters;
  HeldData held;
  explicit Pool(DecodeConfig c = config()) : cfg(c), held(cfg, kRing, kSlot, 8, counters) {}
  static DecodeConfig config() {
    DecodeConfig c;
    c.held_bytes = 4 * kSlot;  // 4 slots
    c.held_bytes_per_stream = 3 * 100;
    c.held_timeout_s = 60;
    return c;
  }
  bool hold(uint32_t stream, uint16_t tpl, size_t len, uint8_t fill, int64_t now = kNow) {
    std::vector<uint8_t> body(len, fill);
    TimeContext tc;
    tc.export_ms = now;
    return held.hold(stream, tpl, body.data(), body.size(), tc, now);
  }
  uint64_t drops(HoldDrop d) const { return counters.hold_drops[static_cast<size_t>(d)].load(); }
};

TEST_CASE("a held set is handed off as a buffer of its own when its template comes") {
  Pool p;
  const IpAddr exporter = IpAddr::from_v4(0xC0000201);
  REQUIRE(p.hold(2, 300, 100, 0xAB));
  REQUIRE(p.hold(2, 301, 40, 0xCD));  // another template: stays held
  CHECK(p.held.holds(2));
  CHECK_FALSE(p.held.holds(3));
  CHECK(p.counters.held_sets.load() == 2);
  CHECK(p.counters.held_bytes.load() == 140);

  std::vector<uint16_t> seen;
  p.held.release(2, 300, exporter, [&](const HeldSet& h) {
    seen.push_back(h.buf);
    CHECK(h.len == 100);
    CHECK(h.data[0] == 0xAB);
    CHECK(h.data[99] == 0xAB);
    CHECK(h.time->export_ms == kNow);
    return HeldData::Use::kHandOff;
  });
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] >= kRing);
  CHECK(seen[0] < kRing + p.held.slots());
  CHECK(p.counters.held_released.load() == 1);
  CHECK(p.held.used() == 2);  // in flight until the worker returns it

  ReadyDatagram r[4];
  REQUIRE(p.held.take_ready(r, 4) == 1);
  CHECK(r[0].buf == seen[0]);
  CHECK(r[0].len == 100);
  CHECK(r[0].exporter == exporter);
  CHECK(r[0].data == p.held.data(r[0].buf));
  CHECK(std::memcmp(r[0].data, std::vector<uint8_t>(100, 0xAB).data(), 100) == 0);
  CHECK(p.held.take_ready(r, 4) == 0);

  p.held.free_buffer(r[0].buf);
  CHECK(p.held.used() == 1);
  CHECK(p.counters.held_bytes.load() == 40);
  CHECK(p.held.holds(2));  // template 301's set
}

TEST_CASE(
    "release() walks the sets of one template oldest first, and used and empty sets free their slot") {
  Pool p;
  REQUIRE(p.hold(1, 300, 10, 1));
  REQUIRE(p.hold(1, 300, 20, 2));
  REQUIRE(p.hold(1, 300, 30, 3));
  std::vector<uint16_t> lens;
  p.held.release(1, 300, IpAddr{}, [&](const HeldSet& h) {
    lens.push_back(h.len);
    return h.len == 20 ? HeldData::Use::kEmpty : HeldData::Use::kUsed;
  });
  CHECK(lens == std::vector<uint16_t>{10, 20, 30});
  CHECK(p.counters.held_released.load() == 2);  // an empty set is not counted as released
  CHECK(p.held.used() == 0);
  CHECK_FALSE(p.held.holds(1));
  CHECK(p.counters.held_bytes.load() == 0);
  ReadyDatagram r[4];
  CHECK(p.held.take_ready(r, 4) == 0);
}

TEST_CASE("held sets are bounded per stream and in all, and off when decode.held_bytes is 0") {
  Pool p;
  REQUIRE(p.hold(0, 300, 100, 0));
  REQUIRE(p.hold(0, 300, 100, 0));
  REQUIRE(p.hold(0, 300, 100, 0));
  CHECK_FALSE(p.hold(0, 300, 1, 0));  // 301 bytes > held_bytes_per_stream
  CHECK(p.drops(HoldDrop::kStreamLimit) == 1);
  REQUIRE(p.hold(1, 300, 100, 0));     // the fourth and last slot
  CHECK_FALSE(p.hold(2, 300, 10, 0));  // no slot left
  CHECK(p.drops(HoldDrop::kPoolFull) == 1);
  CHECK(p.held.used() == 4);

  Pool big;
  CHECK_FALSE(big.hold(0, 300, kSlot + 1, 0));  // larger than a slot
  CHECK(big.drops(HoldDrop::kPoolFull) == 1);

  DecodeConfig off = Pool::config();
  off.held_bytes = 0;
  Pool none(off);
  CHECK(none.held.slots() == 0);
  CHECK_FALSE(none.hold(0, 300, 10, 0));
  CHECK(none.counters.set_drops[static_cast<size_t>(SetDrop::kNoTemplate)].load() == 1);
}

TEST_CASE("held sets are forgotten after decode.held_timeout, or with their stream") {
  Pool p;
  REQUIRE(p.hold(0, 300, 50, 0, kNow));
  REQUIRE(p.hold(0, 301, 60, 0, kNow + 30000));
  REQUIRE(p.hold(1, 300, 70, 0, kNow));
  p.held.expire(kNow + 60000);  // not past the timeout yet
  CHECK(p.held.used() == 3);
  p.held.expire(kNow + 60001);
  CHECK(p.held.used() == 1);
  CHECK(p.counters.held_expired.load() == 2);
  CHECK(p.counters.held_expired_bytes.load() == 120);
  CHECK(p.held.holds(0));
  CHECK_FALSE(p.held.holds(1));

  p.held.forget(0);
  CHECK(p.held.used() == 0);
  CHECK(p.counters.held_expired.load() == 3);
  CHECK(p.counters.held_expired_bytes.load() == 180);
  CHECK(p.counters.held_bytes.load() == 0);
  // The stream's bytes are free again: it may hold up to its limit.
  REQUIRE(p.hold(0, 300, 100, 0));
  REQUIRE(p.hold(0, 300, 100, 0));
  REQUIRE(p.hold(0, 300, 100, 0));
}

TEST_CASE("a set held by the datagram being admitted is told apart from older ones") {
  Pool p;
  p.held.begin_datagram();
  REQUIRE(p.hold(0, 300, 10, 0));
  p.held.begin_datagram();
  REQUIRE(p.hold(0, 300, 20, 0));
  std::vector<bool> now;
  p.held.release(0, 300, IpAddr{}, [&](const HeldSet& h) {
    now.push_back(h.this_datagram);
    return HeldData::Use::kUsed;
  });
  CHECK(now == std::vector<bool>{false, true});
}

TEST_CASE("held-data buffer ids stay within 16 bits") {
  DecodeConfig cfg = Pool::config();
  cfg.held_bytes = 1000 * kSlot;
  SessionCounters counters;
  HeldData held(cfg, 65530, kSlot, 8, counters);
  CHECK(held.slots() == 6);
  HeldData none(cfg, 65536, kSlot, 8, counters);
  CHECK(none.slots() == 0);
}

}  // namespace
}  // namespace ringflow
