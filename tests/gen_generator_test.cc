// The generator without sockets: datagrams built by Generator::fill() are
// decoded with the real decoder and checked against the spec and the truth.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "decode/v5_decoder.h"
#include "gen/v5_encoder.h"
#include "gen/generator.h"
#include "gen/traffic.h"

using namespace ringflow;
using namespace ringflow::gen;

namespace {

constexpr int64_t kNow = 1795000000LL * 1000000000 + 123456789;  // a fixed wall clock

GenConfig base_config() {
  GenConfig c = default_config();
  c.records = 30;
  c.exporters = 1;
  c.keys = 1000;
  c.seed = 42;
  return c;
}

// Everything one fill produced, decoded (valid) or classified (rejected).
struct Decoded {
  std::vector<std::vector<uint8_t>> raw;
  std::vector<Pdu> pdus;             // valid datagrams, in batch order
  std::vector<uint32_t> pdu_stream;  // Outgoing::stream of each
  std::vector<Reject> rejects;       // of invalid ones
};

void decode_batch(const SendBatch& b, Decoded* d, int64_t now_ms) {
  DecodeOptions opt;
  for (size_t i = 0; i < b.size(); ++i) {
    const Outgoing& o = b[i];
    d->raw.emplace_back(o.data, o.data + o.len);
    DatagramShape s = validate_datagram(o.data, o.len, opt);
    if (s.reject != Reject::kNone) {
      d->rejects.push_back(s.reject);
      continue;
    }
    REQUIRE(s.pdus == 1);
    Pdu p;
    decode_pdu(o.data, o.len, 0, now_ms, opt, &p);
    d->pdus.push_back(p);
    d->pdu_stream.push_back(o.stream);
  }
}

Decoded run(const GenConfig& cfg, const TrafficModel& m, size_t slots, int64_t now = kNow,
            size_t per_fill = 64, int64_t step_ns = 1000000) {
  std::vector<uint32_t> ex;
  for (uint32_t e = 0; e < cfg.exporters; ++e) ex.push_back(e);
  Generator g(cfg, m, ex, now, true);
  SendBatch b(per_fill * kMaxEntriesPerSlot);
  Decoded d;
  size_t done = 0;
  while (done < slots) {
    size_t n = g.fill(b, std::min(per_fill, slots - done), now);
    if (n == 0) break;
    decode_batch(b, &d, now / 1000000);
    done += n;
    now += step_ns;
  }
  g.flush(b);
  decode_batch(b, &d, now / 1000000);
  return d;
}

}  // namespace

TEST_CASE("same seed, same datagrams; another seed, other datagrams", "[generator]") {
  // "deterministic for a given --seed"
  GenConfig c = base_config();
  c.exporters = 3;
  TrafficModel m1(c.keys, c.zipf, c.seed), m2(c.keys, c.zipf, c.seed);
  Decoded a = run(c, m1, 300), b = run(c, m2, 300);
  REQUIRE(a.raw.size() == 300);
  CHECK(a.raw == b.raw);

  GenConfig c2 = c;
  c2.seed = 43;
  TrafficModel m3(c2.keys, c2.zipf, c2.seed);
  Decoded x = run(c2, m3, 300);
  CHECK(x.raw != a.raw);
}

TEST_CASE("a stream's datagrams do not depend on the other exporters", "[generator]") {
  // Exporter 0 alone and exporter 0 among five produce the same bytes.
  GenConfig one = base_config(), five = base_config();
  five.exporters = 5;
  TrafficModel m(one.keys, one.zipf, one.seed);
  // One slot per exporter per fill, the clock stepping 1 ms per fill: exporter
  // 0 sees the same clock in both runs.
  Decoded a = run(one, m, 20, kNow, 1), b = run(five, m, 100, kNow, 5);
  std::vector<std::vector<uint8_t>> b0;
  for (size_t i = 0; i < b.raw.size(); ++i)
    if (b.pdu_stream[i] == 0) b0.push_back(b.raw[i]);
  REQUIRE(b0.size() == 20);
  CHECK(a.raw == b0);
}

