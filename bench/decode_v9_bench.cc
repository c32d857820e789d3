// v9/IPFIX decoder microbenchmark: records decoded per second on one core
// (median of several runs), for three templates a router would send (a
// Cisco-like 20-field IPv4 template, an IPv6 template, and an IPv4 template
// with a variable-length application name and an enterprise element), plus
// the ordered stage's cost per datagram on the reactor (admit + release) and
// the v5 decoder through the same record reader, for comparison with
// decode_v5_bench.
// Usage: decode_v9_bench [RUNS [ONLY]]   (CI smoke: 1; ONLY = ipv4, ipv6,
// varlen or ordered runs just that part, e.g. under callgrind)
//
// Input: 256 distinct IPFIX datagrams per template, each as full as a
// 1500-byte MTU allows, built with ringflow-gen's encoder; about 350 KB in
// all, so mostly in L2, as a worker's recent receive buffers would be.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.h"
#include "decode/record_reader.h"
#include "decode/sessions.h"
#include "gen/template_encoder.h"
#include "wire/ie.h"

using namespace ringflow;

namespace {

constexpr size_t kDatagrams = 256;
constexpr int64_t kNow = 1700000100000;
constexpr size_t kMtuPayload = 1472;

gen::TemplateSpec ipv4_template() {
  gen::TemplateSpec t;
  t.id = 256;
  t.fields = {{ie::kSourceIPv4Address, 4},      {ie::kDestinationIPv4Address, 4},
              {ie::kIpNextHopIPv4Address, 4},   {ie::kSourceTransportPort, 2},
              {ie::kDestinationTransportPort, 2}, {ie::kProtocolIdentifier, 1},
              {ie::kIpClassOfService, 1},       {ie::kTcpControlBits, 1},
              {ie::kIngressInterface, 4},       {ie::kEgressInterface, 4},
              {ie::kPacketDeltaCount, 8},       {ie::kOctetDeltaCount, 8},
              {ie::kFlowStartMilliseconds, 8},  {ie::kFlowEndMilliseconds, 8},
              {ie::kBgpSourceAsNumber, 4},      {ie::kBgpDestinationAsNumber, 4},
              {ie::kSourceIPv4PrefixLength, 1}, {ie::kDestinationIPv4PrefixLength, 1},
              {ie::kFlowDirection, 1},          {ie::kVlanId, 2}};
  return t;
}

gen::TemplateSpec ipv6_template() {
  gen::TemplateSpec t;
  t.id = 257;
  t.fields = {{ie::kSourceIPv6Address, 16},     {ie::kDestinationIPv6Address, 16},
              {ie::kIpNextHopIPv6Address, 16},  {ie::kSourceTransportPort, 2},
              {ie::kDestinationTransportPort, 2}, {ie::kProtocolIdentifier, 1},
              {ie::kIpClassOfService, 1},       {ie::kTcpControlBits, 1},
              {ie::kIngressInterface, 4},       {ie::kEgressInterface, 4},
              {ie::kPacketDeltaCount, 8},       {ie::kOctetDeltaCount, 8},
              {ie::kFlowStartMilliseconds, 8},  {ie::kFlowEndMilliseconds, 8},
              {ie::kBgpSourceAsNumber, 4},      {ie::kBgpDestinationAsNumber, 4},
              {ie::kSourceIPv6PrefixLength, 1}, {ie::kDestinationIPv6PrefixLength, 1},
              {ie::kFlowDirection, 1},          {ie::kVlanId, 2}};
  return t;
}

gen::TemplateSpec varlen_template() {
  gen::TemplateSpec t = ipv4_template();
  t.id = 258;
  t.fields.push_back({ie::kApplicationName, 65535});
  t.fields.push_back({12, 4, 6871});  // an enterprise element, skipped by length
  return t;
}

struct Input {
  std::vector<std::vector<uint8_t>> datagrams;
  size_t records = 0;
};

Input make(const gen::TemplateSpec& t, bool v6) {
  Input in;
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto rnd = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<uint32_t>(x);
  };
  static const char* kApps[] = {"https", "dns", "ssh", "quic-google", "netflix-streaming"};
  std::vector<uint8_t> buf(kMtuPayload);
  for (size_t d = 0; d < kDatagrams; ++d) {
    gen::MessageBuilder b(WireVersion::kIpfix, buf.data(), buf.size());
    if (d == 0) {
      b.begin_set(2);
      b.template_record(t);
      b.end_set();
    }
    b.begin_set(t.id);
    for (;;) {
      FlowRecord f;
      if (v6) {
        uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
        for (int i = 4; i < 16; ++i) a[i] = static_cast<uint8_t>(rnd());
        f.src = IpAddr::from_v6(a);
        a[15] ^= 0x55;
        f.dst = IpAddr::from_v6(a);
        f.nexthop = IpAddr::from_v6(a);
      } else {
        f.src = IpAddr::from_v4(0x0A000000 | (rnd() & 0xFFFFFF));
        f.dst = IpAddr::from_v4(0xC6336400 | (rnd() & 0xFF));
        f.nexthop = IpAddr::from_v4(0x0AFFFF01);
      }
      f.src_port = static_cast<uint16_t>(rnd());
      f.dst_port = 443;
      f.protocol = 6;
      f.input = rnd() & 0xFF;
      f.output = rnd() & 0xFF;
      f.packets = 1 + rnd() % 1000;
      f.bytes = f.packets * (40 + rnd() % 1460);
      f.start_ms = kNow - 60000 + rnd() % 1000;
      f.end_ms = kNow - 1000;
      f.direction = 0;
      gen::RecordValues v;
      v.flow = &f;
      v.variable = kApps[rnd() % 5];
      const size_t n = gen::record_size(t, v);
      uint8_t* p = b.reserve_record(n);
      if (p == nullptr) break;
      gen::encode_record(t, v, p, n);
      ++in.records;
    }
    gen::MessageHeader h;
    h.sequence = static_cast<uint32_t>(in.records);
    h.export_secs = static_cast<uint32_t>(kNow / 1000);
    const size_t len = b.finish(h);
    in.datagrams.emplace_back(buf.begin(), buf.begin() + static_cast<long>(len));
  }
  return in;
}

