// The sFlow v5 decoder on hand-built datagrams (src/decode/sflow_decoder.h):
// every record format it reads, field by field, including those no capture in
// ../shared/captures/sflow carries (sampled IPv6, extended MPLS, an IPv6 agent
// with expanded counters); every validation reason, each from a valid
// datagram with one thing broken; and a valid datagram cut at every length,
// which must be rejected whole with nothing reaching the sink.
#include <catch2/catch.hpp>

#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "decode/sflow_decoder.h"

namespace ringflow {
namespace {

using Bytes = std::vector<uint8_t>;

struct W {
  Bytes b;
  W() { b.reserve(512); }
  W& u32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
    return *this;
  }
  W& u64(uint64_t v) { return u32(static_cast<uint32_t>(v >> 32)).u32(static_cast<uint32_t>(v)); }
  W& raw(const Bytes& x) {
    b.insert(b.end(), x.begin(), x.end());
    return *this;
  }
};

// data_format | length | body
Bytes tlv(uint32_t data_format, const Bytes& body) {
  return W().u32(data_format).u32(static_cast<uint32_t>(body.size())).raw(body).b;
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes datagram_v4(uint32_t num_samples, const Bytes& samples, uint32_t agent = 0xC0000201) {
  return W()
      .u32(5)
      .u32(1)
      .u32(agent)
      .u32(7)       // sub-agent
      .u32(1000)    // sequence
      .u32(123456)  // uptime
      .u32(num_samples)
      .raw(samples)
      .b;
}

// Ethernet / 802.1Q 300 / IPv4 / TCP, 58 bytes.
Bytes eth_ipv4_tcp() {
  Bytes f = {0x30, 0xe4, 0xdb, 0x3e, 0x33, 0x7f, 0x00, 0x17, 0x08, 0x7d, 0x77, 0x42,
             0x81, 0x00, 0x01, 0x2c, 0x08, 0x00,                                   // tag 300
             0x45, 0x10, 0x05, 0xdc, 0,    0,    0x40, 0,    64,   6,    0,    0,  // IPv4, len 1500
             10,   1,    2,    3,    192,  0,    2,    9,  // 10.1.2.3 -> 192.0.2.9
             0x9c, 0x40, 0x01, 0xbb, 0,    0,    0,    1,    0,    0,    0,    2,
             0x50, 0x12,  // 40000 -> 443, SYN ACK
             0xff, 0xff, 0,    0,    0,    0};
  return f;
}

Bytes raw_header_record(const Bytes& frame, uint32_t frame_length, uint32_t stripped) {
  Bytes body = W().u32(1).u32(frame_length).u32(stripped).u32(uint32_t(frame.size())).raw(frame).b;
  while (body.size() % 4) body.push_back(0);
  return tlv(1, body);
}

const uint8_t kV6a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
const uint8_t kV6b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b};
Bytes v6(const uint8_t a[16]) { return Bytes(a, a + 16); }

Bytes sampled_ipv6_record() {
  return tlv(
      4, W().u32(1240).u32(17).raw(v6(kV6a)).raw(v6(kV6b)).u32(5353).u32(53).u32(0).u32(0x2e).b);
}
Bytes switch_record(uint32_t in_vlan) {
  return tlv(1001, W().u32(in_vlan).u32(3).u32(301).u32(4).b);
}
Bytes router_record_v6() { return tlv(1002, W().u32(2).raw(v6(kV6b)).u32(24).u32(48).b); }
Bytes gateway_record() {
  return tlv(1003, W().u32(1)
                       .u32(0xC6336401)  // next hop 198.51.100.1
                       .u32(65000)       // as
                       .u32(64512)       // src_as
                       .u32(64513)       // src_peer_as
                       .u32(2)           // segments
                       .u32(2)
                       .u32(2)
                       .u32(174)
                       .u32(3356)  // sequence 174 3356
                       .u32(1)
                       .u32(3)
                       .u32(1)
                       .u32(2)
                       .u32(4200000000)  // set {1 2 4200000000}
                       .u32(2)
                       .u32(0xFDE80001)
                       .u32(0xFDE80002)  // communities
                       .u32(150)         // localpref
                       .b);
}
Bytes mpls_record() {
  return tlv(
      1006,
      W().u32(1).u32(0x0A000001).u32(2).u32(0x003E8140).u32(0x00001140).u32(1).u32(0x00064140).b);
}
Bytes unknown_record() { return tlv(4413 << 12 | 5, W().u32(1).u32(2).b); }

Bytes flow_sample(const Bytes& records, uint32_t nrec, uint32_t rate = 512) {
  return tlv(1, W().u32(42)             // sequence
                    .u32(0 << 24 | 17)  // source: ifIndex 17
                    .u32(rate)
                    .u32(4096000)     // pool
                    .u32(3)           // drops
                    .u32(17)          // input
                    .u32(0x80000002)  // output: format 2, 2 interfaces
                    .u32(nrec)
                    .raw(records)
                    .b);
}

Bytes generic_counters(uint32_t if_index) {
  return tlv(1, W().u32(if_index)
                    .u32(6)
                    .u64(100000000000ull)
                    .u32(1)
                    .u32(3)
                    .u64(0x123456789abull)
                    .u32(11)
                    .u32(12)
                    .u32(13)
                    .u32(14)
                    .u32(15)
                    .u32(16)
                    .u64(0xfedcba987ull)
                    .u32(21)
                    .u32(22)
                    .u32(23)
                    .u32(24)
                    .u32(25)
                    .u32(1)
                    .b);
}
Bytes ethernet_counters() {
  W w;
  for (uint32_t k = 1; k <= 13; ++k) w.u32(100 + k);
  return tlv(2, w.b);
}

struct Out : SflowSink {
  std::vector<SflowFlowRecord> records;
  std::vector<FlowRecord> flows;
  std::vector<SflowFlowSample> samples;
  std::vector<SflowCounterRecord> counter_records;
  std::vector<SflowCounterSample> counter_samples;
  std::vector<std::pair<uint32_t, uint32_t>> unknowns;
  SflowDatagram d;
  void flow_record(const SflowDatagram&, const SflowFlowSample&,
                   const SflowFlowRecord& r) override {
    records.push_back(r);
  }
  void flow(const SflowDatagram& dg, const SflowFlowSample& s, const FlowRecord& f) override {
    d = dg;
    samples.push_back(s);
    flows.push_back(f);
  }
  void counters(const SflowDatagram& dg, const SflowCounterSample& s,
                const SflowCounterRecord& r) override {
    d = dg;
    counter_samples.push_back(s);
    counter_records.push_back(r);
  }
  void unknown(const SflowDatagram&, SflowUnknown, uint32_t e, uint32_t f) override {
    unknowns.emplace_back(e, f);
  }
  bool empty() const {
    return records.empty() && flows.empty() && counter_records.empty() && unknowns.empty();
  }
};

SflowResult run(const Bytes& dg, Out* out, SflowOptions opt = {}) {
  // Exact-size heap copy: ASan reports a read one byte past the datagram.
  std::unique_ptr<uint8_t[]> buf(new uint8_t[dg.size()]);
  if (!dg.empty()) std::memcpy(buf.get(), dg.data(), dg.size());
  return decode_sflow(buf.get(), dg.size(), opt, out);
}

Bytes full_flow_datagram() {
  const Bytes records =
      cat({raw_header_record(eth_ipv4_tcp(), 1522, 4), sampled_ipv6_record(), switch_record(300),
           router_record_v6(), gateway_record(), mpls_record(), unknown_record()});
  return datagram_v4(1, flow_sample(records, 7));
}

TEST_CASE("sflow: every flow record format, field by field", "[decode][sflow]") {
  Out out;
  SflowOptions opt;
  opt.now_ms = 1700000000123;
  const SflowResult r = run(full_flow_datagram(), &out, opt);
  REQUIRE(r.reject == SflowReject::kNone);
  CHECK(r.flow_samples == 1);
  CHECK(r.flow_records == 7);
  CHECK(r.unknown_records == 1);
  CHECK(r.cut_headers == 0);  // 58 bytes of a 1522-byte frame reach the TCP flags
  REQUIRE(out.records.size() == 7);
  CHECK(out.d.agent == IpAddr::from_v4(0xC0000201));
  CHECK(out.d.sub_agent == 7);
  CHECK(out.d.sequence == 1000);
  CHECK(out.d.uptime_ms == 123456);

  const SflowFlowSample& s = out.samples.at(0);
  CHECK(s.format == 1);
  CHECK(s.sequence == 42);
  CHECK(s.source_type == 0);
  CHECK(s.source_index == 17);
  CHECK(s.rate == 512);
  CHECK(s.pool == 4096000);
  CHECK(s.drops == 3);
  CHECK(s.input_format == 0);
  CHECK(s.input == 17);
  CHECK(s.output_format == 2);
  CHECK(s.output == 2);

  const SflowFlowRecord& raw = out.records[0];
  CHECK(raw.header_protocol == 1);
  CHECK(raw.frame_length == 1522);
  CHECK(raw.stripped == 4);
  CHECK(raw.header_length == 58);
  CHECK(raw.packet.vlans[0] == 300);
  CHECK(raw.packet.src == IpAddr::from_v4(0x0A010203));
  CHECK(raw.packet.tcp_flags == 0x012);

  const SflowFlowRecord& ip6 = out.records[1];
  CHECK(ip6.format == 4);
  CHECK(ip6.ip.length == 1240);
  CHECK(ip6.ip.protocol == 17);
  CHECK(ip6.ip.src == IpAddr::from_v6(kV6a));
  CHECK(ip6.ip.dst == IpAddr::from_v6(kV6b));
  CHECK(ip6.ip.src_port == 5353);
  CHECK(ip6.ip.dst_port == 53);
  CHECK(ip6.ip.tos == 0x2e);

  const SflowFlowRecord& sw = out.records[2];
  CHECK(sw.src_vlan == 300);
  CHECK(sw.src_priority == 3);
  CHECK(sw.dst_vlan == 301);
  CHECK(sw.dst_priority == 4);

  const SflowFlowRecord& rt = out.records[3];
  CHECK(rt.nexthop_type == 2);
  CHECK(rt.nexthop == IpAddr::from_v6(kV6b));
  CHECK(rt.src_mask == 24);
  CHECK(rt.dst_mask == 48);

  const SflowFlowRecord& gw = out.records[4];
  CHECK(gw.nexthop == IpAddr::from_v4(0xC6336401));
  CHECK(gw.as == 65000);
  CHECK(gw.src_as == 64512);
  CHECK(gw.src_peer_as == 64513);
  CHECK(gw.path_segments == 2);
  CHECK(gw.path_length == 5);
  CHECK(gw.first_as == 174);
  CHECK(gw.last_as == 4200000000u);
  CHECK(gw.communities == 2);
  CHECK(gw.localpref == 150);

  const SflowFlowRecord& mp = out.records[5];
  CHECK(mp.nexthop == IpAddr::from_v4(0x0A000001));
  CHECK(mp.mpls_in_count == 2);
  CHECK(mp.mpls_in_top == 0x003E8140);
  CHECK(mp.mpls_out_count == 1);
  CHECK(mp.mpls_out_top == 0x00064140);

  CHECK(out.records[6].enterprise == 4413);
  CHECK(out.records[6].format == 5);
  REQUIRE(out.unknowns.size() == 1);
  CHECK(out.unknowns[0] == std::make_pair(4413u, 5u));

  // One FlowRecord: key from the raw header, routing from the extended records.
  REQUIRE(out.flows.size() == 1);
  const FlowRecord& f = out.flows[0];
  CHECK(f.ip_version == 4);
  CHECK(f.src == IpAddr::from_v4(0x0A010203));
  CHECK(f.dst == IpAddr::from_v4(0xC0000209));
  CHECK(f.src_port == 40000);
  CHECK(f.dst_port == 443);
  CHECK(f.protocol == 6);
  CHECK(f.tos == 0x10);
  CHECK(f.tcp_flags == 0x12);
  CHECK(f.packets == 1);
  CHECK(f.bytes == 1522);
  CHECK(f.sampling == 512);
  CHECK(f.flags == (kFlowHasRate | kFlowTimeUnknown));
  CHECK(f.start_ms == 1700000000123);
  CHECK(f.end_ms == 1700000000123);
  CHECK(f.input == 17);
  CHECK(f.output == 0);  // format 2: several interfaces, no single ifIndex
  CHECK(f.vlan == 300);
  CHECK(f.nexthop == IpAddr::from_v6(kV6b));  // router's, not the gateway's
  CHECK(f.src_mask == 24);
  CHECK(f.dst_mask == 48);
  CHECK(f.src_as == 64512);
  CHECK(f.dst_as == 4200000000u);
}

TEST_CASE("sflow: the byte count modes", "[decode][sflow]") {
  SflowOptions opt;
  Out l2, stripped, l3;
  REQUIRE(run(full_flow_datagram(), &l2, opt).reject == SflowReject::kNone);
  opt.bytes = SflowBytes::kFrameMinusStripped;
  REQUIRE(run(full_flow_datagram(), &stripped, opt).reject == SflowReject::kNone);
  opt.bytes = SflowBytes::kIpLength;
  REQUIRE(run(full_flow_datagram(), &l3, opt).reject == SflowReject::kNone);
  CHECK(l2.flows.at(0).bytes == 1522);
  CHECK(stripped.flows.at(0).bytes == 1518);
  CHECK(l3.flows.at(0).bytes == 1500);

  // Only a sampled IPv6 record: its length, in every mode, and its key.
  Out only;
  REQUIRE(run(datagram_v4(1, flow_sample(sampled_ipv6_record(), 1)), &only).reject ==
          SflowReject::kNone);
  const FlowRecord& f = only.flows.at(0);
  CHECK(f.bytes == 1240);
  CHECK(f.ip_version == 6);
  CHECK(f.src == IpAddr::from_v6(kV6a));
  CHECK(f.dst_port == 53);
  CHECK(f.tos == 0x2e);

  // No record with a length: 0 bytes, still one packet x rate; rate 0 -> 1.
  Out none;
  REQUIRE(run(datagram_v4(1, flow_sample(switch_record(0xFFFFFFFF), 1, 0)), &none).reject ==
          SflowReject::kNone);
  CHECK(none.flows.at(0).bytes == 0);
  CHECK(none.flows.at(0).sampling == 1);
  CHECK(none.flows.at(0).vlan == 0);  // 0xFFFFFFFF = unknown
}

// What the ordered stage reads of a flow sample (walk_sflow_samples, and the
// validating pass's SflowHeads) gives the reconciliation the layer-2 length
// the decoder counts in its default mode: the first sampled IPv4/IPv6
// record's, even when that is 0 and a later one's is not (a fuzzed datagram
// found the walk taking the first non-zero one while the decoder took the
// first).
TEST_CASE("sflow: the ordered stage's length is the decoder's, first sampled record first",
          "[decode][sflow]") {
  struct Heads : SflowWalk {
    std::vector<SflowSampleHead> h;
    void sample(const SflowSampleHead& x) override { h.push_back(x); }
  };
  auto sampled_v6 = [](uint32_t length) {
    return tlv(
        4, W().u32(length).u32(17).raw(v6(kV6a)).raw(v6(kV6b)).u32(5353).u32(53).u32(0).u32(0).b);
  };
  const Bytes dg = datagram_v4(1, flow_sample(cat({sampled_v6(0), sampled_v6(1240)}), 2));
  Out out;
  REQUIRE(run(dg, &out).reject == SflowReject::kNone);
  REQUIRE(out.flows.size() == 1);
  CHECK(out.flows[0].bytes == 0);  // the first sampled record's length
  SflowDatagram d;
  uint32_t trailing = 0;
  SflowHeads heads;
  REQUIRE(validate_sflow(dg.data(), dg.size(), &d, &trailing, &heads) == SflowReject::kNone);
  REQUIRE(heads.complete);
  REQUIRE(heads.n == 1);
  CHECK(heads.heads[0].length == out.flows[0].bytes);
  Heads walk;
  walk_sflow_samples(dg.data(), dg.size(), d, &walk);
  REQUIRE(walk.h.size() == 1);
  CHECK(walk.h[0].length == out.flows[0].bytes);
}

TEST_CASE("sflow: IPv6 agent, expanded counter sample, unknown sample", "[decode][sflow]") {
  const Bytes counters = tlv(4, W().u32(9)
                                    .u32(0)         // source type
                                    .u32(70000000)  // expanded index (> 24 bits)
                                    .u32(3)
                                    .raw(generic_counters(70000000))
                                    .raw(ethernet_counters())
                                    .raw(tlv(2207, W().u32(1).b))
                                    .b);
  const Bytes discard = tlv(5, W().u32(1).u32(2).b);  // sflow_drops.txt: skipped
  const Bytes dg =
      W().u32(5).u32(2).raw(v6(kV6a)).u32(1).u32(2).u32(3).u32(2).raw(discard).raw(counters).b;
  Out out;
  const SflowResult r = run(dg, &out);
  REQUIRE(r.reject == SflowReject::kNone);
  CHECK(r.unknown_samples == 1);
  CHECK(r.counter_samples == 1);
  CHECK(r.counter_records == 3);
  CHECK(out.d.agent == IpAddr::from_v6(kV6a));
  REQUIRE(out.counter_records.size() == 3);
  const SflowCounterSample& cs = out.counter_samples[0];
  CHECK(cs.index == 1);
  CHECK(cs.format == 4);
  CHECK(cs.sequence == 9);
  CHECK(cs.source_index == 70000000);
  const GenericIfCounters& g = out.counter_records[0].generic;
  CHECK(g.if_index == 70000000);
  CHECK(g.if_type == 6);
  CHECK(g.if_speed == 100000000000ull);
  CHECK(g.if_direction == 1);
  CHECK(g.if_status == 3);
  CHECK(g.in_octets == 0x123456789abull);
  CHECK(g.in_ucast == 11);
  CHECK(g.in_unknown == 16);
  CHECK(g.out_octets == 0xfedcba987ull);
  CHECK(g.out_ucast == 21);
  CHECK(g.out_errors == 25);
  CHECK(g.promisc == 1);
  const EthernetCounters& e = out.counter_records[1].ethernet;
  CHECK(e.alignment_errors == 101);
  CHECK(e.fcs_errors == 102);
  CHECK(e.symbol_errors == 113);
  CHECK(out.counter_records[2].format == 2207);
  REQUIRE(out.unknowns.size() == 2);
  CHECK(out.unknowns[0] == std::make_pair(0u, 5u));
  CHECK(out.unknowns[1] == std::make_pair(0u, 2207u));
}

TEST_CASE("sflow: bytes after the declared samples are accepted and counted", "[decode][sflow]") {
  Bytes dg = full_flow_datagram();
  dg.insert(dg.end(), 12, 0);
  Out out;
  const SflowResult r = run(dg, &out);
  CHECK(r.reject == SflowReject::kNone);
  CHECK(r.trailing_bytes == 12);
  CHECK(out.flows.size() == 1);
}

// A valid datagram with one thing broken: rejected under exactly that reason.
void expect_reject(const Bytes& dg, SflowReject want) {
  Out out;
  const SflowResult r = run(dg, &out);
  CHECK(std::string(sflow_reject_name(r.reject)) == sflow_reject_name(want));
  CHECK(out.empty());
}

TEST_CASE("sflow: every validation reason", "[decode][sflow]") {
  const Bytes good = full_flow_datagram();
  expect_reject(Bytes(good.begin(), good.begin() + 7), SflowReject::kTooShort);
  expect_reject(Bytes(good.begin(), good.begin() + 27), SflowReject::kTooShort);

  Bytes v = good;
  v[3] = 4;  // version 4
  expect_reject(v, SflowReject::kBadVersion);
  v = good;
  v[7] = 3;  // agent address type 3
  expect_reject(v, SflowReject::kBadAgentType);
  v = good;
  v[27] = 2;  // two samples declared, one present
  expect_reject(v, SflowReject::kSampleCountMismatch);
  v = good;
  v[28 + 6] += 1;  // sample length + 256: past the datagram
  expect_reject(v, SflowReject::kSamplePastDatagram);

  // A flow sample of 28 bytes (its fixed part is 32).
  expect_reject(datagram_v4(1, tlv(1, Bytes(28, 0))), SflowReject::kSampleTooShort);
  // Two records declared, one present.
  expect_reject(datagram_v4(1, flow_sample(switch_record(1), 2)),
                SflowReject::kRecordCountMismatch);
  // A record longer than its sample.
  Bytes rec = switch_record(1);
  rec[7] = 20;
  expect_reject(datagram_v4(1, flow_sample(rec, 1)), SflowReject::kRecordPastSample);
  // Known records shorter than their fixed fields.
  expect_reject(datagram_v4(1, flow_sample(tlv(1001, Bytes(12, 0)), 1)),
                SflowReject::kRecordTooShort);
  expect_reject(datagram_v4(1, flow_sample(tlv(3, Bytes(28, 0)), 1)), SflowReject::kRecordTooShort);
  expect_reject(datagram_v4(1, tlv(2, W().u32(1).u32(5).u32(1).raw(tlv(1, Bytes(84, 0))).b)),
                SflowReject::kRecordTooShort);
  // Raw header: header_length larger than the record.
  Bytes raw = raw_header_record(eth_ipv4_tcp(), 1522, 4);
  raw[8 + 15] = 62;  // header_length 58 -> 62 within a 76-byte record
  expect_reject(datagram_v4(1, flow_sample(raw, 1)), SflowReject::kHeaderPastRecord);
  // Router next hop of address type 3.
  expect_reject(datagram_v4(1, flow_sample(tlv(1002, W().u32(3).u32(0).u32(0).u32(0).b), 1)),
                SflowReject::kBadAddressType);
  // Gateway AS path with more ASes than the record holds.
  Bytes gw = gateway_record();
  gw[8 + 31] = 40;  // first segment's AS count: 2 -> 40
  expect_reject(datagram_v4(1, flow_sample(gw, 1)), SflowReject::kListPastRecord);
  // MPLS out-stack count past the record.
  Bytes mp = mpls_record();
  mp[mp.size() - 5] = 9;
  expect_reject(datagram_v4(1, flow_sample(mp, 1)), SflowReject::kListPastRecord);
}

TEST_CASE("sflow: a datagram cut at every length is rejected whole", "[decode][sflow]") {
  const Bytes good = full_flow_datagram();
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("cut at " << n << " of " << good.size());
    Out out;
    const SflowResult r = run(Bytes(good.begin(), good.begin() + n), &out);
    CHECK(r.reject != SflowReject::kNone);
    CHECK(out.empty());
  }
}

}  // namespace
}  // namespace ringflow
