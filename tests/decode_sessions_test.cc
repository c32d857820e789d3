// The ordered stage (src/decode/sessions.h) and the plans it compiles, against
// datagrams built by ringflow-gen's encoder (src/gen/template_encoder.h):
// template life cycle (new, refresh, redefinition, withdrawal, expiry), the
// same template id in two domains, data before its template, options
// sampling, every time encoding, reduced-size and variable-length fields,
// sequence tracking in each version's unit, validation by reason, bounds,
// and persistence across a restart.
//
// RFC 7011 8: "Template IDs ... are unique per Transport Session and
// Observation Domain"; "If a Collecting Process receives a Template Withdrawal
// ... it MUST delete the Template"; RFC 3954 5.1: the v9 sequence is
// "Incremental sequence counter of all Export Packets"; RFC 7011 3.1: the
// IPFIX sequence counts "all IPFIX Data Records".
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "decode/record_reader.h"
#include "decode/sessions.h"
#include "decode/state_codec.h"
#include "decode/wire_formats.h"
#include "gen/template_encoder.h"
#include "support/decode_path.h"
#include "wire/bytes.h"
#include "wire/ie.h"
#include "wire/v5.h"

namespace ringflow {
namespace {

// The format id of a NetFlow/IPFIX version number (the tests speak versions).
size_t test_format(uint16_t v) {
  return v == 5 ? kFormatV5 : v == 9 ? kFormatV9 : v == 10 ? kFormatIpfix : kOtherFormatSlot;
}

using gen::FieldSpec;
using gen::MessageBuilder;
using gen::MessageHeader;
using gen::RecordValues;
using gen::TemplateSpec;

constexpr int64_t kNow = 1700000000000;
const IpAddr kExporter = IpAddr::from_v4(0xC0000201);

TemplateSpec v4_template(uint16_t id) {
  TemplateSpec t;
  t.id = id;
  t.fields = {{ie::kSourceIPv4Address, 4},      {ie::kDestinationIPv4Address, 4},
              {ie::kSourceTransportPort, 2},    {ie::kDestinationTransportPort, 2},
              {ie::kProtocolIdentifier, 1},     {ie::kIpClassOfService, 1},
              {ie::kTcpControlBits, 1},         {ie::kIngressInterface, 4},
              {ie::kEgressInterface, 4},        {ie::kPacketDeltaCount, 8},
              {ie::kOctetDeltaCount, 8},        {ie::kFlowStartSysUpTime, 4},
              {ie::kFlowEndSysUpTime, 4},       {ie::kBgpSourceAsNumber, 4},
              {ie::kBgpDestinationAsNumber, 4}, {ie::kSourceIPv4PrefixLength, 1},
              {ie::kDestinationIPv4PrefixLength, 1}, {ie::kIpNextHopIPv4Address, 4},
              {ie::kFlowDirection, 1},          {ie::kVlanId, 2}};
  return t;
}

TemplateSpec v6_template(uint16_t id) {
  TemplateSpec t;
  t.id = id;
  t.fields = {{ie::kSourceIPv6Address, 16},   {ie::kDestinationIPv6Address, 16},
              {ie::kSourceTransportPort, 2},  {ie::kDestinationTransportPort, 2},
              {ie::kProtocolIdentifier, 1},   {ie::kPacketDeltaCount, 8},
              {ie::kOctetDeltaCount, 8},      {ie::kFlowStartMilliseconds, 8},
              {ie::kFlowEndMilliseconds, 8},  {ie::kIpNextHopIPv6Address, 16},
              {ie::kSourceIPv6PrefixLength, 1}, {ie::kDestinationIPv6PrefixLength, 1}};
  return t;
}

FlowRecord flow(uint32_t n, bool v6 = false) {
  FlowRecord r;
  if (v6) {
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(n)};
    r.src = IpAddr::from_v6(a);
    a[15] = static_cast<uint8_t>(n + 100);
    r.dst = IpAddr::from_v6(a);
    a[15] = 1;
    r.nexthop = IpAddr::from_v6(a);
    r.ip_version = 6;
  } else {
    r.src = IpAddr::from_v4(0x0A000000u + n);
    r.dst = IpAddr::from_v4(0xC6336400u + n);
    r.nexthop = IpAddr::from_v4(0x0AFFFF01u);
    r.ip_version = 4;
  }
  r.src_port = static_cast<uint16_t>(40000 + n);
  r.dst_port = 443;
  r.protocol = 6;
  r.tos = 0x10;
  r.tcp_flags = 0x1b;
  r.input = 7 + n;
  r.output = 100000 + n;
  r.packets = 10 + n;
  r.bytes = 15000 + uint64_t{n} * 1000;
  r.src_as = 65000;
  r.dst_as = 4200000000u;
  r.src_mask = 24;
  r.dst_mask = 16;
  r.direction = kDirectionEgress;
  r.vlan = 42;
  r.start_ms = kNow - 5000 - n;
  r.end_ms = kNow - 1000;
  return r;
}

// One datagram under construction.
struct Msg {
  std::vector<uint8_t> buf = std::vector<uint8_t>(9000);
  MessageBuilder b;
  explicit Msg(WireVersion v) : b(v, buf.data(), buf.size()) {}

  Msg& templates(std::initializer_list<TemplateSpec> ts) {
    const bool opt = ts.begin()->options;
    const bool v9 = b.version() == WireVersion::kV9;
    b.begin_set(v9 ? (opt ? 1 : 0) : (opt ? 3 : 2));
    for (const TemplateSpec& t : ts) REQUIRE(b.template_record(t));
    b.end_set();
    return *this;
  }
  // Data records of t for flows, times from `uptime_at_export` (v9 22/21).
  Msg& data(const TemplateSpec& t, const std::vector<FlowRecord>& flows,
            uint32_t uptime_at_export = 3600000, std::string_view var = "",
            uint32_t rate = 0) {
    b.begin_set(t.id);
    for (const FlowRecord& f : flows) {
      RecordValues v;
      v.flow = &f;
      v.export_ms = kNow;
      v.first_uptime_ms = static_cast<uint32_t>(uptime_at_export - (kNow - f.start_ms));
      v.last_uptime_ms = static_cast<uint32_t>(uptime_at_export - (kNow - f.end_ms));
      v.variable = var;
      v.rate = rate;
      const size_t n = gen::record_size(t, v);
      uint8_t* p = b.reserve_record(n);
      REQUIRE(p);
      REQUIRE(gen::encode_record(t, v, p, n) == n);
    }
    b.end_set();
    return *this;
  }
  std::vector<uint8_t> finish(uint32_t seq, uint32_t domain = 0, uint32_t uptime = 3600000) {
    MessageHeader h;
    h.sequence = seq;
    h.domain = domain;
    h.export_secs = static_cast<uint32_t>(kNow / 1000);
    h.sys_uptime_ms = uptime;
    size_t n = b.finish(h);
    return std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(n));
  }
};

struct Harness {
  DecodeConfig cfg;
  SessionCounters counters;
  std::unique_ptr<Sessions> s;
  DecodeOptions v5opts;
  uint16_t next_buf = 0;
  explicit Harness(DecodeConfig c = {}) : cfg(std::move(c)) {
    s = std::make_unique<Sessions>(cfg, 16, 2048, counters);
  }
  std::vector<FlowRecord> records_of(uint16_t buf, const uint8_t* p, size_t len,
                                     std::vector<uint16_t>* tpl = nullptr) {
    std::vector<FlowRecord> out;
    RecordReader r(s->meta(buf), p, len, kNow, v5opts);
    FlowRecord chunk[64];
    RecordChunk c;
    size_t n;
    while ((n = r.next(chunk, 64, &c)) > 0)
      for (size_t i = 0; i < n; ++i) {
        out.push_back(chunk[i]);
        if (tpl) tpl->push_back(c.template_id);
      }
    return out;
  }
  // Admits and, when handed off, decodes and releases. *admit gets the verdict.
  std::vector<FlowRecord> feed(const std::vector<uint8_t>& d, Admit* admit = nullptr,
                               int64_t now = kNow, const IpAddr& exp = kExporter) {
    const uint16_t buf = next_buf++ % 16;
    Admit a = s->admit(d.data(), d.size(), exp, buf, now);
    if (admit) *admit = a;
    std::vector<FlowRecord> out;
    if (a == Admit::kHandOff) {
      out = records_of(buf, d.data(), d.size());
      s->release(buf);
    }
    return out;
  }
  // Held data released since the last call, decoded and released.
  std::vector<FlowRecord> ready() {
    std::vector<FlowRecord> out;
    ReadyDatagram r[16];
    size_t n;
    while ((n = s->take_ready(r, 16)) > 0)
      for (size_t i = 0; i < n; ++i) {
        REQUIRE((s->meta(r[i].buf).flags & kMetaLate) != 0);
        for (const FlowRecord& f : records_of(r[i].buf, r[i].data, r[i].len)) out.push_back(f);
        s->release(r[i].buf);
      }
    return out;
  }
  uint64_t rejects(uint16_t version, Reject r) const {
    return counters.rejects[test_format(version)][static_cast<size_t>(r)].load();
  }
  uint64_t drops(SetDrop d) const { return counters.set_drops[static_cast<size_t>(d)].load(); }
};

