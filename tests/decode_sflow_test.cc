// sFlow v5 on the ordered stage (Sessions::admit, src/decode/sessions.h) and
// in the worker's RecordReader: acceptance, rejection by SflowReject reason,
// the stream = (agent address, sub-agent id), datagram loss, per-source
// flow-sample loss, sample_pool and drops, unknown formats, and the
// FlowRecords a worker gets (chunked, sampling = the sample's rate). Crafted
// datagrams, then every datagram of the real sFlow captures in
// ../shared/captures/sflow/pcap (read in place, never copied here).
#include <catch2/catch.hpp>

#include <dirent.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "decode/record_reader.h"
#include "decode/sessions.h"
#include "decode/sflow_decoder.h"
#include "decode/sflow_sources.h"
#include "decode/wire_formats.h"
#include "gen/pcap_reader.h"
#include "support/skip.h"

namespace ringflow {
namespace {

constexpr int64_t kNow = 1700000000000;

struct Dgram {
  std::vector<uint8_t> d;
  size_t nsamples_at = 0;
  uint32_t nsamples = 0;
  void be32(uint32_t v) {
    for (int i = 0; i < 4; ++i) d.push_back(static_cast<uint8_t>(v >> (24 - 8 * i)));
  }
  void put32(size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) d[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  }
  Dgram(uint32_t agent, uint32_t sub_agent, uint32_t seq, uint32_t uptime = 100000) {
    be32(5);
    be32(1);
    be32(agent);
    be32(sub_agent);
    be32(seq);
    be32(uptime);
    nsamples_at = d.size();
    be32(0);
  }
  // A compact flow sample (0:1) with one sampled IPv4 record (0:3).
  Dgram& flow(uint32_t source_index, uint32_t seq, uint32_t rate, uint32_t pool = 0,
              uint32_t drops = 0, uint32_t length = 1000, uint32_t src = 0x0A000001) {
    be32(1);       // flow sample
    be32(32 + 8 + 32);
    be32(seq);
    be32(source_index);  // source type 0 (ifIndex)
    be32(rate);
    be32(pool);
    be32(drops);
    be32(3);  // input ifIndex 3
    be32(4);  // output
    be32(1);  // one record
    be32(3);  // sampled IPv4
    be32(32);
    be32(length);
    be32(6);
    be32(src);
    be32(0x0A000002);
    be32(1234);
    be32(80);
    be32(0x10);
    be32(0);
    put32(nsamples_at, ++nsamples);
    return *this;
  }
  // A sample of an (enterprise, format) nobody reads.
  Dgram& unknown_sample(uint32_t enterprise, uint32_t format) {
    be32(enterprise << 12 | format);
    be32(4);
    be32(0);
    put32(nsamples_at, ++nsamples);
    return *this;
  }
};

struct Stage {
  DecodeConfig cfg;
  SessionCounters counters;
  std::unique_ptr<Sessions> s;
  explicit Stage(std::vector<std::string> versions = {"v5", "v9", "ipfix", "sflow"}) {
    cfg.versions = std::move(versions);
    s = std::make_unique<Sessions>(cfg, 16, 65535, counters);
  }
  Admit admit(const Dgram& g, uint32_t udp_src = 0xC0000263, int64_t now = kNow) {
    return s->admit(g.d.data(), g.d.size(), IpAddr::from_v4(udp_src), 0, now);
  }
  uint64_t rejects(size_t slot, Reject r) const {
    return counters.rejects[slot][static_cast<size_t>(r)].load();
  }
  std::vector<StreamStats> streams() {
    s->tick(kNow + 60000);
    std::vector<StreamStats> st;
    s->streams_snapshot(&st);
    return st;
  }
};

}  // namespace

TEST_CASE("sflow: a datagram with flow samples is handed off under the sflow format",
          "[decode][sflow]") {
  Stage st;
  Dgram g(0xC0000201, 0, 1);
  g.flow(3, 10, 512);
  REQUIRE(st.admit(g) == Admit::kHandOff);
  CHECK(st.counters.datagrams[kFormatSflow].load() == 1);
  CHECK(st.counters.datagrams[kFormatV5].load() == 0);  // same version number, its own slot
  CHECK(st.counters.sflow_flow_samples.load() == 1);
  CHECK(st.s->meta(0).format == kFormatSflow);
  // No flow sample (counter samples only, or none): nothing for a worker.
  Dgram empty(0xC0000201, 0, 2);
  CHECK(st.admit(empty) == Admit::kConsumed);
}

TEST_CASE("sflow: decode.versions without sflow rejects it as version_disabled",
          "[decode][sflow]") {
  Stage st({"v5", "v9", "ipfix"});
  Dgram g(0xC0000201, 0, 1);
  g.flow(3, 10, 512);
  CHECK(st.admit(g) == Admit::kRejected);
  CHECK(st.rejects(kFormatSflow, Reject::kVersionDisabled) == 1);
}

TEST_CASE("sflow: each malformation is rejected whole under its own reason", "[decode][sflow]") {
  Stage st;
  Dgram good(0xC0000201, 0, 1);
  good.flow(3, 10, 512);

  Dgram past = good;  // the sample's length runs past the datagram
  past.d.resize(past.d.size() - 4);
  CHECK(st.admit(past) == Admit::kRejected);
  CHECK(st.rejects(kFormatSflow, Reject::kSflowSamplePastDatagram) == 1);

  Dgram count = good;  // two samples declared, one sent
  count.put32(count.nsamples_at, 2);
  CHECK(st.admit(count) == Admit::kRejected);
  CHECK(st.rejects(kFormatSflow, Reject::kSflowSampleCountMismatch) == 1);

  Dgram rec = good;  // the record's length runs past its sample
  rec.put32(28 + 8 + 32 + 4, 36);
  CHECK(st.admit(rec) == Admit::kRejected);
  CHECK(st.rejects(kFormatSflow, Reject::kSflowRecordPastSample) == 1);

  Dgram agent = good;  // agent address type 3
  agent.put32(4, 3);
  CHECK(st.admit(agent) == Admit::kRejected);
  CHECK(st.rejects(kFormatSflow, Reject::kSflowBadAgentType) == 1);

  Dgram cut = good;  // cut inside the header
  cut.d.resize(12);
  CHECK(st.admit(cut) == Admit::kRejected);
  CHECK(st.rejects(kFormatSflow, Reject::kTooShort) == 1);

  Dgram v4 = good;  // sFlow v4: recognised as sFlow, not decoded
  v4.put32(0, 4);
  CHECK(st.admit(v4) == Admit::kRejected);
  CHECK(st.rejects(kFormatSflow, Reject::kBadVersion) == 1);

  CHECK(reject_reason_name(Reject::kSflowHeaderPastRecord) == "header_past_record");
  CHECK(reject_reason_name(Reject::kSflowBadAgentType) == "bad_agent_type");
  // Every SflowReject but none, too_short and bad_version has a Reject of
  // the same name.
  for (uint8_t r = 3; r < kSflowRejectCount; ++r) {
    const char* name = sflow_reject_name(static_cast<SflowReject>(r));
    bool found = false;
    for (size_t i = 0; i < kRejectReasons; ++i)
      found |= reject_reason_name(static_cast<Reject>(i)) == name;
    CHECK(found);
  }
  CHECK(st.admit(good) == Admit::kHandOff);  // nothing of the rejected ones was kept
  CHECK(st.counters.sflow_flow_samples.load() == 1);
}

TEST_CASE("sflow: the stream is (agent address, sub-agent id), not the UDP source",
          "[decode][sflow]") {
  Stage st;
  // One agent through two UDP sources (a relay): one stream.
  st.admit(Dgram(0xC0000201, 0, 1).flow(3, 1, 100), 0x0A000001);
  st.admit(Dgram(0xC0000201, 0, 2).flow(3, 2, 100), 0x0A000002);
  // Two agents, or two sub-agents, through one UDP source: three streams.
  st.admit(Dgram(0xC0000202, 0, 1).flow(3, 1, 100), 0x0A000001);
  st.admit(Dgram(0xC0000201, 1, 1).flow(3, 1, 100), 0x0A000001);
  const std::vector<StreamStats> s = st.streams();
  REQUIRE(s.size() == 3);
  size_t agent1_sub0 = 0;
  for (const StreamStats& x : s) {
    CHECK(x.format == kFormatSflow);
    CHECK(x.lost_unit_is_datagrams());
    if (x.exporter == IpAddr::from_v4(0xC0000201) && x.domain == 0) {
      ++agent1_sub0;
      CHECK(x.datagrams == 2);
      CHECK(x.lost_flows == 0);
      CHECK(x.sampling_interval == 100);
    }
  }
  CHECK(agent1_sub0 == 1);
}

TEST_CASE("sflow: the datagram sequence gives loss in datagrams", "[decode][sflow]") {
  Stage st;
  for (uint32_t seq : {1u, 2u, 5u, 6u}) st.admit(Dgram(0xC0000201, 0, seq).flow(3, seq, 100));
  const std::vector<StreamStats> s = st.streams();
  REQUIRE(s.size() == 1);
  CHECK(s[0].lost_flows == 2);  // datagrams 3 and 4
  CHECK(s[0].gaps == 1);
}

TEST_CASE("sflow: each source's flow-sample sequence gives loss in samples, with pool and drops",
          "[decode][sflow]") {
  Stage st;
  // Source 3: 10, 11, 14 (12 and 13 lost); source 4: 100, 101 (none lost),
  // interleaved in datagrams that themselves lose nothing.
  st.admit(Dgram(0xC0000201, 0, 1).flow(3, 10, 100, 1000, 5).flow(4, 100, 100, 50, 0));
  st.admit(Dgram(0xC0000201, 0, 2).flow(3, 11, 100, 1100, 7).flow(4, 101, 100, 150, 1));
  st.admit(Dgram(0xC0000201, 0, 3).flow(3, 14, 100, 1400, 7));
  CHECK(st.counters.sflow_flow_samples.load() == 5);
  CHECK(st.counters.sflow_samples_lost.load() == 2);
  CHECK(st.counters.sflow_sample_pool.load() == 100 + 100 + 300);
  CHECK(st.counters.sflow_drops.load() == 2 + 1);
  // A late sample (behind, within the window) changes nothing else.
  st.admit(Dgram(0xC0000201, 0, 4).flow(3, 12, 100, 1200, 7));
  CHECK(st.counters.sflow_samples_late.load() == 1);
  CHECK(st.counters.sflow_samples_lost.load() == 2);
  // Agent restart: the sequence and the counters start again. No loss, no
  // delta (a counter that went back would otherwise read as ~2^32).
  st.admit(Dgram(0xC0000201, 0, 1, 5).flow(3, 0x80000000u, 100, 3, 0));
  CHECK(st.counters.sflow_source_resets.load() == 1);
  CHECK(st.counters.sflow_samples_lost.load() == 2);
  CHECK(st.counters.sflow_sample_pool.load() == 500);
  CHECK(st.counters.sflow_drops.load() == 3);
  // The same source index at another agent is another source.
  st.admit(Dgram(0xC0000202, 0, 1).flow(3, 500, 100));
  CHECK(st.counters.sflow_samples_lost.load() == 2);
}

TEST_CASE("sflow: sources per stream are bounded and the excess is counted", "[decode][sflow]") {
  Stage st;
  uint32_t seq = 1;
  for (uint32_t src = 0; src < SflowSources::kPerStream + 3; ++src)
    st.admit(Dgram(0xC0000201, 0, seq++).flow(src, 1, 100));
  CHECK(st.counters.sflow_sources_full.load() == 3);
  // The tracked ones still count their loss.
  st.admit(Dgram(0xC0000201, 0, seq++).flow(0, 4, 100));
  CHECK(st.counters.sflow_samples_lost.load() == 2);
}

TEST_CASE("sflow: unknown (enterprise, format) pairs get bounded labels", "[decode][sflow]") {
  Stage st;
  Dgram g(0xC0000201, 0, 1);
  g.unknown_sample(4413, 5).unknown_sample(4413, 5).unknown_sample(0, 7).flow(3, 1, 100);
  REQUIRE(st.admit(g) == Admit::kHandOff);
  const SflowUnknownCounters& u = st.counters.sflow_unknown;
  CHECK(u.keys[0].load() == SflowUnknownCounters::key_of(0, 4413, 5));
  CHECK(u.counts[0].load() == 2);
  CHECK(u.keys[1].load() == SflowUnknownCounters::key_of(0, 0, 7));
  CHECK(u.counts[1].load() == 1);
  Dgram many(0xC0000201, 0, 2);
  for (uint32_t f = 100; f < 100 + SflowUnknownCounters::kSlots + 2; ++f) many.unknown_sample(9, f);
  st.admit(many);
  CHECK(u.other.load() == 4);  // 2 slots were taken already: 16 - 2 = 14 fit, 4 do not
}

TEST_CASE("sflow: the worker's reader yields one finished record per flow sample, in chunks",
          "[decode][sflow]") {
  Stage st;
  Dgram g(0xC0000201, 7, 1);
  const uint32_t n = 45;
  for (uint32_t i = 0; i < n; ++i) g.flow(3, 10 + i, 256, 0, 0, 100 + i, 0x0A000000 + i);
  REQUIRE(st.admit(g) == Admit::kHandOff);
  const DatagramMeta& m = st.s->meta(0);
  CHECK(m.domain == 7);
  DecodeConfig cfg;
  RecordSampling sampling(cfg);
  DecodeOptions opt;
  const IpAddr udp = IpAddr::from_v4(0xC0000263);
  RecordReader r(m, g.d.data(), g.d.size(), kNow, opt, &sampling, &udp);
  std::vector<FlowRecord> all;
  FlowRecord out[30];
  RecordChunk c;
  size_t k, chunks = 0;
  while ((k = r.next(out, 30, &c)) > 0) {
    ++chunks;
    CHECK(c.format == kFormatSflow);
    CHECK(c.version == 5);
    CHECK(c.domain == 7);
    CHECK(c.unknown_time_records == k);  // sFlow samples carry no time
    all.insert(all.end(), out, out + k);
  }
  CHECK(chunks == 2);
  REQUIRE(all.size() == n);
  for (uint32_t i = 0; i < n; ++i) {
    CHECK(all[i].src == IpAddr::from_v4(0x0A000000 + i));
    CHECK(all[i].packets == 1);
    CHECK(all[i].bytes == 100 + i);
    CHECK(all[i].sampling == 256);
    CHECK(all[i].input == 3);
  }

  // A decode.sampling_overrides entry for the agent address wins.
  DecodeConfig ocfg;
  ocfg.sampling_overrides.push_back({IpAddr::from_v4(0xC0000201), 1000});
  RecordSampling over(ocfg);
  RecordReader r2(m, g.d.data(), g.d.size(), kNow, opt, &over, &udp);
  REQUIRE(r2.next(out, 30, &c) == 30);
  CHECK(out[0].sampling == 1000);
}

TEST_CASE("sflow: every datagram of the real sFlow captures is admitted and read as decoded",
          "[decode][sflow]") {
  RF_SHARED_CAPTURE(probe, "sflow/pcap/akv-ipv4-data.pcap");
  const std::string dir = probe.substr(0, probe.rfind('/'));
  std::vector<std::string> files;
  std::unique_ptr<DIR, int (*)(DIR*)> dp(opendir(dir.c_str()), closedir);
  REQUIRE(dp);
  while (dirent* e = readdir(dp.get())) {
    const std::string name = e->d_name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".pcap") files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  REQUIRE(!files.empty());
  uint64_t datagrams = 0, flows = 0;
  for (const std::string& f : files) {
    INFO(f);
    Stage st;
    gen::PcapReader r;
    std::string err;
    REQUIRE(r.open(dir + "/" + f, &err));
    gen::CapturedUdp u;
    uint64_t n = 0, rejected = 0, want_flows = 0, got_flows = 0;
    while (r.next(&u, &err) == 1) {
      ++n;
      struct Count : SflowSink {
        uint64_t n = 0;
        void flow(const SflowDatagram&, const SflowFlowSample&, const FlowRecord&) override { ++n; }
      } direct;
      const bool is_sflow = find_wire_format(u.payload, u.len) == &kWireFormats[kFormatSflow];
      const SflowResult dr =
          is_sflow ? decode_sflow(u.payload, u.len, SflowOptions{}, &direct) : SflowResult{};
      const Admit a = st.s->admit(u.payload, u.len, u.src, 0, kNow);
      if (!is_sflow) continue;
      // The ordered stage accepts exactly what the decoder accepts.
      CHECK((a == Admit::kRejected) == (dr.reject != SflowReject::kNone));
      rejected += a == Admit::kRejected;
      want_flows += direct.n;
      if (a != Admit::kHandOff) continue;
      DecodeOptions opt;
      RecordReader rr(st.s->meta(0), u.payload, u.len, kNow, opt);
      FlowRecord out[30];
      RecordChunk c;
      size_t k;
      while ((k = rr.next(out, 30, &c)) > 0) got_flows += k;
    }
    datagrams += n;
    CHECK(got_flows == want_flows);
    CHECK(st.counters.sflow_flow_samples.load() == want_flows);
    flows += got_flows;
    // td-multiple-counter-30-pdus also holds 5 NetFlow v5 datagrams sent to
    // the sFlow port (the captures' README): those are v5, the rest sFlow.
    const uint64_t v5 = st.counters.datagrams[kFormatV5].load();
    CHECK(v5 == (f == "td-multiple-counter-30-pdus.pcap" ? 5u : 0u));
    CHECK(st.counters.datagrams[kFormatSflow].load() == n - v5);
  }
  INFO(files.size() << " captures, " << datagrams << " datagrams, " << flows << " flow records");
  CHECK(datagrams > 0);
  CHECK(flows > 0);
}

}  // namespace ringflow
