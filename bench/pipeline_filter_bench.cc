// The filter stage's cost per record (src/pipeline/filter_stage.h;
// docs/filter.md): a FilterStage over chunks of 30 records, as a worker runs
// it, for
//   - a typical 3-term filter: "src net 10.0.0.0/8 and dst port in [80 443]
//     and proto tcp" (an address prefix, a list, a number);
//   - the same with an enriched name: "dst_net_role = customer and
//     proto tcp and not src as 65000" (an interned id);
//   - "port 443": one shorthand, two tests.
// The records: 3 in 4 IPv4, addresses half in 10/8, ports and protocols of a
// mixed link, net tuples set as the enrich stage would. Each row counts the
// copy of the records into the chunk buffer (measured alone first).
// Figures: records per second and ns/record = 1e9 / rate (wall median).
// Usage: pipeline_filter_bench [RUNS]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "enrich/names.h"
#include "pipeline/filter_stage.h"

using namespace ringflow;

namespace {
constexpr size_t kChunk = 30, kRecords = 30 * 4096;
}  // namespace

int main(int argc, char** argv) {
  const int runs = bench::runs_from_args(argc, argv, 5);
  std::mt19937_64 rng(24);
  auto id = [](const char* s) { return *enrich::names().intern(s); };
  const uint16_t tuples[] = {0, *enrich::intern_net_tuple({id("a"), id("customer"), 0, 0, 0}),
                             *enrich::intern_net_tuple({id("b"), id("transit"), 0, 0, 0})};
  std::vector<FlowRecord> proto(kRecords), work(kRecords);
  const uint16_t ports[] = {443, 80, 53, 22, 8080, 123, 40000, 51515};
  const uint8_t protos[] = {6, 6, 6, 6, 17, 17, 1};
  for (auto& r : proto) {
    const bool v6 = rng() % 4 == 0;
    if (v6) {
      uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
      for (int k = 4; k < 16; ++k) b[k] = static_cast<uint8_t>(rng());
      r.src = IpAddr::from_v6(b);
      b[15] ^= 1;
      r.dst = IpAddr::from_v6(b);
    } else {
      r.src = IpAddr::from_v4(rng() % 2 ? (10u << 24 | static_cast<uint32_t>(rng() & 0xFFFFFF))
                                        : static_cast<uint32_t>(rng()));
      r.dst = IpAddr::from_v4(static_cast<uint32_t>(rng()));
    }
    r.ip_version = v6 ? 6 : 4;
    r.src_port = ports[rng() % std::size(ports)];
    r.dst_port = ports[rng() % std::size(ports)];
    r.protocol = protos[rng() % std::size(protos)];
    r.src_as = rng() % 3 == 0 ? 65000 : 64512;
    r.enrich[kEnrichDstNet] = tuples[rng() % 3];
  }
  const FlowContext ctx;
  {
    auto body = [&] {
      work = proto;
      bench::do_not_optimize(work[kRecords / 2].src_port);
      return uint64_t{kRecords};
    };
    const auto sm = bench::rate("copy only (baseline in every row)", runs, body, "records");
    std::printf("  -> %.1f ns/record (wall median)\n", 1e9 / sm.median);
  }
  const char* const filters[] = {
      "src net 10.0.0.0/8 and dst port in [80 443] and proto tcp",
      "dst_net_role = customer and proto tcp and not src as 65000",
      "port 443",
  };
  for (const char* text : filters) {
    FilterProgram p;
    std::string err;
    if (!FilterProgram::compile(text, &p, &err)) {
      std::printf("%s: %s\n", text, err.c_str());
      return 1;
    }
    FilterCounters counters;
    FilterStage stage(p, false, counters);
    uint64_t kept = 0;
    auto body = [&] {
      work = proto;
      for (size_t i = 0; i < kRecords; i += kChunk) kept += stage.run(&work[i], kChunk, ctx);
      bench::do_not_optimize(kept);
      return uint64_t{kRecords};
    };
    body();
    const auto sm = bench::rate(text, runs, body, "records");
    std::printf("  -> %.1f ns/record (wall median), %zu tests, keeps %.1f %%\n", 1e9 / sm.median,
                p.instructions(),
                100.0 * static_cast<double>(counters.kept.load()) /
                    static_cast<double>(counters.kept.load() + counters.dropped.load()));
  }
  return 0;
}