void check_same(const FlowRecord& got, const FlowRecord& want) {
  CHECK(got.src == want.src);
  CHECK(got.dst == want.dst);
  CHECK(got.nexthop == want.nexthop);
  CHECK(got.src_port == want.src_port);
  CHECK(got.dst_port == want.dst_port);
  CHECK(got.protocol == want.protocol);
  CHECK(got.packets == want.packets);
  CHECK(got.bytes == want.bytes);
  CHECK(got.start_ms == want.start_ms);
  CHECK(got.end_ms == want.end_ms);
  CHECK(got.ip_version == want.ip_version);
  CHECK(got.src_mask == want.src_mask);
  CHECK(got.dst_mask == want.dst_mask);
}

StreamKey key(uint8_t version, uint32_t domain = 0) {
  StreamKey k;
  k.exporter = kExporter;
  k.format = test_format(version);
  k.domain = domain;
  return k;
}

}  // namespace

TEST_CASE("v9: template then data decodes every mapped field", "[decode][sessions]") {
  RF_DECODE_PATH(GENERATE(DecodePath::kVbmi, DecodePath::kShuffle, DecodePath::kScalar));
  Harness h;
  TemplateSpec t = v4_template(256);
  std::vector<FlowRecord> flows = {flow(1), flow(2), flow(3)};
  Admit a;
  CHECK(h.feed(Msg(WireVersion::kV9).templates({t}).finish(0), &a).empty());
  CHECK(a == Admit::kConsumed);
  std::vector<FlowRecord> got = h.feed(Msg(WireVersion::kV9).data(t, flows).finish(1), &a);
  CHECK(a == Admit::kHandOff);
  REQUIRE(got.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    check_same(got[i], flows[i]);
    CHECK(got[i].tos == flows[i].tos);
    CHECK(got[i].tcp_flags == flows[i].tcp_flags);
    CHECK(got[i].input == flows[i].input);
    CHECK(got[i].output == flows[i].output);
    CHECK(got[i].src_as == flows[i].src_as);
    CHECK(got[i].dst_as == flows[i].dst_as);
    CHECK(got[i].direction == kDirectionEgress);
    CHECK(got[i].vlan == 42);
    CHECK((got[i].flags & kFlowTimeUnknown) == 0);
  }
  CHECK(h.counters.templates_added.load() == 1);
  CHECK(h.counters.data_records.load() == 3);
  CHECK(h.counters.v9_count_mismatch.load() == 0);
}

TEST_CASE("IPFIX: IPv6 template with millisecond times", "[decode][sessions]") {
  RF_DECODE_PATH(GENERATE(DecodePath::kVbmi, DecodePath::kShuffle, DecodePath::kScalar));
  Harness h;
  TemplateSpec t = v6_template(300);
  std::vector<FlowRecord> flows = {flow(1, true), flow(2, true)};
  std::vector<FlowRecord> got = h.feed(Msg(WireVersion::kIpfix).templates({t}).data(t, flows).finish(0));
  REQUIRE(got.size() == 2);
  for (size_t i = 0; i < 2; ++i) check_same(got[i], flows[i]);
  CHECK(got[0].src.str() == "2001:db8::1");
}

TEST_CASE("templates: refresh, redefinition and pinned plans", "[decode][sessions]") {
  Harness h;
  TemplateSpec t = v4_template(256);
  h.feed(Msg(WireVersion::kV9).templates({t}).finish(0));
  const DecodePlan* first = h.s->find_template(key(9), 256);
  REQUIRE(first);
  // The same bytes again: a refresh, the plan is kept.
  h.feed(Msg(WireVersion::kV9).templates({t}).finish(1));
  CHECK(h.s->find_template(key(9), 256) == first);
  CHECK(h.counters.templates_refreshed.load() == 1);

  // A datagram in flight (admitted, not released) keeps its plan while the
  // template is redefined with another layout.
  std::vector<uint8_t> old_data = Msg(WireVersion::kV9).data(t, {flow(5)}).finish(2);
  REQUIRE(h.s->admit(old_data.data(), old_data.size(), kExporter, 9, kNow) == Admit::kHandOff);
  TemplateSpec t2;
  t2.id = 256;
  t2.fields = {{ie::kDestinationIPv4Address, 4}, {ie::kSourceIPv4Address, 4},
               {ie::kOctetDeltaCount, 4}, {ie::kPacketDeltaCount, 4}};
  h.feed(Msg(WireVersion::kV9).templates({t2}).finish(3));
  CHECK(h.counters.templates_redefined.load() == 1);
  CHECK(h.s->find_template(key(9), 256) != first);
  std::vector<FlowRecord> in_flight = h.records_of(9, old_data.data(), old_data.size());
  REQUIRE(in_flight.size() == 1);
  check_same(in_flight[0], flow(5));
  h.s->release(9);
  // New data uses the new layout.
  FlowRecord f = flow(6);
  std::vector<FlowRecord> got = h.feed(Msg(WireVersion::kV9).data(t2, {f}).finish(4));
  REQUIRE(got.size() == 1);
  CHECK(got[0].src == f.src);
  CHECK(got[0].bytes == f.bytes);
  CHECK(got[0].flags & kFlowTimeUnknown);
  CHECK(h.s->templates_installed() == 1);
}

TEST_CASE("IPFIX: withdrawal, withdraw-all, and data after it is held", "[decode][sessions]") {
  Harness h;
  TemplateSpec a = v4_template(256), b = v4_template(257);
  h.feed(Msg(WireVersion::kIpfix).templates({a, b}).finish(0));
  CHECK(h.s->templates_installed() == 2);
  Msg w(WireVersion::kIpfix);
  w.b.begin_set(2);
  w.b.withdrawal(256);
  CHECK(h.feed(w.finish(0)).empty());
  CHECK(h.counters.templates_withdrawn.load() == 1);
  CHECK(h.s->find_template(key(10), 256) == nullptr);
  CHECK(h.s->find_template(key(10), 257) != nullptr);
  // Data of the withdrawn template waits for it.
  CHECK(h.feed(Msg(WireVersion::kIpfix).data(a, {flow(1)}).finish(0)).empty());
  CHECK(h.counters.held_sets.load() == 1);
  Msg all(WireVersion::kIpfix);
  all.b.begin_set(2);
  all.b.withdrawal(2);  // every template of the domain
  h.feed(all.finish(1));
  CHECK(h.s->templates_installed() == 0);
  CHECK(h.counters.templates_withdrawn.load() == 2);
}

TEST_CASE("the same template id in two domains of one exporter never mixes",
          "[decode][sessions]") {
  // pmacct's test 102: two source_ids with overlapping template ids.
  Harness h;
  TemplateSpec v4 = v4_template(260), v6 = v6_template(260);
  h.feed(Msg(WireVersion::kV9).templates({v4}).finish(0, 2081));
  h.feed(Msg(WireVersion::kV9).templates({v6}).finish(0, 2193));
  std::vector<FlowRecord> a = h.feed(Msg(WireVersion::kV9).data(v4, {flow(1)}).finish(1, 2081));
  std::vector<FlowRecord> b = h.feed(Msg(WireVersion::kV9).data(v6, {flow(2, true)}).finish(1, 2193));
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  check_same(a[0], flow(1));
  check_same(b[0], flow(2, true));
  // And the same domain at another exporter is another stream.
  h.feed(Msg(WireVersion::kV9).data(v4, {flow(3)}).finish(0, 2081), nullptr, kNow,
         IpAddr::from_v4(0xC0000299));
  CHECK(h.counters.held_sets.load() == 1);
}

TEST_CASE("data before its template is held, then decoded late", "[decode][sessions]") {
  Harness h;
  TemplateSpec t = v4_template(256);
  // A router restart seen by the collector: data first.
  Admit a;
  CHECK(h.feed(Msg(WireVersion::kV9).data(t, {flow(1), flow(2)}).finish(0), &a).empty());
  CHECK(a == Admit::kConsumed);
  CHECK(h.feed(Msg(WireVersion::kV9).data(t, {flow(3)}).finish(1)).empty());
  CHECK(h.counters.held_sets.load() == 2);
  CHECK(h.s->held_sets() == 2);
  CHECK(h.ready().empty());
  h.feed(Msg(WireVersion::kV9).templates({t}).finish(2));
  std::vector<FlowRecord> late = h.ready();
  REQUIRE(late.size() == 3);
  check_same(late[0], flow(1));
  check_same(late[2], flow(3));
  CHECK(h.counters.held_released.load() == 2);
  CHECK(h.s->held_sets() == 0);

  SECTION("in the same datagram, before its template") {
    Harness g;
    std::vector<FlowRecord> got =
        g.feed(Msg(WireVersion::kV9).data(t, {flow(4)}).templates({t}).data(t, {flow(5)}).finish(0));
    REQUIRE(got.size() == 1);
    check_same(got[0], flow(5));
    std::vector<FlowRecord> l = g.ready();
    REQUIRE(l.size() == 1);
    check_same(l[0], flow(4));
    CHECK(g.counters.v9_count_mismatch.load() == 0);
  }
}