// Decodes every record of every datagram through the record reader,
// `rounds` times; the ordered stage admitted each datagram once beforehand.
void bench_template(const char* name, const gen::TemplateSpec& t, bool v6, int runs) {
  Input in = make(t, v6);
  DecodeConfig cfg;
  SessionCounters counters;
  Sessions s(cfg, static_cast<uint32_t>(kDatagrams), 2048, counters);
  const IpAddr exporter = IpAddr::from_v4(0xC0000201);
  for (size_t d = 0; d < kDatagrams; ++d)
    s.admit(in.datagrams[d].data(), in.datagrams[d].size(), exporter, static_cast<uint16_t>(d), kNow);
  DecodeOptions opts;
  alignas(64) static FlowRecord out[64];
  constexpr int kRounds = 40;
  bench::rate(name, runs, [&] {
    uint64_t n = 0, sink = 0;
    for (int r = 0; r < kRounds; ++r) {
      for (size_t d = 0; d < kDatagrams; ++d) {
        RecordReader reader(s.meta(static_cast<uint16_t>(d)), in.datagrams[d].data(),
                            in.datagrams[d].size(), kNow, opts);
        RecordChunk c;
        size_t k;
        while ((k = reader.next(out, 64, &c)) > 0) {
          n += k;
          sink += out[k - 1].bytes;
        }
      }
    }
    bench::do_not_optimize(sink);
    return n;
  }, "records");
  std::printf("    %zu records in %zu datagrams (%.1f records per datagram)\n", in.records,
              kDatagrams, static_cast<double>(in.records) / kDatagrams);
  for (size_t d = 0; d < kDatagrams; ++d) s.release(static_cast<uint16_t>(d));
}

// The reactor's share: admit (header, set chain, template lookup, record
// count, sequence) and release, per datagram.
void bench_ordered_stage(int runs) {
  Input in = make(ipv4_template(), false);
  DecodeConfig cfg;
  SessionCounters counters;
  Sessions s(cfg, 1, 2048, counters);
  const IpAddr exporter = IpAddr::from_v4(0xC0000201);
  // Datagram 0 carries the template: admitted once first, so that every
  // timed datagram finds its template (without it each data set would be
  // held, then refused as pool_full, and the figure would be that path's).
  if (s.admit(in.datagrams[0].data(), in.datagrams[0].size(), exporter, 0, kNow) ==
      Admit::kHandOff)
    s.release(0);
  constexpr int kRounds = 200;
  uint64_t handed_off = 0;
  bench::rate("ordered stage: admit + release (IPv4)", runs, [&] {
    uint64_t n = 0;
    for (int r = 0; r < kRounds; ++r)
      for (size_t d = 1; d < kDatagrams; ++d) {
        if (s.admit(in.datagrams[d].data(), in.datagrams[d].size(), exporter, 0, kNow) ==
            Admit::kHandOff) {
          s.release(0);
          ++handed_off;
        }
        ++n;
      }
    return n;
  }, "datagrams");
  // Every timed datagram has data for a worker: else the figure is not the
  // hand-off path's.
  if (handed_off != uint64_t{kRounds} * (kDatagrams - 1) * static_cast<uint64_t>(runs)) {
    std::fprintf(stderr, "ordered stage: %llu of %llu datagrams handed off\n",
                 static_cast<unsigned long long>(handed_off),
                 static_cast<unsigned long long>(uint64_t{kRounds} * (kDatagrams - 1) * runs));
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = bench::runs_from_args(argc, argv, 9);
  const std::string only = argc > 2 ? argv[2] : "";
  auto want = [&](const char* part) { return only.empty() || only == part; };
  for (DecodePath path : {DecodePath::kVbmi, DecodePath::kShuffle, DecodePath::kScalar}) {
    if (!decode_path_available(path)) {
      std::printf("-- %s path: not on this CPU\n", decode_path_name(path));
      continue;
    }
    set_decode_path(path);
    std::printf("-- %s path\n", decode_path_name(path));
    if (want("ipv4")) bench_template("IPFIX IPv4, 20 fields: decode", ipv4_template(), false, runs);
    if (want("ipv6")) bench_template("IPFIX IPv6, 20 fields: decode", ipv6_template(), true, runs);
    if (want("varlen"))
      bench_template("IPFIX IPv4 + varlen + enterprise: decode", varlen_template(), false, runs);
  }
  if (want("ordered")) bench_ordered_stage(runs);
  return 0;
}
