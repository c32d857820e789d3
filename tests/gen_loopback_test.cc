// ringflow-gen end to end on loopback: run_generator() / run_replay() send
// to a CountingReceiver (a plain socket + the real decoder), the truth file is
// written and read back, and every count the receiver saw must equal it.
// No timing is asserted: runs are paced gently only so that a loaded CI host
// does not drop datagrams, and kernel drops are checked, not assumed.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "decode/wire_formats.h"
#include "support/counting_receiver.h"
#include "gen/runner.h"
#include "gen/traffic.h"

using namespace ringflow;
using namespace ringflow::gen;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// One name per process: ctest runs each test case as its own process, two at
// a time, and a shared truth file would be overwritten by the other case.
std::string tmp_path(const std::string& name) {
  return std::string(RINGFLOW_BINARY_DIR) + "/gen_loopback_" + std::to_string(getpid()) + "_" +
         name;
}

struct Outcome {
  std::vector<StreamTruth> truth;  // as read back from the file
  KeyTotals keys;
  std::unique_ptr<CountingReceiver> rx;
};

// Runs the generator against a fresh receiver and parses the truth file.
Outcome run_against_receiver(GenConfig cfg, bool keys = false) {
  Outcome out;
  out.rx = std::make_unique<CountingReceiver>();
  std::string err;
  REQUIRE(out.rx->open(*Endpoint::parse("127.0.0.1:0"), keys, false, &err));
  cfg.target = out.rx->endpoint();
  cfg.quiet = true;
  cfg.progress = false;
  cfg.truth_path = tmp_path("truth.tsv");
  if (cfg.pps == 0 && cfg.replay_path.empty()) cfg.pps = 5000;  // gentle, not timed
  REQUIRE(validate(cfg).empty());
  out.rx->start();
  std::atomic<bool> stop{false};
  RunResult r;
  std::unique_ptr<TrafficModel> model;
  if (cfg.replay_path.empty()) {
    model = std::make_unique<TrafficModel>(cfg.keys, cfg.zipf, cfg.seed, cfg.ipv6_share);
    r = run_generator(cfg, *model, &stop, keys);
  } else {
    r = run_replay(cfg, &stop);
  }
  REQUIRE(r.ok);
  out.rx->stop();
  REQUIRE(write_truth_files(cfg, model.get(), r, &err));
  REQUIRE(parse_truth(read_text(cfg.truth_path), &out.truth, &err));
  std::remove(cfg.truth_path.c_str());
  out.keys = r.keys;
  // Kernel drops would make every comparison below meaningless: say so.
  REQUIRE(out.rx->kernel_drops == 0);
  return out;
}

// Sequence analysis of one stream's arrivals, independent of the generator.
struct SeqStats {
  uint64_t unique = 0, duplicates = 0, late = 0, restarts = 0;
};
SeqStats analyse(const std::vector<Arrival>& a) {
  SeqStats s;
  std::set<uint32_t> seen;
  uint32_t base = a.empty() ? 0 : a.front().sequence;  // first sequence of the epoch
  uint32_t max_off = 0;                                // furthest distance from base seen
  uint32_t prev_up = a.empty() ? 0 : a.front().sys_uptime;
  for (const Arrival& x : a) {
    // Restart: sequence back to 0 after the epoch had moved on, with the
    // uptime back near 0 and not ahead of the previous datagram's (it may
    // merely stay equal when the restart falls in the same millisecond).
    if (x.sequence == 0 && (base != 0 || max_off > 0) && x.sys_uptime <= prev_up &&
        x.sys_uptime < 1000) {
      ++s.restarts;
      seen.clear();
      base = 0;
      max_off = 0;
    }
    prev_up = x.sys_uptime;
    uint32_t off = x.sequence - base;  // distance within the epoch (unsigned: survives wrap)
    if (!seen.insert(x.sequence).second) {
      ++s.duplicates;
      continue;
    }
    ++s.unique;
    if (off < max_off) ++s.late;
    max_off = std::max(max_off, off);
  }
  return s;
}

const ReceivedStream& stream_of(const CountingReceiver& rx, const StreamTruth& t) {
  auto it = rx.streams.find(StreamId{t.exporter, t.engine_type, t.engine_id});
  REQUIRE(it != rx.streams.end());
  return it->second;
}

void check_counts(const Outcome& o) {
  REQUIRE(o.rx->streams.size() == o.truth.size());
  for (const StreamTruth& t : o.truth) {
    INFO("stream " << t.exporter.str() << " engine " << int{t.engine_type} << "/"
                   << int{t.engine_id});
    const ReceivedStream& s = stream_of(*o.rx, t);
    CHECK(s.datagrams == t.datagrams);
    CHECK(s.flows == t.flows);
    CHECK(s.packets == t.packets);
    CHECK(s.bytes == t.bytes);
    CHECK(s.sampling_raw == t.sampling_raw);
    CHECK(t.send_errors == 0);
  }
}

}  // namespace