TEST_CASE("held data: expiry and bounds", "[decode][sessions]") {
  DecodeConfig cfg;
  cfg.held_timeout_s = 10;
  cfg.held_bytes = 2048 * 4;  // 4 slots
  cfg.held_bytes_per_stream = 2048 * 3;
  Harness h(cfg);
  TemplateSpec t = v4_template(256);
  std::vector<FlowRecord> many(20, flow(1));  // about 1.3 KB per set
  for (int i = 0; i < 5; ++i) h.feed(Msg(WireVersion::kV9).data(t, many).finish(i));
  // 1.3 KB sets: the stream takes 4 (5.4 KB <= 6 KB), the 5th hits the stream limit.
  CHECK(h.counters.held_sets.load() == 4);
  CHECK(h.counters.hold_drops[static_cast<size_t>(HoldDrop::kStreamLimit)].load() == 1);
  // Another stream finds the pool full.
  h.feed(Msg(WireVersion::kV9).data(t, {flow(2)}).finish(0, 7));
  CHECK(h.counters.hold_drops[static_cast<size_t>(HoldDrop::kPoolFull)].load() == 1);
  h.s->tick(kNow + 5000);
  CHECK(h.s->held_sets() == 4);
  h.s->tick(kNow + 11000);
  CHECK(h.s->held_sets() == 0);
  CHECK(h.counters.held_expired.load() == 4);
  CHECK(h.counters.held_bytes.load() == 0);
  // Nothing comes back when the template finally arrives.
  h.feed(Msg(WireVersion::kV9).templates({t}).finish(9), nullptr, kNow + 12000);
  CHECK(h.ready().empty());

  SECTION("decode.held_bytes = 0 turns holding off") {
    DecodeConfig off;
    off.held_bytes = 0;
    Harness g(off);
    g.feed(Msg(WireVersion::kV9).data(t, {flow(1)}).finish(0));
    CHECK(g.drops(SetDrop::kNoTemplate) == 1);
    CHECK(g.counters.held_sets.load() == 0);
  }
}

TEST_CASE("template bounds per stream and in all", "[decode][sessions]") {
  DecodeConfig cfg;
  cfg.max_templates = 4;
  cfg.max_templates_per_stream = 3;
  Harness h(cfg);
  h.feed(Msg(WireVersion::kV9)
             .templates({v4_template(256), v4_template(257), v4_template(258), v4_template(259)})
             .finish(0));
  CHECK(h.s->templates_installed() == 3);
  CHECK(h.counters.template_rejects[kTemplateLimitStream].load() == 1);
  h.feed(Msg(WireVersion::kV9).templates({v4_template(256), v4_template(257)}).finish(0, 1));
  CHECK(h.s->templates_installed() == 4);
  CHECK(h.counters.template_rejects[kTemplateLimitTotal].load() == 1);
  CHECK(h.counters.templates_active.load() == 4);
}

TEST_CASE("a stream keeps at most kMaxSamplers samplers, more are counted, not kept",
          "[decode][sessions]") {
  Harness h;
  TemplateSpec opt;
  opt.id = 257;
  opt.options = true;
  opt.scope_count = 1;
  opt.fields = {{1 /* scope: system */, 4}, {ie::kSamplerId, 2}, {ie::kSamplerRandomInterval, 4}};
  const uint32_t n = SamplerSet::kMaxSamplers + 4;
  std::vector<FlowRecord> recs(n);
  Msg m(WireVersion::kV9);
  m.templates({opt});
  m.b.begin_set(257);
  for (uint32_t i = 0; i < n; ++i) {
    recs[i].sampler_id = static_cast<uint16_t>(i + 1);
    RecordValues v;
    v.flow = &recs[i];
    v.rate = 100 * (i + 1);
    uint8_t* p = m.b.reserve_record(gen::record_size(opt, v));
    gen::encode_record(opt, v, p, 10);
  }
  m.b.end_set();
  h.feed(m.finish(0));
  CHECK(h.counters.options_records.load() == n);
  CHECK(h.counters.samplers_full.load() == 4);
  const SamplerSet* s = h.s->sampler_set(key(9));
  REQUIRE(s);
  CHECK(s->n == SamplerSet::kMaxSamplers);
  CHECK(s->rate_of(SamplerSet::kMaxSamplers) == 100 * SamplerSet::kMaxSamplers);
  CHECK(s->rate_of(SamplerSet::kMaxSamplers + 1) == 0);
  // A kept sampler's new rate still takes effect when the set is full.
  Msg again(WireVersion::kV9);
  again.b.begin_set(257);
  RecordValues v;
  v.flow = &recs[0];
  v.rate = 7;
  uint8_t* p = again.b.reserve_record(gen::record_size(opt, v));
  gen::encode_record(opt, v, p, 10);
  again.b.end_set();
  h.feed(again.finish(1));
  s = h.s->sampler_set(key(9));
  REQUIRE(s);
  CHECK(s->rate_of(1) == 7);
  CHECK(h.counters.samplers_full.load() == 4);
}

TEST_CASE("templates and sampling rates survive a restart through save() and load()",
          "[decode][sessions]") {
  Harness a;
  TemplateSpec t = v4_template(256);
  TemplateSpec opt;
  opt.id = 257;
  opt.options = true;
  opt.scope_count = 1;
  opt.fields = {{1 /* scope: system */, 4}, {ie::kSamplerId, 2}, {ie::kSamplerRandomInterval, 4}};
  Msg m(WireVersion::kV9);
  m.templates({t}).templates({opt});  // data and options templates: two sets
  FlowRecord sampler;
  sampler.sampler_id = 1;
  m.b.begin_set(257);
  RecordValues v;
  v.flow = &sampler;
  v.rate = 2000;
  uint8_t* p = m.b.reserve_record(gen::record_size(opt, v));
  gen::encode_record(opt, v, p, 10);
  m.b.end_set();
  a.feed(m.finish(0));
  TemplateSpec x = v4_template(300);  // IPFIX, another domain: its own stream
  a.feed(Msg(WireVersion::kIpfix).templates({x}).finish(0, 7));
  REQUIRE(a.s->templates_installed() == 3);
  REQUIRE(a.s->sampler_set(key(9)));
  const std::string state = a.s->save();
  REQUIRE(!state.empty());

  Harness b;
  CHECK(b.s->load(state, kNow) == 3);
  CHECK(b.s->templates_installed() == 3);
  const SamplerSet* ss = b.s->sampler_set(key(9));
  REQUIRE(ss);
  CHECK(ss->rate_of(1) == 2000);
  // Data right after the restart decodes at once: nothing is held.
  std::vector<FlowRecord> flows = {flow(1), flow(2)};
  Admit adm;
  std::vector<FlowRecord> got = b.feed(Msg(WireVersion::kV9).data(t, flows).finish(1), &adm);
  CHECK(adm == Admit::kHandOff);
  REQUIRE(got.size() == 2);
  for (size_t i = 0; i < 2; ++i) check_same(got[i], flows[i]);
  got = b.feed(Msg(WireVersion::kIpfix).data(x, {flow(3)}).finish(0, 7), &adm);
  CHECK(adm == Admit::kHandOff);
  REQUIRE(got.size() == 1);
  // (v4_template's times are v9 uptimes, which IPFIX does not have: keys
  // and counters only.)
  CHECK(got[0].src == flow(3).src);
  CHECK(got[0].dst == flow(3).dst);
  CHECK(got[0].src_port == flow(3).src_port);
  CHECK(got[0].packets == flow(3).packets);
  CHECK(got[0].bytes == flow(3).bytes);
  CHECK(b.counters.held_sets.load() == 0);

  SECTION("a damaged or cut file restores nothing, never a prefix") {
    // Every cut, and every single flipped bit: the checksum (or the length)
    // catches it and the whole file is refused. One collector takes every
    // bad file in turn (a fresh one per file cost 35 s of CI): a file that
    // installed anything would fail the next check too.
    Harness c;
    for (size_t cut = 0; cut < state.size(); ++cut) {
      INFO("cut at " << cut);
      CHECK(c.s->load(std::string_view(state).substr(0, cut), kNow) == 0);
      CHECK(c.s->templates_installed() == 0);
      TemplateState st;
      CHECK(decode_state(std::string_view(state).substr(0, cut), &st) != StateError::kNone);
    }
    for (size_t bit = 0; bit < state.size() * 8; bit += 3) {
      std::string bad = state;
      bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
      INFO("bit " << bit);
      CHECK(c.s->load(bad, kNow) == 0);
      CHECK(c.s->templates_installed() == 0);
    }
    TemplateState st;
    CHECK(decode_state(state + "x", &st) == StateError::kTrailing);
    std::string flipped = state;
    flipped.back() = static_cast<char>(flipped.back() ^ 0x10);
    CHECK(decode_state(flipped, &st) == StateError::kChecksum);
    CHECK(decode_state(state.substr(0, state.size() - 1), &st) == StateError::kTruncated);
    CHECK(decode_state(state, &st) == StateError::kNone);
    CHECK(st.templates.size() == 3);
    Harness g;
    CHECK(g.s->load("not a template state\n\x01\x02", kNow) == 0);
    CHECK(decode_state("not a template state\n", &st) == StateError::kNotState);
    CHECK(g.s->templates_installed() == 0);
  }
  SECTION("a format 1 file (no checksum) is refused as old, not parsed") {
    // Format 1: the magic line, then the records with nothing around them.
    const std::string body = state.substr(std::string("ringflow-templates 3\n").size() + 8);
    const std::string v1 = "ringflow-templates 1\n" + body;
    TemplateState st;
    CHECK(decode_state(v1, &st) == StateError::kOldFormat);
    Harness c;
    CHECK(c.s->load(v1, kNow) == 0);
    CHECK(c.s->templates_installed() == 0);
    CHECK(decode_state("ringflow-templates 4\n" + body, &st) == StateError::kNewFormat);
  }
  SECTION("a record that does not parse is refused and counted, the rest restored") {
    TemplateState st;
    REQUIRE(decode_state(state, &st) == StateError::kNone);
    st.templates[0].raw.resize(3);  // cut inside the record header
    Harness c;
    const StateImport r = c.s->import_state(st, kNow);
    CHECK(r.templates == 2);
    CHECK(r.templates_invalid == 1);
    CHECK(c.s->templates_installed() == 2);
    // Loading the same state twice (two reactors' copies): duplicates, not new.
    const StateImport again = c.s->import_state(st, kNow);
    CHECK(again.templates == 0);
    CHECK(again.templates_duplicate == 2);
  }
}