TEST_CASE("flow_sequence advances by the record count per exporter stream", "[generator]") {
  // "flow_sequence advancing by the record count per exporter stream"
  GenConfig c = base_config();
  c.exporters = 4;
  c.records = 7;
  TrafficModel m(c.keys, c.zipf, c.seed);
  Decoded d = run(c, m, 400);
  REQUIRE(d.pdus.size() == 400);
  std::map<std::pair<uint8_t, uint8_t>, uint32_t> next;
  std::set<uint32_t> streams_seen;
  for (size_t i = 0; i < d.pdus.size(); ++i) {
    const v5::Header& h = d.pdus[i].header;
    CHECK(h.version == 5);
    CHECK(h.count == 7);
    CHECK(h.engine_id == Generator::engine_id_of(d.pdu_stream[i]));
    auto key = std::make_pair(h.engine_type, h.engine_id);
    if (next.count(key)) CHECK(h.flow_sequence == next[key]);
    next[key] = h.flow_sequence + h.count;
    streams_seen.insert(d.pdu_stream[i]);
  }
  CHECK(streams_seen.size() == 4);
  // Interleaved: in addr mode consecutive datagrams come from different exporters.
  CHECK(d.pdu_stream[0] != d.pdu_stream[1]);
}

TEST_CASE("times: first <= last <= sys_uptime, export time = the wall clock", "[generator]") {
  // "sys_uptime / unix_secs / unix_nsecs consistent with the wall clock,
  //  first <= last <= sys_uptime"
  GenConfig c = base_config();
  c.uptime_start_ms = 5000;  // young exporter: records must be clamped at boot
  TrafficModel m(c.keys, c.zipf, c.seed);
  Decoded d = run(c, m, 200, kNow, 10, 250000000);
  REQUIRE(d.pdus.size() == 200);
  int64_t now = kNow;
  for (size_t i = 0; i < d.pdus.size(); ++i) {
    if (i > 0 && i % 10 == 0) now += 250000000;
    const Pdu& p = d.pdus[i];
    CHECK(p.header.unix_secs == now / 1000000000);
    CHECK(p.header.unix_nsecs == now % 1000000000);
    CHECK(p.header.sys_uptime_ms == 5000 + (now - kNow) / 1000000);
    for (uint16_t r = 0; r < p.count; ++r) {
      const v5::Record& rec = p.records[r];
      CHECK(rec.first_raw <= rec.last_raw);
      CHECK(rec.last_raw <= p.header.sys_uptime_ms);
      CHECK(rec.end_ms <= p.export_ms);
    }
    CHECK(p.inverted_records == 0);
  }
}

TEST_CASE("uptime wrap: sys_uptime wraps, records straddling it are counted",
          "[generator][faults]") {
  // "uptime wrap (start near 2^32 ms), records that started before the uptime wrap"
  GenConfig c = base_config();
  c.uptime_start_ms = 0xFFFFFFFFu - 3000;  // wraps 3 s into the run
  TrafficModel m(c.keys, c.zipf, c.seed);
  Generator g(c, m, {0}, kNow, false);
  SendBatch b(4);
  DecodeOptions opt;
  uint64_t prewrap = 0, wrapped = 0;
  uint32_t prev_up = 0;
  for (int s = 0; s < 60; ++s) {  // one datagram every 100 ms for 6 s
    int64_t now = kNow + int64_t{s} * 100000000;
    REQUIRE(g.fill(b, 1, now) == 1);
    Pdu p;
    REQUIRE(validate_datagram(b[0].data, b[0].len, opt).reject == Reject::kNone);
    decode_pdu(b[0].data, b[0].len, 0, now / 1000000, opt, &p);
    if (s > 0 && p.header.sys_uptime_ms < prev_up) ++wrapped;
    prev_up = p.header.sys_uptime_ms;
    for (uint16_t r = 0; r < p.count; ++r) {
      const v5::Record& rec = p.records[r];
      // Decoded with wrap-aware arithmetic, times stay ordered and in the past.
      CHECK(rec.start_ms <= rec.end_ms);
      CHECK(rec.end_ms <= p.export_ms);
      if (rec.first_raw > p.header.sys_uptime_ms) ++prewrap;
    }
  }
  CHECK(wrapped == 1);
  CHECK(g.truth(0).uptime_wraps == 1);
  CHECK(prewrap > 0);
  CHECK(g.truth(0).prewrap_records == prewrap);
}