TEST_CASE("no faults: the receiver decodes exactly what the truth says", "[loopback]") {
  // "ground truth equals what a counting receiver decodes"
  GenConfig c = default_config();
  c.exporters = 3;
  c.count = 600;
  c.sampling_raw = 0x4000 | 10;
  Outcome o = run_against_receiver(c, true);
  check_counts(o);
  REQUIRE(o.truth.size() == 3);
  for (const StreamTruth& t : o.truth) {
    CHECK(t.datagrams == 200);
    CHECK(t.exporter.is_v4());
    const ReceivedStream& s = stream_of(*o.rx, t);
    SeqStats q = analyse(s.arrivals);
    CHECK(q.unique == 200);
    CHECK(q.duplicates == 0);
    CHECK(q.late == 0);
    CHECK(s.arrivals.front().sequence == t.first_seq);
    CHECK(s.arrivals.back().sequence + s.arrivals.back().count == t.next_seq);
  }
  // Three distinct source addresses (addr mode on loopback).
  std::set<IpAddr> addrs;
  for (auto& [id, s] : o.rx->streams) addrs.insert(std::get<0>(id));
  CHECK(addrs.size() == 3);
}

TEST_CASE("per-key truth equals the receiver's per-5-tuple totals", "[loopback][truth]") {
  GenConfig c = default_config();
  c.exporters = 2;
  c.count = 300;
  c.keys = 500;
  c.duplicate = 0.1;
  c.loss = 0.1;
  Outcome o = run_against_receiver(c, true);
  TrafficModel m(c.keys, c.zipf, c.seed);
  size_t rows = 0;
  for (uint32_t i = 0; i < m.size(); ++i) {
    if (o.keys[i].flows == 0) continue;
    ++rows;
    const FlowKey& k = m.key(i);
    auto it = o.rx->keys.find(KeyId{k.src, k.dst, k.sport, k.dport, k.proto});
    REQUIRE(it != o.rx->keys.end());
    CHECK(it->second.flows == o.keys[i].flows);
    CHECK(it->second.packets == o.keys[i].packets);
    CHECK(it->second.bytes == o.keys[i].bytes);
  }
  CHECK(rows == o.rx->keys.size());
}

TEST_CASE("loss, duplicates and reordering appear as the truth says", "[loopback][faults]") {
  // "each fault appears in the receiver's counts as the truth file says"
  GenConfig c = default_config();
  c.exporters = 2;
  c.count = 2000;
  c.records = 10;
  c.loss = 0.03;
  c.duplicate = 0.03;
  c.reorder = 0.03;
  Outcome o = run_against_receiver(c);
  check_counts(o);
  for (const StreamTruth& t : o.truth) {
    SeqStats q = analyse(stream_of(*o.rx, t).arrivals);
    CHECK(q.duplicates == t.duplicates);
    CHECK(q.late == t.reordered);
    CHECK(t.generated - q.unique == t.lost_datagrams);
    CHECK(t.lost_flows == t.lost_datagrams * c.records);
    CHECK(t.duplicates > 0);
    CHECK(t.reordered > 0);
    CHECK(t.lost_datagrams > 0);
  }
}

TEST_CASE("exporter restarts appear as the truth says", "[loopback][faults]") {
  GenConfig c = default_config();
  c.count = 500;
  c.reset_every = 120;
  Outcome o = run_against_receiver(c);
  check_counts(o);
  REQUIRE(o.truth.size() == 1);
  CHECK(o.truth[0].resets == 4);
  CHECK(analyse(stream_of(*o.rx, o.truth[0]).arrivals).restarts == 4);
  CHECK(o.truth[0].first_seq != 0);
  CHECK(o.truth[0].next_seq == (500 - 480) * c.records);
}

TEST_CASE("malformed datagrams are rejected by reason as the truth says", "[loopback][faults]") {
  GenConfig c = default_config();
  c.exporters = 2;
  c.count = 1500;
  c.malformed = 0.2;
  Outcome o = run_against_receiver(c);
  check_counts(o);
  std::array<uint64_t, kRejectReasons> want{};
  StreamTruth total = total_of(o.truth);
  for (size_t k = 0; k < kV5MalformedClasses; ++k) {
    INFO("class " << malformed_name(static_cast<MalformedClass>(k)));
    CHECK(total.malformed[k] > 0);
    want[static_cast<size_t>(expected_reject(static_cast<MalformedClass>(k)))] +=
        total.malformed[k];
  }
  CHECK(o.rx->rejects == want);
}

TEST_CASE("port mode: one socket per exporter, streams told apart", "[loopback]") {
  GenConfig c = default_config();
  c.exporters = 3;
  c.count = 300;
  c.exporter_mode = ExporterMode::kPort;
  Outcome o = run_against_receiver(c);
  check_counts(o);
  std::set<uint16_t> ports;
  for (const auto& t : o.truth) ports.insert(t.port);
  CHECK(ports.size() == 3);
}

TEST_CASE("several threads: every stream stays in order", "[loopback]") {
  GenConfig c = default_config();
  c.exporters = 4;
  c.threads = 2;
  c.count = 800;
  Outcome o = run_against_receiver(c);
  check_counts(o);
  for (const StreamTruth& t : o.truth) {
    SeqStats q = analyse(stream_of(*o.rx, t).arrivals);
    CHECK(q.late == 0);
    CHECK(q.unique == 200);
  }
}

