// ringflow-gen's NetFlow v9 and IPFIX output, decoded back in process by
// ringflow's own ordered stage and record reader (src/decode/sessions.h,
// record_reader.h): every record, packet and byte of the truth comes back,
// per key (IPv4 and IPv6 addresses), with the sampling rate each record was
// sent under; every fault class shows up as exactly the decoder counter it
// is built for (held data, redefinitions, withdrawals, template and set
// problems, rejects by reason), and the sequence numbers count as each RFC
// says (RFC 3954 5.1: v9 counts export datagrams; RFC 7011 3.1: IPFIX counts
// data records).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "decode/wire_formats.h"
#include "decode/record_reader.h"
#include "decode/sampler_set.h"
#include "decode/sessions.h"
#include "gen/generator.h"
#include "gen/pcap_reader.h"
#include "gen/replay.h"
#include "gen/runner.h"
#include "wire/bytes.h"

namespace ringflow::gen {
namespace {

constexpr int64_t kNow = 1700000000000000000;  // ns
const IpAddr kExporter = IpAddr::from_v4(0x7F000001);

using Key = std::tuple<IpAddr, IpAddr, uint16_t, uint16_t, uint8_t>;
struct Totals {
  uint64_t flows = 0, packets = 0, bytes = 0;
  friend bool operator==(const Totals&, const Totals&) = default;
};

// Feeds datagrams to a Sessions in order and decodes what it hands off
// (including held data released late).
struct Decoder {
  DecodeConfig cfg;
  SessionCounters counters;
  std::unique_ptr<Sessions> s;
  DecodeOptions v5opts;
  Totals all;
  uint64_t packets_scaled = 0, bytes_scaled = 0, v6_records = 0, unsampled = 0;
  // Times: how long before its decoding each record ended, and lasted.
  int64_t min_age = INT64_MAX, max_age = INT64_MIN, max_duration = 0;
  uint64_t bad_times = 0;  // start after end, or no usable time
  std::map<Key, Totals> keys;
  std::map<uint32_t, Totals> by_domain;

  Decoder() { s = std::make_unique<Sessions>(cfg, 16, 2048, counters); }

  void decode(uint16_t buf, const uint8_t* p, size_t len, int64_t now_ms) {
    const DatagramMeta& m = s->meta(buf);
    RecordReader r(m, p, len, now_ms, v5opts);
    FlowRecord out[64];
    RecordChunk c;
    size_t n;
    while ((n = r.next(out, 64, &c)) > 0) {
      for (size_t i = 0; i < n; ++i) {
        const FlowRecord& f = out[i];
        ++all.flows;
        all.packets += f.packets;
        all.bytes += f.bytes;
        uint32_t rate = 1;
        if ((f.flags & kFlowHasSamplerId) && m.sampling) rate = m.sampling->rate_of(f.sampler_id);
        if (rate == 0) {
          ++unsampled;
          rate = 1;
        }
        packets_scaled += f.packets * rate;
        bytes_scaled += f.bytes * rate;
        v6_records += f.ip_version == 6;
        min_age = std::min(min_age, now_ms - f.end_ms);
        max_age = std::max(max_age, now_ms - f.end_ms);
        max_duration = std::max(max_duration, f.end_ms - f.start_ms);
        bad_times += f.start_ms > f.end_ms || (f.flags & kFlowTimeUnknown) != 0;
        Totals& k = keys[Key{f.src, f.dst, f.src_port, f.dst_port, f.protocol}];
        ++k.flows;
        k.packets += f.packets;
        k.bytes += f.bytes;
        Totals& d = by_domain[m.domain];
        ++d.flows;
        d.packets += f.packets;
        d.bytes += f.bytes;
      }
    }
  }

  void feed(const uint8_t* p, size_t len, int64_t now_ms) {
    if (s->admit(p, len, kExporter, 0, now_ms) == Admit::kHandOff) {
      decode(0, p, len, now_ms);
      s->release(0);
    }
    ReadyDatagram r[16];
    size_t n;
    while ((n = s->take_ready(r, 16)) > 0)
      for (size_t i = 0; i < n; ++i) {
        decode(r[i].buf, r[i].data, r[i].len, now_ms);
        s->release(r[i].buf);
      }
  }