TEST_CASE("sampling field as configured", "[generator]") {
  GenConfig c = base_config();
  c.sampling_raw = v5::make_sampling(1, 100);
  TrafficModel m(c.keys, c.zipf, c.seed);
  Decoded d = run(c, m, 5);
  for (const auto& p : d.pdus) {
    CHECK(p.header.sampling_mode() == 1);
    CHECK(p.header.sampling_interval() == 100);
  }
}

TEST_CASE("Zipf skew: the top keys carry the share the law says", "[traffic]") {
  // "--keys K distinct 5-tuples drawn with a Zipf skew"
  TrafficModel m(1000, 1.1, 7);
  std::set<std::tuple<uint32_t, uint32_t, uint16_t, uint16_t, uint8_t>> distinct;
  for (uint32_t i = 0; i < m.size(); ++i) {
    const FlowKey& k = m.key(i);
    distinct.insert({k.src, k.dst, k.sport, k.dport, k.proto});
  }
  CHECK(distinct.size() == 1000);
  Rng rng(1);
  std::vector<uint64_t> hits(m.size());
  const int kDraws = 400000;
  for (int i = 0; i < kDraws; ++i) ++hits[m.draw_key(rng)];
  double top1 = static_cast<double>(hits[0]) / kDraws;
  double top10 = 0, expect10 = 0;
  for (int i = 0; i < 10; ++i) {
    top10 += static_cast<double>(hits[i]) / kDraws;
    expect10 += m.probability(i);
  }
  // Zipf(1.1) over 1000 keys: key 0 ~ 15 %, top 10 ~ 49 %; uniform would be 0.1 % / 1 %.
  CHECK(m.probability(0) > 0.1);
  CHECK(top1 == Approx(m.probability(0)).epsilon(0.03));
  CHECK(top10 == Approx(expect10).epsilon(0.02));

  TrafficModel u(1000, 0.0, 7);
  std::vector<uint64_t> uh(u.size());
  for (int i = 0; i < kDraws; ++i) ++uh[u.draw_key(rng)];
  auto [mn, mx] = std::minmax_element(uh.begin(), uh.end());
  CHECK(*mx < 2 * *mn);  // ~400 each: uniform
}

TEST_CASE("protocol mix and counters are plausible", "[traffic]") {
  TrafficModel m(20000, 1.0, 3);
  std::map<uint8_t, int> proto;
  for (uint32_t i = 0; i < m.size(); ++i) ++proto[m.key(i).proto];
  CHECK(proto[6] > proto[17]);
  CHECK(proto[17] > proto[1]);
  CHECK(proto[1] > 0);
  Rng rng(5);
  uint64_t single = 0, big = 0;
  for (int i = 0; i < 100000; ++i) {
    uint32_t k = m.draw_key(rng);
    FlowCounters c = m.draw_counters(k, rng);
    REQUIRE(c.packets >= 1);
    REQUIRE(c.octets >= c.packets * 28);  // at least an IP+UDP/ICMP header per packet
    REQUIRE(c.duration_ms <= 120000);
    single += c.packets == 1;
    big += c.packets >= 100;
  }
  CHECK(single > 30000);  // most flows are tiny...
  CHECK(big > 100);       // ...and a heavy tail exists
}

