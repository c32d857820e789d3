// aggregate.key: parsing the field list (KeySchema) and packing records into
// keys (KeyPacker), then decoding them back to text as the sinks do.
#include <catch2/catch.hpp>

#include <cstring>

#include "aggregate/agg_table.h"
#include "aggregate/key_codec.h"

using namespace ringflow;

namespace {

v5::Record sample_record() {
  v5::Record r;
  r.src_addr = 0x0A010203;  // 10.1.2.3
  r.dst_addr = 0xC0000281;  // 192.0.2.129
  r.nexthop = 0xC6336401;   // 198.51.100.1
  r.input = 7;
  r.output = 65535;
  r.src_port = 443;
  r.dst_port = 51234;
  r.tcp_flags = 0x1b;
  r.protocol = 6;
  r.tos = 0xb8;
  r.src_as = 64512;
  r.dst_as = 13335;
  r.src_mask = 24;
  r.dst_mask = 25;
  return r;
}

FlowContext sample_ctx() {
  FlowContext c;
  c.exporter = *IpAddr::parse("203.0.113.77");
  c.engine_type = 1;
  c.engine_id = 42;
  return c;
}

std::vector<std::string> texts(const std::vector<std::string>& key, const v5::Record& r,
                               const FlowContext& ctx) {
  KeySchema s;
  std::string err;
  REQUIRE(KeySchema::parse(key, &s, &err));
  KeyPacker p(s);
  uint64_t w[kMaxKeyWords];
  p.pack(r, ctx, w);
  return key_field_texts(s, reinterpret_cast<const uint8_t*>(w));
}

}  // namespace

TEST_CASE("Default key is the 5-tuple", "[key]") {
  // "Default: the 5-tuple (src_addr, dst_addr, src_port, dst_port, protocol)."
  KeySchema s;
  REQUIRE(s.fields().size() == 5);
  CHECK(s.str() == "src_addr,dst_addr,src_port,dst_port,protocol");
  CHECK(s.key_bytes() == 13);
  CHECK(s.key_words() == 2);
}

TEST_CASE("Every field parses, packs and decodes back", "[key]") {
  std::vector<std::string> all;
  for (const KeyFieldInfo& i : kKeyFieldInfo) all.emplace_back(i.name);
  KeySchema s;
  REQUIRE(KeySchema::parse(all, &s, nullptr));
  CHECK(s.key_bytes() == 47);
  CHECK(s.key_words() == kMaxKeyWords);
  auto t = texts(all, sample_record(), sample_ctx());
  std::vector<std::string> want = {"10.1.2.3", "192.0.2.129", "198.51.100.1", "443", "51234", "6",
                                   "184", "27", "7", "65535", "64512", "13335", "24", "25",
                                   "203.0.113.77", "1", "42"};
  CHECK(t == want);
}

