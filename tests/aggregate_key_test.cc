// aggregate.key: parsing the field list (KeySchema) and packing records into
// keys (KeyPacker) in the narrow (IPv4) and wide (IPv6) layouts, then decoding
// them back to text as the sinks do.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>

#include "aggregate/agg_table.h"
#include "aggregate/key_codec.h"
#include "enrich/catalogue.h"
#include "enrich/names.h"

using namespace ringflow;

namespace {

IpAddr v4(const char* s) { return *IpAddr::parse(s); }

// The enrich stage's output for sample_record (src/pipeline/enrich_stage.h):
// network tuples, AS organisations, countries and AS sources.
uint16_t tuple(const char* name, const char* role, const char* site, const char* region,
               const char* tenant) {
  auto& n = enrich::names();
  return *enrich::intern_net_tuple(
      {*n.intern(name), *n.intern(role), *n.intern(site), *n.intern(region), *n.intern(tenant)});
}
void enrich_sample(FlowRecord& r) {
  r.enrich[kEnrichSrcNet] = tuple("cust-acme", "customer", "par1", "eu-west", "acme");
  r.enrich[kEnrichDstNet] = tuple("transit, \"one\"", "transit", "", "", "");
  r.enrich[kEnrichSrcCountry] = 'N' | 'L' << 8;
  r.enrich[kEnrichDstCountry] = 0;
  enrich::as_names().set(64512, *enrich::names().intern("Acme AS"));
  r.as_sources = static_cast<uint8_t>(2u << kFlowSrcAsSourceShift | 1u << kFlowDstAsSourceShift);
}

FlowRecord sample_record() {
  FlowRecord r;
  r.src = v4("10.1.2.3");
  r.dst = v4("192.0.2.129");
  r.nexthop = v4("198.51.100.1");
  r.ip_version = 4;
  r.input = 7;
  r.output = 100065;
  r.src_port = 443;
  r.dst_port = 51234;
  r.tcp_flags = 0x1b;
  r.protocol = 6;
  r.tos = 0xb8;
  r.src_as = 64512;
  r.dst_as = 4200000000u;
  r.src_mask = 24;
  r.dst_mask = 25;
  r.direction = kDirectionEgress;
  r.vlan = 42;
  r.sampler_id = 3;
  r.sampling = 100;
  enrich_sample(r);
  return r;
}

FlowRecord sample_v6() {
  FlowRecord r = sample_record();
  r.src = v4("2001:db8:aaaa:bbbb::1");
  r.dst = v4("2001:db8:cccc::2");
  r.nexthop = v4("fe80::1");
  r.ip_version = 6;
  return r;
}

// A catalogue entry (src/enrich/catalogue.h) for the exporter of sample_ctx():
// interface 7 listed, every other ifIndex the `unlisted` entry.
uint32_t id(const char* s) { return *enrich::names().intern(s); }
const enrich::ExporterEntry& sample_exporter(bool other = false) {
  static const auto make = [](bool o) {
    auto e = std::make_unique<enrich::ExporterEntry>();
    e->name = id(o ? "edge2" : "edge1");
    e->site = id(o ? "fra1" : "par1");
    e->role = id(o ? "core" : "edge");
    e->region = o ? id("eu-central") : 0;
    e->tenant = o ? id("t2") : 0;
    e->unlisted.boundary = id(o ? "external" : "internal");
    e->unlisted.provider = o ? id("p2") : 0;
    e->unlisted.name = o ? id("unl") : 0;
    e->unlisted.description = o ? id("d2") : 0;
    e->unlisted.speed = o ? 1 : 0;
    e->unlisted.connectivity = o ? id("c2") : 0;
    enrich::IfaceEntry i;
    i.name = id(o ? "xe-9" : "xe-0/0/7");
    i.description = id(o ? "other" : "uplink, \"a\"");
    i.speed = o ? 100 : 10000;
    i.boundary = id(o ? "internal" : "external");
    i.provider = id(o ? "lumen" : "cogent");
    i.connectivity = id(o ? "pni" : "transit");
    e->index({{7, i}});
    return e;
  };
  static const auto a = make(false), b = make(true);
  return other ? *b : *a;
}

FlowContext sample_ctx() {
  FlowContext c;
  c.catalogue = &sample_exporter();
  c.exporter = *IpAddr::parse("203.0.113.77");
  c.domain = 1u << 8 | 42;  // engine_type 1, engine_id 42
  c.version = 9;
  return c;
}

std::vector<std::string> texts(const std::vector<std::string>& key, const FlowRecord& r,
                               const FlowContext& ctx, uint8_t* layout_out = nullptr) {
  KeySchema s;
  std::string err;
  REQUIRE(KeySchema::parse(key, &s, &err));
  KeyPacker p(s);
  uint64_t w[kMaxKeyWords];
  const uint8_t layout = p.pack(r, ctx, w);
  if (layout_out) *layout_out = layout;
  return key_field_texts(s, layout, reinterpret_cast<const uint8_t*>(w));
}

std::vector<std::string> all_fields() {
  std::vector<std::string> all;
  for (const KeyFieldInfo& i : kKeyFieldInfo) all.emplace_back(i.name);
  return all;
}

}  // namespace

