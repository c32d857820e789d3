// Networks longest-prefix match and the enrichment building blocks, one
// core (src/enrich/): lookups per second for
//   - IPv4, 1 M prefixes with a BGP-like length mix (mostly /24, /17../23,
//     a few shorter and longer), DIR-24-8 (what Lpm4 picks for it) and the
//     range layout for comparison; addresses uniformly random (the worst
//     case for the caches) and addresses inside the prefixes;
//   - IPv6, 100 k prefixes (mostly /48 and /32../47 in a few hundred /16s of
//     2000::/3, some /64 and /128), addresses inside the prefixes and
//     uniformly random in 2000::/3; and the same prefixes crowded into 16
//     /16s (the slow case);
//   - Networks::lookup on IpAddr (the per-record call, both families) under
//     one epoch guard per 256 lookups (EpochHolder, as a worker would);
//   - Interner::str, for a sink printing names;
// plus build time and the memory of each table. Prints the load average
// before and after: on a shared machine read the per-CPU-second figure.
//
// Usage: enrich_bench [runs]   (default 5)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "enrich/epoch_holder.h"
#include "enrich/interner.h"
#include "enrich/lpm.h"
#include "enrich/networks.h"

using namespace ringflow;
using namespace ringflow::enrich;

namespace {

constexpr size_t kV4Prefixes = 1'000'000;
constexpr size_t kV6Prefixes = 100'000;
constexpr size_t kLookups = 1u << 23;  // per run

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Anonymous memory of this process on transparent huge pages (the DIR-24-8
// first level asks for them: without them each random lookup misses the TLB).
std::string huge_pages() {
  std::ifstream f("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("AnonHugePages:", 0) == 0) return line.substr(14);
  }
  return " unknown";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

unsigned v4_len(std::mt19937_64& rng) {
  const unsigned x = rng() % 100;
  if (x < 58) return 24;
  if (x < 88) return 17 + rng() % 7;  // /17../23
  if (x < 95) return 8 + rng() % 9;   // /8../16
  return 25 + rng() % 8;              // /25../32
}

unsigned v6_len(std::mt19937_64& rng) {
  const unsigned x = rng() % 100;
  if (x < 50) return 48;
  if (x < 80) return 32 + rng() % 16;  // /32../47
  if (x < 95) return 49 + rng() % 16;  // /49../64
  return 128;
}

template <class U>
U mask_of(unsigned len) {
  constexpr unsigned bits = sizeof(U) * 8;
  return len == 0 ? U{0} : static_cast<U>(~U{0} << (bits - len));
}

template <class F>
void rate_lookups(const char* name, int runs, const F& lookup, size_t n) {
  bench::rate(
      name, runs,
      [&] {
        uint64_t sum = 0;
        for (size_t i = 0; i < kLookups; ++i) sum += lookup(i & (n - 1));
        bench::do_not_optimize(sum);
        return static_cast<uint64_t>(kLookups);
      },
      "lookups");
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = bench::runs_from_args(argc, argv, 5);
  std::printf("enrich_bench: load average %s (%d runs per figure)\n", loadavg().c_str(), runs);
  std::mt19937_64 rng(2026);

  // --- IPv4, 1 M prefixes ---
  std::vector<Prefix4> p4;
  p4.reserve(kV4Prefixes);
  for (size_t i = 0; i < kV4Prefixes; ++i) {
    const unsigned len = v4_len(rng);
    p4.push_back({static_cast<uint32_t>(rng()) & mask_of<uint32_t>(len), static_cast<uint8_t>(len),
                  static_cast<uint32_t>(i + 1)});
  }
  constexpr size_t kAddrs = 1u << 22;
  std::vector<uint32_t> a4_random(kAddrs), a4_inside(kAddrs);
  for (size_t i = 0; i < kAddrs; ++i) {
    a4_random[i] = static_cast<uint32_t>(rng());
    const Prefix4& p = p4[rng() % p4.size()];
    a4_inside[i] = p.net | (static_cast<uint32_t>(rng()) & ~mask_of<uint32_t>(p.len));
  }
  for (auto layout : {Lpm4::Layout::kDir24_8, Lpm4::Layout::kRanges}) {
    const bool dir = layout == Lpm4::Layout::kDir24_8;
    Lpm4 t;
    const auto t0 = std::chrono::steady_clock::now();
    size_t dups = 0;
    if (!t.build(p4, layout, &dups)) {
      std::printf("cannot map the DIR-24-8 first level\n");
      return 1;
    }
    std::printf("IPv4 %zu prefixes (%zu duplicates) %s: build %.2f s, %.1f MiB", p4.size(), dups,
                dir ? "DIR-24-8" : "ranges", seconds_since(t0), t.memory_bytes() / 1048576.0);
    if (dir) std::printf(" (%zu second-level groups)", t.tbl8_groups());
    std::printf("; process on huge pages:%s\n", huge_pages().c_str());
    rate_lookups(
        dir ? "IPv4 1M DIR-24-8, random addresses" : "IPv4 1M ranges, random addresses", runs,
        [&](size_t i) { return t.lookup(a4_random[i]); }, kAddrs);
    rate_lookups(
        dir ? "IPv4 1M DIR-24-8, inside prefixes" : "IPv4 1M ranges, inside prefixes", runs,
        [&](size_t i) { return t.lookup(a4_inside[i]); }, kAddrs);
  }

  // --- IPv6, 100 k prefixes in a few hundred /16s of 2000::/3 ---
  std::vector<uint16_t> tops;
  for (int i = 0; i < 300; ++i) tops.push_back(static_cast<uint16_t>(0x2000 + rng() % 0x1000));
  std::vector<Prefix6> p6;
  p6.reserve(kV6Prefixes);
  for (size_t i = 0; i < kV6Prefixes; ++i) {
    const unsigned len = v6_len(rng);
    const uint128 low = uint128{rng()} << 64 | rng();
    const uint128 net = uint128{tops[rng() % tops.size()]} << 112 | (low & ~mask_of<uint128>(16));
    p6.push_back(
        {net & mask_of<uint128>(len), static_cast<uint8_t>(len), static_cast<uint32_t>(i + 1)});
  }
  std::vector<uint128> a6_inside(kAddrs), a6_random(kAddrs);
  for (size_t i = 0; i < kAddrs; ++i) {
    const Prefix6& p = p6[rng() % p6.size()];
    a6_inside[i] = p.net | ((uint128{rng()} << 64 | rng()) & ~mask_of<uint128>(p.len));
    a6_random[i] = (uint128{0x2} << 124) | ((uint128{rng()} << 64 | rng()) & ~mask_of<uint128>(3));
  }
  {
    Lpm6 t;
    const auto t0 = std::chrono::steady_clock::now();
    t.build(p6);
    std::printf("IPv6 %zu prefixes: build %.2f s, %zu ranges, %.1f MiB\n", p6.size(),
                seconds_since(t0), t.ranges(), t.memory_bytes() / 1048576.0);
    rate_lookups(
        "IPv6 100k, inside prefixes", runs, [&](size_t i) { return t.lookup(a6_inside[i]); },
        kAddrs);
    rate_lookups(
        "IPv6 100k, random in 2000::/3", runs, [&](size_t i) { return t.lookup(a6_random[i]); },
        kAddrs);
  }

  // --- IPv6, the same 100 k prefixes crowded into 16 /16s (2000::/12):
  // deeper index nodes and longer searches, the worst case seen so far ---
  {
    std::vector<Prefix6> crowded = p6;
    for (auto& p : crowded) {
      const uint128 top = uint128{0x2000u + (static_cast<unsigned>(p.value) % 16)} << 112;
      p.net = (top | (p.net & ~mask_of<uint128>(16))) & mask_of<uint128>(p.len);
    }
    std::vector<uint128> inside(kAddrs);
    for (size_t i = 0; i < kAddrs; ++i) {
      const Prefix6& p = crowded[rng() % crowded.size()];
      inside[i] = p.net | ((uint128{rng()} << 64 | rng()) & ~mask_of<uint128>(p.len));
    }
    Lpm6 t;
    t.build(crowded);
    std::printf("IPv6 %zu prefixes in 16 /16s: %zu ranges, %.1f MiB\n", crowded.size(), t.ranges(),
                t.memory_bytes() / 1048576.0);
    rate_lookups(
        "IPv6 100k in 16 /16s, inside prefixes", runs,
        [&](size_t i) { return t.lookup(inside[i]); }, kAddrs);
  }

  // --- Networks: IpAddr lookups under an epoch guard, names interned ---
  {
    Interner strings;
    NetworksBuilder b;
    const auto t0 = std::chrono::steady_clock::now();
    const uint32_t roles[3] = {*strings.intern("customer"), *strings.intern("transit"),
                               *strings.intern("peering")};
    for (size_t i = 0; i < p4.size(); ++i) {
      Cidr c;
      c.net = IpAddr::from_v4(p4[i].net);
      c.prefix_len = static_cast<uint8_t>(96 + p4[i].len);
      NetAttrs a;
      a.name = *strings.intern("net-" + std::to_string(i));
      a.role = roles[i % 3];
      b.add(c, a);
    }
    for (size_t i = 0; i < p6.size(); ++i) {
      Cidr c;
      uint8_t bytes[16];
      for (int k = 0; k < 16; ++k) bytes[k] = static_cast<uint8_t>(p6[i].net >> (8 * (15 - k)));
      c.net = IpAddr::from_v6(bytes);
      c.prefix_len = p6[i].len;
      NetAttrs a;
      a.name = *strings.intern("net6-" + std::to_string(i));
      a.role = roles[i % 3];
      b.add(c, a);
    }
    auto n = b.build();
    std::printf(
        "Networks %zu IPv4 + %zu IPv6 prefixes, 1.1 M names: build %.2f s (with "
        "interning), tables + rows %.1f MiB, interner %.1f MiB\n",
        n->v4_prefixes(), n->v6_prefixes(), seconds_since(t0), n->memory_bytes() / 1048576.0,
        strings.memory_bytes() / 1048576.0);
    std::printf("  process on huge pages:%s\n", huge_pages().c_str());
    EpochHolder<Networks> holder(std::move(n));
    auto reader = holder.reader();
    std::vector<IpAddr> mixed(kAddrs);
    for (size_t i = 0; i < kAddrs; ++i) {
      if (i % 4 == 3) {
        uint8_t bytes[16];
        for (int k = 0; k < 16; ++k)
          bytes[k] = static_cast<uint8_t>(a6_inside[i] >> (8 * (15 - k)));
        mixed[i] = IpAddr::from_v6(bytes);
      } else {
        mixed[i] = IpAddr::from_v4(a4_inside[i]);
      }
    }
    bench::rate(
        "Networks::lookup, 3/4 IPv4 1/4 IPv6, guard/256", runs,
        [&] {
          uint64_t sum = 0;
          for (size_t i = 0; i < kLookups; i += 256) {
            auto g = reader.enter();
            for (size_t j = 0; j < 256; ++j) {
              const NetAttrs* a = g->lookup(mixed[(i + j) & (kAddrs - 1)]);
              sum += a ? a->role : 0;
            }
          }
          bench::do_not_optimize(sum);
          return static_cast<uint64_t>(kLookups);
        },
        "lookups");
    bench::rate(
        "Networks::lookup_row, same mix (no row read)", runs,
        [&] {
          uint64_t sum = 0;
          for (size_t i = 0; i < kLookups; i += 256) {
            auto g = reader.enter();
            for (size_t j = 0; j < 256; ++j) sum += g->lookup_row(mixed[(i + j) & (kAddrs - 1)]);
          }
          bench::do_not_optimize(sum);
          return static_cast<uint64_t>(kLookups);
        },
        "lookups");
    bench::rate(
        "EpochHolder enter+exit", runs,
        [&] {
          uint64_t sum = 0;
          for (size_t i = 0; i < kLookups / 16; ++i) {
            auto g = reader.enter();
            sum += reinterpret_cast<uintptr_t>(g.get());
          }
          bench::do_not_optimize(sum);
          return static_cast<uint64_t>(kLookups / 16);
        },
        "guards");
    bench::rate(
        "Interner::str (1.1 M names)", runs,
        [&] {
          uint64_t sum = 0;
          const uint32_t size = strings.size();
          for (size_t i = 0; i < kLookups; ++i)
            sum += strings.str(static_cast<uint32_t>((i * 2654435761u) % size)).size();
          bench::do_not_optimize(sum);
          return static_cast<uint64_t>(kLookups);
        },
        "lookups");
  }
  std::printf("enrich_bench: load average %s at the end\n", loadavg().c_str());
  return 0;
}
