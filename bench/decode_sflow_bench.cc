// sFlow v5 decoder microbenchmark: flow samples decoded to FlowRecords per
// second on one core (median of several runs), with raw Ethernet/IPv4/TCP
// headers and with Ethernet/IPv6/TCP headers (issue 22's targets: >= 40 M and
// >= 30 M samples/s), the worker's decode of a datagram the ordered stage has
// validated (SflowOptions::validated), and the validation walk alone.
// Usage: decode_sflow_bench [RUNS [ONLY]]   (CI smoke: 1)
//   ONLY: run just the variants whose name contains it ("IPv4/TCP",
//   "IPv6/TCP", "views", "validated: IPv4", "validate only"), e.g. one at a
//   time under valgrind --tool=callgrind for instructions per sample.
//
// Input: 512 distinct datagrams per header kind, each as a switch sends them:
// an IPv4 agent, 7 compact flow samples, each with a 128-byte raw header
// record (frame cut at 128 bytes, as most agents do) and an extended switch
// record: 1,540 bytes per datagram, 790 KB in all, so mostly in L2 as
// a worker's recent receive buffers would be. Built byte by byte here from
// src/wire/sflow.h: ringflow-gen has no sFlow encoder yet.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "bench_util.h"
#include "decode/sflow_decoder.h"
#include "wire/bytes.h"
#include "wire/sflow.h"

using namespace ringflow;