TEST_CASE("CRC32C matches the published check value", "[decode][state]") {
  // RFC 3720 B.4 and every CRC catalogue: CRC-32C("123456789") = 0xE3069283.
  const std::string check = "123456789";
  CHECK(crc32c(reinterpret_cast<const uint8_t*>(check.data()), check.size()) == 0xE3069283u);
  // 32 bytes of zeros: RFC 3720 B.4, 0x8A9136AA.
  const uint8_t zeros[32] = {};
  CHECK(crc32c(zeros, sizeof zeros) == 0x8A9136AAu);
}

TEST_CASE("templates expire when neither refreshed nor used", "[decode][sessions]") {
  DecodeConfig cfg;
  cfg.template_timeout_s = 60;
  Harness h(cfg);
  TemplateSpec a = v4_template(256), b = v4_template(257);
  h.feed(Msg(WireVersion::kV9).templates({a, b}).finish(0));
  // Data keeps `a` alive.
  h.feed(Msg(WireVersion::kV9).data(a, {flow(1)}).finish(1), nullptr, kNow + 50000);
  h.s->tick(kNow + 70000);
  CHECK(h.s->find_template(key(9), 256) != nullptr);
  CHECK(h.s->find_template(key(9), 257) == nullptr);
  CHECK(h.counters.templates_expired.load() == 1);
}

TEST_CASE("the exporters snapshot: templates, history, held data, clock and rejects per stream",
          "[decode][sessions]") {
  Harness h;
  CHECK(h.s->exporters_snapshot() == nullptr);  // nothing before the first tick
  TemplateSpec t = v4_template(256);
  // Data before its template (held, then decoded late), the template
  // received 43 s after the export time its header carries.
  const int64_t late = kNow + 43000;
  h.feed(Msg(WireVersion::kV9).data(t, {flow(1)}).finish(0));
  h.feed(Msg(WireVersion::kV9).templates({t}).finish(1), nullptr, late);
  CHECK(h.ready().size() == 1);
  // Redefined, and back.
  TemplateSpec t2 = t;
  t2.fields.pop_back();
  h.feed(Msg(WireVersion::kV9).templates({t2}).finish(2), nullptr, late);
  h.feed(Msg(WireVersion::kV9).templates({t}).finish(3), nullptr, late);
  // A datagram of the same address rejected whole, before any stream.
  const uint8_t junk[3] = {0, 9, 0};
  REQUIRE(h.s->admit(junk, sizeof junk, kExporter, 0, late) == Admit::kRejected);
  h.s->tick(late);
  const std::shared_ptr<const ExporterSnapshot> snap = h.s->exporters_snapshot();
  REQUIRE(snap);
  CHECK(snap->published_ms == late);
  REQUIRE(snap->streams.size() == 1);
  const ExporterStream& e = snap->streams[0];
  CHECK(e.stats.exporter == kExporter);
  CHECK(e.stats.format == kFormatV9);
  CHECK(e.stats.datagrams == 4);
  CHECK(e.stats.has_clock);
  CHECK(e.stats.clock_offset_ms == -43000);
  CHECK(e.templates.added == 1);
  CHECK(e.templates.redefinitions == 2);
  CHECK(e.held.held == 1);
  CHECK(e.held.released == 1);
  CHECK(e.held.expired == 0);
  REQUIRE(e.ntemplates == 1);
  const SnapshotTemplate& st = snap->templates[e.first_template];
  CHECK(st.id == 256);
  CHECK(!st.options);
  CHECK(st.redefinitions == 2);
  CHECK(st.first_ms == kNow + 43000);
  REQUIRE(st.nfields == t.fields.size());
  for (size_t i = 0; i < t.fields.size(); ++i) CHECK(snap->fields[st.first_field + i].id == t.fields[i].id);
  REQUIRE(snap->rejects.size() == 1);
  CHECK(snap->rejects[0].exporter == kExporter);
  CHECK(snap->rejects[0].by_reason[static_cast<size_t>(Reject::kTooShort)] == 1);

  // A reader keeps the snapshot it loaded; the next tick publishes another
  // buffer, never the one being read.
  h.feed(Msg(WireVersion::kV9).data(t, {flow(2)}).finish(4), nullptr, late + 2000);
  h.s->tick(late + 2000);
  const std::shared_ptr<const ExporterSnapshot> second = h.s->exporters_snapshot();
  REQUIRE(second);
  CHECK(second.get() != snap.get());
  CHECK(second->streams.at(0).stats.datagrams == 5);
  CHECK(snap->streams.at(0).stats.datagrams == 4);
  h.s->tick(late + 4000);
  const std::shared_ptr<const ExporterSnapshot> third = h.s->exporters_snapshot();
  CHECK(third.get() != snap.get());
  CHECK(third.get() != second.get());
  // Readers now hold all three buffers: the round is skipped.
  h.s->tick(late + 6000);
  CHECK(h.s->exporters_snapshot().get() == third.get());
  CHECK(snap->published_ms == late);
  CHECK(second->published_ms == late + 2000);
}

TEST_CASE("options records announce sampling rates by sampler id", "[decode][sessions]") {
  Harness h;
  SECTION("v9: samplerId 48 with samplerRandomInterval 50, scoped to the system") {
    TemplateSpec opt;
    opt.id = 257;
    opt.options = true;
    opt.scope_count = 1;
    opt.fields = {{1 /* scope: system */, 4}, {ie::kSamplerId, 2}, {ie::kSamplerRandomInterval, 4},
                  {ie::kSamplerMode, 1}};
    Msg m(WireVersion::kV9);
    m.templates({opt});
    FlowRecord r1;
    r1.sampler_id = 1;
    FlowRecord r2;
    r2.sampler_id = 2;
    m.b.begin_set(257);
    for (auto [f, rate] : {std::pair{&r1, 2000u}, std::pair{&r2, 4000u}}) {
      RecordValues v;
      v.flow = f;
      v.rate = rate;
      uint8_t* p = m.b.reserve_record(gen::record_size(opt, v));
      gen::encode_record(opt, v, p, 11);
    }
    m.b.end_set();
    h.feed(m.finish(0));
    const SamplerSet* s = h.s->sampler_set(key(9));
    REQUIRE(s);
    CHECK(s->rate_of(1) == 2000);
    CHECK(s->rate_of(2) == 4000);
    CHECK(s->rate_of(3) == 0);
    CHECK(s->rate_without_id() == 0);
    CHECK(h.counters.options_records.load() == 2);
    // Data records carry the sampler id; the meta pins the set.
    TemplateSpec d = v4_template(256);
    d.fields.push_back({ie::kSamplerId, 2});
    FlowRecord f = flow(1);
    f.sampler_id = 2;
    std::vector<uint8_t> dg = Msg(WireVersion::kV9).templates({d}).data(d, {f}).finish(1);
    REQUIRE(h.s->admit(dg.data(), dg.size(), kExporter, 3, kNow) == Admit::kHandOff);
    CHECK(h.s->meta(3).sampling == s);
    std::vector<FlowRecord> got = h.records_of(3, dg.data(), dg.size());
    REQUIRE(got.size() == 1);
    CHECK((got[0].flags & kFlowHasSamplerId) != 0);
    CHECK(got[0].sampler_id == 2);
    h.s->release(3);
  }
  SECTION("IPFIX: selectorId 302 with samplingPacketInterval/Space 305/306") {
    TemplateSpec opt;
    opt.id = 400;
    opt.options = true;
    opt.scope_count = 1;
    opt.fields = {{ie::kSelectorId, 8}, {ie::kSamplingPacketInterval, 4},
                  {ie::kSamplingPacketSpace, 4}, {ie::kSelectorAlgorithm, 2}};
    Msg m(WireVersion::kIpfix);
    m.templates({opt});
    FlowRecord r;
    r.sampler_id = 9;
    m.b.begin_set(400);
    RecordValues v;
    v.flow = &r;
    v.rate = 100;  // interval 1, space 99
    uint8_t* p = m.b.reserve_record(18);
    gen::encode_record(opt, v, p, 18);
    m.b.end_set();
    h.feed(m.finish(0));
    const SamplerSet* s = h.s->sampler_set(key(10));
    REQUIRE(s);
    CHECK(s->rate_of(9) == 100);
  }
  SECTION("IPFIX: random n-out-of-N (309/310) without a selector id, and 160") {
    TemplateSpec opt;
    opt.id = 401;
    opt.options = true;
    opt.scope_count = 1;
    opt.fields = {{ie::kExporterIPv4Address, 4}, {ie::kSamplingSize, 4},
                  {ie::kSamplingPopulation, 4}, {ie::kSystemInitTimeMilliseconds, 8}};
    Msg m(WireVersion::kIpfix);
    m.templates({opt});
    FlowRecord r;
    m.b.begin_set(401);
    RecordValues v;
    v.flow = &r;
    v.rate = 256;
    v.system_init_ms = static_cast<uint64_t>(kNow - 86400000);
    uint8_t* p = m.b.reserve_record(20);
    gen::encode_record(opt, v, p, 20);
    m.b.end_set();
    // Data with uptime-relative times, which need the system init time.
    TemplateSpec d;
    d.id = 402;
    d.fields = {{ie::kSourceIPv4Address, 4}, {ie::kFlowStartSysUpTime, 4}, {ie::kFlowEndSysUpTime, 4}};
    m.templates({d});
    FlowRecord f = flow(1);
    const uint32_t up_now = 86400000;  // uptime at export: kNow - init
    std::vector<FlowRecord> got = h.feed(m.data(d, {f}, up_now).finish(0));
    const SamplerSet* s = h.s->sampler_set(key(10));
    REQUIRE(s);
    CHECK(s->rate_without_id() == 256);
    REQUIRE(got.size() == 1);
    CHECK(got[0].start_ms == f.start_ms);
    CHECK(got[0].end_ms == f.end_ms);
    CHECK((got[0].flags & kFlowTimeUnknown) == 0);
  }
  SECTION("the rate inside the data record (akvorado issue 841)") {
    TemplateSpec d = v4_template(1507);
    d.fields.push_back({ie::kSamplingInterval, 4});
    d.fields.push_back({ie::kSamplingAlgorithm, 1});
    std::vector<FlowRecord> got =
        h.feed(Msg(WireVersion::kV9).templates({d}).data(d, {flow(1)}, 3600000, "", 2048).finish(0));
    REQUIRE(got.size() == 1);
    CHECK((got[0].flags & kFlowHasRate) != 0);
    CHECK(got[0].sampling == 2048);
  }
}

