// Datagram validation: each rejection reason on a hand-built datagram, a
// datagram cut at every byte offset, packed PDUs and trailing bytes.
//
// Every datagram is copied into a heap buffer of exactly its length before it
// is decoded, so that under ASan any read past the datagram is a failure.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "decode/v5_decoder.h"
#include "gen/v5_encoder.h"

namespace ringflow {
namespace {

v5::Header header(uint16_t count, uint32_t seq = 1000) {
  v5::Header h;
  h.version = v5::kVersion;
  h.count = count;
  h.sys_uptime_ms = 3600000;
  h.unix_secs = 1700000000;
  h.unix_nsecs = 250000000;
  h.flow_sequence = seq;
  h.engine_type = 1;
  h.engine_id = 2;
  return h;
}

v5::Record record(uint32_t i) {
  v5::Record r;
  r.src_addr = 0x0A000000 + i;
  r.dst_addr = 0xC0000200 + i;
  r.nexthop = 0x0A0000FE;
  r.input = static_cast<uint16_t>(i);
  r.output = static_cast<uint16_t>(i + 1);
  r.packets = 10 + i;
  r.octets = 1000 + i;
  r.first_raw = 3590000 + i;
  r.last_raw = 3599000 + i;
  r.src_port = static_cast<uint16_t>(1024 + i);
  r.dst_port = 443;
  r.tcp_flags = 0x1b;
  r.protocol = 6;
  r.tos = 0;
  r.src_as = 64500;
  r.dst_as = 64501;
  r.src_mask = 24;
  r.dst_mask = 16;
  return r;
}

std::vector<uint8_t> pdu(uint16_t count, uint32_t seq = 1000) {
  std::vector<v5::Record> recs;
  for (uint32_t i = 0; i < count; ++i) recs.push_back(record(seq + i));
  std::vector<uint8_t> out(v5::pdu_size(count));
  REQUIRE(v5::encode_v5(header(count, seq), recs.data(), recs.size(), out.data(), out.size()) ==
          out.size());
  return out;
}

// Exact-size heap copy (so ASan sees any overread).
struct Exact {
  std::unique_ptr<uint8_t[]> buf;
  size_t len;
  explicit Exact(const std::vector<uint8_t>& v, size_t n) : buf(new uint8_t[n ? n : 1]), len(n) {
    std::copy(v.begin(), v.begin() + static_cast<ptrdiff_t>(n), buf.get());
  }
  explicit Exact(const std::vector<uint8_t>& v) : Exact(v, v.size()) {}
};

DatagramShape validate(const std::vector<uint8_t>& v, const DecodeOptions& opt = {}) {
  Exact e(v);
  return validate_datagram(e.buf.get(), e.len, opt);
}

std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("validation: a well-formed PDU is one accepted PDU", "[decode][validation]") {
  for (uint16_t n : {1, 2, 29, 30}) {
    DatagramShape s = validate(pdu(n));
    CHECK(s.reject == Reject::kNone);
    CHECK(s.pdus == 1);
    CHECK_FALSE(s.trailing);
  }
}

// "shorter than a header; version != 5; count 0; count > 30;
//  length < 24 + 48*count (truncated); length > 24 + 48*count ... trailing bytes"
TEST_CASE("validation: each rejection reason", "[decode][validation]") {
  SECTION("shorter than a 24-byte header") {
    CHECK(validate({}).reject == Reject::kTooShort);
    CHECK(validate(std::vector<uint8_t>(23, 0)).reject == Reject::kTooShort);
  }
  SECTION("version != 5") {
    for (uint16_t v : {0, 1, 7, 9, 10, 0x0500}) {
      auto d = pdu(3);
      v5::patch_v5_version(d.data(), d.size(), v);
      CHECK(validate(d).reject == Reject::kBadVersion);
    }
  }
  SECTION("count 0") {
    auto d = pdu(1);
    d.resize(v5::kHeaderSize);
    v5::patch_v5_count(d.data(), d.size(), 0);
    CHECK(validate(d).reject == Reject::kCountZero);
    d = pdu(1);  // count 0 with a record's worth of bytes behind it
    v5::patch_v5_count(d.data(), d.size(), 0);
    CHECK(validate(d).reject == Reject::kCountZero);
  }
  SECTION("count > 30") {
    for (uint16_t c : {31, 100, 0xFFFF}) {
      auto d = pdu(30);
      v5::patch_v5_count(d.data(), d.size(), c);
      // Even with enough bytes for 31 records.
      d.resize(v5::pdu_size(31), 0);
      CHECK(validate(d).reject == Reject::kCountTooLarge);
    }
  }
  SECTION("truncated: fewer than 24 + 48*count bytes") {
    auto d = pdu(5);
    d.pop_back();
    CHECK(validate(d).reject == Reject::kTruncated);
    d = pdu(5);
    v5::patch_v5_count(d.data(), d.size(), 6);
    CHECK(validate(d).reject == Reject::kTruncated);
  }
  SECTION("trailing bytes that are not a v5 PDU") {
    for (size_t extra : {size_t{1}, size_t{23}, size_t{24}, size_t{47}, size_t{48}, size_t{200}}) {
      auto d = pdu(2);
      d.resize(d.size() + extra, 0xAB);
      INFO("extra " << extra);
      CHECK(validate(d).reject == Reject::kTrailingBytes);
    }
  }
  SECTION("the first failing rule names the reason") {
    auto d = pdu(1);
    v5::patch_v5_version(d.data(), d.size(), 9);
    v5::patch_v5_count(d.data(), d.size(), 0);
    CHECK(validate(d).reject == Reject::kBadVersion);
  }
}

TEST_CASE("validation: a datagram cut at every byte offset", "[decode][validation]") {
  // "a datagram truncated at every byte offset from 0 to its full length"
  const auto full = pdu(30);
  DecodeOptions lenient;
  lenient.accept_trailing = true;
  for (size_t n = 0; n <= full.size(); ++n) {
    Exact e(full, n);
    INFO("length " << n);
    for (const DecodeOptions& opt : {DecodeOptions{}, lenient}) {
      DatagramShape s = validate_datagram(e.buf.get(), n, opt);
      Reject want = n < v5::kHeaderSize ? Reject::kTooShort
                    : n < full.size()   ? Reject::kTruncated
                                        : Reject::kNone;
      CHECK(s.reject == want);
      CHECK(s.pdus == (want == Reject::kNone ? 1 : 0));
      // Decoding a rejected datagram anyway (a caller bug) must stay inside it.
      Pdu out;
      decode_pdu(e.buf.get(), n, 0, 0, opt, &out);
      CHECK(out.count == (want == Reject::kNone ? 30 : 0));
    }
  }
}

TEST_CASE("validation: packed PDUs are decoded too", "[decode][validation]") {
  // "when the rest is itself a complete v5 PDU (some exporters pack several
  //  into one datagram; nfdump decodes them), decode it too"
  auto d = concat(concat(pdu(30, 100), pdu(1, 130)), pdu(7, 131));
  Exact e(d);
  DatagramShape s = validate_datagram(e.buf.get(), e.len, {});
  REQUIRE(s.reject == Reject::kNone);
  REQUIRE(s.pdus == 3);
  CHECK_FALSE(s.trailing);

  Pdu out;
  const uint16_t counts[] = {30, 1, 7};
  const uint32_t seqs[] = {100, 130, 131};
  size_t off = 0;
  for (size_t i = 0; i < 3; ++i) {
    decode_pdu(e.buf.get(), e.len, i, 0, {}, &out);
    CHECK(out.count == counts[i]);
    CHECK(out.header.flow_sequence == seqs[i]);
    CHECK(out.records[out.count - 1].src_addr == 0x0A000000 + seqs[i] + counts[i] - 1);
    // The offset-walking variant agrees.
    Pdu by_off;
    size_t next = decode_pdu_at(e.buf.get(), e.len, off, 0, {}, &by_off);
    CHECK(next == off + v5::pdu_size(counts[i]));
    CHECK(by_off.count == out.count);
    CHECK(by_off.header.flow_sequence == out.header.flow_sequence);
    off = next;
  }
  CHECK(off == e.len);
  // Past the last PDU there is nothing to decode.
  decode_pdu(e.buf.get(), e.len, 3, 0, {}, &out);
  CHECK(out.count == 0);
  CHECK(decode_pdu_at(e.buf.get(), e.len, off, 0, {}, &out) == 0);

  SECTION("a broken second PDU is trailing bytes") {
    auto bad = pdu(2);
    v5::patch_v5_version(bad.data(), bad.size(), 9);
    CHECK(validate(concat(pdu(3), bad)).reject == Reject::kTrailingBytes);
    auto cut = pdu(2);
    cut.pop_back();
    CHECK(validate(concat(pdu(3), cut)).reject == Reject::kTrailingBytes);
  }
}

TEST_CASE("validation: trailing bytes accepted only when configured", "[decode][validation]") {
  // "otherwise trailing bytes — reject by default, a config switch may accept and count them"
  auto d = concat(concat(pdu(4), pdu(2, 1004)), std::vector<uint8_t>(10, 0));
  CHECK(validate(d).reject == Reject::kTrailingBytes);
  DecodeOptions opt;
  opt.accept_trailing = true;
  DatagramShape s = validate(d, opt);
  CHECK(s.reject == Reject::kNone);
  CHECK(s.pdus == 2);
  CHECK(s.trailing);
  Exact e(d);
  Pdu out;
  decode_pdu(e.buf.get(), e.len, 1, 0, opt, &out);
  CHECK(out.count == 2);
  CHECK(out.header.flow_sequence == 1004);
}

TEST_CASE("validation: at most kMaxPdusPerDatagram PDUs", "[decode][validation]") {
  std::vector<uint8_t> d;
  for (size_t i = 0; i < kMaxPdusPerDatagram; ++i) d = concat(d, pdu(1, static_cast<uint32_t>(i)));
  DatagramShape s = validate(d);
  CHECK(s.reject == Reject::kNone);
  CHECK(s.pdus == kMaxPdusPerDatagram);
  d = concat(d, pdu(1, 99));
  CHECK(validate(d).reject == Reject::kTrailingBytes);
  DecodeOptions opt;
  opt.accept_trailing = true;
  s = validate(d, opt);
  CHECK(s.pdus == kMaxPdusPerDatagram);
  CHECK(s.trailing);
}

TEST_CASE("validation: every field decodes from its offset in the field table",
          "[decode][validation]") {
  // Distinct bytes everywhere, so a field read from the wrong offset or with
  // the wrong width cannot match.
  std::vector<uint8_t> d(v5::pdu_size(1));
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(0x10 + i);
  d[0] = 0;
  d[1] = 5;
  d[2] = 0;
  d[3] = 1;
  Exact e(d);
  REQUIRE(validate_datagram(e.buf.get(), e.len, {}).reject == Reject::kNone);
  Pdu out;
  decode_pdu(e.buf.get(), e.len, 0, 0, {}, &out);
  const v5::Header& h = out.header;
  CHECK(h.sys_uptime_ms == 0x14151617u);
  CHECK(h.unix_secs == 0x18191a1bu);
  CHECK(h.unix_nsecs == 0x1c1d1e1fu);
  CHECK(h.flow_sequence == 0x20212223u);
  CHECK(h.engine_type == 0x24);
  CHECK(h.engine_id == 0x25);
  CHECK(h.sampling_raw == 0x2627);
  const v5::Record& r = out.records[0];
  CHECK(r.src_addr == 0x28292a2bu);
  CHECK(r.dst_addr == 0x2c2d2e2fu);
  CHECK(r.nexthop == 0x30313233u);
  CHECK(r.input == 0x3435);
  CHECK(r.output == 0x3637);
  CHECK(r.packets == 0x38393a3bu);
  CHECK(r.octets == 0x3c3d3e3fu);
  CHECK(r.first_raw == 0x40414243u);
  CHECK(r.last_raw == 0x44454647u);
  CHECK(r.src_port == 0x4849);
  CHECK(r.dst_port == 0x4a4b);
  CHECK(r.tcp_flags == 0x4d);  // 0x4c is pad1
  CHECK(r.protocol == 0x4e);
  CHECK(r.tos == 0x4f);
  CHECK(r.src_as == 0x5051);
  CHECK(r.dst_as == 0x5253);
  CHECK(r.src_mask == 0x54);
  CHECK(r.dst_mask == 0x55);  // 0x56, 0x57 are pad2
}

}  // namespace ringflow

namespace ringflow {

// A deterministic mini-fuzz that runs in every ctest (and under ASan in CI),
// complementing the libFuzzer target: mutated datagrams never make validation
// and decoding disagree, and accepted PDUs tile the datagram exactly.
TEST_CASE("validation: mutated datagrams keep validate and decode consistent",
          "[decode][validation]") {
  uint64_t x = 0x2545F4914F6CDD1Dull;
  auto rnd = [&x] {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return static_cast<uint32_t>((x * 0x2545F4914F6CDD1Dull) >> 32);
  };
  const auto seed = concat(concat(pdu(3, 10), pdu(1, 13)), pdu(2, 14));
  DecodeOptions lenient;
  lenient.accept_trailing = true;
  Pdu out;
  size_t accepted = 0, with_trailing = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> d = seed;
    const int edits = 1 + static_cast<int>(rnd() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rnd() % 4) {
        case 0:
          d[rnd() % d.size()] ^= static_cast<uint8_t>(1u << (rnd() % 8));
          break;
        case 1:
          d.resize(rnd() % (d.size() + 1));
          break;
        case 2:
          d.insert(d.end(), rnd() % 100, static_cast<uint8_t>(rnd()));
          break;
        case 3:  // rewrite a count field: the interesting byte
          if (d.size() >= 4) d[3] = static_cast<uint8_t>(rnd() % 33);
          break;
      }
      if (d.empty()) break;
    }
    Exact e(d);
    const DatagramShape s = validate_datagram(e.buf.get(), e.len, {});
    const DatagramShape l = validate_datagram(e.buf.get(), e.len, lenient);
    if (s.reject == Reject::kTrailingBytes) {
      REQUIRE(l.reject == Reject::kNone);
      REQUIRE(l.trailing);
    } else {
      REQUIRE(l.reject == s.reject);
      REQUIRE(l.pdus == s.pdus);
    }
    if (l.reject != Reject::kNone) continue;
    ++accepted;
    with_trailing += l.trailing;
    size_t off = 0;
    for (size_t i = 0; i < l.pdus; ++i) {
      size_t next = decode_pdu_at(e.buf.get(), e.len, off, 0, lenient, &out);
      REQUIRE(next == off + v5::pdu_size(out.count));
      REQUIRE(out.count >= 1);
      off = next;
    }
    REQUIRE((l.trailing ? off < e.len : off == e.len));
  }
  // The mutations reach both outcomes (the test is not vacuous).
  CHECK(accepted > 1000);
  CHECK(with_trailing > 100);
}

}  // namespace ringflow
