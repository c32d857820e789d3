// The traffic model behind generated flows: a fixed set of distinct 5-tuples
// ("keys") whose popularity follows a Zipf law, a protocol mix, and packet,
// byte, duration and TCP-flag distributions, all derived from --seed.
//
// Why it is shaped like this: the generator must fill ~1M records/s on one
// core, so everything costly is done once here. Each key's static record
// fields are pre-encoded as a 48-byte wire template (the send loop copies it
// and patches five fields); key popularity is drawn with Vose's alias method
// (O(1): one 64-bit draw, one table lookup); packets and bytes-per-packet come
// from per-protocol tables of flow samples drawn at construction from
// heavy-tailed distributions, so the hot path calls no log/exp/pow.
//
// Distributions (see docs/generator.md): protocol TCP 85 %, UDP 12 %, ICMP 3 %;
// packets per flow Pareto (alpha 1.1, TCP/UDP) capped at 1e6, ICMP 1..10;
// bytes per packet: TCP mix of 40/52 (acks), 576, 1200..1500; UDP 60..1400
// (DNS, NTP, QUIC); ICMP 64..128; duration grows with packets, <= 120 s.
//
// IPv6 (--ipv6-share, for v9/IPFIX): a fraction of the keys is IPv6. Which
// keys comes from a separate random stream, and an IPv6 key's addresses are
// its IPv4 addresses mapped into the documentation prefix 2001:db8::/32
// (v6_of()), so the IPv4 keys, their order and their v5 images are exactly
// those of a model without IPv6 for the same seed, and IPv6 keys stay unique.
//
// Thread safety: immutable after construction; draws take the caller's Rng,
// so any number of threads may share one model.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <ringflow/ip.h>

#include "gen/rng.h"

namespace ringflow::gen {

struct FlowKey {
  uint32_t src = 0, dst = 0;  // host order (an IPv6 key: the IPv4 addresses it maps)
  uint16_t sport = 0, dport = 0;
  uint8_t proto = 0;
  bool v6 = false;  // the key's addresses are v6_of(src), v6_of(dst)

  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

// The varying part of one record.
struct FlowCounters {
  uint32_t packets = 0;
  uint32_t octets = 0;
  uint32_t duration_ms = 0;
  uint32_t age_ms = 0;  // time from the flow's end to its export, 0..1023 ms
  uint8_t tcp_flags = 0;
};

class TrafficModel {
 public:
  // REQUIRES: 1 <= keys <= 2^22, zipf >= 0, 0 <= ipv6_share <= 1.
  TrafficModel(uint32_t keys, double zipf, uint64_t seed, double ipv6_share = 0);

  // 2001:db8:XX00::a.b.c.d for the IPv4 address a.b.c.d with XX = a: one
  // /40 of the documentation prefix per first octet, the address in the
  // low 32 bits (so 10.0.0.1 becomes 2001:db8:a00::a00:1).
  static IpAddr v6_of(uint32_t v4);
  // Key i's addresses as the wire carries them (IPv4 or IPv6).
  IpAddr src_addr(uint32_t i) const {
    return keys_[i].v6 ? v6_of(keys_[i].src) : IpAddr::from_v4(keys_[i].src);
  }
  IpAddr dst_addr(uint32_t i) const {
    return keys_[i].v6 ? v6_of(keys_[i].dst) : IpAddr::from_v4(keys_[i].dst);
  }
  uint32_t v6_keys() const { return v6_keys_; }

  uint32_t size() const { return static_cast<uint32_t>(keys_.size()); }
  const FlowKey& key(uint32_t i) const { return keys_[i]; }
  // The 48-byte wire image of key i's static fields (packets, octets, first,
  // last and tcp_flags are zero, to be patched).
  const uint8_t* record_template(uint32_t i) const { return &templates_[size_t{i} * 48]; }

  // A key index with probability proportional to 1 / (rank + 1)^zipf; key
  // index = popularity rank (key 0 is the heaviest hitter).
  uint32_t draw_key(Rng& rng) const { return key_from_bits(rng.next()); }
  // The same from 64 random bits (the generator derives them per record from
  // a counter, so records do not wait on one Rng's dependency chain).
  uint32_t key_from_bits(uint64_t r) const {
    uint32_t i = static_cast<uint32_t>(((r >> 32) * alias_prob_.size()) >> 32);
    // Branch-free select: the comparison is a coin toss for most keys, and a
    // mispredicted branch per record costs more than loading alias_[i].
    const uint32_t alt = alias_[i];
    const uint32_t take = static_cast<uint32_t>(static_cast<uint32_t>(r) >= alias_prob_[i]);
    return i ^ ((i ^ alt) & (0u - take));
  }

  // Packets, octets, duration, age and flags for one flow of key i.
  FlowCounters draw_counters(uint32_t key, Rng& rng) const {
    return counters_from_bits(key, rng.next());
  }
  // The same from 64 random bits. Inline: returned in registers, not through
  // a stack copy, in the fill loop. One table lookup: bits 0..10 pick a
  // precomputed flow sample of the key's protocol, bits 11..20 the age.
  FlowCounters counters_from_bits(uint32_t key, uint64_t r) const {
    const FlowSample& s =
        samples_[(size_t{proto_class_[key]} << kTableBits) + (r & ((1u << kTableBits) - 1))];
    FlowCounters c;
    c.packets = s.packets;
    c.octets = s.octets;
    c.duration_ms = s.duration_ms;
    c.tcp_flags = s.tcp_flags;
    // Flows reach the export a little after they end (cache scan interval).
    c.age_ms = static_cast<uint32_t>((r >> kTableBits) & 0x3FF);
    return c;
  }

  // The exact probability of key i under the model (for tests).
  double probability(uint32_t i) const { return pmf_[i]; }

 private:
  static constexpr uint32_t kTableBits = 11;  // 2048 flow samples per protocol class

  struct FlowSample {
    uint32_t packets = 0, octets = 0, duration_ms = 0;
    uint8_t tcp_flags = 0;
  };

  enum ProtoClass : uint8_t { kTcp, kUdp, kIcmp, kProtoClasses };

  std::vector<FlowKey> keys_;
  uint32_t v6_keys_ = 0;
  std::vector<uint8_t> proto_class_;  // per key
  std::vector<uint8_t> templates_;    // 48 bytes per key
  std::vector<uint32_t> alias_prob_;  // Vose alias: threshold in 2^32 units
  std::vector<uint32_t> alias_;
  std::vector<double> pmf_;
  std::vector<FlowSample> samples_;  // kProtoClasses x 2^kTableBits, by class
};

}  // namespace ringflow::gen
