// How fast can ringflow-gen send? Its full path (traffic model, records
// filled in place, truth accounting, sendmmsg) against the floor: a minimal
// loop that re-sends 64 pre-built 30-record datagrams with sendmmsg, measured
// in the same run, alternating, to the same loopback sink socket that nobody
// reads (the kernel's delivery work is paid, then the datagram is dropped at
// the full receive buffer, as with an overloaded collector).
//
// Prints datagrams/s for each (median over runs) and the ratio; the issue's
// target is generator >= 90 % of the minimal loop, for v5 and for v9 and
// IPFIX (--protocol; their datagrams are up to 1472 bytes, as large as the
// minimal loop's 1464). Also the cost of Generator::fill alone (no system
// call), per datagram, for each protocol.
//
// Usage: gen_send_bench [runs] [fill] (default 5; each run is ~1 s per
// variant). "fill": only Generator::fill, 200 x 64 datagrams per protocol and
// run, no socket ("fill:v9" etc.: one protocol): for callgrind (valgrind --tool=callgrind
// --toggle-collect='ringflow::gen::Generator::fill*' gen_send_bench 1 fill),
// whose instruction counts are repeatable on a noisy host.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.h"
#include "gen/v5_encoder.h"
#include "gen/generator.h"
#include "gen/runner.h"
#include "gen/sender.h"
#include "gen/traffic.h"

using namespace ringflow;
using namespace ringflow::gen;