TEST_CASE("Default key is the 5-tuple", "[key]") {
  // "Default: the 5-tuple (src_addr, dst_addr, src_port, dst_port, protocol)."
  KeySchema s;
  REQUIRE(s.fields().size() == 5);
  CHECK(s.str() == "src_addr,dst_addr,src_port,dst_port,protocol");
  CHECK(s.key_bytes(kNarrow) == 13);
  CHECK(s.key_words(kNarrow) == 2);  // one cache line per slot with the counters
  CHECK(s.key_bytes(kWide) == 37);
  CHECK(s.key_words(kWide) == 5);
  CHECK(s.two_layouts());
}

TEST_CASE("Every field parses, packs and decodes back, narrow and wide", "[key]") {
  KeySchema s;
  REQUIRE(KeySchema::parse(all_fields(), &s, nullptr));
  CHECK(s.key_bytes(kNarrow) == 72 + 54 + 68);
  CHECK(s.key_bytes(kWide) == 108 + 54 + 68);
  CHECK(s.key_words(kWide) == kMaxKeyWords);
  uint8_t layout;
  auto t = texts(all_fields(), sample_record(), sample_ctx(), &layout);
  CHECK(layout == kNarrow);
  std::vector<std::string> want = {"10.1.2.3", "192.0.2.129", "198.51.100.1", "443", "51234", "6",
                                   "184", "27", "7", "100065", "64512", "4200000000", "24", "25",
                                   "203.0.113.77", "1", "42", "4", "1", "42", "298", "3", "9",
                                   "100",
                                   // enrichment: names exactly, unknown ones empty
                                   "cust-acme", "transit, \"one\"", "customer", "transit", "par1",
                                   "", "eu-west", "", "acme", "", "Acme AS", "", "NL", "",
                                   "networks", "record",
                                   // the catalogue: exporter, input 7 listed, output not
                                   "edge1", "par1", "", "edge", "", "xe-0/0/7", "",
                                   "uplink, \"a\"", "", "10000", "0", "external", "internal",
                                   "cogent", "", "transit", ""};
  CHECK(t == want);
  t = texts(all_fields(), sample_v6(), sample_ctx(), &layout);
  CHECK(layout == kWide);
  want[0] = "2001:db8:aaaa:bbbb::1";
  want[1] = "2001:db8:cccc::2";
  want[2] = "fe80::1";
  want[17] = "6";
  CHECK(t == want);
}