TEST_CASE("faults are reflected exactly in the truth (in memory)", "[generator][faults]") {
  GenConfig c = base_config();
  c.exporters = 2;
  c.records = 5;
  c.loss = 0.05;
  c.duplicate = 0.05;
  c.reorder = 0.05;
  c.malformed = 0.05;
  c.count = 4000;
  TrafficModel m(c.keys, c.zipf, c.seed);
  Generator g(c, m, {0, 1}, kNow, true);
  SendBatch b(64 * kMaxEntriesPerSlot);
  DecodeOptions opt;
  std::map<uint32_t, std::vector<uint32_t>> seqs;  // per stream, arrival order
  std::array<uint64_t, kRejectReasons> rejects{};
  std::map<uint32_t, KeyTotal> keys;
  uint64_t slots = 0;
  auto eat = [&] {
    for (size_t i = 0; i < b.size(); ++i) {
      DatagramShape s = validate_datagram(b[i].data, b[i].len, opt);
      if (s.reject != Reject::kNone) {
        ++rejects[static_cast<size_t>(s.reject)];
        REQUIRE(b[i].malformed >= 0);
        CHECK(s.reject == expected_reject(static_cast<MalformedClass>(b[i].malformed)));
        continue;
      }
      Pdu p;
      decode_pdu(b[i].data, b[i].len, 0, 0, opt, &p);
      seqs[b[i].stream].push_back(p.header.flow_sequence);
    }
  };
  while (size_t n = g.fill(b, 64, kNow)) {
    slots += n;
    eat();
  }
  g.flush(b);
  eat();
  CHECK(slots == 4000);
  for (uint32_t s = 0; s < 2; ++s) {
    const StreamTruth& t = g.truth(s);
    const auto& v = seqs[s];
    CHECK(t.generated == 2000);
    CHECK(v.size() == t.datagrams);
    std::set<uint32_t> uniq(v.begin(), v.end());
    CHECK(v.size() - uniq.size() == t.duplicates);
    CHECK(t.generated - uniq.size() == t.lost_datagrams);
    CHECK(t.lost_flows == t.lost_datagrams * c.records);
    CHECK(t.next_seq - t.first_seq == t.generated * c.records);
    // The identity docs/generator.md states.
    CHECK(t.datagrams == t.generated - t.lost_datagrams + t.duplicates - t.send_errors);
    uint64_t late = 0;
    uint32_t maxd = 0;  // distance from first_seq, no wrap within 10000 flows
    std::set<uint32_t> seen;
    for (uint32_t q : v) {
      uint32_t d = q - t.first_seq;
      if (seen.count(q) == 0 && d < maxd) ++late;
      seen.insert(q);
      maxd = std::max(maxd, d);
    }
    CHECK(late == t.reordered);
    CHECK(t.duplicates > 50);
    CHECK(t.reordered > 50);
    CHECK(t.lost_datagrams > 50);
  }
  uint64_t malformed = g.truth(0).malformed_total() + g.truth(1).malformed_total();
  uint64_t rejected = 0;
  for (auto r : rejects) rejected += r;
  CHECK(rejected == malformed);
  CHECK(malformed > 100);
}

TEST_CASE("every malformed class is rejected for the reason it is built for",
          "[generator][faults]") {
  // "malformed datagrams of every class the decoder rejects"
  for (size_t k = 0; k < kV5MalformedClasses; ++k) {
    for (uint32_t records : {1u, 29u, 30u}) {
      GenConfig c = base_config();
      c.records = records;
      c.malformed = 1.0;
      c.malformed_mask = 1u << k;
      TrafficModel m(50, 1.0, 9);
      Generator g(c, m, {0}, kNow, false);
      SendBatch b(64 * kMaxEntriesPerSlot);
      REQUIRE(g.fill(b, 64, kNow) == 64);
      REQUIRE(b.size() == 128);
      DecodeOptions opt;
      for (size_t i = 1; i < b.size(); i += 2) {
        INFO("class " << malformed_name(static_cast<MalformedClass>(k)) << " records " << records);
        REQUIRE(b[i].malformed == static_cast<int32_t>(k));
        CHECK(validate_datagram(b[i].data, b[i].len, opt).reject ==
              expected_reject(static_cast<MalformedClass>(k)));
      }
      CHECK(g.truth(0).malformed[k] == 64);
    }
  }
}

TEST_CASE("exporter restart: sequence and uptime start again", "[generator][faults]") {
  GenConfig c = base_config();
  c.reset_every = 10;
  c.records = 3;
  TrafficModel m(c.keys, c.zipf, c.seed);
  Decoded d = run(c, m, 35, kNow, 1, 1000000);
  REQUIRE(d.pdus.size() == 35);
  int resets = 0;
  for (size_t i = 1; i < d.pdus.size(); ++i) {
    const auto &a = d.pdus[i - 1].header, &b = d.pdus[i].header;
    if (b.flow_sequence != a.flow_sequence + a.count) {
      ++resets;
      CHECK(b.flow_sequence == 0);
      CHECK(b.sys_uptime_ms < a.sys_uptime_ms);
      CHECK(b.sys_uptime_ms == 0);
      CHECK(i % 10 == 0);
    }
  }
  CHECK(resets == 3);
}