namespace {

constexpr double kSeconds = 1.0;

int64_t cpu_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// CPU time (user + system, all threads of the process) per datagram of the
// last run of each variant: on a shared host wall-clock rates move with the
// neighbours' load, CPU time per datagram much less.
double g_cpu_per_dgram = 0;

uint64_t minimal_loop(const Endpoint& target) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_storage ss;
  socklen_t sl = target.to_sockaddr(&ss);
  constexpr size_t kBatch = 64;
  std::vector<uint8_t> bufs(kBatch * v5::kMaxPduSize);
  std::vector<v5::Record> recs(30);
  for (size_t i = 0; i < 30; ++i) recs[i].src_addr = 0x0A000000u + static_cast<uint32_t>(i);
  mmsghdr m[kBatch];
  iovec iov[kBatch];
  for (size_t i = 0; i < kBatch; ++i) {
    v5::Header h;
    h.version = 5;
    h.flow_sequence = static_cast<uint32_t>(i * 30);
    v5::encode_v5(h, recs.data(), 30, &bufs[i * v5::kMaxPduSize], v5::kMaxPduSize);
    iov[i] = {&bufs[i * v5::kMaxPduSize], v5::kMaxPduSize};
    m[i] = {};
    m[i].msg_hdr.msg_name = &ss;
    m[i].msg_hdr.msg_namelen = sl;
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t n = 0;
  const int64_t cpu0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
  const int64_t end = monotonic_ns() + static_cast<int64_t>(kSeconds * 1e9);
  while (monotonic_ns() < end) {
    int k = sendmmsg(fd.get(), m, kBatch, 0);
    if (k > 0) n += static_cast<uint64_t>(k);
  }
  g_cpu_per_dgram = n ? static_cast<double>(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / n : 0;
  return n;
}

uint64_t generator_run(const Endpoint& target, const TrafficModel& model, uint32_t exporters,
                       uint32_t threads, double* elapsed, Protocol proto = Protocol::kV5) {
  GenConfig c = default_config();
  c.protocol = proto;
  c.target = target;
  c.records = 30;
  c.exporters = exporters;
  c.threads = threads;
  c.duration_s = kSeconds;
  c.quiet = true;
  c.progress = false;
  std::atomic<bool> stop{false};
  const int64_t cpu0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
  RunResult r = run_generator(c, model, &stop);
  g_cpu_per_dgram = r.wire_datagrams
                        ? static_cast<double>(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) /
                              r.wire_datagrams
                        : 0;
  *elapsed = r.elapsed_s;
  return r.wire_datagrams;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = bench::runs_from_args(argc, argv, 5);
  // The sink: bound, never read.
  UniqueFd sink(::socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7F000001);
  bind(sink.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t al = sizeof a;
  getsockname(sink.get(), reinterpret_cast<sockaddr*>(&a), &al);
  Endpoint target = *Endpoint::parse("127.0.0.1:" + std::to_string(ntohs(a.sin_port)));

  GenConfig dc = default_config();
  TrafficModel model(dc.keys, dc.zipf, dc.seed);

  const std::string mode = argc > 2 ? argv[2] : "";
  const bool fill_only = mode.rfind("fill", 0) == 0;  // "fill" or "fill:v9" ...
  const int fill_iters = fill_only ? 200 : 20000;
  // Generator::fill alone: the user-space cost per datagram.
  for (Protocol proto : {Protocol::kV5, Protocol::kV9, Protocol::kIpfix}) {
    if (mode.size() > 5 && mode.substr(5) != protocol_name(proto)) continue;
    GenConfig c = default_config();
    c.protocol = proto;
    Generator g(c, model, {0}, wall_ns(), false);
    SendBatch b(64 * kMaxEntriesPerSlot);
    const std::string name =
        "Generator::fill " + std::string(protocol_name(proto)) + " (up to 30 records, no send)";
    bench::rate(
        name.c_str(), runs,
        [&] {
          uint64_t n = 0;
          int64_t now = wall_ns();
          for (int i = 0; i < fill_iters; ++i) {
            n += g.fill(b, 64, now);
            bench::do_not_optimize(b[0].data[30]);
          }
          return n;
        },
        "datagrams");
  }

  if (fill_only) return 0;
  std::vector<double> minimal, gen1, gen16, gen2t, v9, ipfix;
  std::vector<double> cpu_min, cpu_v5, cpu_v9, cpu_ipfix;
  for (int r = 0; r < runs; ++r) {
    minimal.push_back(static_cast<double>(minimal_loop(target)) / kSeconds);
    cpu_min.push_back(g_cpu_per_dgram);
    double el = 0;
    uint64_t n = generator_run(target, model, 1, 1, &el);
    gen1.push_back(el > 0 ? static_cast<double>(n) / el : 0);
    cpu_v5.push_back(g_cpu_per_dgram);
    n = generator_run(target, model, 1, 1, &el, Protocol::kV9);
    v9.push_back(el > 0 ? static_cast<double>(n) / el : 0);
    cpu_v9.push_back(g_cpu_per_dgram);
    n = generator_run(target, model, 1, 1, &el, Protocol::kIpfix);
    ipfix.push_back(el > 0 ? static_cast<double>(n) / el : 0);
    cpu_ipfix.push_back(g_cpu_per_dgram);
    n = generator_run(target, model, 16, 1, &el);
    gen16.push_back(el > 0 ? static_cast<double>(n) / el : 0);
    n = generator_run(target, model, 16, 2, &el);
    gen2t.push_back(el > 0 ? static_cast<double>(n) / el : 0);
  }
  auto m = bench::summarize(minimal), g1 = bench::summarize(gen1), g16 = bench::summarize(gen16),
       g2 = bench::summarize(gen2t);
  std::printf("%-44s median %12.0f datagrams/s  (min %.0f, max %.0f, %d runs)\n",
              "minimal sendmmsg loop (pre-built, 1464 B)", m.median, m.min, m.max, runs);
  std::printf("%-44s median %12.0f datagrams/s  (min %.0f, max %.0f, %d runs)\n",
              "ringflow-gen path, 1 exporter", g1.median, g1.min, g1.max, runs);
  std::printf("%-44s median %12.0f datagrams/s  (min %.0f, max %.0f, %d runs)\n",
              "ringflow-gen path, 16 exporters (PKTINFO)", g16.median, g16.min, g16.max, runs);
  std::printf("%-44s median %12.0f datagrams/s  (min %.0f, max %.0f, %d runs)\n",
              "ringflow-gen path, 16 exporters, 2 threads", g2.median, g2.min, g2.max, runs);
  auto a9 = bench::summarize(v9), ai = bench::summarize(ipfix);

  std::printf("%-44s median %12.0f datagrams/s  (min %.0f, max %.0f, %d runs)\n",
              "ringflow-gen path, v9, 1 exporter", a9.median, a9.min, a9.max, runs);
  std::printf("%-44s median %12.0f datagrams/s  (min %.0f, max %.0f, %d runs)\n",
              "ringflow-gen path, IPFIX, 1 exporter", ai.median, ai.min, ai.max, runs);
  std::printf("ratio v9/minimal %.1f %%, IPFIX/minimal %.1f %% (target >= 90 %%)\n",
              m.median > 0 ? 100 * a9.median / m.median : 0,
              m.median > 0 ? 100 * ai.median / m.median : 0);
  // Per run, each variant against the minimal loop of the same run: the
  // issue asks for >= 90 % in every run, and neighbours on a shared host move
  // the absolute figures between runs.
  for (int r = 0; r < runs; ++r)
    std::printf("run %d: v5 %.1f %%, v9 %.1f %%, IPFIX %.1f %%\n", r + 1, 100 * gen1[r] / minimal[r],
                100 * v9[r] / minimal[r], 100 * ipfix[r] / minimal[r]);
  auto cm = bench::summarize(cpu_min), c5 = bench::summarize(cpu_v5),
       c9 = bench::summarize(cpu_v9), ci = bench::summarize(cpu_ipfix);
  std::printf(
      "CPU per datagram (median, process user+sys): minimal %.0f ns; v5 %.0f ns, v9 %.0f ns, "
      "IPFIX %.0f ns\n"
      "  minimal / generator (the ratio when the CPU is the limit): v5 %.1f %%, v9 %.1f %%, "
      "IPFIX %.1f %%\n",
      cm.median, c5.median, c9.median, ci.median, 100 * cm.median / c5.median,
      100 * cm.median / c9.median, 100 * cm.median / ci.median);
  std::printf("2 threads vs the 1-thread minimal loop: %.1f %%\n",
              m.median > 0 ? 100 * g2.median / m.median : 0);
  std::printf(
      "ratio generator/minimal: 1 exporter %.1f %%, 16 exporters %.1f %% (target >= 90 %%)\n",
      m.median > 0 ? 100 * g1.median / m.median : 0,
      m.median > 0 ? 100 * g16.median / m.median : 0);
  return 0;
}