TEST_CASE("The 5-tuple fast path packs the same layout as the general path", "[key]") {
  // The default key is packed in registers; its bytes must sit where the
  // schema says, exactly as the general path puts them.
  auto r = sample_record();
  CHECK(texts({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"}, r, sample_ctx()) ==
        std::vector<std::string>{"10.1.2.3", "192.0.2.129", "443", "51234", "6"});
  KeySchema fast, general;
  REQUIRE(KeySchema::parse({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"}, &fast,
                           nullptr));
  // Same bytes plus one more field: the general path; its first 13 bytes
  // must equal the fast path's.
  REQUIRE(KeySchema::parse({"src_addr", "dst_addr", "src_port", "dst_port", "protocol", "tos"},
                           &general, nullptr));
  uint64_t a[kMaxKeyWords] = {}, b[kMaxKeyWords] = {};
  KeyPacker(fast).pack(r, sample_ctx(), a);
  KeyPacker(general).pack(r, sample_ctx(), b);
  CHECK(std::memcmp(a, b, 13) == 0);
  CHECK(reinterpret_cast<uint8_t*>(b)[13] == r.tos);
  CHECK((a[1] >> 40) == 0);  // unused bytes are zero
}

TEST_CASE("Key order follows the configuration", "[key]") {
  auto t = texts({"protocol", "dst_port", "src_addr"}, sample_record(), sample_ctx());
  CHECK(t == std::vector<std::string>{"6", "51234", "10.1.2.3"});
}

TEST_CASE("Prefix lengths aggregate addresses into networks", "[key]") {
  // "optional prefix lengths to aggregate addresses into networks (e.g. src_addr/24)"
  auto r = sample_record();
  CHECK(texts({"src_addr/24", "dst_addr/25", "nexthop/0"}, r, sample_ctx()) ==
        std::vector<std::string>{"10.1.2.0/24", "192.0.2.128/25", "0.0.0.0/0"});
  CHECK(texts({"src_addr/32"}, r, sample_ctx()) == std::vector<std::string>{"10.1.2.3/32"});
  CHECK(texts({"src_addr/13"}, r, sample_ctx()) == std::vector<std::string>{"10.0.0.0/13"});

  // Two hosts of one /24 pack to the same key; a host of the next /24 not.
  KeySchema s;
  REQUIRE(KeySchema::parse({"src_addr/24"}, &s, nullptr));
  KeyPacker p(s);
  uint64_t a[kMaxKeyWords], b[kMaxKeyWords], c[kMaxKeyWords];
  auto r2 = r, r3 = r;
  r2.src_addr = 0x0A0102FE;
  r3.src_addr = 0x0A010303;
  p.pack(r, sample_ctx(), a);
  p.pack(r2, sample_ctx(), b);
  p.pack(r3, sample_ctx(), c);
  CHECK(a[0] == b[0]);
  CHECK(a[0] != c[0]);
}

TEST_CASE("Exporter prefixes apply to IPv4 and IPv6 exporters", "[key]") {
  auto ctx = sample_ctx();
  CHECK(texts({"exporter/16"}, sample_record(), ctx) == std::vector<std::string>{"203.0.0.0/16"});
  // Beyond 32 an IPv4 exporter keeps its whole address.
  CHECK(texts({"exporter/64"}, sample_record(), ctx) ==
        std::vector<std::string>{"203.0.113.77/64"});
  ctx.exporter = *IpAddr::parse("2001:db8:aaaa:bbbb::1");
  CHECK(texts({"exporter/48"}, sample_record(), ctx) ==
        std::vector<std::string>{"2001:db8:aaaa::/48"});
  CHECK(texts({"exporter"}, sample_record(), ctx) ==
        std::vector<std::string>{"2001:db8:aaaa:bbbb::1"});
}

TEST_CASE("Empty key packs every record to the same key (one totals row)", "[key]") {
  // "An empty key gives one row per interval (totals)."
  KeySchema s;
  REQUIRE(KeySchema::parse({}, &s, nullptr));
  CHECK(s.empty());
  CHECK(s.key_words() == 1);
  KeyPacker p(s);
  uint64_t a[kMaxKeyWords], b[kMaxKeyWords];
  auto r = sample_record();
  p.pack(r, sample_ctx(), a);
  r.src_addr ^= 0xFFFF;
  r.dst_port = 1;
  auto ctx = sample_ctx();
  ctx.engine_id = 9;
  p.pack(r, ctx, b);
  CHECK(a[0] == 0);
  CHECK(b[0] == 0);
}

TEST_CASE("Keys differing in any single field pack differently", "[key]") {
  std::vector<std::string> all;
  for (const KeyFieldInfo& i : kKeyFieldInfo) all.emplace_back(i.name);
  KeySchema s;
  REQUIRE(KeySchema::parse(all, &s, nullptr));
  KeyPacker p(s);
  uint64_t base[kMaxKeyWords];
  p.pack(sample_record(), sample_ctx(), base);
  for (size_t f = 0; f < kKeyFieldCount; ++f) {
    auto r = sample_record();
    auto ctx = sample_ctx();
    switch (static_cast<KeyField>(f)) {
      case KeyField::kSrcAddr: r.src_addr ^= 1; break;
      case KeyField::kDstAddr: r.dst_addr ^= 1; break;
      case KeyField::kNextHop: r.nexthop ^= 1; break;
      case KeyField::kSrcPort: r.src_port ^= 1; break;
      case KeyField::kDstPort: r.dst_port ^= 1; break;
      case KeyField::kProtocol: r.protocol ^= 1; break;
      case KeyField::kTos: r.tos ^= 1; break;
      case KeyField::kTcpFlags: r.tcp_flags ^= 1; break;
      case KeyField::kInput: r.input ^= 1; break;
      case KeyField::kOutput: r.output ^= 1; break;
      case KeyField::kSrcAs: r.src_as ^= 1; break;
      case KeyField::kDstAs: r.dst_as ^= 1; break;
      case KeyField::kSrcMask: r.src_mask ^= 1; break;
      case KeyField::kDstMask: r.dst_mask ^= 1; break;
      case KeyField::kExporter: ctx.exporter.bytes[15] ^= 1; break;
      case KeyField::kEngineType: ctx.engine_type ^= 1; break;
      case KeyField::kEngineId: ctx.engine_id ^= 1; break;
    }
    uint64_t k[kMaxKeyWords];
    p.pack(r, ctx, k);
    INFO("field " << kKeyFieldInfo[f].name);
    CHECK(std::memcmp(k, base, sizeof k) != 0);
    CHECK(hash_key(k, s.key_words()) != hash_key(base, s.key_words()));
  }
}

TEST_CASE("Bad key entries are rejected with a sentence naming them", "[key]") {
  KeySchema s;
  REQUIRE(KeySchema::parse({"protocol"}, &s, nullptr));
  std::string err;
  CHECK_FALSE(KeySchema::parse({"src_adr"}, &s, &err));
  CHECK_THAT(err, Catch::Contains("src_adr") && Catch::Contains("src_addr"));
  CHECK_FALSE(KeySchema::parse({"src_port/8"}, &s, &err));
  CHECK_THAT(err, Catch::Contains("src_port/8") && Catch::Contains("only allowed"));
  CHECK_FALSE(KeySchema::parse({"src_addr/33"}, &s, &err));
  CHECK_THAT(err, Catch::Contains("0..32"));
  CHECK_FALSE(KeySchema::parse({"exporter/129"}, &s, &err));
  CHECK_THAT(err, Catch::Contains("0..128"));
  CHECK_FALSE(KeySchema::parse({"src_addr/"}, &s, &err));
  CHECK_FALSE(KeySchema::parse({"src_addr/2x"}, &s, &err));
  CHECK_FALSE(KeySchema::parse({"src_addr/-1"}, &s, &err));
  CHECK_FALSE(KeySchema::parse({"dst_port", "dst_port"}, &s, &err));
  CHECK_THAT(err, Catch::Contains("twice"));
  CHECK_FALSE(KeySchema::parse({"src_addr/24", "src_addr/16"}, &s, &err));
  // A failed parse leaves the output untouched.
  CHECK(s.str() == "protocol");
}