TEST_CASE("replay of the pmacct capture, looped with sequence rewriting", "[loopback][replay]") {
  // "--replay FILE.pcap sends the UDP payloads of a capture ... optionally
  //  looped, optionally rewriting sequence numbers so loops stay in order"
  const std::string pcap = std::string(RINGFLOW_SOURCE_DIR) + "/tests/data/v5-pmacct.pcap";
  REQUIRE(std::ifstream(pcap).good());
  GenConfig c = default_config();
  c.replay_path = pcap;
  c.replay_speed = 0;  // as fast as possible
  c.pps = 5000;
  c.loop = 3;
  c.rewrite_seq = true;
  Outcome o = run_against_receiver(c);
  check_counts(o);
  REQUIRE(o.truth.size() == 1);
  const StreamTruth& t = o.truth[0];
  CHECK(t.datagrams == 3 * 104);
  CHECK(t.flows == 3 * 3000);
  CHECK(t.engine_type == 7);
  CHECK(t.engine_id == 3);
  SeqStats q = analyse(stream_of(*o.rx, t).arrivals);
  CHECK(q.duplicates == 0);  // rewriting made loops 2 and 3 new sequence ranges
  CHECK(q.late == 0);
  CHECK(t.next_seq - t.first_seq == 3 * 3000);
}

TEST_CASE("replay without rewriting repeats the sequence (duplicates)", "[loopback][replay]") {
  const std::string pcap = std::string(RINGFLOW_SOURCE_DIR) + "/tests/data/v5-pmacct.pcap";
  REQUIRE(std::ifstream(pcap).good());
  GenConfig c = default_config();
  c.replay_path = pcap;
  c.replay_speed = 0;
  c.pps = 5000;
  c.loop = 2;
  Outcome o = run_against_receiver(c);
  check_counts(o);
  CHECK(analyse(stream_of(*o.rx, o.truth[0]).arrivals).duplicates == 104);
}

TEST_CASE("v9 and IPFIX on loopback: every stream's records, packets, bytes, keys and sequence",
          "[loopback][templated]") {
  for (Protocol p : {Protocol::kV9, Protocol::kIpfix}) {
    INFO(protocol_name(p));
    GenConfig c = default_config();
    c.protocol = p;
    c.exporters = 3;
    c.domains = 2;
    c.count = 600;
    c.keys = 2000;
    c.ipv6_share = 0.3;
    c.sampler_rates = {100, 1000};
    c.loss = 0.02;
    c.duplicate = 0.02;
    c.reorder = 0.02;
    Outcome o = run_against_receiver(c, true);
    REQUIRE(o.truth.size() == 6);
    const std::vector<StreamStats> seq = o.rx->templated_stats();
    for (const StreamTruth& t : o.truth) {
      INFO("exporter " << t.exporter.str() << " domain " << t.domain);
      const ReceivedStream& r = o.rx->templated[TemplatedId{t.exporter, t.version, t.domain}];
      CHECK(r.datagrams == t.datagrams);
      CHECK(r.flows == t.flows);
      CHECK(r.packets == t.packets);
      CHECK(r.bytes == t.bytes);
      const StreamStats* st = nullptr;
      for (const auto& x : seq)
        if (x.exporter == t.exporter && kWireFormats[x.format].version == t.version && x.domain == t.domain) st = &x;
      REQUIRE(st != nullptr);
      // v9 loses datagrams, IPFIX records: the tracker counts in each one's unit.
      CHECK(st->lost_flows == (p == Protocol::kV9 ? t.lost_datagrams : t.lost_flows));
      CHECK(st->duplicates == t.duplicates);
      CHECK(st->next_sequence == t.next_seq);
    }
    // Per key, IPv4 and IPv6 addresses as decoded.
    TrafficModel m(c.keys, c.zipf, c.seed, c.ipv6_share);
    std::map<Key6Id, KeyCount> want;
    size_t v6 = 0;
    for (uint32_t k = 0; k < o.keys.size(); ++k) {
      if (o.keys[k].flows == 0) continue;
      const FlowKey& fk = m.key(k);
      v6 += fk.v6;
      KeyCount& w = want[Key6Id{m.src_addr(k), m.dst_addr(k), fk.sport, fk.dport, fk.proto}];
      w.flows = o.keys[k].flows;
      w.packets = o.keys[k].packets;
      w.bytes = o.keys[k].bytes;
    }
    CHECK(v6 > 100);
    REQUIRE(o.rx->keys6.size() == want.size());
    size_t same = 0;
    for (const auto& [k, w] : want) {
      auto it = o.rx->keys6.find(k);
      same += it != o.rx->keys6.end() && it->second.flows == w.flows &&
              it->second.packets == w.packets && it->second.bytes == w.bytes;
    }
    CHECK(same == want.size());
    CHECK(o.rx->sessions_counters.templates_redefined.load() == 0);
  }
}
