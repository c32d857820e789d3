// The v5 encoder (src/gen/v5_encoder.h) against hand-written wire bytes,
// and the round trip through the decoder (src/decode/v5_decoder.h).
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <vector>

#include "decode/v5_decoder.h"
#include "gen/v5_encoder.h"
#include "gen/rng.h"

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

TEST_CASE("round trip: the decoder reads back every field the encoder wrote", "[encoder]") {
  // "Encoder/decoder round trip" - random values in every field, every count.
  gen::Rng rng(2024);
  DecodeOptions opt;
  static Pdu pdu;
  for (int iter = 0; iter < 300; ++iter) {
    const size_t n = 1 + iter % v5::kMaxRecords;
    v5::Header h;
    h.version = v5::kVersion;
    h.sys_uptime_ms = static_cast<uint32_t>(rng.next());
    h.unix_secs = static_cast<uint32_t>(rng.next());
    h.unix_nsecs = rng.below(1000000000);
    h.flow_sequence = static_cast<uint32_t>(rng.next());
    h.engine_type = static_cast<uint8_t>(rng.next());
    h.engine_id = static_cast<uint8_t>(rng.next());
    h.sampling_raw = static_cast<uint16_t>(rng.next());
    std::vector<v5::Record> recs(n);
    for (auto& r : recs) {
      uint64_t a = rng.next(), b = rng.next(), c = rng.next(), d = rng.next();
      r.src_addr = static_cast<uint32_t>(a);
      r.dst_addr = static_cast<uint32_t>(a >> 32);
      r.nexthop = static_cast<uint32_t>(b);
      r.input = static_cast<uint16_t>(b >> 32);
      r.output = static_cast<uint16_t>(b >> 48);
      r.packets = static_cast<uint32_t>(c);
      r.octets = static_cast<uint32_t>(c >> 32);
      r.first_raw = static_cast<uint32_t>(d);
      r.last_raw = static_cast<uint32_t>(d >> 32);
      uint64_t e = rng.next();
      r.src_port = static_cast<uint16_t>(e);
      r.dst_port = static_cast<uint16_t>(e >> 16);
      r.tcp_flags = static_cast<uint8_t>(e >> 32);
      r.protocol = static_cast<uint8_t>(e >> 40);
      r.tos = static_cast<uint8_t>(e >> 48);
      r.src_mask = static_cast<uint8_t>(e >> 56);
      uint64_t f = rng.next();
      r.src_as = static_cast<uint16_t>(f);
      r.dst_as = static_cast<uint16_t>(f >> 16);
      r.dst_mask = static_cast<uint8_t>(f >> 32);
    }
    std::vector<uint8_t> buf(v5::kMaxPduSize);
    const size_t len = v5::encode_v5(h, recs.data(), n, buf.data(), buf.size());
    REQUIRE(len == v5::pdu_size(n));
    DatagramShape shape = validate_datagram(buf.data(), len, opt);
    REQUIRE(shape.reject == Reject::kNone);
    REQUIRE(shape.pdus == 1);
    decode_pdu(buf.data(), len, 0, 0, opt, &pdu);
    REQUIRE(pdu.count == n);
    const v5::Header& g = pdu.header;
    CHECK(g.version == 5);
    CHECK(g.count == n);
    CHECK(g.sys_uptime_ms == h.sys_uptime_ms);
    CHECK(g.unix_secs == h.unix_secs);
    CHECK(g.unix_nsecs == h.unix_nsecs);
    CHECK(g.flow_sequence == h.flow_sequence);
    CHECK(g.engine_type == h.engine_type);
    CHECK(g.engine_id == h.engine_id);
    CHECK(g.sampling_raw == h.sampling_raw);
    for (size_t i = 0; i < n; ++i) {
      const v5::Record &w = recs[i], &r = pdu.records[i];
      INFO("iteration " << iter << " record " << i);
      CHECK(r.src_addr == w.src_addr);
      CHECK(r.dst_addr == w.dst_addr);
      CHECK(r.nexthop == w.nexthop);
      CHECK(r.input == w.input);
      CHECK(r.output == w.output);
      CHECK(r.packets == w.packets);
      CHECK(r.octets == w.octets);
      CHECK(r.first_raw == w.first_raw);
      CHECK(r.last_raw == w.last_raw);
      CHECK(r.src_port == w.src_port);
      CHECK(r.dst_port == w.dst_port);
      CHECK(r.tcp_flags == w.tcp_flags);
      CHECK(r.protocol == w.protocol);
      CHECK(r.tos == w.tos);
      CHECK(r.src_as == w.src_as);
      CHECK(r.dst_as == w.dst_as);
      CHECK(r.src_mask == w.src_mask);
      CHECK(r.dst_mask == w.dst_mask);
    }
  }
}