TEST_CASE("times: every encoding comes back to the same millisecond", "[decode][sessions]") {
  RF_DECODE_PATH(GENERATE(DecodePath::kVbmi, DecodePath::kShuffle, DecodePath::kScalar));
  struct Case {
    uint16_t start, end;
    uint16_t len;
  };
  const Case cases[] = {
      {ie::kFlowStartSeconds, ie::kFlowEndSeconds, 4},
      {ie::kFlowStartMilliseconds, ie::kFlowEndMilliseconds, 8},
      {ie::kFlowStartMicroseconds, ie::kFlowEndMicroseconds, 8},
      {ie::kFlowStartNanoseconds, ie::kFlowEndNanoseconds, 8},
      {ie::kFlowStartDeltaMicroseconds, ie::kFlowEndDeltaMicroseconds, 4},
  };
  for (const Case& c : cases) {
    INFO("elements " << c.start << "/" << c.end);
    Harness h;
    TemplateSpec t;
    t.id = 500;
    t.fields = {{ie::kSourceIPv4Address, 4}, {c.start, c.len}, {c.end, c.len}};
    FlowRecord f = flow(3);
    if (c.start == ie::kFlowStartSeconds) {  // whole seconds only
      f.start_ms = f.start_ms / 1000 * 1000;
      f.end_ms = f.end_ms / 1000 * 1000;
    }
    std::vector<FlowRecord> got = h.feed(Msg(WireVersion::kIpfix).templates({t}).data(t, {f}).finish(0));
    REQUIRE(got.size() == 1);
    CHECK(got[0].start_ms == f.start_ms);
    CHECK(got[0].end_ms == f.end_ms);
  }
  SECTION("v9 uptimes across the 2^32 ms wrap") {
    Harness h;
    TemplateSpec t = v4_template(256);
    FlowRecord f = flow(1);
    // The exporter's uptime wrapped 2 s before export; the flow started before it.
    const uint32_t up = 2000;
    std::vector<FlowRecord> got =
        h.feed(Msg(WireVersion::kV9).templates({t}).data(t, {f}, up).finish(0, 0, up));
    REQUIRE(got.size() == 1);
    CHECK(got[0].start_ms == f.start_ms);
    CHECK(got[0].end_ms == f.end_ms);
  }
  SECTION("IPFIX uptimes without a system init time are unknown, not invented") {
    Harness h;
    TemplateSpec t;
    t.id = 501;
    t.fields = {{ie::kSourceIPv4Address, 4}, {ie::kFlowStartSysUpTime, 4}, {ie::kFlowEndSysUpTime, 4}};
    std::vector<FlowRecord> got =
        h.feed(Msg(WireVersion::kIpfix).templates({t}).data(t, {flow(1)}).finish(0));
    REQUIRE(got.size() == 1);
    CHECK((got[0].flags & kFlowTimeUnknown) != 0);
    CHECK(got[0].start_ms == kNow / 1000 * 1000);
  }
}

// Time IEs may come in 8 bytes whatever their type, so a value can be far
// outside any clock (the fuzzer's find: flowStartSeconds 0x..., times 1000,
// overflowed int64). Such a value counts as not sent; the other end of the
// flow, when sane, stands for both.
TEST_CASE("times: values out of any clock's range count as not sent",
          "[decode][sessions]") {
  RF_DECODE_PATH(GENERATE(DecodePath::kVbmi, DecodePath::kShuffle, DecodePath::kScalar));
  // The record is the message's last 20 bytes: address, start (8), end (8).
  auto patched = [](uint16_t start_ie, uint16_t end_ie, const FlowRecord& f, uint64_t start_raw,
                    bool end_too) {
    TemplateSpec t;
    t.id = 600;
    t.fields = {{ie::kSourceIPv4Address, 4}, {start_ie, 8}, {end_ie, 8}};
    std::vector<uint8_t> d = Msg(WireVersion::kIpfix).templates({t}).data(t, {f}).finish(0);
    for (int i = 0; i < 8; ++i) {
      d[d.size() - 16 + i] = static_cast<uint8_t>(start_raw >> (56 - 8 * i));
      if (end_too) d[d.size() - 8 + i] = static_cast<uint8_t>(start_raw >> (56 - 8 * i));
    }
    return d;
  };
  FlowRecord f = flow(2);
  f.start_ms = f.start_ms / 1000 * 1000;
  f.end_ms = f.end_ms / 1000 * 1000;
  SECTION("seconds: start garbage, end sane") {
    Harness h;
    for (uint64_t raw : {~uint64_t{0}, uint64_t{1} << 63, (uint64_t{1} << 53) / 1000 + 1}) {
      INFO("start raw " << raw);
      std::vector<FlowRecord> got =
          h.feed(patched(ie::kFlowStartSeconds, ie::kFlowEndSeconds, f, raw, false));
      REQUIRE(got.size() == 1);
      CHECK(got[0].start_ms == f.end_ms);
      CHECK(got[0].end_ms == f.end_ms);
      CHECK((got[0].flags & kFlowTimeUnknown) == 0);
    }
  }
  SECTION("milliseconds: both garbage, the time is unknown") {
    Harness h;
    std::vector<FlowRecord> got = h.feed(
        patched(ie::kFlowStartMilliseconds, ie::kFlowEndMilliseconds, f, ~uint64_t{0} - 5, true));
    REQUIRE(got.size() == 1);
    CHECK((got[0].flags & kFlowTimeUnknown) != 0);
    CHECK(got[0].start_ms == kNow / 1000 * 1000);
  }
  SECTION("uptimes against a system init time near int64's end") {
    Harness h;
    TemplateSpec opt;
    opt.id = 601;
    opt.options = true;
    opt.scope_count = 1;
    opt.fields = {{ie::kExporterIPv4Address, 4}, {ie::kSystemInitTimeMilliseconds, 8}};
    Msg m(WireVersion::kIpfix);
    m.templates({opt});
    FlowRecord none;
    m.b.begin_set(601);
    RecordValues v;
    v.flow = &none;
    v.system_init_ms = (uint64_t{1} << 63) - 10;
    uint8_t* p = m.b.reserve_record(12);
    REQUIRE(gen::encode_record(opt, v, p, 12) == 12);
    m.b.end_set();
    TemplateSpec d;
    d.id = 602;
    d.fields = {{ie::kSourceIPv4Address, 4}, {ie::kFlowStartSysUpTime, 4}, {ie::kFlowEndSysUpTime, 4}};
    m.templates({d});
    std::vector<FlowRecord> got = h.feed(m.data(d, {flow(1)}).finish(0));
    REQUIRE(got.size() == 1);
    CHECK((got[0].flags & kFlowTimeUnknown) != 0);
    CHECK(got[0].start_ms == kNow / 1000 * 1000);
  }
}

