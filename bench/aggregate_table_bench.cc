// Decode + aggregate on one core, no network: NetFlow v5 datagrams (30
// records each) pre-encoded in memory are validated, decoded and added to a
// worker's table with the 5-tuple key, as a worker thread does.
//
// Keys: N distinct 5-tuples (100 k and 1 M), every one present, drawn with a
// skew (index = N * u^2: the busiest 1 % of keys get 10 % of the records),
// plus a uniform draw at 1 M as the worst case for the caches. Each run
// starts a new interval with an empty table (the previous one is sealed and
// cleared outside the timed region), so inserts are included.
// The "first interval" cases time the first pass of a freshly started
// worker instead: its tables start small and grow with the keys
// (src/aggregate/agg_table.h), so growth and first-touch page faults are
// inside the timed region. Compared with the warm case, they give what the
// first interval after a start costs.
// The "aggregate only" cases add FlowRecords already decoded in memory, IPv4
// (the narrow key layout) and IPv6 (the wide one), so the two layouts are
// compared on the same footing.
//
// Usage: aggregate_table_bench [runs [name-filter]]   (default 5 runs, every case)
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "aggregate/hub.h"
#include "aggregate/merger.h"
#include "bench_util.h"
#include "decode/v5_decoder.h"
#include "gen/v5_encoder.h"

using namespace ringflow;

