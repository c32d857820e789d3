#include "gen/sflow_encoder.h"

#include <algorithm>
#include <cstring>

#include "wire/bytes.h"
#include "wire/sflow.h"

namespace ringflow::gen {
namespace {

using wire::store_be16;
using wire::store_be32;
using wire::store_be64;

constexpr uint32_t kEthIPv4 = 0x0800, kEthIPv6 = 0x86DD, kEthVlan = 0x8100, kEthMpls = 0x8847;
constexpr uint16_t kVxlanPort = 4789;
constexpr uint32_t kVtepA = 0xC0000201u, kVtepB = 0xC0000202u;  // 192.0.2.1 / .2

uint32_t pad4(uint32_t n) { return (n + 3) & ~3u; }

uint32_t ip_header_size(const SflowSample& s) { return s.v6 ? 40 : 20; }

// Ones' complement sum of 16-bit words (odd tail padded with zero).
uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) acc += uint32_t{p[n - 1]} << 8;
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

// An address as XDR: type (1/2) then 4 or 16 bytes.
size_t put_address(uint8_t* p, const IpAddr& a) {
  if (a.is_v4()) {
    store_be32(p, sflow::kAddressIPv4);
    store_be32(p + 4, a.v4());
    return 8;
  }
  store_be32(p, sflow::kAddressIPv6);
  std::memcpy(p + 4, a.bytes.data(), 16);
  return 20;
}

void put_ipv4_header(uint8_t* h, uint8_t tos, uint32_t total, uint8_t proto, uint32_t src,
                     uint32_t dst) {
  h[0] = 0x45;
  h[1] = tos;
  store_be16(h + 2, static_cast<uint16_t>(total));
  store_be16(h + 4, 0x1234);
  store_be16(h + 6, 0x4000);  // DF, offset 0
  h[8] = 64;
  h[9] = proto;
  store_be16(h + 10, 0);
  store_be32(h + 12, src);
  store_be32(h + 16, dst);
  store_be16(h + 10, fold(sum16(h, 20)));
}

}  // namespace

bool sflow_icmp_error(const SflowSample& s) {
  const uint8_t type = static_cast<uint8_t>(s.dst_port >> 8);
  if (s.protocol == 1) return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  if (s.protocol == 58) return type >= 1 && type <= 4;
  return false;
}

uint32_t sflow_l4_min(const SflowSample& s) {
  if (s.protocol == 6) return 20;
  if (s.protocol == 17) return 8;
  return sflow_icmp_error(s) ? 8 + (s.v6 ? 40u : 20u) + 8 : 8;
}

uint32_t sflow_l2_overhead(const SflowSample& s) {
  return 14 + (s.vlan ? 4 : 0) + (s.mpls_label ? 4 : 0) + (s.vxlan ? kVxlanOverhead : 0);
}

uint32_t sflow_headers_end(const SflowSample& s) {
  const uint32_t need = s.protocol == 6 ? 14 : (s.protocol == 17 ? 4 : 2);
  return sflow_l2_overhead(s) + ip_header_size(s) + need;
}