  uint64_t rejects(Reject why) const {
    uint64_t n = 0;
    for (const auto& v : counters.rejects) n += v[static_cast<size_t>(why)].load();
    return n;
  }
  StreamStats stream(uint32_t domain, uint8_t version, int64_t now_ms) {
    s->tick(now_ms + 2000);
    std::vector<StreamStats> st;
    s->streams_snapshot(&st);
    for (const auto& x : st)
      if (x.domain == domain && kWireFormats[x.format].version == version) return x;
    FAIL("no stream for domain " << domain);
    return {};
  }
};

GenConfig config(Protocol p) {
  GenConfig c = default_config();
  c.protocol = p;
  c.keys = 500;
  c.count = 400;
  c.ipv6_share = 0.3;
  return c;
}

struct Run {
  std::unique_ptr<TrafficModel> model;
  std::unique_ptr<Generator> gen;
  Decoder dec;
  std::vector<std::vector<uint8_t>> wire;  // every datagram, in order
  std::vector<int32_t> malformed;          // class per datagram, -1 = valid
};

std::unique_ptr<Run> run(const GenConfig& c) {
  REQUIRE(validate(c) == "");
  auto r = std::make_unique<Run>();
  r->model = std::make_unique<TrafficModel>(c.keys, c.zipf, c.seed, c.ipv6_share);
  r->gen = std::make_unique<Generator>(c, *r->model, std::vector<uint32_t>{0}, kNow, true);
  SendBatch b(16 * kMaxEntriesPerSlot);
  int64_t now = kNow;
  auto take = [&] {
    for (size_t i = 0; i < b.size(); ++i) {
      r->wire.emplace_back(b[i].data, b[i].data + b[i].len);
      r->malformed.push_back(b[i].malformed);
      r->dec.feed(b[i].data, b[i].len, now / 1000000);
    }
  };
  while (!r->gen->done()) {
    r->gen->fill(b, 16, now);
    take();
    now += 1000000;  // 1 ms per batch
  }
  while (r->gen->flush(b)) take();
  take();
  return r;
}

StreamTruth total(const Run& r) {
  std::vector<StreamTruth> t;
  for (size_t i = 0; i < r.gen->streams(); ++i) t.push_back(r.gen->truth(i));
  return total_of(t);
}

void check_records(const Run& r) {
  const StreamTruth t = total(r);
  CHECK(r.dec.all == Totals{t.flows, t.packets, t.bytes});
  CHECK(r.dec.v6_records == t.records_v6);
  // Per key: decoded addresses (IPv4 and IPv6) and counters equal the truth.
  std::map<Key, Totals> want;
  const KeyTotals& kt = r.gen->keys();
  for (uint32_t k = 0; k < kt.size(); ++k) {
    if (kt[k].flows == 0) continue;
    const FlowKey& fk = r.model->key(k);
    want[Key{r.model->src_addr(k), r.model->dst_addr(k), fk.sport, fk.dport, fk.proto}] =
        Totals{kt[k].flows, kt[k].packets, kt[k].bytes};
  }
  CHECK(r.dec.keys == want);
}

TEST_CASE("v9 and IPFIX round trip: every record, packet and byte, per key", "[templated]") {
  for (Protocol p : {Protocol::kV9, Protocol::kIpfix}) {
    INFO(protocol_name(p));
    GenConfig c = config(p);
    c.sampler_rates = {100, 1000, 7};
    if (p == Protocol::kIpfix) {
      c.varlen = true;
      c.enterprise = true;
    }
    auto r = run(c);
    const StreamTruth t = total(*r);
    check_records(*r);
    CHECK(t.records_v4 > 0);
    CHECK(t.records_v6 > 0);
    CHECK(t.records_v4 + t.records_v6 == t.flows);
    // Templates: 256, 257 and the options template 258, then refreshes.
    CHECK(r->dec.counters.templates_added.load() == 3);
    CHECK(r->dec.counters.templates_added.load() + r->dec.counters.templates_refreshed.load() ==
          t.templates_sent);
    CHECK(t.templates_sent == 3 * (1 + (c.count - 1) / c.template_refresh_datagrams));
    CHECK(r->dec.counters.options_records.load() == t.options_records);
    CHECK(r->dec.counters.held_sets.load() == 0);
    // The sampling rate each record was sent under, as the collector resolves it.
    CHECK(r->dec.unsampled == 0);
    CHECK(r->dec.packets_scaled == t.packets_scaled);
    CHECK(r->dec.bytes_scaled == t.bytes_scaled);
    CHECK(t.packets_scaled > t.packets * 7);
    // Sequence: nothing lost, and the next expected number is the truth's.
    const StreamStats st = r->dec.stream(1, p == Protocol::kV9 ? 9 : 10, kNow / 1000000);
    CHECK(st.lost_flows == 0);
    CHECK(st.gaps == 0);
    CHECK(st.next_sequence == r->gen->truth(0).next_seq);
    // The decoder's stream counts options data records too.
    CHECK(st.flows == t.flows + t.options_records);
    // Times as sent: each flow ended 0..1023 ms before its export (v9 uptimes
    // are relative to a header time in whole seconds: up to 1 s more) and
    // lasted at most 120 s.
    CHECK(r->dec.bad_times == 0);
    CHECK(r->dec.min_age >= (p == Protocol::kV9 ? -1000 : 0));
    CHECK(r->dec.max_age <= 1023 + (p == Protocol::kV9 ? 1000 : 0));
    CHECK(r->dec.max_duration <= 120000);
    CHECK(r->dec.max_duration > 1000);
    // Datagrams fit one Ethernet frame.
    for (const auto& d : r->wire) CHECK(d.size() <= kMaxTemplatedDatagram);
  }
}

TEST_CASE("IPFIX delta-microsecond times and templates in their own datagram",
          "[templated]") {
  GenConfig c = config(Protocol::kIpfix);
  c.ipfix_delta_time = true;
  c.template_separate = true;
  c.template_refresh_datagrams = 50;
  auto r = run(c);
  const StreamTruth t = total(*r);
  check_records(*r);
  CHECK(t.template_datagrams == (c.count + 49) / 50);
  // Delta microseconds count back from the header's export time (whole
  // seconds, up to 1 s before the datagram was built).
  CHECK(r->dec.bad_times == 0);
  CHECK(r->dec.min_age >= 0);
  CHECK(r->dec.max_age <= 1023 + 1000);
  CHECK(r->dec.max_duration <= 120000);
  CHECK(r->dec.counters.consumed.load() == t.template_datagrams);
}

TEST_CASE("template loss: data before the first template is held, then decoded",
          "[templated][faults]") {
  for (Protocol p : {Protocol::kV9, Protocol::kIpfix}) {
    INFO(protocol_name(p));
    GenConfig c = config(p);
    c.template_delay = 6;
    auto r = run(c);
    const StreamTruth t = total(*r);
    CHECK(t.records_before_template > 0);
    CHECK(t.sets_before_template >= 6);
    CHECK(r->dec.counters.held_sets.load() == t.sets_before_template);
    CHECK(r->dec.counters.held_released.load() == t.sets_before_template);
    CHECK(r->dec.counters.held_expired.load() == 0);
    check_records(*r);
  }
}

TEST_CASE("template redefinition and withdrawal are counted as the truth says",
          "[templated][faults]") {
  for (Protocol p : {Protocol::kV9, Protocol::kIpfix}) {
    INFO(protocol_name(p));
    GenConfig c = config(p);
    c.redefine_every = 37;
    if (p == Protocol::kIpfix) c.withdraw_every = 53;
    auto r = run(c);
    const StreamTruth t = total(*r);
    CHECK(t.redefinitions == (c.count - 1) / 37);
    // Both data templates change layout at each redefinition.
    CHECK(r->dec.counters.templates_redefined.load() == 2 * t.redefinitions);
    CHECK(r->dec.counters.templates_withdrawn.load() == t.withdrawals);
    if (p == Protocol::kIpfix) {
      CHECK(t.withdrawals == 2 * ((c.count - 1) / 53));
      // Every withdrawn template came back before data needed it.
      CHECK(r->dec.counters.templates_added.load() == 2 + t.withdrawals);
    }
    CHECK(r->dec.counters.held_sets.load() == 0);
    check_records(*r);
  }
}

TEST_CASE("domains: same template ids, other layouts, kept apart", "[templated][faults]") {
  for (Protocol p : {Protocol::kV9, Protocol::kIpfix}) {
    INFO(protocol_name(p));
    GenConfig c = config(p);
    c.domains = 4;
    c.domain_collision = true;
    auto r = run(c);
    REQUIRE(r->gen->streams() == 4);
    check_records(*r);
    CHECK(r->dec.counters.templates_redefined.load() == 0);
    // Each domain redefining its own templates leaves the others alone.
    c.redefine_every = 29;
    auto rr = run(c);
    check_records(*rr);
    StreamTruth tt = total(*rr);
    CHECK(tt.redefinitions > 4);
    CHECK(rr->dec.counters.templates_redefined.load() == 2 * tt.redefinitions);
    CHECK(r->dec.counters.templates_added.load() == 4 * 2);
    for (size_t i = 0; i < 4; ++i) {
      const StreamTruth& t = r->gen->truth(i);
      CHECK(t.domain == i + 1);
      CHECK(t.layout == (i % 2));
      CHECK(r->dec.by_domain[t.domain] == Totals{t.flows, t.packets, t.bytes});
      const StreamStats st = r->dec.stream(t.domain, p == Protocol::kV9 ? 9 : 10, kNow / 1000000);
      CHECK(st.next_sequence == t.next_seq);
    }
  }
}

TEST_CASE("loss, duplicates and reordering: sequence in each version's unit",
          "[templated][faults]") {
  for (Protocol p : {Protocol::kV9, Protocol::kIpfix}) {
    INFO(protocol_name(p));
    GenConfig c = config(p);
    c.loss = 0.05;
    c.duplicate = 0.03;
    c.reorder = 0.03;
    auto r = run(c);
    const StreamTruth t = total(*r);
    CHECK(t.lost_datagrams > 0);
    CHECK(t.duplicates > 0);
    CHECK(t.reordered > 0);
    check_records(*r);
    const StreamStats st = r->dec.stream(1, p == Protocol::kV9 ? 9 : 10, kNow / 1000000);
    // v9 loses datagrams, IPFIX records.
    CHECK(st.lost_flows == (p == Protocol::kV9 ? t.lost_datagrams : t.lost_flows));
    CHECK(st.duplicates == t.duplicates);
    CHECK(st.reordered == t.reordered);
    CHECK(st.next_sequence == r->gen->truth(0).next_seq);
  }
}

TEST_CASE("v9/IPFIX malformed classes: each is counted for exactly its reason",
          "[templated][faults]") {
  for (Protocol p : {Protocol::kV9, Protocol::kIpfix}) {
    INFO(protocol_name(p));
    GenConfig c = config(p);
    c.malformed = 0.5;
    auto r = run(c);
    const StreamTruth t = total(*r);
    auto m = [&](MalformedClass k) { return t.malformed[static_cast<size_t>(k)]; };
    for (size_t k = 0; k < kMalformedClasses; ++k) {
      const auto mc = static_cast<MalformedClass>(k);
      INFO(malformed_name(mc));
      CHECK((m(mc) > 0) == applies(mc, p));
    }
    CHECK(r->dec.rejects(Reject::kTooShort) == m(MalformedClass::kTooShort));
    CHECK(r->dec.rejects(Reject::kBadVersion) ==
          m(MalformedClass::kBadVersion) + m(MalformedClass::kGarbage));
    CHECK(r->dec.rejects(Reject::kSetLength) == m(MalformedClass::kSetLength));
    CHECK(r->dec.rejects(Reject::kIpfixLength) == m(MalformedClass::kIpfixLength));
    const auto problem =
        p == Protocol::kV9 ? TemplateProblem::kZeroFields : TemplateProblem::kZeroLength;
    CHECK(r->dec.counters.template_rejects[static_cast<size_t>(problem)].load() ==
          m(MalformedClass::kZeroFields));
    CHECK(r->dec.counters.set_drops[static_cast<size_t>(SetDrop::kVarOverflow)].load() ==
          m(MalformedClass::kVarOverflow));
    // Nothing else was dropped, and the valid data is whole.
    CHECK(r->dec.counters.set_drops[static_cast<size_t>(SetDrop::kTooShort)].load() == 0);
    check_records(*r);
    const StreamStats st = r->dec.stream(1, p == Protocol::kV9 ? 9 : 10, kNow / 1000000);
    CHECK(st.lost_flows == 0);
    CHECK(st.next_sequence == r->gen->truth(0).next_seq);
  }
}

TEST_CASE("v9/IPFIX output is the same for a seed", "[templated]") {
  GenConfig c = config(Protocol::kIpfix);
  c.loss = 0.1;
  auto a = run(c);
  auto b = run(c);
  CHECK(a->wire == b->wire);
}

TEST_CASE("v9/IPFIX options are refused with v5 and v9 limits are named", "[templated]") {
  GenConfig c = default_config();
  c.ipv6_share = 0.5;
  CHECK(validate(c).find("--protocol v5") != std::string::npos);
  c = config(Protocol::kV9);
  c.varlen = true;
  CHECK(validate(c).find("--varlen") != std::string::npos);
  c = config(Protocol::kV9);
  c.withdraw_every = 3;
  CHECK(validate(c).find("--withdraw-every") != std::string::npos);
  c = config(Protocol::kV9);
  c.enterprise = true;
  CHECK(validate(c).find("--enterprise") != std::string::npos);
  c = config(Protocol::kIpfix);
  c.domain_collision = true;
  CHECK(validate(c).find("--domain-collision") != std::string::npos);
}

}  // namespace
}  // namespace ringflow::gen