namespace {

constexpr size_t kDatagrams = 512;
constexpr uint32_t kSamplesPerDatagram = 7;
constexpr uint32_t kHeaderBytes = 128;

struct Writer {
  std::vector<uint8_t> b;
  void u32(uint32_t v) {
    b.resize(b.size() + 4);
    wire::store_be32(b.data() + b.size() - 4, v);
  }
  void bytes(const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }
};

uint64_t g_x = 0x9E3779B97F4A7C15ull;
uint32_t rnd() {
  g_x ^= g_x << 13;
  g_x ^= g_x >> 7;
  g_x ^= g_x << 17;
  return static_cast<uint32_t>(g_x);
}

// A 128-byte copy of an Ethernet / IPv4-or-IPv6 / TCP frame of `frame_len`.
std::vector<uint8_t> frame_header(bool v6, uint32_t frame_len) {
  std::vector<uint8_t> h(kHeaderBytes, 0);
  for (int i = 0; i < 12; ++i) h[i] = static_cast<uint8_t>(rnd());
  uint8_t* ip = h.data() + 14;
  size_t l4;
  if (!v6) {
    wire::store_be16(h.data() + 12, 0x0800);
    ip[0] = 0x45;
    wire::store_be16(ip + 2, static_cast<uint16_t>(frame_len - 18));
    ip[8] = 64;
    ip[9] = 6;
    wire::store_be32(ip + 12, 0x0A000000 | (rnd() & 0xFFFFFF));
    wire::store_be32(ip + 16, 0xC6336400 | (rnd() & 0xFF));
    l4 = 14 + 20;
  } else {
    wire::store_be16(h.data() + 12, 0x86DD);
    wire::store_be32(ip, 0x60000000);
    wire::store_be16(ip + 4, static_cast<uint16_t>(frame_len - 18 - 40));
    ip[6] = 6;
    ip[7] = 64;
    for (int i = 8; i < 40; ++i) ip[i] = static_cast<uint8_t>(rnd());
    l4 = 14 + 40;
  }
  wire::store_be16(h.data() + l4, static_cast<uint16_t>(rnd()));
  wire::store_be16(h.data() + l4 + 2, 443);
  wire::store_be16(h.data() + l4 + 12, 0x5018);
  return h;
}

std::vector<std::vector<uint8_t>> make_input(bool v6) {
  std::vector<std::vector<uint8_t>> out;
  uint32_t seq = 1, sample_seq = 1;
  for (size_t d = 0; d < kDatagrams; ++d) {
    Writer w;
    w.u32(sflow::kVersion5);
    w.u32(sflow::kAddressIPv4);
    w.u32(0xC0000201 + static_cast<uint32_t>(d % 16));
    w.u32(0);  // sub-agent
    w.u32(seq++);
    w.u32(86400000 + static_cast<uint32_t>(d));
    w.u32(kSamplesPerDatagram);
    for (uint32_t s = 0; s < kSamplesPerDatagram; ++s) {
      const uint32_t frame_len = 64 + rnd() % 1454;
      const std::vector<uint8_t> hdr = frame_header(v6, frame_len);
      const uint32_t raw_len = sflow::kRawHeaderFixed + kHeaderBytes;
      const uint32_t sample_len =
          sflow::kFlowSampleFixed + 8 + raw_len + 8 + sflow::kExtendedSwitchSize;
      w.u32(sflow::kFlowSample);
      w.u32(sample_len);
      w.u32(sample_seq++);
      w.u32(1 + s % 48);  // source id: ifIndex
      w.u32(4096);        // rate
      w.u32(sample_seq * 4096);
      w.u32(0);  // drops
      w.u32(1 + s % 48);
      w.u32(1 + (s + 7) % 48);
      w.u32(2);  // records
      w.u32(sflow::kRawHeader);
      w.u32(raw_len);
      w.u32(sflow::kHeaderEthernet);
      w.u32(frame_len);
      w.u32(4);  // stripped FCS
      w.u32(kHeaderBytes);
      w.bytes(hdr.data(), hdr.size());
      w.u32(sflow::kExtendedSwitch);
      w.u32(sflow::kExtendedSwitchSize);
      w.u32(100);
      w.u32(0);
      w.u32(100);
      w.u32(0);
    }
    out.push_back(std::move(w.b));
  }
  return out;
}

// What a worker would do with each FlowRecord: fold it into a sum here.
struct SumSink : SflowSink {
  uint64_t sum = 0, flows = 0;
  void flow(const SflowDatagram&, const SflowFlowSample&, const FlowRecord& f) override {
    sum += f.bytes * f.sampling + f.src_port + f.dst.bytes[15];
    ++flows;
  }
};

const char* g_only = nullptr;
bool selected(const char* name) {
  return g_only == nullptr || std::strstr(name, g_only) != nullptr;
}

void run(const char* name, const std::vector<std::vector<uint8_t>>& in, int runs, bool record_views,
         bool validated = false) {
  if (!selected(name)) return;
  constexpr size_t kPasses = 300;  // 512 x 7 x 300 = 1.1 M samples per run
  SflowOptions opt;
  opt.flow_record_views = record_views;
  opt.validated = validated;
  bench::rate(
      name, runs,
      [&] {
        SumSink sink;
        uint64_t rejected = 0;
        for (size_t pass = 0; pass < kPasses; ++pass)
          for (const auto& d : in)
            rejected += decode_sflow(d.data(), d.size(), opt, &sink).reject != SflowReject::kNone;
        bench::do_not_optimize(sink.sum + rejected);
        return sink.flows;
      },
      "samples");
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = bench::runs_from_args(argc, argv, 7);
  if (argc > 2) g_only = argv[2];
  const auto v4 = make_input(false);
  const auto v6 = make_input(true);
  // As aggregation would decode (FlowRecords only), then with every record
  // handed to the sink as well.
  run("sflow decode: Ethernet/IPv4/TCP headers", v4, runs, false);
  run("sflow decode: Ethernet/IPv6/TCP headers", v6, runs, false);
  run("sflow decode + record views: IPv4 headers", v4, runs, true);
  // The worker's decode: the ordered stage validated the datagram already.
  run("sflow decode validated: IPv4 headers", v4, runs, false, true);
  run("sflow decode validated: IPv6 headers", v6, runs, false, true);
  if (!selected("sflow validate only (IPv4 headers)")) return 0;
  bench::rate(
      "sflow validate only (IPv4 headers)", runs,
      [&] {
        uint64_t samples = 0;
        SflowDatagram d;
        uint32_t trailing = 0;
        for (size_t pass = 0; pass < 300; ++pass)
          for (const auto& dg : v4)
            if (validate_sflow(dg.data(), dg.size(), &d, &trailing) == SflowReject::kNone)
              samples += d.num_samples;
        bench::do_not_optimize(samples + trailing);
        return samples;
      },
      "samples");
  return 0;
}
