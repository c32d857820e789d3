// ringflow-gen --protocol sflow, read back by a second opinion: every
// datagram the Generator builds is decoded with src/decode/sflow_decoder.h
// and compared, sample by sample and field by field, with the generator's
// own truth of that datagram (SflowDatagramSpec, via the sFlow observer):
// header, flow sample fields (sequence, source, rate, pool, drops,
// interfaces), the FlowRecord each sample becomes (key, packets 1, bytes =
// frame_length, sampling = rate, VLAN, next hop, masks, AS numbers), counter
// samples, cut headers (counted by the decoder exactly where the generator
// cut), and malformed datagrams (each rejected for its class's reason).
// Then the stream truth against what was decoded, and the counters against
// the traffic they counted. tests/gen_tshark_test.sh checks the same output
// with Wireshark.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "decode/sflow_decoder.h"
#include "gen/generator.h"
#include "gen/sflow_encoder.h"

namespace ringflow::gen {
namespace {

constexpr int64_t kNow = 1700000000000000000;  // ns

GenConfig sflow_config() {
  GenConfig c = default_config();
  c.protocol = Protocol::kSflow;
  c.exporters = 3;
  c.domains = 2;  // sub-agents
  c.agent_ipv6 = true;
  c.sampler_rates = {10, 100, 1000};
  c.ipv6_share = 0.3;
  c.keys = 500;
  c.count = 600;
  c.counter_every = 7;
  c.quiet = true;
  c.progress = false;
  return c;
}

using DatagramKey = std::tuple<std::string, uint32_t, uint32_t, uint32_t>;  // agent, sub, seq, uptime

struct Decoded : SflowSink {
  SflowDatagram dgram;
  std::vector<SflowFlowSample> samples;
  std::vector<FlowRecord> flows;
  std::vector<SflowCounterSample> counter_samples;
  std::vector<SflowCounterRecord> records;
  void flow(const SflowDatagram& d, const SflowFlowSample& s, const FlowRecord& r) override {
    dgram = d;
    samples.push_back(s);
    flows.push_back(r);
  }
  void counters(const SflowDatagram& d, const SflowCounterSample& s,
                const SflowCounterRecord& r) override {
    dgram = d;
    counter_samples.push_back(s);
    records.push_back(r);
  }
};

struct Run {
  std::map<DatagramKey, SflowDatagramSpec> specs;
  std::vector<StreamTruth> truth;
  uint64_t valid = 0, flows = 0, cut = 0, counter_samples = 0, lost_flows_seen = 0;
  uint64_t zero_sequence = 0, restarted_samples = 0;  // datagrams built with sequence 0
  std::map<MalformedClass, uint64_t> malformed;
  std::map<SflowReject, uint64_t> rejects;
  // Per (agent, sub, ifIndex): frame_length x rate of every flow sample
  // decoded, and the last counter's octets, with the sequence it came at.
  std::map<std::tuple<std::string, uint32_t, uint32_t>, uint64_t> flow_octets;
  uint64_t counter_checks = 0, counter_mismatches = 0, counter_gap = 0, counter_below = 0;
  std::map<DatagramKey, int> seen;  // datagrams decoded (a duplicate counts its flows once)
};

DatagramKey key_of(const IpAddr& agent, uint32_t sub, uint32_t seq, uint32_t uptime) {
  return {agent.str(), sub, seq, uptime};
}

// Compares one decoded flow sample with the generator's sample.
void check_sample(const SflowSample& m, const SflowFlowSample& s, const FlowRecord& r,
                  const GenConfig& c) {
  INFO("key " << m.key << " v6 " << m.v6 << " proto " << int{m.protocol} << " cut " << m.cut);
  CHECK(s.format == (c.sflow_expanded ? 3u : 1u));
  CHECK(s.sequence == m.sequence);
  CHECK(s.source_type == 0);
  CHECK(s.source_index == m.source + 1);
  CHECK(s.rate == m.rate);
  CHECK(s.pool == m.pool);
  CHECK(s.drops == m.drops);
  CHECK(s.input == m.input);
  CHECK(s.output == m.output);
  CHECK(r.packets == 1);
  CHECK(r.bytes == m.counted_bytes());
  CHECK(r.sampling == m.rate);
  CHECK(r.input == m.input);
  CHECK(r.output == m.output);
  if (!m.cut) {
    CHECK(r.src == m.src);
    CHECK(r.dst == m.dst);
    CHECK(r.protocol == m.protocol);
    CHECK(r.src_port == m.src_port);
    CHECK(r.dst_port == m.dst_port);
    CHECK(r.tos == m.tos);
    CHECK(r.tcp_flags == m.tcp_flags);
    CHECK(r.ip_version == (m.v6 ? 6 : 4));
  }
  const uint16_t want_vlan = m.vlan ? m.vlan : ((m.records & kSflowRecSwitch) ? 1 : 0);
  CHECK(r.vlan == want_vlan);
  if (m.records & (kSflowRecRouter | kSflowRecGateway)) CHECK(r.nexthop == m.nexthop);
  if (m.records & kSflowRecRouter) {
    CHECK(r.src_mask == m.src_mask);
    CHECK(r.dst_mask == m.dst_mask);
  }
  if (m.records & kSflowRecGateway) {
    CHECK(r.src_as == m.src_as);
    CHECK(r.dst_as == m.dst_as);
  }
}

Run run(const GenConfig& c, bool decapsulate = false) {
  REQUIRE(validate(c) == "");
  TrafficModel model(c.keys, c.zipf, c.seed, c.ipv6_share);
  std::vector<uint32_t> exporters;
  for (uint32_t e = 0; e < c.exporters; ++e) exporters.push_back(e);
  Generator g(c, model, exporters, kNow, true);
  Run out;
  g.set_sflow_observer([&](const SflowDatagramSpec& d) {
    out.specs[key_of(d.agent, d.sub_agent, d.sequence, d.uptime_ms)] = d;
    if (d.lost) out.lost_flows_seen += d.n;
    if (d.sequence == 0) {
      ++out.zero_sequence;
      for (uint32_t i = 0; i < d.n; ++i) out.restarted_samples += d.samples[i].sequence == 1;
    }
  });
  SendBatch batch(64 * kMaxEntriesPerSlot);
  SflowOptions opt;
  opt.packet.decapsulate = decapsulate;
  opt.flow_record_views = false;
  auto consume = [&] {
    for (size_t i = 0; i < batch.size(); ++i) {
      const Outgoing& o = batch[i];
      Decoded dec;
      const SflowResult res = decode_sflow(o.data, o.len, opt, &dec);
      if (o.malformed >= 0) {
        const auto mc = static_cast<MalformedClass>(o.malformed);
        INFO("malformed " << malformed_name(mc));
        CHECK(res.reject == expected_sflow_reject(mc));
        ++out.malformed[mc];
        ++out.rejects[res.reject];
        CHECK(dec.flows.empty());
        continue;
      }
      REQUIRE(res.reject == SflowReject::kNone);
      ++out.valid;
      SflowDatagram hd;
      uint32_t trailing = 0;
      REQUIRE(validate_sflow(o.data, o.len, &hd, &trailing) == SflowReject::kNone);
      CHECK(trailing == 0);
      auto it = out.specs.find(key_of(hd.agent, hd.sub_agent, hd.sequence, hd.uptime_ms));
      REQUIRE(it != out.specs.end());
      const SflowDatagramSpec& d = it->second;
      CHECK_FALSE(d.lost);
      CHECK(hd.agent_type == (d.agent_v6 ? 2u : 1u));
      CHECK(hd.num_samples == d.n + d.n_counters);
      REQUIRE(dec.flows.size() == d.n);
      REQUIRE(dec.records.size() == d.n_counters);
      uint32_t cut = 0;
      const bool first_copy = out.seen[it->first]++ == 0;
      for (uint32_t k = 0; k < d.n; ++k) {
        const SflowSample& m = d.samples[k];
        check_sample(m, dec.samples[k], dec.flows[k], c);
        cut += m.cut;
        if (first_copy)
          out.flow_octets[{hd.agent.str(), hd.sub_agent, m.input}] +=
              uint64_t{m.frame_length} * m.rate;
      }
      CHECK(res.cut_headers == cut);
      out.cut += res.cut_headers;
      out.flows += d.n;
      for (uint32_t k = 0; k < d.n_counters; ++k) {
        const SflowIfCounters& want = d.counters[k];
        const SflowCounterSample& cs = dec.counter_samples[k];
        const GenericIfCounters& got = dec.records[k].generic;
        CHECK(cs.format == (c.sflow_expanded ? 4u : 2u));
        CHECK(cs.sequence == want.sequence);
        CHECK(cs.source_index == want.if_index);
        CHECK(dec.records[k].format == sflow::kGenericInterface);
        CHECK(got.if_index == want.if_index);
        CHECK(got.in_octets == want.in_octets);
        CHECK(got.in_ucast == want.in_ucast);
        // The counter against the flow samples decoded before it.
        const uint64_t flows_say = out.flow_octets[{hd.agent.str(), hd.sub_agent, got.if_index}];
        ++out.counter_checks;
        if (got.in_octets != flows_say) ++out.counter_mismatches;
        if (got.in_octets > flows_say) out.counter_gap += got.in_octets - flows_say;
        if (got.in_octets < flows_say) ++out.counter_below;
      }
      out.counter_samples += d.n_counters;
    }
  };
  int64_t now = kNow;
  while (!g.done()) {
    now += 1000000;  // 1 ms per batch: uptimes differ
    g.fill(batch, 64, now);
    consume();
  }
  while (g.flush(batch)) consume();
  consume();
  for (size_t i = 0; i < g.streams(); ++i) out.truth.push_back(g.truth(i));
  return out;
}

StreamTruth total(const Run& r) { return total_of(r.truth); }

TEST_CASE("sFlow: every datagram decodes to the generator's truth, field by field",
          "[sflow]") {
  GenConfig c = sflow_config();
  const int variant = GENERATE(0, 1, 2, 3, 4);
  switch (variant) {
    case 0:  // compact, default records
      break;
    case 1:  // expanded, every record, 802.1Q
      c.sflow_expanded = true;
      c.sflow_records = kSflowRecHeader | kSflowRecIp | kSflowRecSwitch | kSflowRecRouter |
                        kSflowRecGateway;
      c.vlan = true;
      break;
    case 2:
      c.sflow_records = kSflowRecIp | kSflowRecGateway;  // sampled IP records only
      break;
    case 3:
      c.mpls = true;
      break;
    default:
      c.header_bytes = 64;  // short headers: some end before the key
      break;
  }
  INFO("variant " << variant);
  const Run r = run(c);
  const StreamTruth t = total(r);
  CHECK(t.datagrams == r.valid);
  CHECK(t.flows == r.flows);
  CHECK(t.flows > 1000);
  CHECK(t.counter_samples == r.counter_samples);
  CHECK(t.counter_samples > 0);
  CHECK(t.cut_headers == r.cut);
  CHECK(t.records_v4 + t.records_v6 == t.flows);
  CHECK(t.records_v6 > 0);
  // Without a fault, every counter equals the traffic its flow samples
  // account for (rate x frame_length of each): reconciliation reads 100 %.
  CHECK(r.counter_checks == t.counter_samples);
  CHECK(r.counter_mismatches == 0);
  // IPv4 and IPv6 agents, two sub-agents each.
  int v6_agents = 0;
  for (const auto& s : r.truth) v6_agents += !s.agent.is_v4();
  CHECK(v6_agents == 2);
  CHECK(r.truth.size() == 6);
}

TEST_CASE("sFlow: VXLAN packets decode to the inner key with decapsulation", "[sflow]") {
  GenConfig c = sflow_config();
  c.vxlan = true;
  const Run r = run(c, true);
  CHECK(total(r).flows == r.flows);
  CHECK(r.flows > 1000);
}

TEST_CASE("sFlow: a cut header is counted where the generator cut it", "[sflow][faults]") {
  GenConfig c = sflow_config();
  c.cut_headers = 0.2;
  const Run r = run(c);
  const StreamTruth t = total(r);
  CHECK(t.cut_headers == r.cut);
  // About a fifth of the samples, well away from 0 and from all.
  CHECK(r.cut > r.flows / 10);
  CHECK(r.cut < r.flows / 3);
}

TEST_CASE("sFlow: loss and agent drops are in the truth, and the counters show the gap",
          "[sflow][faults]") {
  GenConfig c = sflow_config();
  c.loss = 0.05;
  c.agent_drops = 0.1;
  c.reorder = 0.02;
  c.duplicate = 0.02;
  const Run r = run(c);
  const StreamTruth t = total(r);
  CHECK(t.lost_datagrams > 0);
  CHECK(t.lost_flows == r.lost_flows_seen);
  CHECK(t.agent_drops > 0);
  CHECK(t.duplicates > 0);
  CHECK(t.reordered > 0);
  CHECK(t.datagrams == r.valid);
  CHECK(t.flows == r.flows);
  // Counters count every packet the interface carried, dropped and lost
  // samples too, so they exceed what the delivered samples account for, and
  // are never below it.
  CHECK(r.counter_gap > 0);
  CHECK(r.counter_below == 0);
}

TEST_CASE("sFlow: an agent restart starts every sequence again", "[sflow][faults]") {
  GenConfig c = sflow_config();
  c.reset_every = 40;
  const Run r = run(c);
  const StreamTruth t = total(r);
  CHECK(t.resets > 0);
  CHECK(t.datagrams == r.valid);
  CHECK(t.flows == r.flows);
  // Each restart: a datagram with sequence 0 whose samples start at 1 again.
  CHECK(r.zero_sequence == t.resets);
  CHECK(r.restarted_samples > 0);
}

TEST_CASE("sFlow: each malformed class is rejected for exactly its reason", "[sflow][faults]") {
  GenConfig c = sflow_config();
  c.malformed = 0.3;
  const Run r = run(c);
  const StreamTruth t = total(r);
  for (size_t k = 0; k < kMalformedClasses; ++k) {
    const auto mc = static_cast<MalformedClass>(k);
    INFO(malformed_name(mc));
    const uint64_t sent = t.malformed[k];
    CHECK((sent > 0) == applies(mc, Protocol::kSflow));
    const uint64_t decoded = r.malformed.count(mc) ? r.malformed.at(mc) : 0;
    CHECK(decoded == sent);
  }
  for (const auto reason : {SflowReject::kTooShort, SflowReject::kBadVersion,
                            SflowReject::kBadAgentType, SflowReject::kSamplePastDatagram,
                            SflowReject::kRecordPastSample, SflowReject::kSampleCountMismatch,
                            SflowReject::kHeaderPastRecord}) {
    INFO(sflow_reject_name(reason));
    CHECK(r.rejects.count(reason) == 1);
  }
  CHECK(t.datagrams == r.valid);
}

TEST_CASE("sFlow: options that need --protocol sflow are refused elsewhere", "[sflow][config]") {
  GenConfig c = default_config();
  c.vxlan = true;
  CHECK(validate(c) != "");
  c = sflow_config();
  c.mpls = c.vxlan = true;
  CHECK(validate(c) != "");
  c = sflow_config();
  c.sflow_records = kSflowRecSwitch;  // neither header nor ip
  std::string bad;
  CHECK_FALSE(parse_sflow_records("switch,router", &bad));
  CHECK(parse_sflow_records("ip,switch", &bad) == (kSflowRecIp | kSflowRecSwitch));
}

}  // namespace
}  // namespace ringflow::gen
