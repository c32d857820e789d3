// Finished records (issue 21): the record reader hands the worker records
// with decode's rules applied - v9/IPFIX time checks that match v5's, and
// the sampling precedence of src/decode/sampling.h (RecordSampling, moved
// out of the worker) - so no stage after decode repeats them. No collector
// is started: the ordered stage admits datagrams built by ringflow-gen's
// encoder and the reader decodes them here.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "decode/record_reader.h"
#include "decode/sampling.h"
#include "decode/sessions.h"
#include "gen/template_encoder.h"
#include "wire/ie.h"

namespace ringflow {
namespace {

constexpr int64_t kNow = 1700000000000;
const IpAddr kExporter = IpAddr::from_v4(0xC0000201);

// IPFIX with absolute millisecond times (and, when asked, samplingInterval).
gen::TemplateSpec ms_template(bool with_rate) {
  gen::TemplateSpec t;
  t.id = 300;
  t.fields = {{ie::kSourceIPv4Address, 4},     {ie::kDestinationIPv4Address, 4},
              {ie::kProtocolIdentifier, 1},    {ie::kPacketDeltaCount, 8},
              {ie::kOctetDeltaCount, 8},       {ie::kFlowStartMilliseconds, 8},
              {ie::kFlowEndMilliseconds, 8}};
  if (with_rate) t.fields.push_back({ie::kSamplingInterval, 4});
  return t;
}

FlowRecord flow(int64_t start, int64_t end) {
  FlowRecord r;
  r.src = IpAddr::from_v4(0x0A000001);
  r.dst = IpAddr::from_v4(0x0A000002);
  r.protocol = 17;
  r.packets = 3;
  r.bytes = 300;
  r.start_ms = start;
  r.end_ms = end;
  r.ip_version = 4;
  return r;
}

std::vector<uint8_t> ipfix_datagram(const gen::TemplateSpec& t, const std::vector<FlowRecord>& flows,
                           uint32_t rate = 0) {
  std::vector<uint8_t> buf(4000);
  gen::MessageBuilder b(WireVersion::kIpfix, buf.data(), buf.size());
  b.begin_set(2);
  REQUIRE(b.template_record(t));
  b.end_set();
  b.begin_set(t.id);
  for (const FlowRecord& f : flows) {
    gen::RecordValues v;
    v.flow = &f;
    v.export_ms = kNow;
    v.rate = rate;
    const size_t n = gen::record_size(t, v);
    uint8_t* p = b.reserve_record(n);
    REQUIRE(p);
    REQUIRE(gen::encode_record(t, v, p, n) == n);
  }
  b.end_set();
  gen::MessageHeader h;
  h.export_secs = static_cast<uint32_t>(kNow / 1000);
  buf.resize(b.finish(h));
  return buf;
}

struct Decoded {
  std::vector<FlowRecord> records;
  uint32_t future = 0, inverted = 0, unknown_time = 0, unknown_sampling = 0, too_high = 0;
};

// Admits d and reads it; with cfg's sampling when `finish`.
Decoded read(const std::vector<uint8_t>& d, const DecodeConfig& cfg, bool finish) {
  SessionCounters counters;
  Sessions s(cfg, 4, 4096, counters);
  REQUIRE(s.admit(d.data(), d.size(), kExporter, 0, kNow) == Admit::kHandOff);
  DecodeOptions opts;
  opts.future_tolerance_ms = cfg.future_tolerance_ms;
  const RecordSampling sampling(cfg);
  RecordReader r(s.meta(0), d.data(), d.size(), kNow, opts, finish ? &sampling : nullptr,
                 finish ? &kExporter : nullptr);
  Decoded out;
  FlowRecord chunk[64];
  RecordChunk c;
  size_t n;
  while ((n = r.next(chunk, 64, &c)) > 0) {
    out.records.insert(out.records.end(), chunk, chunk + n);
    out.future += c.future_records;
    out.inverted += c.inverted_records;
    out.unknown_time += c.unknown_time_records;
    out.unknown_sampling += c.unknown_sampling_records;
    out.too_high += c.sampling_too_high_records;
  }
  s.release(0);
  return out;
}

}  // namespace

TEST_CASE("finish: IPFIX records get v5's time checks in the reader", "[decode][finish]") {
  DecodeConfig cfg;
  cfg.future_tolerance_ms = 10000;
  const std::vector<FlowRecord> flows = {
      flow(kNow - 5000, kNow - 1000),   // fine
      flow(kNow - 5000, kNow + 10000),  // at the tolerance: not future
      flow(kNow - 5000, kNow + 10001),  // future
      flow(kNow - 1000, kNow - 5000),   // inverted
  };
  for (bool finish : {false, true}) {
    INFO("finish " << finish);
    const Decoded d = read(ipfix_datagram(ms_template(false), flows), cfg, finish);
    REQUIRE(d.records.size() == 4);
    CHECK(d.future == 1);
    CHECK(d.inverted == 1);
    CHECK(d.unknown_time == 0);
    CHECK(d.records[2].end_ms == kNow + 10001);  // counted, kept as sent
  }
}

TEST_CASE("finish: the reader resolves each record's sampling multiplier", "[decode][finish]") {
  const std::vector<FlowRecord> flows = {flow(kNow - 5000, kNow - 1000),
                                         flow(kNow - 4000, kNow - 1000)};
  DecodeConfig cfg;
  cfg.default_sampling = 3;
  cfg.max_sampling_rate = 100000;

  SECTION("the rate inside the record") {
    const Decoded d = read(ipfix_datagram(ms_template(true), flows, 512), cfg, true);
    REQUIRE(d.records.size() == 2);
    for (const FlowRecord& r : d.records) CHECK(r.sampling == 512);
    CHECK(d.unknown_sampling == 0);
  }
  SECTION("without a RecordSampling the decoder's in-record rate is left as it was") {
    const Decoded d = read(ipfix_datagram(ms_template(true), flows, 512), cfg, false);
    REQUIRE(d.records.size() == 2);
    CHECK((d.records[0].flags & kFlowHasRate) != 0);
  }
  SECTION("nothing announced: decode.default_sampling, not counted unknown") {
    const Decoded d = read(ipfix_datagram(ms_template(false), flows), cfg, true);
    for (const FlowRecord& r : d.records) CHECK(r.sampling == 3);
    CHECK(d.unknown_sampling == 0);
  }
  SECTION("the exporter's override beats the record's rate") {
    cfg.sampling_overrides.push_back({kExporter, 64});
    const Decoded d = read(ipfix_datagram(ms_template(true), flows, 512), cfg, true);
    for (const FlowRecord& r : d.records) CHECK(r.sampling == 64);
  }
  SECTION("a rate above decode.max_sampling_rate is not believed, and counted") {
    const Decoded d = read(ipfix_datagram(ms_template(true), flows, 200000), cfg, true);
    for (const FlowRecord& r : d.records) CHECK(r.sampling == 3);
    CHECK(d.too_high == 2);
  }
  SECTION("decode.renormalize off: every multiplier is 1") {
    cfg.renormalize = false;
    const Decoded d = read(ipfix_datagram(ms_template(true), flows, 512), cfg, true);
    for (const FlowRecord& r : d.records) CHECK(r.sampling == 1);
  }
}

TEST_CASE("finish: sampling precedence with announced samplers (RecordSampling)",
          "[decode][finish]") {
  DecodeConfig cfg;
  cfg.default_sampling = 5;
  const RecordSampling rs(cfg);
  SamplerSet set;
  set.n = 2;
  set.ids[0] = 1;
  set.rates[0] = 100;
  set.ids[1] = 2;
  set.rates[1] = 1000;
  FlowRecord r[4];
  r[0].flags = kFlowHasSamplerId;  // announced sampler 2
  r[0].sampler_id = 2;
  r[1].flags = kFlowHasSamplerId;  // sampler 9: never announced
  r[1].sampler_id = 9;
  r[2].flags = 0;                  // no id, two samplers: cannot tell
  r[3].flags = kFlowHasRate | kFlowHasSamplerId;  // its own rate beats its sampler's
  r[3].sampling = 77;
  r[3].sampler_id = 1;
  uint16_t unknown = 0, too_high = 0;
  rs.resolve(r, 4, &set, kExporter, nullptr, &unknown, &too_high);
  CHECK(r[0].sampling == 1000);
  CHECK(r[1].sampling == 5);
  CHECK(r[2].sampling == 5);
  CHECK(r[3].sampling == 77);
  CHECK(unknown == 2);
  CHECK(too_high == 0);

  // One sampler announced: a record without an id takes it.
  set.n = 1;
  FlowRecord one;
  unknown = 0;
  rs.resolve(&one, 1, &set, kExporter, nullptr, &unknown, &too_high);
  CHECK(one.sampling == 100);
  CHECK(unknown == 0);

  // v5: the header's interval for every record of the PDU.
  v5::Header h;
  h.sampling_raw = 1u << 14 | 250;  // mode 1, interval 250
  FlowRecord v5r[2];
  rs.resolve(v5r, 2, nullptr, kExporter, &h, &unknown, &too_high);
  CHECK(v5r[0].sampling == 250);
  CHECK(v5r[1].sampling == 250);
}

}  // namespace ringflow