TEST_CASE("truth keys equal the decoded per-5-tuple totals", "[generator][truth]") {
  GenConfig c = base_config();
  c.duplicate = 0.1;
  c.loss = 0.1;
  c.keys = 200;
  TrafficModel m(c.keys, c.zipf, c.seed);
  Generator g(c, m, {0}, kNow, true);
  SendBatch b(16 * kMaxEntriesPerSlot);
  DecodeOptions opt;
  std::map<std::tuple<uint32_t, uint32_t, uint16_t, uint16_t, uint8_t>, KeyTotal> got;
  for (int round = 0; round < 50; ++round) {
    g.fill(b, 16, kNow);
    for (size_t i = 0; i < b.size(); ++i) {
      Pdu p;
      decode_pdu(b[i].data, b[i].len, 0, 0, opt, &p);
      for (uint16_t r = 0; r < p.count; ++r) {
        const v5::Record& rec = p.records[r];
        KeyTotal& k = got[{rec.src_addr, rec.dst_addr, rec.src_port, rec.dst_port, rec.protocol}];
        ++k.flows;
        k.packets += rec.packets;
        k.bytes += rec.octets;
      }
    }
  }
  const KeyTotals& want = g.keys();
  size_t nonzero = 0;
  for (uint32_t i = 0; i < m.size(); ++i) {
    if (want[i].flows == 0) continue;
    ++nonzero;
    const FlowKey& k = m.key(i);
    auto it = got.find({k.src, k.dst, k.sport, k.dport, k.proto});
    REQUIRE(it != got.end());
    CHECK(it->second.flows == want[i].flows);
    CHECK(it->second.packets == want[i].packets);
    CHECK(it->second.bytes == want[i].bytes);
  }
  CHECK(nonzero == got.size());
  // And the TSV has one row per such key.
  std::string tsv = format_keys(m, want);
  CHECK(static_cast<size_t>(std::count(tsv.begin(), tsv.end(), '\n')) == nonzero + 1);
}

TEST_CASE("truth TSV round-trips through parse_truth", "[truth]") {
  StreamTruth t;
  t.exporter = IpAddr::from_v4(0x7F000003);
  t.port = 4000;
  t.engine_type = 1;
  t.engine_id = 2;
  t.sampling_raw = v5::make_sampling(2, 1000);
  t.generated = 10;
  t.datagrams = 9;
  t.flows = 270;
  t.packets = 1234;
  t.bytes = 99999999999ull;
  t.started = true;
  t.first_seq = 4294967000u;
  t.next_seq = 4294967000u + 300;
  t.lost_datagrams = 1;
  t.lost_flows = 30;
  t.malformed[3] = 5;
  std::string text = format_truth({t, StreamTruth{}});
  std::vector<StreamTruth> back;
  std::string err;
  REQUIRE(parse_truth(text, &back, &err));
  REQUIRE(back.size() == 2);
  CHECK(back[0].exporter == t.exporter);
  CHECK(back[0].port == 4000);
  CHECK(back[0].sampling_raw == t.sampling_raw);
  CHECK(back[0].bytes == t.bytes);
  CHECK(back[0].first_seq == t.first_seq);
  CHECK(back[0].next_seq == t.next_seq);
  CHECK(back[0].malformed == t.malformed);
  CHECK(back[0].lost_flows == 30);
  CHECK_FALSE(back[1].started);
  CHECK(text.find("\ntotal\t") != std::string::npos);
  CHECK_FALSE(parse_truth("exporter\tport\n1.2.3.4\t5\n", &back, &err));
}

TEST_CASE("every held datagram is flushed at the end, even through a small batch",
          "[generator][faults]") {
  // Reorder holds one datagram per stream; 20 streams, a 4-entry batch.
  GenConfig c = base_config();
  c.exporters = 20;
  c.reorder = 1.0;
  c.count = 20;  // one slot each: every stream ends holding its datagram
  TrafficModel m(c.keys, c.zipf, c.seed);
  std::vector<uint32_t> ex;
  for (uint32_t e = 0; e < 20; ++e) ex.push_back(e);
  Generator g(c, m, ex, kNow, false);
  SendBatch big(20 * kMaxEntriesPerSlot), small(4);
  REQUIRE(g.fill(big, 20, kNow) == 20);
  CHECK(big.size() == 0);  // all held
  size_t flushed = 0, calls = 0;
  bool more = true;
  while (more) {
    more = g.flush(small);
    flushed += small.size();
    ++calls;
  }
  CHECK(flushed == 20);
  CHECK(calls == 5);
  for (size_t s = 0; s < 20; ++s) {
    CHECK(g.truth(s).datagrams == 1);
    CHECK(g.truth(s).reordered == 0);  // nothing overtook them
  }
}
