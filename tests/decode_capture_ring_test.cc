// CaptureRing (src/decode/capture_ring.h) alone: the last N datagrams of each
// stream in order, cut to the snap length, streams past the byte bound and
// unrecognised datagrams counted, sFlow named by its agent address; and,
// with a reader copying out while the producer writes, no copy torn, out
// of order or repeated, and every datagram either captured or counted busy.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "decode/capture_ring.h"
#include "wire/bytes.h"

namespace ringflow {
namespace {

// A v9 datagram of `len` bytes (>= 20) from source id `domain`, whose bytes
// after the header all equal `tag` and whose sequence field is `seq`.
std::vector<uint8_t> v9(uint32_t domain, uint32_t seq, uint8_t tag, size_t len = 100) {
  std::vector<uint8_t> d(len, tag);
  std::memset(d.data(), 0, 20);
  wire::store_be16(d.data(), 9);
  wire::store_be32(d.data() + 12, seq);
  wire::store_be32(d.data() + 16, domain);
  return d;
}

const IpAddr kSrc = IpAddr::from_v4(0x7f000005);

TEST_CASE("capture ring keeps the last N of each stream, oldest first") {
  CaptureRing r(4, 128, 1 << 20);
  for (uint32_t i = 0; i < 10; ++i) {
    auto d = v9(7, i, static_cast<uint8_t>(i));
    r.capture(d.data(), static_cast<uint32_t>(d.size()), kSrc, 40001, 0, 1000 + i);
  }
  auto other = v9(8, 0, 0xee);
  r.capture(other.data(), 100, kSrc, 40001, 0, 5000);
  std::vector<CaptureStreamInfo> s;
  r.streams(&s);
  REQUIRE(s.size() == 2);
  CHECK(s[0].id.domain == 7);
  CHECK(s[0].captured == 10);
  CHECK(s[0].kept == 4);
  CHECK(s[1].captured == 1);
  std::vector<CapturedDatagram> got;
  REQUIRE(r.copy(s[0].id, &got));
  REQUIRE(got.size() == 4);
  for (uint32_t k = 0; k < 4; ++k) {
    CHECK(wire::load_be32(got[k].data.data() + 12) == 6 + k);
    CHECK(got[k].recv_ns == 1006 + k);
    CHECK(got[k].source == kSrc);
    CHECK(got[k].source_port == 40001);
    CHECK(got[k].orig_len == 100);
  }
  CaptureStreamId unknown = s[0].id;
  unknown.domain = 9;
  got.clear();
  CHECK_FALSE(r.copy(unknown, &got));
  CHECK(r.captured() == 11);
}

TEST_CASE("capture ring cuts to the snap length and bounds its streams") {
  CaptureRing r(2, 64, 2 * 64 * 3);  // three streams
  CHECK(r.max_streams() == 3);
  for (uint32_t dom = 0; dom < 5; ++dom) {
    auto d = v9(dom, 0, 1, 300);
    r.capture(d.data(), 300, kSrc, 1, 0, 1);
  }
  CHECK(r.captured() == 3);
  CHECK(r.truncated() == 3);
  CHECK(r.skipped(CaptureSkip::kStreamsFull) == 2);
  const uint8_t junk[4] = {0, 77, 0, 0};
  r.capture(junk, 4, kSrc, 1, 0, 1);
  CHECK(r.skipped(CaptureSkip::kUnrecognised) == 1);
  std::vector<CaptureStreamInfo> s;
  r.streams(&s);
  std::vector<CapturedDatagram> got;
  REQUIRE(r.copy(s[0].id, &got));
  REQUIRE(got.size() == 1);
  CHECK(got[0].data.size() == 64);
  CHECK(got[0].orig_len == 300);
}

TEST_CASE("capture ring names an sFlow stream by its agent address and sub-agent") {
  std::vector<uint8_t> d(28, 0);
  wire::store_be32(d.data(), 5);
  wire::store_be32(d.data() + 4, 1);
  wire::store_be32(d.data() + 8, 0xc0000207);  // agent 192.0.2.7
  wire::store_be32(d.data() + 12, 3);          // sub-agent 3
  CaptureStreamId id;
  REQUIRE(capture_stream_of(d.data(), d.size(), kSrc, &id));
  CHECK(id.exporter.str() == "192.0.2.7");
  CHECK(id.domain == 3);
  CHECK(id.format == kFormatSflow);
}

TEST_CASE("capture ring: a reader never sees a torn, repeated or reordered datagram") {
  constexpr uint32_t kN = 8;
  constexpr uint32_t kTotal = 200000;
  CaptureRing r(kN, 256, 1 << 20);
  auto first = v9(1, 0, 0);
  r.capture(first.data(), 100, kSrc, 1, 0, 0);
  std::vector<CaptureStreamInfo> s;
  r.streams(&s);
  REQUIRE(s.size() == 1);
  const CaptureStreamId id = s[0].id;
  std::atomic<bool> done{false};
  uint64_t copies = 0, bad = 0;
  std::thread reader([&] {
    std::vector<CapturedDatagram> got;
    while (!done.load(std::memory_order_acquire)) {
      got.clear();
      r.copy(id, &got);
      ++copies;
      uint32_t prev = 0;
      for (size_t k = 0; k < got.size(); ++k) {
        const uint32_t seq = wire::load_be32(got[k].data.data() + 12);
        // Every byte after the header is the sequence's low byte: untorn.
        for (size_t b = 20; b < got[k].data.size(); ++b)
          if (got[k].data[b] != static_cast<uint8_t>(seq)) ++bad;
        if (got[k].recv_ns != seq) ++bad;
        if (k > 0 && seq <= prev) ++bad;  // in order, none twice
        prev = seq;
      }
      if (got.size() > kN) ++bad;
    }
  });
  for (uint32_t i = 1; i < kTotal; ++i) {
    auto d = v9(1, i, static_cast<uint8_t>(i), 20 + (i % 200));
    r.capture(d.data(), static_cast<uint32_t>(d.size()), kSrc, 1, 0, i);
  }
  done.store(true, std::memory_order_release);
  reader.join();
  CHECK(bad == 0);
  CHECK(copies > 0);
  CHECK(r.captured() + r.skipped(CaptureSkip::kBusy) == kTotal);
  INFO("busy skips: " << r.skipped(CaptureSkip::kBusy) << " in " << copies << " copies");
}

}  // namespace
}  // namespace ringflow