TEST_CASE("reduced-size, variable-length and enterprise fields", "[decode][sessions]") {
  RF_DECODE_PATH(GENERATE(DecodePath::kVbmi, DecodePath::kShuffle, DecodePath::kScalar));
  Harness h;
  TemplateSpec t;
  t.id = 600;
  t.fields = {{ie::kSourceIPv4Address, 4},
              {ie::kApplicationName, 65535},
              {ie::kOctetDeltaCount, 3},  // reduced-size: 3 bytes
              {ie::kPacketDeltaCount, 1},
              {100, 4, 6871},             // enterprise (CERT) element: skipped
              {ie::kDestinationIPv4Address, 4},
              {ie::kSourceTransportPort, 2}};
  FlowRecord f = flow(1);
  f.bytes = 0xABCDEF;
  f.packets = 200;
  SECTION("short variable-length value") {
    std::vector<FlowRecord> got =
        h.feed(Msg(WireVersion::kIpfix).templates({t}).data(t, {f, f}, 0, "http").finish(0));
    REQUIRE(got.size() == 2);
    CHECK(got[1].bytes == 0xABCDEF);
    CHECK(got[1].packets == 200);
    CHECK(got[1].dst == f.dst);
    CHECK(got[1].src_port == f.src_port);
  }
  SECTION("long form (255 + two-byte length)") {
    std::string name(300, 'x');
    std::vector<FlowRecord> got =
        h.feed(Msg(WireVersion::kIpfix).templates({t}).data(t, {f}, 0, name).finish(0));
    REQUIRE(got.size() == 1);
    CHECK(got[0].dst == f.dst);
  }
  SECTION("a variable-length field running past its set drops the rest of the set") {
    std::vector<uint8_t> d = Msg(WireVersion::kIpfix).templates({t}).data(t, {f, f}, 0, "abcd").finish(0);
    // Second record's length byte (after 4 bytes of src) claims 200 bytes.
    const size_t rec = 4 + 1 + 4 + 3 + 1 + 4 + 4 + 2;
    size_t pos = 0;
    // Find the data set: the last set of the message.
    for (size_t off = 16; off < d.size();) {
      const size_t len = static_cast<size_t>(d[off + 2] << 8 | d[off + 3]);
      if (d[off] == 0x02 && d[off + 1] == 0x58) pos = off + 4;
      off += len;
    }
    REQUIRE(pos);
    d[pos + rec + 4] = 200;
    std::vector<FlowRecord> got = h.feed(d);
    CHECK(got.size() == 1);
    CHECK(h.drops(SetDrop::kVarOverflow) == 1);
  }
  SECTION("v9 has no variable length: 65535 is a fixed length no datagram holds") {
    std::vector<FlowRecord> got;
    TemplateSpec v9t = t;
    v9t.fields.erase(v9t.fields.begin() + 4);  // no enterprise elements in v9
    got = h.feed(Msg(WireVersion::kV9).templates({v9t}).data(v9t, {f}, 0, "netstream").finish(0));
    // 4 + 65535 + 3 + 1 + 2 + 4 bytes: a record no datagram can hold.
    CHECK(got.empty());
    CHECK(h.counters.template_rejects[static_cast<size_t>(TemplateProblem::kRecordTooLong)]
              .load() == 1);
    // decode.v9_variable_length: read as IPFIX does (H3C NetStream).
    DecodeConfig c;
    c.v9_variable_length = true;
    Harness h3c(c);
    got = h3c.feed(Msg(WireVersion::kV9).templates({v9t}).data(v9t, {f}, 0, "netstream").finish(0));
    REQUIRE(got.size() == 1);
    CHECK(got[0].dst == f.dst);
  }
}

// RFC 3954 has no variable-length fields: a v9 field of length 65535 once was
// read as IPFIX's length prefix, and one 1,420-byte datagram of zero bytes
// became 1,384 one-byte "records". Now its data set is shorter than one
// 65535-byte record and is dropped as too_short.
TEST_CASE("v9: a field length of 65535 makes no phantom flows", "[decode][sessions]") {
  Harness h;
  std::vector<uint8_t> d(1420, 0);
  auto be16 = [&](size_t off, uint16_t v) {
    d[off] = static_cast<uint8_t>(v >> 8);
    d[off + 1] = static_cast<uint8_t>(v);
  };
  be16(0, 9);   // version
  be16(2, 2);   // count: the template and one data record claimed
  d[7] = 1;     // sys_uptime
  d[8] = 0x65;  // unix_secs (2023)
  be16(20, 0);  // template flowset
  be16(22, 12);
  be16(24, 256);  // template id
  be16(26, 1);    // one field
  be16(28, ie::kProtocolIdentifier);
  be16(30, 65535);
  be16(32, 256);  // data flowset for template 256: the rest of the datagram
  be16(34, static_cast<uint16_t>(1420 - 32));
  Admit a;
  std::vector<FlowRecord> got = h.feed(d, &a);
  CHECK(got.size() == 0);
  CHECK(a == Admit::kConsumed);
  CHECK(h.drops(SetDrop::kTooShort) == 1);
  CHECK(h.counters.data_records.load() == 0);
}

TEST_CASE("sequence: v9 counts datagrams, IPFIX counts data records", "[decode][sessions]") {
  Harness h;
  TemplateSpec t = v4_template(256);
  h.feed(Msg(WireVersion::kV9).templates({t}).finish(100));
  h.feed(Msg(WireVersion::kV9).data(t, {flow(1), flow(2)}).finish(101));
  h.feed(Msg(WireVersion::kV9).data(t, {flow(1)}).finish(104));  // 102, 103 lost
  std::vector<StreamStats> st;
  h.s->tick(kNow + 2000);
  h.s->streams_snapshot(&st);
  REQUIRE(st.size() == 1);
  CHECK(st[0].format == kFormatV9);
  CHECK(st[0].lost_flows == 2);  // datagrams, for v9
  CHECK(st[0].lost_unit_is_datagrams());
  CHECK(st[0].flows == 3);

  Harness g;
  g.feed(Msg(WireVersion::kIpfix).templates({t}).finish(0));  // no data records: next = 0
  g.feed(Msg(WireVersion::kIpfix).data(t, {flow(1), flow(2)}).finish(0));
  g.feed(Msg(WireVersion::kIpfix).data(t, {flow(1)}).finish(2));
  g.feed(Msg(WireVersion::kIpfix).data(t, {flow(1)}).finish(8));  // 3..7 lost: 5 records
  // A message with a set that cannot be counted: the next one resyncs.
  TemplateSpec u = v4_template(999);
  g.feed(Msg(WireVersion::kIpfix).data(u, {flow(1)}).finish(9));
  g.feed(Msg(WireVersion::kIpfix).data(t, {flow(1)}).finish(10));
  g.s->tick(kNow + 2000);
  st.clear();
  g.s->streams_snapshot(&st);
  REQUIRE(st.size() == 1);
  CHECK(st[0].lost_flows == 5);
  CHECK(st[0].resyncs == 1);
  CHECK(st[0].next_sequence == 11);
}

TEST_CASE("validation: each problem counted under its reason", "[decode][sessions]") {
  Harness h;
  TemplateSpec t = v4_template(256);
  std::vector<uint8_t> good = Msg(WireVersion::kIpfix).templates({t}).data(t, {flow(1)}).finish(0);
  Admit a;
  SECTION("IPFIX length differs from the datagram") {
    std::vector<uint8_t> d = good;
    d.push_back(0);
    h.feed(d, &a);
    CHECK(a == Admit::kRejected);
    CHECK(h.rejects(10, Reject::kIpfixLength) == 1);
    CHECK(h.s->templates_installed() == 0);  // nothing in a rejected datagram is used
  }
  SECTION("a set length running past the end, or below 4") {
    std::vector<uint8_t> d = good;
    d[16 + 3] = 0xFF;  // first set's length
    h.feed(d, &a);
    CHECK(h.rejects(10, Reject::kSetLength) == 1);
    d = good;
    d[16 + 2] = 0;
    d[16 + 3] = 2;
    h.feed(d, &a);
    CHECK(h.rejects(10, Reject::kSetLength) == 2);
  }
  SECTION("v9 zero tail is padding; a non-zero tail is not") {
    std::vector<uint8_t> d = Msg(WireVersion::kV9).templates({t}).data(t, {flow(1)}).finish(0);
    d.resize(d.size() + 64, 0);
    CHECK(h.feed(d, &a).size() == 1);
    CHECK(h.counters.v9_zero_tail.load() == 1);
    d.back() = 1;
    h.feed(d, &a);
    CHECK(a == Admit::kRejected);
    CHECK(h.rejects(9, Reject::kSetLength) == 1);
  }
  SECTION("short headers, unknown and disabled versions") {
    std::vector<uint8_t> d(good.begin(), good.begin() + 10);
    h.feed(d);
    CHECK(h.rejects(10, Reject::kTooShort) == 1);
    d = good;
    d[1] = 11;
    h.feed(d);
    CHECK(h.rejects(11, Reject::kBadVersion) == 1);
    DecodeConfig cfg;
    cfg.versions = {"v5", "v9"};
    Harness g(cfg);
    g.feed(good);
    CHECK(g.rejects(10, Reject::kVersionDisabled) == 1);
  }
  SECTION("a data set shorter than one record") {
    Msg m(WireVersion::kIpfix);
    m.templates({t});
    m.b.begin_set(256);
    uint8_t* p = m.b.reserve_record(10);
    std::memset(p, 1, 10);
    m.b.end_set();
    CHECK(h.feed(m.finish(0)).empty());
    CHECK(h.drops(SetDrop::kTooShort) == 1);
  }
  SECTION("reserved set ids are skipped, the rest is used") {
    Msg m(WireVersion::kIpfix);
    m.templates({t});
    m.b.begin_set(100);
    m.b.reserve_record(8);
    m.b.end_set();
    m.data(t, {flow(1)});
    CHECK(h.feed(m.finish(0)).size() == 1);
    CHECK(h.drops(SetDrop::kReservedId) == 1);
  }
  SECTION("bad template records: the rest of the datagram is still used") {
    TemplateSpec zero;
    zero.id = 300;  // v9: no field
    TemplateSpec low = v4_template(200);  // id below 256
    std::vector<FlowRecord> got =
        h.feed(Msg(WireVersion::kV9).templates({zero}).templates({low}).templates({t}).data(t, {flow(1)}).finish(0));
    CHECK(got.size() == 1);
    CHECK(h.counters.template_rejects[static_cast<size_t>(TemplateProblem::kZeroFields)].load() == 1);
    CHECK(h.counters.template_rejects[static_cast<size_t>(TemplateProblem::kBadId)].load() == 1);
  }
  SECTION("more data sets than a datagram's meta holds") {
    Msg m(WireVersion::kIpfix);
    TemplateSpec small;
    small.id = 700;
    small.fields = {{ie::kSourceIPv4Address, 4}};
    m.templates({small});
    for (size_t i = 0; i < kMaxDataSets + 2; ++i) m.data(small, {flow(1)});
    CHECK(h.feed(m.finish(0)).size() == kMaxDataSets);
    CHECK(h.drops(SetDrop::kTooManySets) == 2);
  }
}

