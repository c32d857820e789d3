// Generator: the sFlow v5 slots (see generator.h for the slot rules and
// gen/sflow_encoder.h for the wire encoding). A stream is one (agent,
// sub-agent); its sources are ifIndex 1..N, each sampling 1 in its own rate;
// a key is always sampled by source key % N. Kept apart from generator.cc so
// that the v5 path stays as it is.
#include <algorithm>
#include <cstring>

#include "gen/generator.h"
#include "wire/bytes.h"
#include "wire/sflow.h"

namespace ringflow::gen {
namespace {

constexpr uint32_t kPeerAs = 64500;  // RFC 5398's documentation AS: this router's

}  // namespace

uint32_t Generator::sflow_sources() const {
  return std::max<uint32_t>(1, static_cast<uint32_t>(cfg_.sampler_rates.size()));
}

uint32_t Generator::sflow_rate(uint32_t source) const {
  return cfg_.sampler_rates.empty() ? 1 : cfg_.sampler_rates[source];
}

void Generator::sflow_sample_of(const Stream& s, uint32_t k, const FlowCounters& c,
                                SflowSample* out) const {
  SflowSample& m = *out;
  const FlowKey& fk = model_.key(k);
  const uint8_t* tpl = model_.record_template(k);
  m = SflowSample{};
  m.key = k;
  m.v6 = fk.v6;
  m.src = model_.src_addr(k);
  m.dst = model_.dst_addr(k);
  m.protocol = (fk.v6 && fk.proto == 1) ? 58 : fk.proto;  // ICMP over IPv6 is ICMPv6
  m.src_port = fk.sport;
  m.dst_port = fk.dport;
  m.tcp_flags = fk.proto == 6 ? c.tcp_flags : 0;
  m.tos = tpl[v5::rec::kTos];
  m.source = k % sflow_sources();
  m.rate = sflow_rate(m.source);
  m.vlan = cfg_.vlan ? static_cast<uint16_t>(100 + m.source) : 0;
  m.mpls_label = cfg_.mpls ? 1000 + m.source : 0;
  m.vxlan = cfg_.vxlan;
  // One packet of the flow: the flow's mean packet size, at least the headers.
  const uint32_t per_packet = c.packets ? c.octets / c.packets : c.octets;
  m.ip_length = std::max(per_packet, (m.v6 ? 40u : 20u) + sflow_l4_min(m));
  // Ethernet pads a frame to 64 bytes (FCS included).
  m.frame_length = std::max(64u, sflow_l2_overhead(m) + m.ip_length + kFcsLength);
  m.header_length = std::min(cfg_.header_bytes, m.frame_length - kFcsLength);
  m.input = m.source + 1;
  m.output = wire::load_be16(tpl + v5::rec::kOutput);
  m.records = cfg_.sflow_records;
  const uint32_t nh = wire::load_be32(tpl + v5::rec::kNextHop);
  m.nexthop = fk.v6 ? TrafficModel::v6_of(nh) : IpAddr::from_v4(nh);
  m.src_mask = tpl[v5::rec::kSrcMask];
  m.dst_mask = tpl[v5::rec::kDstMask];
  m.src_as = wire::load_be16(tpl + v5::rec::kSrcAs);
  m.dst_as = wire::load_be16(tpl + v5::rec::kDstAs);
  m.peer_as = kPeerAs;
  (void)s;
}

void Generator::sflow_restart(Stream& s) {
  for (auto& so : s.sources) so = Stream::Source{};
  s.since_counters = 0;
}

// The truth of one sample sent (a datagram or its duplicate): cut headers,
// records by family, and (unless cut: its key is incomplete) its key's row.
void Generator::count_sflow_sample(StreamTruth& t, const SflowSample& m) {
  t.cut_headers += m.cut;
  if (m.v6) {
    ++t.records_v6;
  } else {
    ++t.records_v4;
  }
  if (keep_keys_ && !m.cut) {
    KeyTotal& kt = keys_[m.key];
    ++kt.flows;
    kt.packets += 1;
    kt.bytes += m.counted_bytes();
  }
}

uint32_t Generator::build_sflow(Stream& s, uint8_t* buf, int64_t now_ns, bool account,
                                uint32_t* flows, uint64_t* packets, uint64_t* bytes) {
  StreamTruth& t = s.truth;
  SflowDatagramSpec& d = *s.spec;
  d.agent = s.agent;
  d.agent_v6 = s.agent_v6;
  d.sub_agent = s.domain;
  d.sequence = s.sequence;
  d.uptime_ms = static_cast<uint32_t>(s.uptime_ms(now_ns));
  d.expanded = cfg_.sflow_expanded;
  d.lost = !account;
  d.n = 0;
  d.n_counters = 0;
  size_t off = sflow_write_header(buf, kMaxSflowDatagram, d, 0);

  uint64_t pk = 0, by = 0, pk_scaled = 0, by_scaled = 0;
  const uint64_t base = s.rng.next();
  for (uint32_t i = 0; i < cfg_.records && d.n < kMaxSflowSamples; ++i) {
    const uint64_t b = mix64(base + (i + 1) * 0x9E3779B97F4A7C15ull);
    const uint32_t k = model_.key_from_bits(b);
    const FlowCounters c = model_.counters_from_bits(k, (b * 0xD1B54A32D192ED03ull) >> 40);
    SflowSample& m = d.samples[d.n];
    sflow_sample_of(s, k, c, &m);
    Stream::Source& so = s.sources[m.source];
    // The interface carried the packet whatever becomes of its sample: the
    // counters count it (rate packets of this size per sample).
    const uint64_t l2 = m.frame_length;
    const bool dropped = cfg_.agent_drops > 0 && s.rng.chance(cfg_.agent_drops);
    if (!dropped && cfg_.cut_headers > 0 && s.rng.chance(cfg_.cut_headers)) {
      // Cut somewhere after the Ethernet addresses and before the key is complete.
      const uint32_t need = sflow_headers_end(m);
      m.header_length = std::min(m.header_length, 12 + s.rng.below(need - 12));
    }
    m.cut = (m.records & kSflowRecHeader) && m.header_length < sflow_headers_end(m);
    m.sequence = so.sequence + 1;
    m.pool = so.pool + m.rate;
    m.drops = so.drops;
    const size_t n = sflow_write_flow_sample(buf + off, kMaxSflowDatagram - off, m, d.expanded);
    if (n == 0) break;  // full: the packet was not sampled after all
    if (dropped) {
      // The agent had no room for the sample: it says so in `drops` only.
      // Decided before, applied after the room check, so that a full
      // datagram ends the loop whatever the draw: the drops stay a fair
      // 1-in-(1/agent_drops) share of the samples (tests/e2e_sflow_counters_test.sh
      // checks the counters' coverage against it).
      ++so.drops;
      so.pool += m.rate;
      so.in_octets += l2 * m.rate;
      so.in_ucast += m.rate;
      ++t.agent_drops;
      continue;
    }
    off += n;
    so.sequence = m.sequence;
    so.pool = m.pool;
    so.in_octets += l2 * m.rate;
    so.in_ucast += m.rate;
    ++d.n;
    const uint64_t counted = m.counted_bytes();
    pk += 1;
    by += counted;
    pk_scaled += m.rate;
    by_scaled += counted * m.rate;
    if (account) count_sflow_sample(t, m);
  }
  sflow_set_num_samples(buf, d.agent_v6, d.n);
  ++s.sequence;
  t.next_seq = s.sequence;
  s.last_scaled_packets = pk_scaled;
  s.last_scaled_bytes = by_scaled;
  *flows = d.n;
  *packets = pk;
  *bytes = by;
  if (account) {
    ++t.datagrams;
    t.flows += d.n;
    t.packets += pk;
    t.bytes += by;
    t.packets_scaled += pk_scaled;
    t.bytes_scaled += by_scaled;
  }
  if (sflow_observer_) sflow_observer_(d);
  return static_cast<uint32_t>(off);
}

uint32_t Generator::build_sflow_counters(Stream& s, uint8_t* buf, int64_t now_ns) {
  SflowDatagramSpec& d = *s.spec;
  d.agent = s.agent;
  d.agent_v6 = s.agent_v6;
  d.sub_agent = s.domain;
  d.sequence = s.sequence;
  d.uptime_ms = static_cast<uint32_t>(s.uptime_ms(now_ns));
  d.expanded = cfg_.sflow_expanded;
  d.lost = false;
  d.n = 0;
  d.n_counters = 0;
  size_t off = sflow_write_header(buf, kMaxSflowDatagram, d, 0);
  for (uint32_t i = 0; i < sflow_sources(); ++i) {
    Stream::Source& so = s.sources[i];
    SflowIfCounters& c = d.counters[d.n_counters];
    c.if_index = i + 1;
    c.sequence = ++so.counter_sequence;
    c.in_octets = so.in_octets;
    c.in_ucast = static_cast<uint32_t>(so.in_ucast);
    off += sflow_write_counter_sample(buf + off, kMaxSflowDatagram - off, c, d.expanded);
    ++d.n_counters;
  }
  sflow_set_num_samples(buf, d.agent_v6, d.n_counters);
  ++s.sequence;
  s.truth.next_seq = s.sequence;
  ++s.truth.datagrams;
  ++s.truth.counter_datagrams;
  s.truth.counter_samples += d.n_counters;
  s.since_counters = 0;
  if (sflow_observer_) sflow_observer_(d);
  return static_cast<uint32_t>(off);
}

uint32_t Generator::build_malformed_sflow(Stream& s, MalformedClass c, uint8_t* buf,
                                          int64_t now_ns) {
  // A datagram of this agent with one flow sample (a raw header, whatever
  // --sflow-records says, so header_length can be broken) and the current
  // sequence, then exactly one thing broken. Stream state is not touched.
  SflowDatagramSpec d;
  d.agent = s.agent;
  d.agent_v6 = s.agent_v6;
  d.sub_agent = s.domain;
  d.sequence = s.sequence;
  d.uptime_ms = static_cast<uint32_t>(s.uptime_ms(now_ns));
  const size_t hdr = sflow_write_header(buf, kMaxSflowDatagram, d, 1);
  const uint32_t k = s.rng.below(model_.size());
  SflowSample m;
  sflow_sample_of(s, k, model_.counters_from_bits(k, s.rng.next()), &m);
  m.records |= kSflowRecHeader;
  m.sequence = s.sources[m.source].sequence;
  const size_t n = sflow_write_flow_sample(buf + hdr, kMaxSflowDatagram - hdr, m, cfg_.sflow_expanded);
  const uint32_t len = static_cast<uint32_t>(hdr + n);
  const size_t fixed =
      cfg_.sflow_expanded ? sflow::kFlowSampleExpandedFixed : sflow::kFlowSampleFixed;
  uint8_t* rec = buf + hdr + 8 + fixed;  // the first record: the raw header
  switch (c) {
    case MalformedClass::kTooShort:
      return 1 + s.rng.below(static_cast<uint32_t>(hdr - 1));
    case MalformedClass::kBadVersion: {
      uint32_t v;
      do {
        v = static_cast<uint32_t>(s.rng.next());
      } while (v == sflow::kVersion5);
      wire::store_be32(buf, v);
      return len;
    }
    case MalformedClass::kGarbage: {
      const uint32_t glen = 40 + s.rng.below(1400 - 40 + 1);
      for (uint32_t i = 0; i < glen; i += 8) {
        const uint64_t r = s.rng.next();
        std::memcpy(buf + i, &r, std::min<uint32_t>(8, glen - i));
      }
      if (wire::load_be32(buf) == sflow::kVersion5) buf[0] = 0xFF;
      return glen;
    }
    case MalformedClass::kAgentType:
      wire::store_be32(buf + 4, 3 + s.rng.below(100));
      return len;
    case MalformedClass::kSampleLength:
      wire::store_be32(buf + hdr + 4, static_cast<uint32_t>(n - 8 + 4 + 4 * s.rng.below(16)));
      return len;
    case MalformedClass::kRecordLength:
      wire::store_be32(rec + 4, static_cast<uint32_t>(n - 8 - fixed + 4 * s.rng.below(16)));
      return len;
    case MalformedClass::kSampleCount:
      sflow_set_num_samples(buf, d.agent_v6, 2 + s.rng.below(4));
      return len;
    case MalformedClass::kHeaderLength: {
      const uint32_t rlen = wire::load_be32(rec + 4);
      wire::store_be32(rec + 8 + 12, rlen - sflow::kRawHeaderFixed + 1 + s.rng.below(64));
      return len;
    }
    default:
      break;  // v5 / v9 / IPFIX classes: never drawn for sFlow
  }
  return len;
}

void Generator::slot_sflow(Stream& s, SendBatch& b, int64_t now_ns) {
  StreamTruth& t = s.truth;
  const uint32_t local = static_cast<uint32_t>(&s - streams_.data());
  auto push = [&](uint8_t* buf, uint32_t len) -> Outgoing& { return b.push(buf, len, local); };

  if (begin_slot(s, b, now_ns)) sflow_restart(s);

  // Interface counters, every --counter-every datagrams: never lost or held,
  // so the truth knows every counter a collector sees.
  if (cfg_.counter_every > 0 && ++s.since_counters >= cfg_.counter_every) {
    uint8_t* buf = b.scratch();
    push(buf, build_sflow_counters(s, buf, now_ns));
    if (s.held) emit_held(s, b, true);
  }

  uint32_t flows = 0;
  uint64_t packets = 0, bytes = 0;
  if (s.rng.chance(cfg_.loss)) {
    build_sflow(s, b.scratch(), now_ns, false, &flows, &packets, &bytes);
    ++t.lost_datagrams;
    t.lost_flows += flows;
    if (s.held) emit_held(s, b, false);
  } else {
    const bool hold = !s.held && s.rng.chance(cfg_.reorder);
    uint8_t* buf = hold ? s.held_buf.data() : b.scratch();
    const uint32_t len = build_sflow(s, buf, now_ns, true, &flows, &packets, &bytes);
    if (hold) {
      s.held = true;
      s.held_len = len;
      s.held_flows = flows;
      s.held_packets = packets;
      s.held_bytes = bytes;
    } else {
      Outgoing& o = push(buf, len);
      o.flows = flows;
      o.packets = packets;
      o.bytes = bytes;
      if (s.rng.chance(cfg_.duplicate)) {
        Outgoing& dup = push(buf, len);
        dup.flows = flows;
        dup.packets = packets;
        dup.bytes = bytes;
        ++t.duplicates;
        ++t.datagrams;
        t.flows += flows;
        t.packets += packets;
        t.bytes += bytes;
        t.packets_scaled += s.last_scaled_packets;
        t.bytes_scaled += s.last_scaled_bytes;
        const SflowDatagramSpec& d = *s.spec;
        for (uint32_t i = 0; i < d.n; ++i) count_sflow_sample(t, d.samples[i]);
      }
      if (s.held) emit_held(s, b, true);
    }
  }

  if (s.rng.chance(cfg_.malformed)) {
    MalformedClass c =
        malformed_classes_[s.rng.below(static_cast<uint32_t>(malformed_classes_.size()))];
    uint8_t* buf = b.scratch();
    const uint32_t len = build_malformed_sflow(s, c, buf, now_ns);
    push(buf, len).malformed = static_cast<int32_t>(c);
    ++t.malformed[static_cast<size_t>(c)];
  }
}

}  // namespace ringflow::gen
