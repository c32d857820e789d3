// The v5 encoder (src/decode/v5_encoder.h) against hand-written wire bytes.
// The round trip through the decoder is in gen_roundtrip_test.cc.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <vector>

#include "decode/v5_encoder.h"

using namespace ringflow;

namespace {

v5::Header sample_header() {
  v5::Header h;
  h.version = 5;
  h.sys_uptime_ms = 0x01020304;
  h.unix_secs = 0x05060708;
  h.unix_nsecs = 0x090A0B0C;
  h.flow_sequence = 0xDEADBEEF;
  h.engine_type = 0x11;
  h.engine_id = 0x22;
  h.sampling_raw = v5::make_sampling(1, 0x0123);
  return h;
}

v5::Record sample_record(uint8_t salt) {
  v5::Record r;
  r.src_addr = 0xC0A80001u + salt;
  r.dst_addr = 0x0A000002u;
  r.nexthop = 0xAC100003u;
  r.input = 0x0102;
  r.output = 0x0304;
  r.packets = 0x00000AB0u + salt;
  r.octets = 0x00ABCDEFu;
  r.first_raw = 0x10000000u;
  r.last_raw = 0x10000100u;
  r.src_port = 0xC350;
  r.dst_port = 443;
  r.tcp_flags = 0x1B;
  r.protocol = 6;
  r.tos = 0xB8;
  r.src_as = 0xFDE8;
  r.dst_as = 0x3039;
  r.src_mask = 24;
  r.dst_mask = 16;
  r.start_ms = 123;  // not on the wire
  r.end_ms = 456;
  return r;
}

}  // namespace

TEST_CASE("header bytes: every field big endian at its offset", "[encoder]") {
  // "Datagram = Header (24 bytes) ... all fields in network byte order."
  std::array<uint8_t, 24> out{};
  auto h = sample_header();
  h.count = 7;
  REQUIRE(v5::write_v5_header(h, out.data(), out.size()) == 24);
  const std::array<uint8_t, 24> want = {0x00, 0x05, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04,
                                        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
                                        0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x41, 0x23};
  CHECK(out == want);
}

TEST_CASE("record bytes: every field at its offset, pads zero", "[encoder]") {
  std::array<uint8_t, 48> out;
  out.fill(0xFF);  // pads must be overwritten with zero
  REQUIRE(v5::write_v5_record(sample_record(0), out.data(), out.size()) == 48);
  const std::array<uint8_t, 48> want = {
      0xC0, 0xA8, 0x00, 0x01,  // srcaddr
      0x0A, 0x00, 0x00, 0x02,  // dstaddr
      0xAC, 0x10, 0x00, 0x03,  // nexthop
      0x01, 0x02, 0x03, 0x04,  // input, output
      0x00, 0x00, 0x0A, 0xB0,  // dPkts
      0x00, 0xAB, 0xCD, 0xEF,  // dOctets
      0x10, 0x00, 0x00, 0x00,  // first
      0x10, 0x00, 0x01, 0x00,  // last
      0xC3, 0x50, 0x01, 0xBB,  // srcport, dstport
      0x00, 0x1B, 0x06, 0xB8,  // pad1, tcp_flags, prot, tos
      0xFD, 0xE8, 0x30, 0x39,  // src_as, dst_as
      0x18, 0x10, 0x00, 0x00,  // src_mask, dst_mask, pad2
  };
  CHECK(out == want);
}

TEST_CASE("encode_v5 writes count = n and the records in order", "[encoder]") {
  std::vector<v5::Record> recs;
  for (uint8_t i = 0; i < 30; ++i) recs.push_back(sample_record(i));
  std::vector<uint8_t> out(v5::kMaxPduSize);
  auto h = sample_header();
  h.count = 99;  // ignored: encode_v5 writes n
  REQUIRE(v5::encode_v5(h, recs.data(), 30, out.data(), out.size()) == v5::kMaxPduSize);
  CHECK(out[2] == 0);
  CHECK(out[3] == 30);
  for (size_t i = 0; i < 30; ++i) {
    std::array<uint8_t, 48> one;
    v5::write_v5_record(recs[i], one.data(), one.size());
    INFO("record " << i);
    CHECK(std::memcmp(out.data() + 24 + 48 * i, one.data(), 48) == 0);
  }
}

