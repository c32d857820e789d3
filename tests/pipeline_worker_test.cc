// Worker (src/pipeline/worker.h) on its own, without a collector: datagrams
// admitted by the real ordered stage (through SessionAdmission, as a reactor
// does) are queued to a worker that runs on the test's thread until its
// queue is drained. It checks the loop issue 21 asks for: finished records
// (times counted, sampling resolved) -> the record stages in order (one that
// looks, one that drops) -> the aggregation table, with every record
// counted once and every buffer returned.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "common/clock.h"
#include "decode/wire_formats.h"
#include "gen/template_encoder.h"
#include "gen/v5_encoder.h"
#include "pipeline/record_stage.h"
#include "pipeline/session_admission.h"
#include "pipeline/worker.h"
#include "wire/ie.h"

namespace ringflow {
namespace {

const IpAddr kExporter = IpAddr::from_v4(0xC0000201);

struct Seen {
  FlowRecord r;
  FlowContext ctx;
};

// Looks: keeps a copy of every record and its context.
struct CaptureStage final : RecordStage {
  std::vector<Seen> seen;
  size_t run(FlowRecord* r, size_t n, const FlowContext& ctx) override {
    for (size_t i = 0; i < n; ++i) seen.push_back({r[i], ctx});
    return n;
  }
  const char* name() const override { return "capture"; }
};

// Drops records to destination port 53, keeping the others in order.
struct DropDnsStage final : RecordStage {
  size_t run(FlowRecord* r, size_t n, const FlowContext&) override {
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i)
      if (r[i].dst_port != 53) r[kept++] = r[i];
    return kept;
  }
  const char* name() const override { return "drop_dns"; }
};

std::vector<uint8_t> ipfix_datagram(int64_t now_ms, uint32_t domain) {
  gen::TemplateSpec t;
  t.id = 256;
  t.fields = {{ie::kSourceIPv4Address, 4},  {ie::kDestinationIPv4Address, 4},
              {ie::kDestinationTransportPort, 2}, {ie::kProtocolIdentifier, 1},
              {ie::kPacketDeltaCount, 8},   {ie::kOctetDeltaCount, 8},
              {ie::kFlowStartMilliseconds, 8}, {ie::kFlowEndMilliseconds, 8}};
  std::vector<uint8_t> buf(2000);
  gen::MessageBuilder b(WireVersion::kIpfix, buf.data(), buf.size());
  b.begin_set(2);
  REQUIRE(b.template_record(t));
  b.end_set();
  b.begin_set(t.id);
  const uint16_t ports[] = {443, 53, 80};
  for (size_t i = 0; i < 3; ++i) {
    FlowRecord f;
    f.src = IpAddr::from_v4(0x0A000001);
    f.dst = IpAddr::from_v4(0x0A000002 + static_cast<uint32_t>(i));
    f.dst_port = ports[i];
    f.protocol = 17;
    f.packets = 2;
    f.bytes = 200;
    f.ip_version = 4;
    f.start_ms = now_ms - 5000;
    // The last one ends an hour from now: counted future, kept.
    f.end_ms = i == 2 ? now_ms + 3600000 : now_ms - 1000;
    gen::RecordValues v;
    v.flow = &f;
    v.export_ms = now_ms;
    const size_t n = gen::record_size(t, v);
    uint8_t* p = b.reserve_record(n);
    REQUIRE(p);
    REQUIRE(gen::encode_record(t, v, p, n) == n);
  }
  b.end_set();
  gen::MessageHeader h;
  h.export_secs = static_cast<uint32_t>(now_ms / 1000);
  h.domain = domain;
  buf.resize(b.finish(h));
  return buf;
}

std::vector<uint8_t> v5_datagram(int64_t now_ms) {
  v5::Header h;
  h.version = 5;
  h.count = 2;
  h.sys_uptime_ms = 3600000;
  h.unix_secs = static_cast<uint32_t>(now_ms / 1000);
  h.engine_type = 1;
  h.engine_id = 2;
  h.sampling_raw = 1u << 14 | 100;  // the header says 1 in 100
  v5::Record r[2];
  for (int i = 0; i < 2; ++i) {
    r[i].src_addr = 0x0B000001;
    r[i].dst_addr = 0x0B000002;
    r[i].dst_port = i == 0 ? 53 : 22;
    r[i].protocol = 6;
    r[i].packets = 1;
    r[i].octets = 100;
    r[i].first_raw = 3590000;
    r[i].last_raw = 3599000;
  }
  std::vector<uint8_t> d(v5::kMaxPduSize);
  d.resize(v5::encode_v5(h, r, 2, d.data(), d.size()));
  REQUIRE(!d.empty());
  return d;
}

}  // namespace