namespace ringflow::gen {
namespace {

// Written with --write-pcap, replayed three times with --rewrite-seq into
// another pcap, read back and decoded: the sequence continues across loops in
// each version's unit (no gap, no duplicate), and every record comes back
// three times.
TEST_CASE("replay of v9/IPFIX pcaps rewrites sequence numbers as each version counts",
          "[templated][replay]") {
  for (Protocol p : {Protocol::kV9, Protocol::kIpfix}) {
    INFO(protocol_name(p));
    const std::string dir = RINGFLOW_BINARY_DIR "/tests";
    const std::string gen_pcap = dir + "/gen_templated_" + std::string(protocol_name(p)) + ".pcap";
    const std::string out_pcap = dir + "/gen_templated_replayed.pcap";
    GenConfig c = config(p);
    c.count = 60;
    c.domains = 2;
    c.sampler_rates = {10};
    c.pcap_path = gen_pcap;
    c.quiet = true;
    c.progress = false;
    std::atomic<bool> stop{false};
    TrafficModel model(c.keys, c.zipf, c.seed, c.ipv6_share);
    RunResult g = run_generator(c, model, &stop);
    REQUIRE(g.ok);
    const StreamTruth gt = total_of(g.streams);

    GenConfig rc = default_config();
    rc.replay_path = gen_pcap;
    rc.replay_speed = 0;
    rc.loop = 3;
    rc.rewrite_seq = true;
    rc.pcap_path = out_pcap;
    rc.quiet = true;
    rc.progress = false;
    REQUIRE(validate(rc) == "");
    RunResult r = run_replay(rc, &stop);
    REQUIRE(r.ok);
    const StreamTruth rt = total_of(r.streams);
    REQUIRE(r.streams.size() == 2);
    CHECK(r.streams[0].version == (p == Protocol::kV9 ? 9 : 10));
    CHECK(rt.datagrams == 3 * gt.datagrams);
    CHECK(rt.flows == 3 * gt.flows);
    CHECK(rt.packets == 3 * gt.packets);

    Decoder dec;
    PcapReader reader;
    std::string err;
    REQUIRE(reader.open(out_pcap, &err));
    CapturedUdp u;
    uint64_t n = 0;
    while (reader.next(&u, &err) == 1) {
      dec.feed(u.payload, u.len, kNow / 1000000);
      ++n;
    }
    CHECK(n == rt.datagrams);
    CHECK(dec.all == Totals{rt.flows, rt.packets, rt.bytes});
    for (const StreamTruth& t : r.streams) {
      const StreamStats st = dec.stream(t.domain, t.version, kNow / 1000000);
      CHECK(st.gaps == 0);
      CHECK(st.lost_flows == 0);
      CHECK(st.duplicates == 0);
      CHECK(st.resets == 0);
      CHECK(st.next_sequence == t.next_seq);
    }
    std::remove(gen_pcap.c_str());
    std::remove(out_pcap.c_str());
  }
}

}  // namespace
}  // namespace ringflow::gen

namespace ringflow::gen {

// Issue 26: an IPFIX exporter whose sequence includes each message's own
// records (softflowd) once showed phantom loss and duplicates. The decoder
// names the quirk and counts exactly what the truth says, with and without
// loss, duplicates and reordering.
TEST_CASE("an IPFIX exporter whose sequence includes the current message",
          "[templated][faults]") {
  const bool faults = GENERATE(false, true);
  INFO("faults " << faults);
  GenConfig c = config(Protocol::kIpfix);
  c.sequence_includes_current = true;
  if (faults) {
    c.loss = 0.05;
    c.duplicate = 0.03;
    c.reorder = 0.03;
  }
  auto r = run(c);
  const StreamTruth t = total(*r);
  check_records(*r);
  const StreamStats st = r->dec.stream(1, 10, kNow / 1000000);
  CHECK((st.quirks & kStreamQuirkSequenceIncludesCurrent) != 0);
  CHECK(st.lost_flows == t.lost_flows);
  CHECK(st.duplicates == t.duplicates);
  CHECK(st.reordered == t.reordered);
  CHECK(st.next_sequence == r->gen->truth(0).next_seq);
  if (faults) CHECK(t.lost_flows > 0);
}

}  // namespace ringflow::gen