TEST_CASE("encoder refuses a buffer that is too small and never writes past cap", "[encoder]") {
  auto rec = sample_record(1);
  std::vector<uint8_t> out(24 + 48 + 8, 0xAA);
  auto h = sample_header();
  CHECK(v5::encode_v5(h, &rec, 1, out.data(), 24 + 47) == 0);
  CHECK(v5::encode_v5(h, &rec, 1, out.data(), 23) == 0);
  CHECK(v5::encode_v5(h, &rec, 1, nullptr, 100) == 0);
  CHECK(v5::encode_v5(h, nullptr, 1, out.data(), 100) == 0);
  CHECK(v5::write_v5_header(h, out.data(), 23) == 0);
  CHECK(v5::write_v5_record(rec, out.data(), 47) == 0);
  CHECK(v5::write_v5_record_at(rec, 1, out.data(), 24 + 48 + 47) == 0);
  // A huge n must not overflow the size computation into "fits".
  CHECK(v5::encode_v5(h, &rec, SIZE_MAX / 48 + 2, out.data(), out.size()) == 0);
  // Exactly enough room succeeds and leaves the byte after the PDU alone.
  CHECK(v5::encode_v5(h, &rec, 1, out.data(), 72) == 72);
  CHECK(out[72] == 0xAA);
  // A header-only PDU (count 0) is what the fault injector uses for "count 0".
  CHECK(v5::encode_v5(h, nullptr, 0, out.data(), 24) == 24);
  CHECK(out[3] == 0);
}

TEST_CASE("write_v5_record_at and patch helpers touch only their field", "[encoder]") {
  std::vector<v5::Record> recs = {sample_record(0), sample_record(1), sample_record(2)};
  std::vector<uint8_t> a(v5::pdu_size(3)), b(v5::pdu_size(3));
  auto h = sample_header();
  REQUIRE(v5::encode_v5(h, recs.data(), 3, a.data(), a.size()) == a.size());
  REQUIRE(v5::write_v5_header(
              [&] {
                auto x = h;
                x.count = 3;
                return x;
              }(),
              b.data(), b.size()) == 24);
  for (size_t i = 0; i < 3; ++i)
    REQUIRE(v5::write_v5_record_at(recs[i], i, b.data(), b.size()) == 48);
  CHECK(a == b);

  REQUIRE(v5::patch_v5_sequence(b.data(), b.size(), 0x01020304));
  REQUIRE(v5::patch_v5_count(b.data(), b.size(), 31));
  REQUIRE(v5::patch_v5_version(b.data(), b.size(), 9));
  CHECK(b[0] == 0);
  CHECK(b[1] == 9);
  CHECK(b[3] == 31);
  CHECK(b[16] == 1);
  CHECK(b[19] == 4);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i < 4 || (i >= 16 && i < 20)) continue;
    INFO("byte " << i);
    CHECK(a[i] == b[i]);
  }
  CHECK_FALSE(v5::patch_v5_count(b.data(), 23, 1));
}

TEST_CASE("make_sampling packs mode into bits 15..14 and interval into 13..0", "[encoder]") {
  CHECK(v5::make_sampling(0, 0) == 0);
  CHECK(v5::make_sampling(1, 100) == (0x4000 | 100));
  CHECK(v5::make_sampling(3, 0x3FFF) == 0xFFFF);
  CHECK(v5::make_sampling(2, 0x7FFF) == (0x8000 | 0x3FFF));  // interval masked
  v5::Header h;
  h.sampling_raw = v5::make_sampling(2, 512);
  CHECK(h.sampling_mode() == 2);
  CHECK(h.sampling_interval() == 512);
}