TEST_CASE("persistence: templates and sampling survive a restart", "[decode][sessions]") {
  TemplateSpec t = v4_template(256);
  TemplateSpec opt;
  opt.id = 257;
  opt.options = true;
  opt.scope_count = 1;
  opt.fields = {{1, 4}, {ie::kSamplingInterval, 4}};
  std::string state;
  {
    Harness h;
    Msg m(WireVersion::kV9);
    m.templates({t}).templates({opt});
    FlowRecord r;
    m.b.begin_set(257);
    RecordValues v;
    v.flow = &r;
    v.rate = 100;
    gen::encode_record(opt, v, m.b.reserve_record(8), 8);
    m.b.end_set();
    h.feed(m.finish(0, 5));
    state = h.s->save();
  }
  Harness h;
  CHECK(h.s->load(state, kNow) == 2);
  const SamplerSet* s = h.s->sampler_set(key(9, 5));
  REQUIRE(s);
  CHECK(s->rate_without_id() == 100);
  std::vector<FlowRecord> got = h.feed(Msg(WireVersion::kV9).data(t, {flow(1)}).finish(1, 5));
  REQUIRE(got.size() == 1);
  check_same(got[0], flow(1));
  CHECK(h.counters.held_sets.load() == 0);
  // A cut state restores nothing (the checksum covers the whole file).
  Harness g;
  CHECK(g.s->load(state.substr(0, state.size() - 3), kNow) == 0);
  CHECK(g.s->templates_installed() == 0);
  CHECK(g.s->sampler_set(key(9, 5)) == nullptr);
  CHECK(g.s->load("not a state file", kNow) == 0);
}

TEST_CASE("a stream that expires takes its templates, held data and rates with it",
          "[decode][sessions]") {
  DecodeConfig cfg;
  cfg.stream_idle_timeout_s = 10;
  cfg.held_timeout_s = 3600;
  Harness h(cfg);
  TemplateSpec t = v4_template(256);
  h.feed(Msg(WireVersion::kIpfix).templates({t}).finish(0));
  h.feed(Msg(WireVersion::kIpfix).data(v4_template(300), {flow(1)}).finish(0));
  CHECK(h.s->templates_installed() == 1);
  CHECK(h.s->held_sets() == 1);
  h.s->tick(kNow + 20000);
  CHECK(h.s->templates_installed() == 0);
  CHECK(h.s->held_sets() == 0);
  CHECK(h.counters.held_expired.load() == 1);
  SequenceTrackerStats ts = h.s->tracker_stats();
  CHECK(ts.streams_expired == 1);
}

}  // namespace ringflow

namespace ringflow {

// decode.full_table_idle_timeout: spoofed or dead exporters that fill the
// stream table lock new ones out for that long, not for
// decode.stream_idle_timeout; a table with room keeps its quiet streams.
TEST_CASE("a full stream table forgets streams silent for full_table_idle_timeout",
          "[decode][sessions]") {
  DecodeConfig cfg;
  cfg.max_streams = 16;
  cfg.stream_idle_timeout_s = 3600;
  cfg.full_table_idle_timeout_s = 60;
  const TemplateSpec t = v4_template(256);
  auto exporter = [](uint32_t i) { return IpAddr::from_v4(0x0A000000u + i); };
  auto templates = [&] { return Msg(WireVersion::kIpfix).templates({t}).finish(0); };
  auto data = [&] { return Msg(WireVersion::kIpfix).data(t, {flow(1)}).finish(0); };

  SECTION("full: the silent streams go with their templates; the newcomer gets in") {
    Harness h(cfg);
    for (uint32_t i = 0; i < 16; ++i) h.feed(templates(), nullptr, kNow, exporter(i));
    CHECK(h.s->templates_installed() == 16);
    Admit a;
    h.feed(templates(), &a, kNow, exporter(100));
    CHECK(a == Admit::kRejected);
    CHECK(h.rejects(10, Reject::kStreamTableFull) == 1);
    // Exporter 15 keeps talking; the other 15 fall silent.
    h.feed(data(), nullptr, kNow + 30000, exporter(15));
    h.s->tick(kNow + 60000);  // exactly the timeout: kept
    CHECK(h.s->tracker_stats().active == 16);
    h.s->tick(kNow + 61000);
    SequenceTrackerStats ts = h.s->tracker_stats();
    CHECK(ts.active == 1);
    CHECK(ts.streams_expired == 15);
    CHECK(ts.streams_evicted == 15);
    CHECK(h.s->templates_installed() == 1);
    auto key_of = [&](uint32_t i) {
      StreamKey k = key(10);
      k.exporter = exporter(i);
      return k;
    };
    CHECK(h.s->find_template(key_of(0), 256) == nullptr);
    CHECK(h.s->find_template(key_of(15), 256) != nullptr);
    h.feed(templates(), &a, kNow + 61000, exporter(100));
    CHECK(a != Admit::kRejected);
    CHECK(h.feed(data(), nullptr, kNow + 61000, exporter(100)).size() == 1);
    CHECK(h.rejects(10, Reject::kStreamTableFull) == 1);
  }
  SECTION("with room: quiet streams stay until stream_idle_timeout") {
    Harness h(cfg);
    for (uint32_t i = 0; i < 15; ++i) h.feed(templates(), nullptr, kNow, exporter(i));
    h.s->tick(kNow + 600000);
    CHECK(h.s->tracker_stats().active == 15);
    CHECK(h.s->templates_installed() == 15);
    h.s->tick(kNow + 3601000);
    CHECK(h.s->tracker_stats().active == 0);
    CHECK(h.s->tracker_stats().streams_evicted == 0);
  }
  SECTION("0 turns it off") {
    cfg.full_table_idle_timeout_s = 0;
    Harness h(cfg);
    for (uint32_t i = 0; i < 16; ++i) h.feed(templates(), nullptr, kNow, exporter(i));
    h.s->tick(kNow + 600000);
    CHECK(h.s->tracker_stats().active == 16);
    Admit a;
    h.feed(templates(), &a, kNow + 600000, exporter(100));
    CHECK(a == Admit::kRejected);
  }
}

// decode.max_streams_per_address: one address inventing observation domains
// cannot fill decode.max_streams; other exporters still get in.
TEST_CASE("one exporter address is held to max_streams_per_address streams",
          "[decode][sessions]") {
  DecodeConfig cfg;
  cfg.max_streams = 64;
  cfg.max_streams_per_address = 8;
  const TemplateSpec t = v4_template(256);
  auto templates = [&](uint32_t domain) {
    return Msg(WireVersion::kIpfix).templates({t}).finish(0, domain);
  };
  const IpAddr other = IpAddr::from_v4(0x0A000001);
  Harness h(cfg);
  Admit a;
  for (uint32_t d = 0; d < 8; ++d) {
    h.feed(templates(d), &a);
    CHECK(a != Admit::kRejected);
  }
  // Domains 8..99 of the same address: refused by the quota, every datagram.
  for (uint32_t d = 8; d < 100; ++d) {
    h.feed(templates(d), &a);
    CHECK(a == Admit::kRejected);
  }
  CHECK(h.rejects(10, Reject::kStreamQuota) == 92);
  CHECK(h.rejects(10, Reject::kStreamTableFull) == 0);
  CHECK(h.counters.stream_quota_refusals.load() == 92);
  CHECK(h.s->templates_installed() == 8);
  // Its known streams go on; another address still gets in.
  h.feed(templates(3), &a);
  CHECK(a != Admit::kRejected);
  h.feed(templates(0), &a, kNow, other);
  CHECK(a != Admit::kRejected);
  // v5 streams count too: a new engine past the quota is decoded, not tracked.
  cfg.max_streams_per_address = 1;
  Harness v(cfg);
  auto v5 = [](uint8_t engine) {
    std::vector<uint8_t> d(v5::kHeaderSize + v5::kRecordSize, 0);
    wire::store_be16(d.data(), 5);
    wire::store_be16(d.data() + 2, 1);
    wire::store_be32(d.data() + 4, 3600000);                              // sys_uptime
    wire::store_be32(d.data() + 8, static_cast<uint32_t>(kNow / 1000));  // unix_secs
    d[20] = 0;
    d[21] = engine;
    return d;
  };
  CHECK(v.feed(v5(1), &a).size() == 1);
  CHECK(v.feed(v5(2), &a).size() == 1);
  CHECK(a == Admit::kHandOff);
  v.s->tick(kNow + 2000);  // publishes tracker_stats()
  CHECK(v.s->tracker_stats().active == 1);
  CHECK(v.counters.stream_quota_refusals.load() == 1);

  // Published by address at the next tick.
  h.s->tick(kNow + 2000);
  std::vector<AddressRefusals> by;
  uint64_t rest = 0;
  h.s->refused_snapshot(&by, &rest);
  REQUIRE(by.size() == 1);
  CHECK(by[0].exporter == kExporter);
  CHECK(by[0].datagrams == 92);
  CHECK(rest == 0);

  SECTION("a stream that expires frees its place in the quota") {
    h.s->tick(kNow + 3601000 + 2000);  // every stream idle past stream_idle_timeout
    CHECK(h.s->tracker_stats().active == 0);
    for (uint32_t d = 200; d < 208; ++d) {
      h.feed(templates(d), &a, kNow + 3604000);
      CHECK(a != Admit::kRejected);
    }
    h.feed(templates(208), &a, kNow + 3604000);
    CHECK(a == Admit::kRejected);
  }
  SECTION("a restored state is held to the quota too") {
    const std::string state = h.s->save();
    DecodeConfig small = cfg;
    small.max_streams_per_address = 4;
    Harness r(small);
    TemplateState st;
    REQUIRE(decode_state(state, &st) == StateError::kNone);
    const StateImport imp = r.s->import_state(st, kNow);
    CHECK(imp.templates == 5);  // 4 of kExporter, 1 of `other`
    CHECK(imp.templates_no_stream == 4);
  }
}

TEST_CASE("AddressQuota counts, refuses and forgets by address", "[decode][sessions]") {
  AddressQuota q(16, 3);
  std::vector<IpAddr> addrs;
  for (uint32_t i = 0; i < 12; ++i) addrs.push_back(IpAddr::from_v4(0x0A000000u + i * 7919));
  for (const IpAddr& a : addrs)
    for (int k = 0; k < 3; ++k) CHECK(q.acquire(a));
  for (const IpAddr& a : addrs) CHECK_FALSE(q.acquire(a));
  // Empty some addresses completely (backward-shift deletion), the others
  // must keep their counts.
  for (size_t i = 0; i < addrs.size(); i += 2)
    for (int k = 0; k < 3; ++k) q.release(addrs[i]);
  for (size_t i = 0; i < addrs.size(); ++i) CHECK(q.count(addrs[i]) == (i % 2 ? 3u : 0u));
  for (size_t i = 1; i < addrs.size(); i += 2) CHECK_FALSE(q.acquire(addrs[i]));
  CHECK(q.acquire(addrs[0]));
  AddressQuota off(16, 0);
  for (int k = 0; k < 100; ++k) CHECK(off.acquire(addrs[0]));
}

}  // namespace ringflow