size_t sflow_write_frame(uint8_t* out, size_t room, const SflowSample& s) {
  // Built whole in a local buffer (headers end well within it; the payload
  // is zeros), then the first `room` bytes copied.
  uint8_t f[kSflowMaxHeader + 160] = {};
  static constexpr uint8_t kDstMac[6] = {0x02, 0, 0, 0, 0, 0x02};
  static constexpr uint8_t kSrcMac[6] = {0x02, 0, 0, 0, 0, 0x01};
  size_t o = 0;
  std::memcpy(f, kDstMac, 6);
  std::memcpy(f + 6, kSrcMac, 6);
  o = 12;
  if (s.vlan) {
    store_be16(f + o, kEthVlan);
    store_be16(f + o + 2, s.vlan & 0x0FFF);
    o += 4;
  }
  const uint16_t inner_type = s.v6 ? kEthIPv6 : kEthIPv4;
  if (s.mpls_label) {
    store_be16(f + o, kEthMpls);
    o += 2;
    store_be32(f + o, s.mpls_label << 12 | 1u << 8 | 64);  // bottom of stack, TTL 64
    o += 4;
  } else if (s.vxlan) {
    store_be16(f + o, kEthIPv4);
    o += 2;
    const uint32_t udp_len = 8 + 8 + 14 + s.ip_length;
    put_ipv4_header(f + o, 0, 20 + udp_len, 17, kVtepA, kVtepB);
    o += 20;
    store_be16(f + o, 49152 + (s.src_port & 0x3FFF));
    store_be16(f + o + 2, kVxlanPort);
    store_be16(f + o + 4, static_cast<uint16_t>(udp_len));
    store_be16(f + o + 6, 0);  // IPv4 UDP: no checksum (RFC 7348 says SHOULD be 0)
    o += 8;
    f[o] = 0x08;  // VNI present
    store_be32(f + o + 4, (uint32_t{s.vlan} + 1000u) << 8);
    o += 8;
    std::memcpy(f + o, kDstMac, 6);
    std::memcpy(f + o + 6, kSrcMac, 6);
    f[o + 5] = 0x12;  // the inner hosts' own MACs
    o += 12;
    store_be16(f + o, inner_type);
    o += 2;
  } else {
    store_be16(f + o, inner_type);
    o += 2;
  }
  const size_t ip = o;
  const uint32_t l4_len = s.ip_length - ip_header_size(s);
  if (s.v6) {
    store_be32(f + o, 6u << 28 | uint32_t{s.tos} << 20);
    store_be16(f + o + 4, static_cast<uint16_t>(l4_len));
    f[o + 6] = s.protocol;
    f[o + 7] = 64;
    std::memcpy(f + o + 8, s.src.bytes.data(), 16);
    std::memcpy(f + o + 24, s.dst.bytes.data(), 16);
    o += 40;
  } else {
    put_ipv4_header(f + o, s.tos, s.ip_length, s.protocol, s.src.v4(), s.dst.v4());
    o += 20;
  }
  const size_t l4 = o;
  size_t csum_at = 0;
  if (s.protocol == 6) {
    store_be16(f + o, s.src_port);
    store_be16(f + o + 2, s.dst_port);
    store_be32(f + o + 4, 0x01000000u + s.key);
    store_be32(f + o + 8, (s.tcp_flags & 0x10) ? 0x02000000u : 0);
    f[o + 12] = 5 << 4;
    f[o + 13] = s.tcp_flags;
    store_be16(f + o + 14, 65535);
    csum_at = o + 16;
    o += 20;
  } else if (s.protocol == 17) {
    store_be16(f + o, s.src_port);
    store_be16(f + o + 2, s.dst_port);
    store_be16(f + o + 4, static_cast<uint16_t>(l4_len));
    csum_at = o + 6;
    o += 8;
  } else {
    const uint8_t type = static_cast<uint8_t>(s.dst_port >> 8);
    f[o] = type;
    f[o + 1] = static_cast<uint8_t>(s.dst_port);
    csum_at = o + 2;
    o += 8;
    if (sflow_icmp_error(s)) {
      // An ICMP error quotes the packet that caused it: its IP header and
      // first 8 bytes (a UDP datagram from dst back to src).
      if (s.v6) {
        store_be32(f + o, 6u << 28);
        store_be16(f + o + 4, 8);
        f[o + 6] = 17;
        f[o + 7] = 1;
        std::memcpy(f + o + 8, s.dst.bytes.data(), 16);
        std::memcpy(f + o + 24, s.src.bytes.data(), 16);
        o += 40;
      } else {
        put_ipv4_header(f + o, 0, 28, 17, s.dst.v4(), s.src.v4());
        f[o + 8] = 1;
        store_be16(f + o + 10, 0);
        store_be16(f + o + 10, fold(sum16(f + o, 20)));
        o += 20;
      }
      store_be16(f + o, 33434);
      store_be16(f + o + 2, 33435);
      store_be16(f + o + 4, 8);
      o += 8;
    }
  }
  // Transport checksum: the payload is zeros, so the sum covers the pseudo
  // header (not for ICMPv4) and the transport header only.
  uint32_t acc = 0;
  if (s.protocol != 1 || s.v6) {
    if (s.v6) {
      acc = sum16(f + ip + 8, 32);
    } else {
      acc = sum16(f + ip + 12, 8);
    }
    acc += l4_len + s.protocol;
  }
  acc = sum16(f + l4, o - l4, acc);
  uint16_t c = fold(acc);
  if (s.protocol == 17 && c == 0) c = 0xFFFF;
  store_be16(f + csum_at, c);
  const size_t frame = s.frame_length - kFcsLength;
  const size_t n = std::min({room, frame, sizeof f});
  std::memcpy(out, f, n);
  return n;
}

