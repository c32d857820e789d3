#include "gen/traffic.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "gen/v5_encoder.h"

namespace ringflow::gen {
namespace {

// One value drawn with the given weights (T: uint8_t or uint16_t).
template <class T>
T pick(Rng& rng, std::initializer_list<std::pair<T, uint32_t>> weighted) {
  uint32_t total = 0;
  for (auto& [v, w] : weighted) total += w;
  uint32_t r = rng.below(total);
  for (auto& [v, w] : weighted) {
    if (r < w) return v;
    r -= w;
  }
  return weighted.begin()->first;
}

struct KeyHash {
  size_t operator()(const FlowKey& k) const {
    uint64_t a = uint64_t{k.src} << 32 | k.dst;
    uint64_t b = uint64_t{k.sport} << 24 | uint64_t{k.dport} << 8 | k.proto;
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return static_cast<size_t>(h ^ (h >> 31));
  }
};

// Server addresses live in the documentation ranges and 172.16/12, clients in
// 10/8: realistic shapes that are never routable.
uint32_t server_addr(uint32_t n) {
  static constexpr uint32_t kNets[] = {0xC0000200u /*192.0.2/24*/, 0xC6336400u /*198.51.100/24*/,
                                       0xCB007100u /*203.0.113/24*/};
  if (n < 3 * 254) return kNets[n % 3] + 1 + (n / 3);
  return 0xAC100000u + (n % (1u << 20));  // 172.16.0.0/12
}

}  // namespace

IpAddr TrafficModel::v6_of(uint32_t v4) {
  uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, static_cast<uint8_t>(v4 >> 24), 0, 0, 0, 0, 0, 0, 0,
                   static_cast<uint8_t>(v4 >> 24), static_cast<uint8_t>(v4 >> 16),
                   static_cast<uint8_t>(v4 >> 8), static_cast<uint8_t>(v4)};
  return IpAddr::from_v6(b);
}

