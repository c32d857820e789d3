// The Top page's cost at a large key count (issue 24: "a scrape of any page
// or API endpoint takes < 5 ms at 1 M keys"): a flush batch of N distinct
// 5-tuples (default 1 M; IPv4, 20 % IPv6, Zipf-like counters), fed to
// TopKeeper::add() for `intervals` intervals (the flusher's cost per
// interval), then top_json() for the API's heaviest queries (the render of a
// scrape, without the HTTP round trip). Prints the median thread CPU time
// and wall time of each over several runs: CPU time is what a shared,
// loaded machine disturbs least.
//
// Usage: live_top_bench [ROWS [INTERVALS [RUNS]]]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "aggregate/key_codec.h"
#include "bench_util.h"
#include "live/top_json.h"
#include "live/top_k.h"

using namespace ringflow;

namespace {

double thread_cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
double wall_ms() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

struct Rows {
  std::vector<uint64_t> keys;  // kMaxKeyWords per row
  std::vector<AggCounters> c;
  std::vector<FlushRow> rows;
};

Rows make_rows(const KeySchema& schema, uint64_t n, uint32_t seed) {
  Rows r;
  KeyPacker packer(schema);
  std::mt19937_64 rng(seed);
  r.keys.assign(n * kMaxKeyWords, 0);
  r.c.resize(n);
  std::vector<uint8_t> layout(n);
  for (uint64_t i = 0; i < n; ++i) {
    FlowRecord f;
    // 65 k sources, 4 k destinations, ports: distinct 5-tuples per i.
    const uint32_t src = 0x0A000000u + static_cast<uint32_t>(rng() % 65536);
    const uint32_t dst = 0xC6336400u + static_cast<uint32_t>(rng() % 4096);
    if (i % 5 == 0) {
      uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
      b[14] = static_cast<uint8_t>(src >> 8);
      b[15] = static_cast<uint8_t>(src);
      f.src = IpAddr::from_v6(b);
    } else {
      f.src = IpAddr::from_v4(src);
    }
    f.dst = IpAddr::from_v4(dst);
    f.src_port = static_cast<uint16_t>(i);
    f.dst_port = static_cast<uint16_t>(i >> 16);
    f.protocol = (i & 1) ? 6 : 17;
    FlowContext ctx;
    layout[i] = packer.pack(f, ctx, r.keys.data() + i * kMaxKeyWords);
    const uint64_t heavy = 1 + 1000000 / (1 + rng() % 100000);
    r.c[i].flows = 1 + heavy % 7;
    r.c[i].packets = heavy;
    r.c[i].bytes = heavy * (64 + rng() % 1400);
  }
  for (uint64_t i = 0; i < n; ++i)
    r.rows.push_back({reinterpret_cast<const uint8_t*>(r.keys.data() + i * kMaxKeyWords), &r.c[i],
                      false, layout[i]});
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const uint32_t intervals = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 30;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  KeySchema schema;  // the default 5-tuple
  Rows rows = make_rows(schema, n, 7);
  FlushBatch b;
  b.schema = &schema;
  b.interval_ms = 60000;
  b.rows = rows.rows;
  for (const AggCounters& c : rows.c) {
    b.totals.flows += c.flows;
    b.totals.packets += c.packets;
    b.totals.bytes += c.bytes;
  }
  TopKeeper top(schema, 1000, intervals, n + 1);
  std::vector<double> add_cpu, add_wall;
  for (uint32_t i = 0; i < intervals; ++i) {
    b.start_ms = 1'800'000'000'000 + int64_t{i} * 60000;
    b.end_ms = b.start_ms + 60000;
    const double c0 = thread_cpu_ms(), w0 = wall_ms();
    top.add(b);
    add_cpu.push_back(thread_cpu_ms() - c0);
    add_wall.push_back(wall_ms() - w0);
  }
  size_t projections = 0;
  for (const TopProjection& p : top.projections()) projections += p.available;
  std::printf(
      "TopKeeper::add, %llu rows, %zu projections, K 1000: median %.1f ms CPU, %.1f ms wall "
      "(first %.1f ms CPU: tables growing), over %u intervals\n",
      static_cast<unsigned long long>(n), projections, median(add_cpu), median(add_wall),
      add_cpu[0], intervals);
  const std::vector<std::vector<std::pair<std::string, std::string>>> queries = {
      {{"by", "key"}, {"intervals", "1"}, {"limit", "20"}},
      {{"by", "key"}, {"intervals", std::to_string(intervals)}, {"limit", "1000"}},
      {{"by", "src_addr"},
       {"sort", "packets"},
       {"intervals", std::to_string(intervals)},
       {"limit", "1000"}},
      {{"by", "dst_addr"}, {"intervals", std::to_string(intervals)}, {"limit", "100"}},
      {{"by", "proto_port"}, {"sort", "flows"}, {"intervals", "1"}, {"limit", "20"}},
  };
  for (const auto& q : queries) {
    TopQuery tq;
    std::string error;
    if (!parse_top_query(q, top, &tq, &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    std::vector<double> cpu, wall;
    size_t bytes = 0;
    for (int r = 0; r < runs * 4; ++r) {
      const double c0 = thread_cpu_ms(), w0 = wall_ms();
      const std::string j = top_json(top, tq);
      cpu.push_back(thread_cpu_ms() - c0);
      wall.push_back(wall_ms() - w0);
      bytes = j.size();
      bench::do_not_optimize(j);
    }
    std::string qs;
    for (const auto& [k, v] : q) qs += (qs.empty() ? "" : "&") + k + "=" + v;
    std::printf("top_json ?%s: median %.2f ms CPU, %.2f ms wall, %zu bytes\n", qs.c_str(),
                median(cpu), median(wall), bytes);
  }
  return 0;
}