size_t sflow_write_header(uint8_t* p, size_t room, const SflowDatagramSpec& d,
                          uint32_t num_samples) {
  const size_t n = sflow_header_size(d.agent_v6);
  if (room < n) return 0;
  store_be32(p, sflow::kVersion5);
  size_t o = 4 + put_address(p + 4, d.agent);
  store_be32(p + o, d.sub_agent);
  store_be32(p + o + 4, d.sequence);
  store_be32(p + o + 8, d.uptime_ms);
  store_be32(p + o + 12, num_samples);
  return n;
}

void sflow_set_num_samples(uint8_t* datagram, bool agent_v6, uint32_t num_samples) {
  store_be32(datagram + sflow_header_size(agent_v6) - 4, num_samples);
}

size_t sflow_write_flow_sample(uint8_t* p, size_t room, const SflowSample& s, bool expanded) {
  // Sizes first: nothing is written unless the whole sample fits.
  const bool v6 = s.v6;
  const uint32_t nh = s.nexthop.is_v4() ? 8 : 20;
  const uint32_t path = s.dst_as ? 8 + 8 : 0;  // one AS_SEQUENCE segment [peer, dst]
  uint32_t body = expanded ? sflow::kFlowSampleExpandedFixed : sflow::kFlowSampleFixed;
  uint32_t nrec = 0;
  if (s.records & kSflowRecHeader) body += 8 + sflow::kRawHeaderFixed + pad4(s.header_length), ++nrec;
  if (s.records & kSflowRecIp)
    body += 8 + (v6 ? sflow::kSampledIPv6Size : sflow::kSampledIPv4Size), ++nrec;
  if (s.records & kSflowRecSwitch) body += 8 + sflow::kExtendedSwitchSize, ++nrec;
  if (s.records & kSflowRecRouter) body += 8 + nh + 8, ++nrec;
  if (s.records & kSflowRecGateway) body += 8 + nh + 12 + 4 + path + 4 + 4, ++nrec;
  if (room < 8 + size_t{body}) return 0;

  store_be32(p, expanded ? sflow::kFlowSampleExpanded : sflow::kFlowSample);
  store_be32(p + 4, body);
  uint8_t* q = p + 8;
  store_be32(q, s.sequence);
  if (expanded) {
    store_be32(q + 4, 0);  // source type 0: ifIndex
    store_be32(q + 8, s.source + 1);
    q += 12;
  } else {
    store_be32(q + 4, s.source + 1);  // type 0 << 24 | index
    q += 8;
  }
  store_be32(q, s.rate);
  store_be32(q + 4, s.pool);
  store_be32(q + 8, s.drops);
  q += 12;
  if (expanded) {
    store_be32(q, 0);  // format 0: one ifIndex
    store_be32(q + 4, s.input);
    store_be32(q + 8, 0);
    store_be32(q + 12, s.output);
    q += 16;
  } else {
    store_be32(q, s.input);
    store_be32(q + 4, s.output);
    q += 8;
  }
  store_be32(q, nrec);
  q += 4;

  if (s.records & kSflowRecHeader) {
    const uint32_t len = sflow::kRawHeaderFixed + pad4(s.header_length);
    store_be32(q, sflow::kRawHeader);
    store_be32(q + 4, len);
    store_be32(q + 8, sflow::kHeaderEthernet);
    store_be32(q + 12, s.frame_length);
    store_be32(q + 16, kFcsLength);  // stripped: the FCS is not in the header
    store_be32(q + 20, s.header_length);
    std::memset(q + 24, 0, pad4(s.header_length));
    sflow_write_frame(q + 24, s.header_length, s);
    q += 8 + len;
  }
  if (s.records & kSflowRecIp) {
    store_be32(q, v6 ? sflow::kSampledIPv6 : sflow::kSampledIPv4);
    store_be32(q + 4, v6 ? sflow::kSampledIPv6Size : sflow::kSampledIPv4Size);
    q += 8;
    store_be32(q, s.ip_length);
    store_be32(q + 4, s.protocol);
    if (v6) {
      std::memcpy(q + 8, s.src.bytes.data(), 16);
      std::memcpy(q + 24, s.dst.bytes.data(), 16);
      q += 40;
    } else {
      store_be32(q + 8, s.src.v4());
      store_be32(q + 12, s.dst.v4());
      q += 16;
    }
    store_be32(q, s.src_port);
    store_be32(q + 4, s.dst_port);
    store_be32(q + 8, s.tcp_flags);
    store_be32(q + 12, s.tos);  // IPv4 tos / IPv6 priority
    q += 16;
  }
  if (s.records & kSflowRecSwitch) {
    store_be32(q, sflow::kExtendedSwitch);
    store_be32(q + 4, sflow::kExtendedSwitchSize);
    const uint32_t vlan = s.vlan ? s.vlan : 1;  // untagged: the port's native VLAN 1
    store_be32(q + 8, vlan);
    store_be32(q + 12, 0);
    store_be32(q + 16, vlan);
    store_be32(q + 20, 0);
    q += 8 + sflow::kExtendedSwitchSize;
  }
  if (s.records & kSflowRecRouter) {
    store_be32(q, sflow::kExtendedRouter);
    store_be32(q + 4, nh + 8);
    q += 8;
    q += put_address(q, s.nexthop);
    store_be32(q, s.src_mask);
    store_be32(q + 4, s.dst_mask);
    q += 8;
  }
  if (s.records & kSflowRecGateway) {
    store_be32(q, sflow::kExtendedGateway);
    store_be32(q + 4, nh + 12 + 4 + path + 4 + 4);
    q += 8;
    q += put_address(q, s.nexthop);
    store_be32(q, s.peer_as);  // this router's AS
    store_be32(q + 4, s.src_as);
    store_be32(q + 8, s.peer_as);
    q += 12;
    store_be32(q, s.dst_as ? 1 : 0);  // path segments
    q += 4;
    if (s.dst_as) {
      store_be32(q, sflow::kAsPathSequence);
      store_be32(q + 4, 2);
      store_be32(q + 8, s.peer_as);
      store_be32(q + 12, s.dst_as);
      q += 16;
    }
    store_be32(q, 0);      // communities
    store_be32(q + 4, 100);  // localpref
    q += 8;
  }
  return static_cast<size_t>(q - p);
}