TrafficModel::TrafficModel(uint32_t keys, double zipf, uint64_t seed, double ipv6_share) {
  Rng rng(derive_seed(seed, 0xC0FFEE));
  keys = std::max<uint32_t>(keys, 1);
  keys_.reserve(keys);
  proto_class_.reserve(keys);
  templates_.assign(size_t{keys} * 48, 0);

  // Pools: many clients, fewer servers, so hosts recur across keys as in
  // real traffic (a busy server talks to many clients).
  const uint32_t clients = std::max<uint32_t>(1, keys / 4);
  const uint32_t servers = std::max<uint32_t>(1, keys / 16);
  std::unordered_set<FlowKey, KeyHash> seen;
  seen.reserve(keys * 2);
  while (keys_.size() < keys) {
    FlowKey k;
    ProtoClass pc =
        static_cast<ProtoClass>(pick<uint8_t>(rng, {{kTcp, 85}, {kUdp, 12}, {kIcmp, 3}}));
    k.src = 0x0A000000u + 1 + rng.below(std::min<uint32_t>(clients, 0xFFFFFD));
    k.dst = server_addr(rng.below(servers));
    switch (pc) {
      case kTcp:
        k.proto = 6;
        k.sport = static_cast<uint16_t>(32768 + rng.below(28232));
        k.dport = pick<uint16_t>(rng, {{443, 60},
                               {80, 20},
                               {22, 4},
                               {25, 3},
                               {8080, 5},
                               {993, 3},
                               {static_cast<uint16_t>(1024 + rng.below(64000)), 5}});
        break;
      case kUdp:
        k.proto = 17;
        k.sport = static_cast<uint16_t>(32768 + rng.below(28232));
        k.dport = pick<uint16_t>(rng, {{53, 50},
                               {123, 10},
                               {443, 25},
                               {5060, 5},
                               {static_cast<uint16_t>(1024 + rng.below(64000)), 10}});
        break;
      default:
        k.proto = 1;
        // Exporters put ICMP type << 8 | code in dstport (Cisco convention).
        k.sport = 0;
        k.dport = pick<uint16_t>(rng, {{0x0800, 45}, {0x0000, 45}, {0x0303, 5}, {0x0B00, 5}});
        // ICMP keys collide easily (no ports): vary the client.
        k.src = 0x0A000000u + 1 + rng.below(0xFFFFFD);
        break;
    }
    if (!seen.insert(k).second) {
      // Small pools run out of combinations; widen to the whole 10/8 for
      // the source, which makes a collision vanishingly rare.
      k.src = 0x0A000000u + 1 + rng.below(0xFFFFFD);
      if (!seen.insert(k).second) continue;
    }
    uint8_t* t = &templates_[keys_.size() * 48];
    v5::Record r;
    r.src_addr = k.src;
    r.dst_addr = k.dst;
    r.nexthop = 0x0AFFFF01u + rng.below(4);
    r.input = static_cast<uint16_t>(1 + rng.below(8));
    r.output = static_cast<uint16_t>(9 + rng.below(8));
    r.src_port = k.sport;
    r.dst_port = k.dport;
    r.protocol = k.proto;
    r.tos = (k.proto == 17 && k.dport == 5060) ? 0xB8 : (rng.below(10) == 0 ? 0x10 : 0);
    r.src_as = 0;
    static constexpr uint16_t kAs[] = {15169, 13335, 16509, 32934, 8075, 0};
    r.dst_as = kAs[rng.below(6)];
    r.src_mask = static_cast<uint8_t>(16 + rng.below(9));
    r.dst_mask = 24;
    v5::write_v5_record(r, t, 48);
    keys_.push_back(k);
    proto_class_.push_back(pc);
  }

  // IPv6 keys: drawn from their own stream so that the IPv4 model above is
  // the same with or without them.
  if (ipv6_share > 0) {
    Rng fam(derive_seed(seed, 0x1F6));
    for (FlowKey& k : keys_) {
      k.v6 = fam.chance(ipv6_share);
      v6_keys_ += k.v6;
    }
  }

  // Zipf probabilities and Vose's alias table.
  const size_t n = keys_.size();
  pmf_.resize(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += pmf_[i] = std::pow(static_cast<double>(i + 1), -zipf);
  for (auto& p : pmf_) p /= sum;
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = pmf_[i] * static_cast<double>(n);
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  alias_prob_.assign(n, 0xFFFFFFFFu);
  alias_.resize(n);
  for (size_t i = 0; i < n; ++i) alias_[i] = static_cast<uint32_t>(i);
  while (!small.empty() && !large.empty()) {
    uint32_t s = small.back(), l = large.back();
    small.pop_back();
    large.pop_back();
    alias_prob_[s] = static_cast<uint32_t>(std::min(scaled[s] * 4294967296.0, 4294967295.0));
    alias_[s] = l;
    scaled[l] = (scaled[l] + scaled[s]) - 1.0;
    (scaled[l] < 1.0 ? small : large).push_back(l);
  }
  // Leftovers are 1.0 up to rounding: always themselves (prob = max).

  // Per-protocol tables of complete flow samples (packets, octets, duration,
  // flags), so the hot path does one lookup per record.
  const size_t ts = size_t{1} << kTableBits;
  auto pareto = [&](double alpha, double cap) {
    double u = 1.0 - rng.uniform();  // (0, 1]
    return std::min(cap, std::floor(std::pow(u, -1.0 / alpha)));
  };
  static constexpr uint8_t kTcpFlags[8] = {0x1B, 0x1B, 0x1B, 0x02, 0x12, 0x18, 0x10, 0x19};
  samples_.resize(kProtoClasses * ts);
  for (int c = 0; c < kProtoClasses; ++c) {
    for (size_t i = 0; i < ts; ++i) {
      uint32_t packets = 0;
      uint16_t bpp = 0;
      uint8_t flags = 0;
      switch (c) {
        case kTcp:
          packets = static_cast<uint32_t>(pareto(1.1, 1e6));
          bpp = pick<uint16_t>(
              rng,
              {{40, 25}, {52, 15}, {576, 10}, {static_cast<uint16_t>(1200 + rng.below(301)), 50}});
          flags = kTcpFlags[rng.below(8)];
          break;
        case kUdp: {
          packets = static_cast<uint32_t>(pareto(1.3, 1e6));
          // Two statements: the operands of '-' are unsequenced, and both draw.
          uint16_t base = pick<uint16_t>(rng, {{76, 40}, {90, 10}, {1200, 30}, {1400, 20}});
          bpp = static_cast<uint16_t>(base - rng.below(16));
          break;
        }
        default:
          packets = 1 + rng.below(10);
          bpp = static_cast<uint16_t>(64 + rng.below(65));
          break;
      }
      FlowSample& fs = samples_[(size_t{static_cast<uint32_t>(c)} << kTableBits) + i];
      fs.packets = packets;
      const uint64_t octets = uint64_t{packets} * bpp;
      fs.octets = octets > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(octets);
      // Duration grows with the packet count: ~50 ms per packet, within 120 s
      // (a typical active timeout), spread uniformly below that bound.
      const uint64_t bound = std::min<uint64_t>(120000, uint64_t{packets - 1} * 50);
      fs.duration_ms =
          static_cast<uint32_t>(bound == 0 ? 0 : rng.below(static_cast<uint32_t>(bound + 1)));
      fs.tcp_flags = flags;
    }
  }
}

}  // namespace ringflow::gen