namespace {

// CPU time of this thread: on a shared machine the wall-clock rate also
// measures the other processes; both are printed.
double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

constexpr size_t kRecords = 4'000'000;  // per run
constexpr int64_t kIntervalMs = 60000;

struct Stream {
  std::vector<uint8_t> bytes;    // datagrams back to back
  std::vector<uint32_t> offsets; // start of each datagram
  std::vector<uint32_t> lengths;
};

std::vector<v5::Record> make_keys(size_t n, std::mt19937_64& rng) {
  std::vector<v5::Record> keys(n);
  for (size_t i = 0; i < n; ++i) {
    v5::Record& r = keys[i];
    uint64_t x = rng();
    // Distinct by construction: i is spread over src address and ports.
    r.src_addr = 0x0A000000u | static_cast<uint32_t>(i & 0xFFFFFF);
    r.dst_addr = static_cast<uint32_t>(x);
    r.src_port = static_cast<uint16_t>(x >> 32);
    r.dst_port = static_cast<uint16_t>(x >> 48);
    r.protocol = (x & 3) ? 6 : 17;
    r.packets = 1 + static_cast<uint32_t>(x % 50);
    r.octets = r.packets * 400;
    r.first_raw = 1000;
    r.last_raw = 2000;
  }
  return keys;
}

Stream encode_stream(const std::vector<v5::Record>& keys, bool skew, std::mt19937_64& rng) {
  const size_t n = keys.size();
  std::vector<uint32_t> order;
  order.reserve(kRecords);
  for (size_t i = 0; i < n; ++i) order.push_back(static_cast<uint32_t>(i));  // all present
  std::uniform_real_distribution<double> u(0, 1);
  while (order.size() < kRecords) {
    double v = u(rng);
    order.push_back(static_cast<uint32_t>(std::min<double>(n - 1, n * (skew ? v * v : v))));
  }
  std::shuffle(order.begin(), order.end(), rng);

  Stream s;
  s.bytes.resize((kRecords / 30 + 1) * v5::kMaxPduSize);
  v5::Header h;
  h.version = v5::kVersion;
  h.sys_uptime_ms = 100000;
  h.unix_secs = 1700000000;
  size_t off = 0;
  v5::Record batch[30];
  for (size_t i = 0; i < order.size(); i += 30) {
    size_t m = std::min<size_t>(30, order.size() - i);
    for (size_t j = 0; j < m; ++j) batch[j] = keys[order[i + j]];
    h.flow_sequence += static_cast<uint32_t>(m);
    size_t len = v5::encode_v5(h, batch, m, s.bytes.data() + off, s.bytes.size() - off);
    s.offsets.push_back(static_cast<uint32_t>(off));
    s.lengths.push_back(static_cast<uint32_t>(len));
    off += len;
  }
  return s;
}

// Decodes every datagram and aggregates it; returns records added.
uint64_t decode_and_aggregate(const Stream& s, WorkerAggregator& w, int64_t now, bool batch) {
  alignas(64) static FlowRecord records[v5::kMaxRecords];  // not in the hot frame
  DecodeOptions opt;
  FlowContext ctx;
  ctx.exporter = IpAddr::from_v4(0xC0000201);
  ctx.arrival_ms = now;
  uint64_t n = 0;
  v5::Header h;
  uint16_t future, inverted;
  for (size_t d = 0; d < s.offsets.size(); ++d) {
    const uint8_t* p = s.bytes.data() + s.offsets[d];
    DatagramShape shape = validate_datagram(p, s.lengths[d], opt);
    if (shape.reject != Reject::kNone) continue;
    decode_pdu_flows(p, s.lengths[d], 0, now, opt, &h, records, &future, &inverted);
    if (batch) {
      w.add_batch(records, h.count, ctx);
    } else {
      for (uint16_t i = 0; i < h.count; ++i) w.add(records[i], ctx);
    }
    n += h.count;
  }
  return n;
}

// N distinct records, IPv4 or IPv6, and a draw of kRecords of them.
std::vector<FlowRecord> flow_stream(size_t n, bool v6, std::mt19937_64& rng) {
  std::vector<FlowRecord> keys(n);
  for (size_t i = 0; i < n; ++i) {
    FlowRecord& r = keys[i];
    uint64_t x = rng();
    if (v6) {
      uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0};
      std::memcpy(a + 8, &i, 8);
      r.src = IpAddr::from_v6(a);
      std::memcpy(a + 8, &x, 8);
      r.dst = IpAddr::from_v6(a);
      r.ip_version = 6;
    } else {
      r.src = IpAddr::from_v4(0x0A000000u | static_cast<uint32_t>(i & 0xFFFFFF));
      r.dst = IpAddr::from_v4(static_cast<uint32_t>(x));
      r.ip_version = 4;
    }
    r.src_port = static_cast<uint16_t>(x >> 32);
    r.dst_port = static_cast<uint16_t>(x >> 48);
    r.protocol = (x & 3) ? 6 : 17;
    r.packets = 1 + x % 50;
    r.bytes = r.packets * 400;
  }
  std::vector<FlowRecord> out;
  out.reserve(kRecords);
  for (size_t i = 0; i < n; ++i) out.push_back(keys[i]);
  std::uniform_real_distribution<double> u(0, 1);
  while (out.size() < kRecords) {
    double v = u(rng);
    out.push_back(keys[static_cast<size_t>(std::min<double>(n - 1, n * v * v))]);
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

uint64_t aggregate_flows(const std::vector<FlowRecord>& f, WorkerAggregator& w, int64_t now) {
  FlowContext ctx;
  ctx.exporter = IpAddr::from_v4(0xC0000201);
  ctx.arrival_ms = now;
  for (size_t i = 0; i < f.size(); i += 30)
    w.add_batch(f.data() + i, std::min<size_t>(30, f.size() - i), ctx);
  return f.size();
}

uint64_t decode_only(const Stream& s, int64_t now) {
  alignas(64) static FlowRecord records[v5::kMaxRecords];
  DecodeOptions opt;
  uint64_t n = 0, sum = 0;
  v5::Header h;
  uint16_t future, inverted;
  for (size_t d = 0; d < s.offsets.size(); ++d) {
    const uint8_t* p = s.bytes.data() + s.offsets[d];
    if (validate_datagram(p, s.lengths[d], opt).reject != Reject::kNone) continue;
    decode_pdu_flows(p, s.lengths[d], 0, now, opt, &h, records, &future, &inverted);
    for (uint16_t i = 0; i < h.count; ++i) sum += records[i].bytes;
    n += h.count;
  }
  bench::do_not_optimize(sum);
  return n;
}

const char* g_filter = nullptr;  // argv[2]: run only cases whose name contains it

// Input: v5 datagrams (decode + aggregate) or decoded records (aggregate only).
enum class Input { kV5, kFlowsV4, kFlowsV6 };

void run_case(const char* name, size_t keys_n, bool skew, bool batch, int runs,
              std::mt19937_64& rng, Input input = Input::kV5, bool first_interval = false) {
  if (g_filter && !std::strstr(name, g_filter)) return;
  Stream s;
  std::vector<FlowRecord> flows;
  if (input == Input::kV5) {
    auto keys = make_keys(keys_n, rng);
    s = encode_stream(keys, skew, rng);
  } else {
    flows = flow_stream(keys_n, input == Input::kFlowsV6, rng);
  }

  AggregateConfig cfg;  // defaults: 5-tuple, 60 s, max_entries 1 M
  auto pass_on = [&](WorkerAggregator& w, int64_t now) -> uint64_t {
    return input == Input::kV5 ? decode_and_aggregate(s, w, now, batch)
                               : aggregate_flows(flows, w, now);
  };
  int64_t interval = 28333334;
  if (first_interval) {
    std::vector<double> rates, cpu_rates;
    uint64_t rows = 0;
    for (int r = 0; r < runs; ++r) {
      AggregationHub fresh(cfg, 1);  // new tables, nothing touched yet
      WorkerAggregator& w = fresh.worker(0);
      w.tick(interval * kIntervalMs);
      auto t0 = std::chrono::steady_clock::now();
      double c0 = thread_cpu_s();
      uint64_t n = pass_on(w, interval * kIntervalMs + 1);
      w.tick(interval * kIntervalMs + 2);  // drains the pipeline, updates the gauge
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      cpu_rates.push_back(n / (thread_cpu_s() - c0));
      rates.push_back(n / sec);
      rows = w.counters().entries.load();
    }
    bench::Summary sm = bench::summarize(rates);
    bench::Summary cpu = bench::summarize(cpu_rates);
    std::printf("%-50s median %11.0f records/s wall (min %.0f, max %.0f), %11.0f records/s of "
                "thread CPU; %d runs, %llu keys/interval\n",
                name, sm.median, sm.min, sm.max, cpu.median, runs,
                static_cast<unsigned long long>(rows));
    std::fflush(stdout);
    return;
  }
  AggregationHub hub(cfg, 1);
  Merger merger(hub);
  WorkerAggregator& w = hub.worker(0);
  auto pass = [&](int64_t now) -> uint64_t { return pass_on(w, now); };
  w.tick(interval * kIntervalMs);
  // Starts a new interval with an empty table (untimed): seal the current
  // one, and clear it as the flusher would.
  auto next_interval = [&] {
    w.tick(++interval * kIntervalMs);
    merger.collect_sealed();
    merger.release();
  };
  // Untimed passes touch every page of both tables once: first-touch page
  // faults are a start-up cost, not a per-record one.
  for (int warm = 0; warm < 2; ++warm) {
    pass(interval * kIntervalMs + 1);
    next_interval();
  }
  std::vector<double> rates, cpu_rates;
  uint64_t rows = 0;
  for (int r = 0; r < runs; ++r) {
    next_interval();
    auto t0 = std::chrono::steady_clock::now();
    double c0 = thread_cpu_s();
    uint64_t n = pass(interval * kIntervalMs + 1);
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu_rates.push_back(n / (thread_cpu_s() - c0));
    rates.push_back(n / sec);
    w.tick(interval * kIntervalMs + 2);  // updates the entries gauge
    rows = w.counters().entries.load();
  }
  bench::Summary sm = bench::summarize(rates);
  bench::Summary cpu = bench::summarize(cpu_rates);
  std::printf("%-50s median %11.0f records/s wall (min %.0f, max %.0f), %11.0f records/s of "
              "thread CPU; %d runs, %llu keys/interval\n",
              name, sm.median, sm.min, sm.max, cpu.median, runs,
              static_cast<unsigned long long>(rows));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = bench::runs_from_args(argc, argv, 5);
  if (argc > 2) g_filter = argv[2];
  std::mt19937_64 rng(12345);
  if (!g_filter || std::strstr("decode only", g_filter)) {
    auto keys = make_keys(1000, rng);
    Stream s = encode_stream(keys, true, rng);
    bench::rate("decode only (validate + decode_pdu)", runs, [&] { return decode_only(s, 0); },
                "records");
  }
  // 1 k keys stay in L1/L2: the compute floor, without memory misses.
  run_case("decode+aggregate 1k keys (in cache) add_batch", 1'000, true, true, runs, rng);
  run_case("decode+aggregate 100k keys skewed add_batch", 100'000, true, true, runs, rng);
  run_case("decode+aggregate 100k keys skewed, first interval", 100'000, true, true, runs, rng,
           Input::kV5, true);
  run_case("decode+aggregate 1M keys skewed add_batch", 1'000'000, true, true, runs, rng);
  run_case("decode+aggregate 1M keys skewed, first interval", 1'000'000, true, true, runs, rng,
           Input::kV5, true);
  run_case("decode+aggregate 1M keys skewed add (no prefetch)", 1'000'000, true, false, runs, rng);
  run_case("decode+aggregate 1M keys uniform add_batch", 1'000'000, false, true, runs, rng);
  run_case("aggregate only 1M keys skewed IPv4", 1'000'000, true, true, runs, rng, Input::kFlowsV4);
  run_case("aggregate only 1M keys skewed IPv6", 1'000'000, true, true, runs, rng, Input::kFlowsV6);
  return 0;
}