size_t sflow_write_counter_sample(uint8_t* p, size_t room, const SflowIfCounters& c,
                                  bool expanded) {
  const uint32_t body = (expanded ? sflow::kCountersSampleExpandedFixed : sflow::kCountersSampleFixed) +
                        8 + sflow::kGenericInterfaceSize;
  if (room < 8 + size_t{body}) return 0;
  store_be32(p, expanded ? sflow::kCountersSampleExpanded : sflow::kCountersSample);
  store_be32(p + 4, body);
  uint8_t* q = p + 8;
  store_be32(q, c.sequence);
  if (expanded) {
    store_be32(q + 4, 0);
    store_be32(q + 8, c.if_index);
    q += 12;
  } else {
    store_be32(q + 4, c.if_index);
    q += 8;
  }
  store_be32(q, 1);  // one record
  store_be32(q + 4, sflow::kGenericInterface);
  store_be32(q + 8, sflow::kGenericInterfaceSize);
  q += 12;
  std::memset(q, 0, sflow::kGenericInterfaceSize);
  namespace g = sflow::generic;
  store_be32(q + g::kIfIndex, c.if_index);
  store_be32(q + g::kIfType, 6);                 // ethernetCsmacd
  store_be64(q + g::kIfSpeed, 10000000000ull);  // 10 Gbit/s
  store_be32(q + g::kIfDirection, 1);            // full duplex
  store_be32(q + g::kIfStatus, 3);               // admin and oper up
  store_be64(q + g::kInOctets, c.in_octets);
  store_be32(q + g::kInUcast, c.in_ucast);
  return 8 + size_t{body};
}

SflowReject expected_sflow_reject(MalformedClass c) {
  switch (c) {
    case MalformedClass::kTooShort:
      return SflowReject::kTooShort;
    case MalformedClass::kBadVersion:
    case MalformedClass::kGarbage:
      return SflowReject::kBadVersion;
    case MalformedClass::kAgentType:
      return SflowReject::kBadAgentType;
    case MalformedClass::kSampleLength:
      return SflowReject::kSamplePastDatagram;
    case MalformedClass::kRecordLength:
      return SflowReject::kRecordPastSample;
    case MalformedClass::kSampleCount:
      return SflowReject::kSampleCountMismatch;
    case MalformedClass::kHeaderLength:
      return SflowReject::kHeaderPastRecord;
    default:
      return SflowReject::kNone;
  }
}

}  // namespace ringflow::gen