TEST_CASE("worker: finished records -> record stages -> table, every record counted once",
          "[pipeline][worker]") {
  Config cfg;
  cfg.decode.sampling_overrides.push_back({kExporter, 8});  // beats v5's header and IPFIX
  Handoff handoff(1, 1, 64, 64);
  SessionCounters sc;
  Sessions sessions(cfg.decode, 16, 4096, sc);
  SessionAdmission admission(sessions);
  AggregationHub hub(cfg.aggregate, 1);
  WorkerCounters wc;
  auto capture = std::make_unique<CaptureStage>();
  CaptureStage* seen = capture.get();
  RecordStageChain chain;
  chain.add(std::make_unique<DropDnsStage>());
  chain.add(std::move(capture));  // after the drop: sees only what is aggregated
  Worker worker(0, cfg, handoff, {&sessions}, hub.worker(0), wc, std::move(chain));

  const int64_t now = wall_ms_coarse();
  const std::vector<uint8_t> ix = ipfix_datagram(now, 99), v5d = v5_datagram(now);
  const std::vector<uint8_t>* datagrams[] = {&ix, &v5d};
  for (uint16_t buf = 0; buf < 2; ++buf) {
    DatagramRef d;
    d.data = datagrams[buf]->data();
    d.len = static_cast<uint32_t>(datagrams[buf]->size());
    d.buf_id = buf;
    d.exporter = kExporter;
    d.recv_ns = now * 1000000;
    REQUIRE(admission.admit(d, now) == Admission::Verdict::kHandOff);
    // The admission gives the router the format's stream key.
    CHECK(d.stream_key == route_key(d.data, d.len));
    CHECK(d.stream_key != 0);
    REQUIRE(handoff.queue(0).enqueue(d));
  }
  worker.request_drain();
  worker.run();  // drains the queue on this thread, then returns

  CHECK(wc.datagrams.load() == 2);
  CHECK(wc.pdus.load() == 1);
  CHECK(wc.flows.load() == 5);
  CHECK(wc.flows_by_version[kFormatIpfix].load() == 3);
  CHECK(wc.flows_by_version[kFormatV5].load() == 2);
  CHECK(wc.future_records.load() == 1);       // the IPFIX record an hour ahead
  CHECK(wc.stage_dropped_records.load() == 2);  // the two port-53 records
  CHECK(hub.worker(0).counters().records.load() == 3);  // decoded - dropped

  REQUIRE(seen->seen.size() == 3);
  for (const Seen& s : seen->seen) {
    CHECK(s.r.dst_port != 53);
    CHECK(s.r.sampling == 8);  // resolved by decode: the override wins
    CHECK(s.ctx.exporter == kExporter);
  }
  CHECK(seen->seen[0].ctx.version == 10);
  CHECK(seen->seen[0].ctx.domain == 99);
  CHECK(seen->seen[0].ctx.template_id == 256);
  CHECK(seen->seen[2].ctx.version == 5);
  CHECK(seen->seen[2].ctx.domain == (1u << 8 | 2u));  // engine type, engine id
  CHECK(seen->seen[2].ctx.template_id == 0);

  // Both buffers came back to their reactor.
  uint16_t ids[4];
  size_t n = handoff.returns(0).try_dequeue_bulk(ids, 4);
  REQUIRE(n == 2);
  CHECK(((ids[0] == 0 && ids[1] == 1) || (ids[0] == 1 && ids[1] == 0)));
}

}  // namespace ringflow