namespace ringflow {

// RFC 5103 biflows: softflowd -b, ipfixprobe and YAF send one record per
// bidirectional flow, the reverse counters under PEN 29305 with the forward
// element numbers. Each direction with traffic must be a record of its own:
// the reverse one with source and destination (addresses, ports,
// interfaces) swapped and the reverse counters. Before this was decoded,
// only the forward direction was counted, silently.
TEST_CASE("IPFIX biflows: the reverse direction is a record of its own", "[decode][sessions]") {
  set_decode_path(GENERATE(DecodePath::kVbmi, DecodePath::kShuffle, DecodePath::kScalar));
  INFO("decode path " << decode_path_name(decode_path()));
  Harness h;
  TemplateSpec t;
  t.id = 700;
  t.fields = {{ie::kSourceIPv4Address, 4},      {ie::kDestinationIPv4Address, 4},
              {ie::kSourceTransportPort, 2},    {ie::kDestinationTransportPort, 2},
              {ie::kProtocolIdentifier, 1},     {ie::kIngressInterface, 4},
              {ie::kEgressInterface, 4},        {ie::kPacketDeltaCount, 8},
              {ie::kOctetDeltaCount, 8},        {ie::kPacketDeltaCount, 8, kReversePen},
              {ie::kOctetDeltaCount, 8, kReversePen},
              {ie::kFlowStartMilliseconds, 8},  {ie::kFlowEndMilliseconds, 8}};
  const std::vector<uint8_t> tpl = Msg(WireVersion::kIpfix).templates({t}).finish(0);
  h.feed(tpl);
  const DecodePlan* plan = h.s->find_template(key(10), 700);
  REQUIRE(plan);
  REQUIRE(plan->reverse);
  CHECK(plan->unknown_counter_fields == 0);
  CHECK(h.counters.templates_biflow.load() == 1);

  // Hand-built records (the generator writes reverse elements as zeros).
  auto rec = [](uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, uint64_t pk, uint64_t by,
                uint64_t rpk, uint64_t rby) {
    std::vector<uint8_t> r;
    auto put = [&](uint64_t v, int n) {
      for (int i = n - 1; i >= 0; --i) r.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    put(src, 4); put(dst, 4); put(sp, 2); put(dp, 2); put(6, 1); put(3, 4); put(9, 4);
    put(pk, 8); put(by, 8); put(rpk, 8); put(rby, 8);
    put(static_cast<uint64_t>(kNow - 5000), 8); put(static_cast<uint64_t>(kNow - 1000), 8);
    return r;
  };
  std::vector<uint8_t> body;
  for (auto& r : {rec(0x0A000001, 0x0A000002, 40000, 443, 10, 1500, 8, 64000),
                  rec(0x0A000003, 0x0A000004, 40001, 80, 3, 180, 0, 0),      // one way only
                  rec(0x0A000005, 0x0A000006, 40002, 53, 0, 0, 1, 90)})      // reverse only
    body.insert(body.end(), r.begin(), r.end());
  std::vector<uint8_t> d(16);
  d[0] = 0; d[1] = 10;
  const uint32_t len = static_cast<uint32_t>(16 + 4 + body.size());
  d[2] = static_cast<uint8_t>(len >> 8); d[3] = static_cast<uint8_t>(len);
  const uint32_t secs = static_cast<uint32_t>(kNow / 1000);
  for (int i = 0; i < 4; ++i) d[4 + i] = static_cast<uint8_t>(secs >> (24 - 8 * i));
  d.push_back(0x02); d.push_back(0xBC);  // set 700
  d.push_back(static_cast<uint8_t>((4 + body.size()) >> 8));
  d.push_back(static_cast<uint8_t>(4 + body.size()));
  d.insert(d.end(), body.begin(), body.end());

  std::vector<FlowRecord> got = h.feed(d);
  // Forward 1, forward 2, then the reverse of 1 and of 3 (2's is empty,
  // and 3's forward direction is empty).
  REQUIRE(got.size() == 4);
  CHECK(got[0].src == IpAddr::from_v4(0x0A000001));
  CHECK(got[0].packets == 10);
  CHECK(got[0].bytes == 1500);
  CHECK(got[0].input == 3);
  CHECK(got[0].output == 9);
  CHECK(got[1].src == IpAddr::from_v4(0x0A000003));
  CHECK(got[1].packets == 3);
  const FlowRecord& r1 = got[2];
  CHECK(r1.src == IpAddr::from_v4(0x0A000002));
  CHECK(r1.dst == IpAddr::from_v4(0x0A000001));
  CHECK(r1.src_port == 443);
  CHECK(r1.dst_port == 40000);
  CHECK(r1.protocol == 6);
  CHECK(r1.input == 9);
  CHECK(r1.output == 3);
  CHECK(r1.packets == 8);
  CHECK(r1.bytes == 64000);
  CHECK(r1.start_ms == kNow - 5000);  // no reverse times: the forward ones
  CHECK(r1.end_ms == kNow - 1000);
  CHECK(r1.ip_version == 4);
  const FlowRecord& r3 = got[3];
  CHECK(r3.src == IpAddr::from_v4(0x0A000006));
  CHECK(r3.src_port == 53);
  CHECK(r3.packets == 1);
  CHECK(r3.bytes == 90);
}

TEST_CASE("IPFIX: counters under an unknown enterprise number are counted per template",
          "[decode][sessions]") {
  Harness h;
  TemplateSpec t;
  t.id = 701;
  t.fields = {{ie::kSourceIPv4Address, 4}, {ie::kDestinationIPv4Address, 4},
              {ie::kOctetDeltaCount, 8, 9},   // Cisco's PEN: not decoded
              {ie::kPacketDeltaCount, 8, 9}};
  h.feed(Msg(WireVersion::kIpfix).templates({t}).finish(0));
  const DecodePlan* plan = h.s->find_template(key(10), 701);
  REQUIRE(plan);
  CHECK(plan->reverse == nullptr);
  CHECK(plan->unknown_counter_fields == 2);
  CHECK(plan->unknown_counter_pen == 9);
  CHECK(plan->unknown_counter_id == ie::kOctetDeltaCount);
  CHECK(h.counters.templates_unknown_counters.load() == 1);
  // A refresh is not a new template.
  h.feed(Msg(WireVersion::kIpfix).templates({t}).finish(0));
  CHECK(h.counters.templates_unknown_counters.load() == 1);
  std::vector<uint16_t> tpl;
  const std::vector<uint8_t> d = Msg(WireVersion::kIpfix).data(t, {flow(1)}).finish(0);
  Admit a;
  h.s->admit(d.data(), d.size(), kExporter, 5, kNow);
  RecordReader r(h.s->meta(5), d.data(), d.size(), kNow, h.v5opts);
  FlowRecord out[4];
  RecordChunk c;
  REQUIRE(r.next(out, 4, &c) == 1);
  CHECK(c.unknown_counters);
  CHECK_FALSE(c.biflow);
  (void)a;
  h.s->release(5);
}

}  // namespace ringflow