TEST_CASE("A record is packed wide as soon as one of its key addresses is IPv6", "[key]") {
  // 6PE / SRv6: IPv4 addresses with an IPv6 next hop.
  FlowRecord r = sample_record();
  r.nexthop = v4("2001:db8::99");
  uint8_t layout;
  CHECK(texts({"src_addr", "nexthop"}, r, sample_ctx(), &layout) ==
        std::vector<std::string>{"10.1.2.3", "2001:db8::99"});
  CHECK(layout == kWide);
  // Without nexthop in the key the record stays narrow.
  CHECK(texts({"src_addr", "dst_addr"}, r, sample_ctx(), &layout) ==
        std::vector<std::string>{"10.1.2.3", "192.0.2.129"});
  CHECK(layout == kNarrow);
  // A record without addresses (no address element) is narrow 0.0.0.0.
  FlowRecord none;
  CHECK(texts({"src_addr"}, none, sample_ctx(), &layout) == std::vector<std::string>{"0.0.0.0"});
  CHECK(layout == kNarrow);
}

TEST_CASE("The 5-tuple fast path packs the same layout as the general path", "[key]") {
  // The default key is packed in registers; its bytes must sit where the
  // schema says, exactly as the general path puts them.
  auto r = sample_record();
  KeySchema fast, general;
  REQUIRE(KeySchema::parse({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"}, &fast,
                           nullptr));
  REQUIRE(KeySchema::parse({"src_addr", "dst_addr", "src_port", "dst_port", "protocol", "tos"},
                           &general, nullptr));
  // Wide with one IPv4 (v4-mapped) address, and with one address absent.
  FlowRecord mixed = sample_v6();
  mixed.src = r.src;
  FlowRecord absent = sample_v6();
  absent.dst = IpAddr{};
  for (const FlowRecord& rec : {r, sample_v6(), mixed, absent}) {
    uint64_t a[kMaxKeyWords] = {}, b[kMaxKeyWords] = {};
    const uint8_t la = KeyPacker(fast).pack(rec, sample_ctx(), a);
    const uint8_t lb = KeyPacker(general).pack(rec, sample_ctx(), b);
    REQUIRE(la == lb);
    const uint32_t n = fast.key_bytes(la);
    CHECK(std::memcmp(a, b, n) == 0);
    CHECK(reinterpret_cast<uint8_t*>(b)[n] == rec.tos);
    // Unused bytes are zero.
    const uint8_t* ab = reinterpret_cast<const uint8_t*>(a);
    for (uint32_t i = n; i < fast.key_words(la) * 8; ++i) CHECK(ab[i] == 0);
  }
}

TEST_CASE("Key order follows the configuration", "[key]") {
  auto t = texts({"protocol", "dst_port", "src_addr"}, sample_record(), sample_ctx());
  CHECK(t == std::vector<std::string>{"6", "51234", "10.1.2.3"});
}

TEST_CASE("Prefix lengths aggregate addresses into networks, per family", "[key]") {
  // "Prefix aggregation takes a length for each family (e.g. src_addr/24/64)."
  auto r = sample_record();
  CHECK(texts({"src_addr/24", "dst_addr/25", "nexthop/0"}, r, sample_ctx()) ==
        std::vector<std::string>{"10.1.2.0/24", "192.0.2.128/25", "0.0.0.0/0"});
  CHECK(texts({"src_addr/32"}, r, sample_ctx()) == std::vector<std::string>{"10.1.2.3/32"});
  CHECK(texts({"src_addr/13"}, r, sample_ctx()) == std::vector<std::string>{"10.0.0.0/13"});
  // "/N" alone leaves IPv6 whole; "/N/M" cuts both.
  auto v6 = sample_v6();
  CHECK(texts({"src_addr/24"}, v6, sample_ctx()) ==
        std::vector<std::string>{"2001:db8:aaaa:bbbb::1"});
  CHECK(texts({"src_addr/24/48", "dst_addr/8/0"}, v6, sample_ctx()) ==
        std::vector<std::string>{"2001:db8:aaaa::/48", "::/0"});
  CHECK(texts({"src_addr/24/48"}, r, sample_ctx()) == std::vector<std::string>{"10.1.2.0/24"});

  // Two hosts of one /24 pack to the same key; a host of the next /24 not.
  // Two IPv6 hosts of one /64 likewise.
  KeySchema s;
  REQUIRE(KeySchema::parse({"src_addr/24/64"}, &s, nullptr));
  CHECK(s.str() == "src_addr/24/64");
  KeyPacker p(s);
  auto key = [&](const char* addr) {
    FlowRecord x = sample_record();
    x.src = v4(addr);
    uint64_t w[kMaxKeyWords] = {};
    const uint8_t l = p.pack(x, sample_ctx(), w);
    return std::vector<uint64_t>(w, w + s.key_words(l));
  };
  CHECK(key("10.1.2.3") == key("10.1.2.254"));
  CHECK(key("10.1.2.3") != key("10.1.3.3"));
  CHECK(key("2001:db8:1:2::5") == key("2001:db8:1:2:ffff::9"));
  CHECK(key("2001:db8:1:2::5") != key("2001:db8:1:3::5"));
}

TEST_CASE("Exporter prefixes apply to IPv4 and IPv6 exporters", "[key]") {
  auto ctx = sample_ctx();
  CHECK(texts({"exporter/16"}, sample_record(), ctx) == std::vector<std::string>{"203.0.0.0/16"});
  // Beyond 32 an IPv4 exporter keeps its whole address.
  CHECK(texts({"exporter/64"}, sample_record(), ctx) ==
        std::vector<std::string>{"203.0.113.77/32"});
  ctx.exporter = *IpAddr::parse("2001:db8:aaaa:bbbb::1");
  CHECK(texts({"exporter/48"}, sample_record(), ctx) ==
        std::vector<std::string>{"2001:db8:aaaa::/48"});
  CHECK(texts({"exporter"}, sample_record(), ctx) ==
        std::vector<std::string>{"2001:db8:aaaa:bbbb::1"});
  CHECK(texts({"exporter/8/32"}, sample_record(), ctx) ==
        std::vector<std::string>{"2001:db8::/32"});
}

TEST_CASE("Empty key packs every record to the same key (one totals row)", "[key]") {
  // "An empty key gives one row per interval (totals)."
  KeySchema s;
  REQUIRE(KeySchema::parse({}, &s, nullptr));
  CHECK(s.empty());
  CHECK(s.key_words() == 1);
  CHECK_FALSE(s.two_layouts());
  KeyPacker p(s);
  uint64_t a[kMaxKeyWords], b[kMaxKeyWords];
  CHECK(p.pack(sample_record(), sample_ctx(), a) == kNarrow);
  auto ctx = sample_ctx();
  ctx.domain = 9;
  CHECK(p.pack(sample_v6(), ctx, b) == kNarrow);
  CHECK(a[0] == 0);
  CHECK(b[0] == 0);
}

TEST_CASE("Keys differing in any single field pack differently", "[key]") {
  KeySchema s;
  REQUIRE(KeySchema::parse(all_fields(), &s, nullptr));
  KeyPacker p(s);
  for (bool wide : {false, true}) {
    const FlowRecord rec = wide ? sample_v6() : sample_record();
    uint64_t base[kMaxKeyWords] = {};
    const uint8_t layout = p.pack(rec, sample_ctx(), base);
    for (size_t f = 0; f < kKeyFieldCount; ++f) {
      auto r = rec;
      auto ctx = sample_ctx();
      switch (static_cast<KeyField>(f)) {
        case KeyField::kSrcAddr: r.src.bytes[15] ^= 1; break;
        case KeyField::kDstAddr: r.dst.bytes[15] ^= 1; break;
        case KeyField::kNextHop: r.nexthop.bytes[15] ^= 1; break;
        case KeyField::kSrcPort: r.src_port ^= 1; break;
        case KeyField::kDstPort: r.dst_port ^= 1; break;
        case KeyField::kProtocol: r.protocol ^= 1; break;
        case KeyField::kTos: r.tos ^= 1; break;
        case KeyField::kTcpFlags: r.tcp_flags ^= 1; break;
        case KeyField::kInput: r.input ^= 1u << 20; break;
        case KeyField::kOutput: r.output ^= 1; break;
        case KeyField::kSrcAs: r.src_as ^= 1u << 30; break;
        case KeyField::kDstAs: r.dst_as ^= 1; break;
        case KeyField::kSrcMask: r.src_mask ^= 1; break;
        case KeyField::kDstMask: r.dst_mask ^= 1; break;
        case KeyField::kExporter: ctx.exporter.bytes[15] ^= 1; break;
        case KeyField::kEngineType: ctx.domain ^= 1u << 8; break;
        case KeyField::kEngineId: ctx.domain ^= 1; break;
        case KeyField::kIpVersion: r.ip_version ^= 2; break;
        case KeyField::kDirection: r.direction ^= 1; break;
        case KeyField::kVlan: r.vlan ^= 1u << 11; break;
        case KeyField::kDomain: ctx.domain ^= 1u << 24; break;
        case KeyField::kSampler: r.sampler_id ^= 1; break;
        case KeyField::kVersion: ctx.version = 10; break;
        case KeyField::kSampling: r.sampling ^= 1; break;
        case KeyField::kSrcNet:
        case KeyField::kSrcNetRole:
        case KeyField::kSrcNetSite:
        case KeyField::kSrcNetRegion:
        case KeyField::kSrcNetTenant:
          r.enrich[kEnrichSrcNet] = tuple("other", "other-role", "s", "r", "t");
          break;
        case KeyField::kDstNet:
        case KeyField::kDstNetRole:
        case KeyField::kDstNetSite:
        case KeyField::kDstNetRegion:
        case KeyField::kDstNetTenant:
          r.enrich[kEnrichDstNet] = tuple("other", "other-role", "s", "r", "t");
          break;
        case KeyField::kSrcAsName: r.src_as = 4200000000u; break;
        case KeyField::kDstAsName: r.dst_as = 64512; break;
        case KeyField::kSrcCountry: r.enrich[kEnrichSrcCountry] ^= 1; break;
        case KeyField::kDstCountry: r.enrich[kEnrichDstCountry] ^= 1; break;
        case KeyField::kSrcAsSource: r.as_sources ^= 1u << kFlowSrcAsSourceShift; break;
        case KeyField::kDstAsSource: r.as_sources ^= 1u << kFlowDstAsSourceShift; break;
        case KeyField::kExporterName:
        case KeyField::kExporterSite:
        case KeyField::kExporterRegion:
        case KeyField::kExporterRole:
        case KeyField::kExporterTenant:
        case KeyField::kInIfName:
        case KeyField::kOutIfName:
        case KeyField::kInIfDescription:
        case KeyField::kOutIfDescription:
        case KeyField::kInIfSpeed:
        case KeyField::kOutIfSpeed:
        case KeyField::kInIfBoundary:
        case KeyField::kOutIfBoundary:
        case KeyField::kInIfProvider:
        case KeyField::kOutIfProvider:
        case KeyField::kInIfConnectivity:
        case KeyField::kOutIfConnectivity: ctx.catalogue = &sample_exporter(true); break;
      }
      uint64_t k[kMaxKeyWords] = {};
      const uint8_t l = p.pack(r, ctx, k);
      INFO("field " << kKeyFieldInfo[f].name << (wide ? " (wide)" : " (narrow)"));
      REQUIRE(l == layout);
      CHECK(std::memcmp(k, base, sizeof k) != 0);
      CHECK(hash_key(k, s.key_words(l)) != hash_key(base, s.key_words(l)));
    }
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
  CHECK_FALSE(KeySchema::parse({"src_addr/24/129"}, &s, &err));
  CHECK_THAT(err, Catch::Contains("0..128"));
  CHECK_FALSE(KeySchema::parse({"src_addr/33/64"}, &s, &err));
  CHECK_FALSE(KeySchema::parse({"src_addr/24/"}, &s, &err));
  CHECK_FALSE(KeySchema::parse({"src_addr/24/64/8"}, &s, &err));
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
