// The packet-header parser (src/decode/packet_parser.h) on hand-built frames:
// every layer it knows, each field checked against the value written, and
// every frame cut at every offset into an exact-size heap buffer (so that
// ASan reports any read past the cut), where the parse must report the cut
// and keep exactly the fields of the layers it completed.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "decode/decode_plan.h"
#include "decode/packet_parser.h"
#include "decode/record_reader.h"
#include "decode/sessions.h"
#include "decode/template_record.h"

namespace ringflow {
namespace {

using Bytes = std::vector<uint8_t>;

// Reserved up front: GCC 12 warns (-Warray-bounds, falsely) when a vector
// built from a short list grows.
Bytes bytes(std::initializer_list<uint8_t> init) {
  Bytes b;
  b.reserve(64);
  b.insert(b.end(), init.begin(), init.end());
  return b;
}

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const uint8_t kDstMac[6] = {0x30, 0xe4, 0xdb, 0x3e, 0x33, 0x7f};
const uint8_t kSrcMac[6] = {0x00, 0x17, 0x08, 0x7d, 0x77, 0x42};

Bytes eth(uint16_t type) {
  Bytes b = bytes({});
  b.insert(b.end(), kDstMac, kDstMac + 6);
  b.insert(b.end(), kSrcMac, kSrcMac + 6);
  put16(b, type);
  return b;
}
Bytes tag(uint16_t vlan, uint16_t next, uint8_t pcp = 5) {
  Bytes b;
  put16(b, static_cast<uint16_t>(pcp << 13 | vlan));
  put16(b, next);
  return b;
}
Bytes mpls(uint32_t label, bool bottom, uint8_t ttl = 64) {
  Bytes b;
  put32(b, label << 12 | (bottom ? 0x100u : 0u) | ttl);
  return b;
}
// IPv4 header: `options` 4-byte words of options (IHL = 5 + options).
Bytes ipv4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t total, uint16_t frag = 0,
           int options = 0, uint8_t tos = 0x28) {
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x40 | (5 + options)));
  b.push_back(tos);
  put16(b, total);
  put16(b, 0x1234);  // id
  put16(b, frag);
  b.push_back(61);  // ttl
  b.push_back(proto);
  put16(b, 0);  // checksum
  put32(b, src);
  put32(b, dst);
  for (int i = 0; i < options; ++i) put32(b, 0x01010101);  // NOPs
  return b;
}
const uint8_t kV6Src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t kV6Dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
Bytes ipv6(uint8_t next, uint16_t payload, uint8_t tclass = 0xb8) {
  Bytes b;
  put32(b, 0x60000000u | uint32_t{tclass} << 20 | 0x12345);
  put16(b, payload);
  b.push_back(next);
  b.push_back(64);
  b.insert(b.end(), kV6Src, kV6Src + 16);
  b.insert(b.end(), kV6Dst, kV6Dst + 16);
  return b;
}
// A generic extension header of 8 * (1 + len8) bytes.
Bytes ext(uint8_t next, uint8_t len8) {
  Bytes b = bytes({next, len8});
  b.resize(8 * (1 + size_t{len8}), 0);
  return b;
}
Bytes frag6(uint8_t next, uint16_t offset8, bool more) {
  Bytes b = bytes({next, 0});
  put16(b, static_cast<uint16_t>(offset8 << 3 | (more ? 1 : 0)));
  put32(b, 0xabcdef01);
  return b;
}
Bytes tcp(uint16_t sport, uint16_t dport, uint16_t flags) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);  // seq
  put32(b, 2000);  // ack
  put16(b, static_cast<uint16_t>(5 << 12 | flags));
  put16(b, 0xffff);  // window
  put32(b, 0);       // checksum, urgent
  return b;
}
Bytes udp(uint16_t sport, uint16_t dport, uint16_t len = 8) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, len);
  put16(b, 0);
  return b;
}
Bytes icmp(uint8_t type, uint8_t code) {
  Bytes b = bytes({type, code});
  put16(b, 0);
  put32(b, 0x00010002);
  return b;
}
Bytes vxlan(uint32_t vni) {
  Bytes b = bytes({0x08, 0, 0, 0});
  put32(b, vni << 8);
  return b;
}
Bytes gre(uint16_t proto, bool key, uint32_t key_value = 0) {
  Bytes b;
  put16(b, key ? 0x2000 : 0);
  put16(b, proto);
  if (key) put32(b, key_value);
  return b;
}

ParsedPacket parse(const Bytes& frame, size_t n, PacketStart start, bool decap = false) {
  // An exact-size heap copy of the first n bytes: one byte more read is an
  // ASan heap-buffer-overflow.
  std::unique_ptr<uint8_t[]> buf(new uint8_t[n]);
  if (n) std::memcpy(buf.get(), frame.data(), n);
  PacketOptions opt;
  opt.decapsulate = decap;
  ParsedPacket out;
  parse_packet(buf.get(), n, start, opt, &out);
  return out;
}
ParsedPacket parse(const Bytes& frame, PacketStart start = PacketStart::kEthernet,
                   bool decap = false) {
  return parse(frame, frame.size(), start, decap);
}

constexpr uint32_t kA = 0xC0000201, kB = 0xC6336402;  // 192.0.2.1, 198.51.100.2

// Cuts `frame` at every length 0..size and checks the contract: below
// `needed` bytes the parse reports kCut and keeps only fields equal to the
// full parse's; from `needed` on it is the full parse.
void check_every_cut(const Bytes& frame, PacketStart start, bool decap, size_t needed) {
  const ParsedPacket full = parse(frame, start, decap);
  REQUIRE(full.status != PacketStatus::kCut);
  for (size_t n = 0; n <= frame.size(); ++n) {
    INFO("cut at " << n << " of " << frame.size() << " (complete from " << needed << ")");
    const ParsedPacket p = parse(frame, n, start, decap);
    if (n >= needed) {
      CHECK(p.status == full.status);
      CHECK(p.ip_version == full.ip_version);
      CHECK(p.has_ports == full.has_ports);
      CHECK(p.src_port == full.src_port);
      CHECK(p.dst_port == full.dst_port);
      CHECK(p.tcp_flags == full.tcp_flags);
      CHECK(p.has_icmp == full.has_icmp);
      CHECK(p.inner == full.inner);
      continue;
    }
    REQUIRE(p.status == PacketStatus::kCut);
    CHECK(p.cut_offset <= n);
    CHECK(p.cut_layer != PacketLayer::kNone);
    if (p.has_ethernet) {
      CHECK(std::memcmp(p.src_mac, full.src_mac, 6) == 0);
      CHECK(std::memcmp(p.dst_mac, full.dst_mac, 6) == 0);
    }
    CHECK(p.vlan_count <= full.vlan_count);
    for (size_t i = 0; i < p.vlan_count && i < 2; ++i) CHECK(p.vlans[i] == full.vlans[i]);
    CHECK(p.mpls_count <= full.mpls_count);
    for (size_t i = 0; i < p.mpls_count && i < kMaxMplsLabels; ++i)
      CHECK(p.mpls_labels[i] == full.mpls_labels[i]);
    if (p.ip_version != 0 && p.inner == full.inner) {
      CHECK(p.ip_version == full.ip_version);
      CHECK(p.src == full.src);
      CHECK(p.dst == full.dst);
      CHECK(p.ip_len == full.ip_len);
    }
    if (p.has_ports && p.inner == full.inner) {
      CHECK(p.src_port == full.src_port);
      CHECK(p.dst_port == full.dst_port);
    }
    // The key of a cut packet never claims what it did not read.
    if (p.inner == full.inner) {
      CHECK((!p.has_ports || full.has_ports));
      CHECK((!p.has_icmp || full.has_icmp));
    }
  }
}

TEST_CASE("packet parser: Ethernet II, IPv4, TCP", "[decode][packet]") {
  const Bytes f = cat({eth(0x0800), ipv4(6, kA, kB, 40), tcp(443, 56876, 0x018)});
  const ParsedPacket p = parse(f);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.has_ethernet);
  CHECK(std::memcmp(p.dst_mac, kDstMac, 6) == 0);
  CHECK(std::memcmp(p.src_mac, kSrcMac, 6) == 0);
  CHECK(p.ethertype == 0x0800);
  CHECK(p.vlan_count == 0);
  CHECK(p.ip_version == 4);
  CHECK(p.src == IpAddr::from_v4(kA));
  CHECK(p.dst == IpAddr::from_v4(kB));
  CHECK(p.protocol == 6);
  CHECK(p.tos == 0x28);
  CHECK(p.ttl == 61);
  CHECK(p.ip_len == 40);
  CHECK(p.l3_offset == 14);
  CHECK(!p.fragment);
  CHECK(p.has_ports);
  CHECK(p.src_port == 443);
  CHECK(p.dst_port == 56876);
  CHECK(p.tcp_flags == 0x018);
  CHECK(!p.has_icmp);
  CHECK(p.encap == Encap::kNone);
  check_every_cut(f, PacketStart::kEthernet, false, 14 + 20 + 14);
}

TEST_CASE("packet parser: cut layers and offsets are reported", "[decode][packet]") {
  const Bytes f = cat({eth(0x8100), tag(100, 0x0800), ipv4(17, kA, kB, 28), udp(53, 5353)});
  auto p = parse(f, 10, PacketStart::kEthernet);
  CHECK(p.status == PacketStatus::kCut);
  CHECK(p.cut_layer == PacketLayer::kEthernet);
  CHECK(p.cut_offset == 0);
  CHECK(!p.has_ethernet);
  p = parse(f, 16, PacketStart::kEthernet);
  CHECK(p.cut_layer == PacketLayer::kVlan);
  CHECK(p.cut_offset == 14);
  CHECK(p.has_ethernet);
  p = parse(f, 30, PacketStart::kEthernet);
  CHECK(p.cut_layer == PacketLayer::kIPv4);
  CHECK(p.cut_offset == 18);
  CHECK(p.vlan_count == 1);
  CHECK(p.vlans[0] == 100);
  CHECK(p.ip_version == 0);
  p = parse(f, 40, PacketStart::kEthernet);
  CHECK(p.cut_layer == PacketLayer::kTransport);
  CHECK(p.cut_offset == 38);
  CHECK(p.ip_version == 4);
  CHECK(p.protocol == 17);
  CHECK(!p.has_ports);
  check_every_cut(f, PacketStart::kEthernet, false, 14 + 4 + 20 + 4);
}

TEST_CASE("packet parser: 802.1Q and QinQ tags, outermost first", "[decode][packet]") {
  const Bytes q = cat({eth(0x8100), tag(2422, 0x0800), ipv4(6, kA, kB, 40), tcp(1, 2, 0x002)});
  auto p = parse(q);
  CHECK(p.vlan_count == 1);
  CHECK(p.vlans[0] == 2422);
  CHECK(p.ethertype == 0x0800);
  CHECK(p.src_port == 1);

  const Bytes qinq =
      cat({eth(0x88A8), tag(1062, 0x8100), tag(1493, 0x0800), ipv4(17, kA, kB, 28), udp(4000, 53)});
  p = parse(qinq);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.vlan_count == 2);
  CHECK(p.vlans[0] == 1062);
  CHECK(p.vlans[1] == 1493);
  CHECK(p.dst_port == 53);
  check_every_cut(qinq, PacketStart::kEthernet, false, 14 + 8 + 20 + 4);

  // Three tags: counted, the first two kept.
  const Bytes three = cat({eth(0x9100), tag(10, 0x88A8), tag(20, 0x8100), tag(30, 0x0800),
                           ipv4(17, kA, kB, 28), udp(1, 2)});
  p = parse(three);
  CHECK(p.vlan_count == 3);
  CHECK(p.vlans[0] == 10);
  CHECK(p.vlans[1] == 20);
  CHECK(p.has_ports);
}

TEST_CASE("packet parser: MPLS label stacks", "[decode][packet]") {
  const Bytes f = cat({eth(0x8847), mpls(16001, false), mpls(24, false), mpls(1048575, true),
                       ipv4(6, kA, kB, 40), tcp(179, 33000, 0x012)});
  auto p = parse(f);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.mpls_count == 3);
  CHECK(p.mpls_labels[0] == 16001);
  CHECK(p.mpls_labels[1] == 24);
  CHECK(p.mpls_labels[2] == 1048575);
  CHECK(p.ip_version == 4);
  CHECK(p.src_port == 179);
  CHECK(p.tcp_flags == 0x012);
  check_every_cut(f, PacketStart::kEthernet, false, 14 + 12 + 20 + 14);

  const Bytes v6 = cat({mpls(100, true), ipv6(17, 8), udp(1, 2)});
  p = parse(v6, PacketStart::kMpls);
  CHECK(p.mpls_count == 1);
  CHECK(p.ip_version == 6);
  CHECK(p.dst_port == 2);
  check_every_cut(v6, PacketStart::kMpls, false, 4 + 40 + 4);

  // Five labels: counted, the first kMaxMplsLabels kept.
  const Bytes deep = cat({eth(0x8847), mpls(1, false), mpls(2, false), mpls(3, false),
                          mpls(4, false), mpls(5, true), ipv4(17, kA, kB, 28), udp(7, 8)});
  p = parse(deep);
  CHECK(p.mpls_count == 5);
  CHECK(p.mpls_labels[3] == 4);
  CHECK(p.dst_port == 8);

  // An Ethernet pseudowire with its control word (RFC 4385/4448; tshark's
  // reading of akv-eompls-cw): the carried frame's tag and IP header, the
  // outer MACs.
  const Bytes pw =
      cat({eth(0x8847), mpls(300012, false), mpls(17, true), Bytes{0, 0, 0, 0}, eth(0x8100),
           tag(42, 0x0800), ipv4(6, kB, kA, 1500), tcp(443, 28911, 0x010)});
  p = parse(pw);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.mpls_count == 2);
  CHECK(p.vlan_count == 1);
  CHECK(p.vlans[0] == 42);
  CHECK(p.ethertype == 0x0800);
  CHECK(std::memcmp(p.dst_mac, kDstMac, 6) == 0);
  CHECK(p.ip_version == 4);
  CHECK(p.src == IpAddr::from_v4(kB));
  CHECK(p.src_port == 443);
  CHECK(p.dst_port == 28911);
  check_every_cut(pw, PacketStart::kEthernet, false, 14 + 8 + 4 + 18 + 20 + 14);

  // Neither IP nor a control word after the stack (a G-ACh, first nibble 1).
  const Bytes ach = cat({eth(0x8847), mpls(1, true), Bytes{0x10, 0, 0, 0}});
  p = parse(ach);
  CHECK(p.status == PacketStatus::kUnsupported);
  CHECK(p.cut_layer == PacketLayer::kMpls);
}

TEST_CASE("packet parser: IPv4 options and fragments", "[decode][packet]") {
  const Bytes opts = cat({eth(0x0800), ipv4(17, kA, kB, 36, 0, 2), udp(123, 123)});
  auto p = parse(opts);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.ip_len == 36);
  CHECK(p.has_ports);
  CHECK(p.src_port == 123);
  check_every_cut(opts, PacketStart::kEthernet, false, 14 + 28 + 4);

  // First fragment (MF, offset 0): ports; a later one (offset 185): none.
  const Bytes first = cat({eth(0x0800), ipv4(17, kA, kB, 1500, 0x2000), udp(5000, 6000)});
  p = parse(first);
  CHECK(p.fragment);
  CHECK(p.frag_offset == 0);
  CHECK(p.has_ports);
  CHECK(p.dst_port == 6000);
  const Bytes later = cat({eth(0x0800), ipv4(17, kA, kB, 500, 185), udp(5000, 6000)});
  p = parse(later);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.fragment);
  CHECK(p.frag_offset == 185);
  CHECK(!p.has_ports);
  CHECK(p.src_port == 0);
  CHECK(p.protocol == 17);
  check_every_cut(later, PacketStart::kEthernet, false, 14 + 20);

  // Raw IPv4 start (sFlow header protocol 11).
  const Bytes raw = cat({ipv4(1, kA, kB, 28), icmp(0, 0)});
  p = parse(raw, PacketStart::kIPv4);
  CHECK(!p.has_ethernet);
  CHECK(p.has_icmp);
  CHECK(p.icmp_type == 0);
  check_every_cut(raw, PacketStart::kIPv4, false, 22);

  // IHL below 5 and a version that is not 4: malformed, no fields.
  Bytes bad = cat({eth(0x0800), ipv4(6, kA, kB, 40), tcp(1, 2, 0)});
  bad[14] = 0x44;
  p = parse(bad);
  CHECK(p.status == PacketStatus::kMalformed);
  CHECK(p.cut_layer == PacketLayer::kIPv4);
  CHECK(p.ip_version == 0);
  bad[14] = 0x65;
  CHECK(parse(bad).status == PacketStatus::kMalformed);
}

TEST_CASE("packet parser: IPv6 extension headers and fragments", "[decode][packet]") {
  const Bytes chain = cat({eth(0x86DD), ipv6(0, 8 + 16 + 8 + 20), ext(43, 0), ext(60, 1), ext(6, 0),
                           tcp(22, 40000, 0x010)});
  auto p = parse(chain);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.ip_version == 6);
  CHECK(p.src == IpAddr::from_v6(kV6Src));
  CHECK(p.dst == IpAddr::from_v6(kV6Dst));
  CHECK(p.tos == 0xb8);
  CHECK(p.ttl == 64);
  CHECK(p.ip_len == 40 + 52);
  CHECK(p.protocol == 6);
  CHECK(p.src_port == 22);
  CHECK(p.tcp_flags == 0x010);
  check_every_cut(chain, PacketStart::kEthernet, false, 14 + 40 + 8 + 16 + 8 + 14);

  const Bytes first = cat({eth(0x86DD), ipv6(44, 16), frag6(17, 0, true), udp(500, 4500)});
  p = parse(first);
  CHECK(p.fragment);
  CHECK(p.protocol == 17);
  CHECK(p.has_ports);
  CHECK(p.dst_port == 4500);
  check_every_cut(first, PacketStart::kEthernet, false, 14 + 40 + 8 + 4);

  const Bytes later = cat({ipv6(44, 16), frag6(17, 181, false), udp(500, 4500)});
  p = parse(later, PacketStart::kIPv6);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.fragment);
  CHECK(p.frag_offset == 181);
  CHECK(p.protocol == 17);
  CHECK(!p.has_ports);
  check_every_cut(later, PacketStart::kIPv6, false, 48);

  // AH counts its length in 4-byte words (+2).
  Bytes ah = bytes({6, 4, 0, 0});
  ah.resize(24, 0);
  const Bytes with_ah = cat({ipv6(51, 44), ah, tcp(1, 2, 0x004)});
  p = parse(with_ah, PacketStart::kIPv6);
  CHECK(p.protocol == 6);
  CHECK(p.tcp_flags == 0x004);

  // ESP ends the chain: protocol 50, no ports, complete.
  p = parse(cat({ipv6(50, 8), Bytes(8, 0)}), PacketStart::kIPv6);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.protocol == 50);
  CHECK(!p.has_ports);
}

TEST_CASE("packet parser: ICMP and ICMPv6 type and code", "[decode][packet]") {
  const Bytes v4 = cat({eth(0x8100), tag(32, 0x0800), ipv4(1, kA, kB, 28), icmp(8, 0)});
  auto p = parse(v4);
  CHECK(p.has_icmp);
  CHECK(p.icmp_type == 8);
  CHECK(p.icmp_code == 0);
  CHECK(!p.has_ports);
  check_every_cut(v4, PacketStart::kEthernet, false, 14 + 4 + 20 + 2);

  const Bytes v6 = cat({eth(0x86DD), ipv6(0, 8 + 24), ext(58, 0), icmp(135, 0), Bytes(16, 0)});
  p = parse(v6);
  CHECK(p.protocol == 58);
  CHECK(p.has_icmp);
  CHECK(p.icmp_type == 135);
  check_every_cut(v6, PacketStart::kEthernet, false, 14 + 40 + 8 + 2);

  // ICMPv6 inside IPv4 is not ICMP: protocol only.
  p = parse(cat({ipv4(58, kA, kB, 28), icmp(1, 2)}), PacketStart::kIPv4);
  CHECK(!p.has_icmp);
  CHECK(p.protocol == 58);
}

TEST_CASE("packet parser: VXLAN, outer or inner key", "[decode][packet]") {
  const Bytes inner = cat({eth(0x86DD), ipv6(6, 20), tcp(8080, 9090, 0x011)});
  const Bytes f = cat({eth(0x0800), ipv4(17, kA, kB, 20 + 8 + 8 + uint16_t(inner.size())),
                       udp(45833, 4789, uint16_t(16 + inner.size())), vxlan(100), inner});
  auto p = parse(f, PacketStart::kEthernet, false);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.encap == Encap::kNone);
  CHECK(!p.inner);
  CHECK(p.ip_version == 4);
  CHECK(p.dst_port == 4789);

  p = parse(f, PacketStart::kEthernet, true);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.encap == Encap::kVxlan);
  CHECK(p.vni == 100);
  CHECK(p.inner);
  CHECK(p.ip_version == 6);
  CHECK(p.src == IpAddr::from_v6(kV6Src));
  CHECK(p.protocol == 6);
  CHECK(p.src_port == 8080);
  CHECK(p.dst_port == 9090);
  CHECK(p.tcp_flags == 0x011);
  CHECK(p.ip_len == 60);
  // The outer link layer stays the outer frame's.
  CHECK(std::memcmp(p.src_mac, kSrcMac, 6) == 0);
  CHECK(p.ethertype == 0x0800);
  check_every_cut(f, PacketStart::kEthernet, true, f.size() - 6);  // TCP needs 14 of 20

  // Cut inside the inner frame: the outer key stays, the cut is reported.
  p = parse(f, 14 + 20 + 8 + 8 + 20, PacketStart::kEthernet, true);
  CHECK(p.status == PacketStatus::kCut);
  CHECK(!p.inner);
  CHECK(p.ip_version == 4);
  CHECK(p.dst_port == 4789);
}

TEST_CASE("packet parser: GRE, outer or inner key", "[decode][packet]") {
  const Bytes inner = cat({ipv4(17, kB, kA, 28), udp(1111, 2222)});
  const Bytes f = cat({eth(0x0800), ipv4(47, kA, kB, 20 + 8 + 28), gre(0x0800, true, 77), inner});
  auto p = parse(f, PacketStart::kEthernet, false);
  CHECK(p.status == PacketStatus::kComplete);
  CHECK(p.protocol == 47);
  CHECK(!p.has_ports);
  CHECK(p.encap == Encap::kNone);

  p = parse(f, PacketStart::kEthernet, true);
  CHECK(p.encap == Encap::kGre);
  CHECK(p.vni == 77);
  CHECK(p.inner);
  CHECK(p.src == IpAddr::from_v4(kB));
  CHECK(p.protocol == 17);
  CHECK(p.src_port == 1111);
  check_every_cut(f, PacketStart::kEthernet, true, f.size() - 4);

  // Transparent Ethernet bridging (0x6558) and a GRE version other than 0.
  const Bytes teb = cat({ipv4(47, kA, kB, 100), gre(0x6558, false), eth(0x0800),
                         ipv4(6, kB, kA, 40), tcp(3, 4, 0x001)});
  p = parse(teb, PacketStart::kIPv4, true);
  CHECK(p.inner);
  CHECK(p.dst_port == 4);
  CHECK(!p.has_ethernet);  // no outer Ethernet: the inner one is not reported as outer
  Bytes v1 = cat({ipv4(47, kA, kB, 100), gre(0x880B, false)});
  v1[21] = 1;  // version 1 (PPTP)
  p = parse(v1, PacketStart::kIPv4, true);
  CHECK(p.status == PacketStatus::kUnsupported);
  CHECK(p.cut_layer == PacketLayer::kGre);
}

TEST_CASE("packet parser: what it does not follow", "[decode][packet]") {
  auto p = parse(cat({eth(0x0806), Bytes(28, 0)}));  // ARP
  CHECK(p.status == PacketStatus::kUnsupported);
  CHECK(p.has_ethernet);
  CHECK(p.ethertype == 0x0806);
  CHECK(p.ip_version == 0);
  p = parse(cat({eth(0x0040), Bytes(64, 0)}));  // 802.3 length field
  CHECK(p.status == PacketStatus::kUnsupported);
  p = parse(Bytes{}, 0, PacketStart::kIPv6);
  CHECK(p.status == PacketStatus::kCut);
  CHECK(p.cut_layer == PacketLayer::kIPv6);
}

}  // namespace
}  // namespace ringflow

// ---------------------------------------------------------------------------
// The same parser behind v9/IPFIX packet sections (src/decode/decode_plan.h):
// hand-built templates and data records, decoded by decode_records().
namespace ringflow {
namespace {

struct Spec {
  uint16_t id, length;
};

// A v9 or IPFIX template record (the same layout without enterprise bits).
std::unique_ptr<DecodePlan> section_plan(WireVersion v, std::initializer_list<Spec> fields) {
  Bytes t;
  put16(t, 300);
  put16(t, static_cast<uint16_t>(fields.size()));
  for (const Spec& f : fields) {
    put16(t, f.id);
    put16(t, f.length);
  }
  TemplateRecordView view;
  TemplateProblem problem;
  read_template_record(v, false, t.data(), t.size(), &view, &problem);
  REQUIRE(problem == TemplateProblem::kNone);
  return compile_plan(v, view);
}

// An IPFIX variable-length value: 1-byte length, or 255 + 2-byte length.
Bytes varlen(const Bytes& v, bool long_form = false) {
  Bytes b;
  if (v.size() < 255 && !long_form) {
    b.push_back(static_cast<uint8_t>(v.size()));
  } else {
    b.push_back(255);
    put16(b, static_cast<uint16_t>(v.size()));
  }
  b.insert(b.end(), v.begin(), v.end());
  return b;
}

// Decodes a whole set body (exact-size heap copy, so that ASan sees a read
// past it) and checks that it ended as `want`.
std::vector<FlowRecord> decode_set(const DecodePlan& plan, const Bytes& body,
                                   SetStatus want = SetStatus::kDone) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[body.size()]);
  std::memcpy(buf.get(), body.data(), body.size());
  std::vector<FlowRecord> out(64);
  TimeContext tc;
  tc.export_ms = 1700000000000;
  size_t pos = 0;
  SetStatus st;
  const size_t n =
      decode_records(plan, buf.get(), body.size(), &pos, tc, out.data(), out.size(), &st);
  CHECK(st == want);
  out.resize(n);
  return out;
}

IpAddr v4(uint32_t a) { return IpAddr::from_v4(a); }

constexpr uint16_t kVar = 65535;

TEST_CASE("packet sections: IPFIX dataLinkFrameSection, Ethernet/802.1Q/IPv4/TCP",
          "[decode][section]") {
  auto plan = section_plan(WireVersion::kIpfix, {{10, 4}, {312, 2}, {315, kVar}});
  REQUIRE(plan->section.active);
  REQUIRE(plan->section.kind == SectionKind::kFrame);
  const Bytes f1 = cat(
      {eth(0x8100), tag(231, 0x0800), ipv4(6, kA, kB, 1440, 0, 0, 0x28), tcp(80, 43908, 0x018)});
  const Bytes f2 = cat({eth(0x0800), ipv4(17, kB, kA, 96), udp(55501, 11777, 76)});
  Bytes body;
  put32(body, 582);
  put16(body, 1458);
  const Bytes v1 = varlen(f1);
  body.insert(body.end(), v1.begin(), v1.end());
  put32(body, 7);
  put16(body, 114);
  const Bytes v2 = varlen(f2, true);  // the 3-byte length form
  body.insert(body.end(), v2.begin(), v2.end());
  const auto r = decode_set(*plan, body);
  REQUIRE(r.size() == 2);
  CHECK(r[0].input == 582);
  CHECK(r[0].ip_version == 4);
  CHECK(r[0].src == v4(kA));
  CHECK(r[0].dst == v4(kB));
  CHECK(r[0].protocol == 6);
  CHECK(r[0].tos == 0x28);
  CHECK(r[0].src_port == 80);
  CHECK(r[0].dst_port == 43908);
  CHECK(r[0].tcp_flags == 0x18);
  CHECK(r[0].vlan == 231);
  CHECK(r[0].bytes == 1458);  // dataLinkFrameSize, not the section's 58 bytes
  CHECK(r[0].packets == 1);
  CHECK((r[0].flags & kFlowSectionMask) == 0);
  CHECK(r[1].input == 7);
  CHECK(r[1].src == v4(kB));
  CHECK(r[1].protocol == 17);
  CHECK(r[1].src_port == 55501);
  CHECK(r[1].dst_port == 11777);
  CHECK(r[1].vlan == 0);
  CHECK(r[1].bytes == 114);
  CHECK(r[1].packets == 1);
}

TEST_CASE("packet sections: IPFIX ipHeaderPacketSection, IPv6/UDP, bytes from the header",
          "[decode][section]") {
  // Fixed length 48: 40 bytes of IPv6 and the UDP header.
  auto plan = section_plan(WireVersion::kIpfix, {{313, 48}, {2, 4}});
  REQUIRE(plan->section.kind == SectionKind::kIpHeader);
  Bytes body = cat({ipv6(17, 1200, 0xb8), udp(5353, 53, 1200)});
  put32(body, 3);  // packetDeltaCount
  const auto r = decode_set(*plan, body);
  REQUIRE(r.size() == 1);
  CHECK(r[0].ip_version == 6);
  IpAddr src, dst;
  std::memcpy(src.bytes.data(), kV6Src, 16);
  std::memcpy(dst.bytes.data(), kV6Dst, 16);
  CHECK(r[0].src == src);
  CHECK(r[0].dst == dst);
  CHECK(r[0].protocol == 17);
  CHECK(r[0].tos == 0xb8);
  CHECK(r[0].src_port == 5353);
  CHECK(r[0].dst_port == 53);
  CHECK(r[0].packets == 3);   // the counter, not 1
  CHECK(r[0].bytes == 1240);  // no size element: IPv6 payload length + 40
  CHECK((r[0].flags & kFlowSectionMask) == 0);
}

TEST_CASE("packet sections: a cut section yields the layers it reached and is marked",
          "[decode][section]") {
  auto plan = section_plan(WireVersion::kIpfix, {{315, kVar}});
  const Bytes frame = cat({eth(0x0800), ipv4(6, kA, kB, 400), tcp(443, 1025, 0x002)});
  const Bytes cut_frame(frame.begin(), frame.begin() + 14 + 20 + 3);  // 3 bytes of TCP
  const auto r = decode_set(*plan, varlen(cut_frame));
  REQUIRE(r.size() == 1);
  CHECK(r[0].src == v4(kA));
  CHECK(r[0].dst == v4(kB));
  CHECK(r[0].protocol == 6);
  CHECK(r[0].src_port == 0);
  CHECK(r[0].dst_port == 0);
  CHECK((r[0].flags & kFlowSectionMask) == kFlowSectionCut);
  CHECK(r[0].bytes == 14 + 400);  // the Ethernet header + IPv4 total length
  CHECK(r[0].packets == 1);
  // Cut inside the Ethernet header: nothing but the section's own length.
  const auto e = decode_set(*plan, varlen(Bytes(frame.begin(), frame.begin() + 10)));
  REQUIRE(e.size() == 1);
  CHECK(e[0].ip_version == 0);
  CHECK((e[0].flags & kFlowSectionMask) == kFlowSectionCut);
  CHECK(e[0].bytes == 10);
}

TEST_CASE(
    "packet sections: NetFlow v9 layer2packetSectionData with MPLS, zero padding bounded by the "
    "size",
    "[decode][section]") {
  // NetFlow-Lite style: offset, size, then a fixed 64-byte section.
  auto plan = section_plan(WireVersion::kV9, {{10, 2}, {102, 2}, {103, 2}, {104, 64}});
  REQUIRE(plan->section.kind == SectionKind::kFrame);
  const Bytes frame = cat(
      {eth(0x8847), mpls(16004, false), mpls(30, true), ipv4(17, kA, kB, 28), udp(4000, 4001, 8)});
  REQUIRE(frame.size() == 14 + 8 + 28);
  Bytes body;
  put16(body, 9);
  put16(body, 0);
  put16(body, static_cast<uint16_t>(frame.size()));
  Bytes sec = frame;
  sec.resize(64, 0);  // padded with zeros past the frame
  body.insert(body.end(), sec.begin(), sec.end());
  auto r = decode_set(*plan, body);
  REQUIRE(r.size() == 1);
  CHECK(r[0].input == 9);
  CHECK(r[0].src == v4(kA));
  CHECK(r[0].src_port == 4000);
  CHECK(r[0].dst_port == 4001);
  CHECK(r[0].protocol == 17);
  CHECK(r[0].bytes == frame.size());  // layer2packetSectionSize
  CHECK((r[0].flags & kFlowSectionMask) == 0);

  // The size says 40 bytes: the section ends inside the IPv4 header.
  body[5] = 40;
  r = decode_set(*plan, body);
  REQUIRE(r.size() == 1);
  CHECK(r[0].ip_version == 0);  // the IPv4 header ends at byte 42
  CHECK((r[0].flags & kFlowSectionMask) == kFlowSectionCut);
  CHECK(r[0].bytes == 40);

  // A section that does not start at the frame's start is not parsed.
  body[5] = static_cast<uint8_t>(frame.size());
  body[3] = 14;
  r = decode_set(*plan, body);
  REQUIRE(r.size() == 1);
  CHECK(r[0].ip_version == 0);
  CHECK(r[0].src_port == 0);
  CHECK((r[0].flags & kFlowSectionMask) == kFlowSectionUnsupported);
}

TEST_CASE("packet sections: the template's own elements take precedence", "[decode][section]") {
  auto plan = section_plan(WireVersion::kIpfix,
                           {{8, 4}, {12, 4}, {7, 2}, {1, 4}, {2, 4}, {58, 2}, {315, kVar}});
  const Bytes frame =
      cat({eth(0x8100), tag(100, 0x0800), ipv4(6, kA, kB, 60), tcp(22, 5555, 0x010)});
  Bytes body;
  put32(body, 0x0A000001);  // 10.0.0.1
  put32(body, 0x0A000002);
  put16(body, 1234);  // sourceTransportPort
  put32(body, 9000);  // octetDeltaCount
  put32(body, 6);     // packetDeltaCount
  put16(body, 7);     // vlanId
  const Bytes v = varlen(frame);
  body.insert(body.end(), v.begin(), v.end());
  const auto r = decode_set(*plan, body);
  REQUIRE(r.size() == 1);
  CHECK(r[0].src == v4(0x0A000001));  // explicit
  CHECK(r[0].dst == v4(0x0A000002));
  CHECK(r[0].src_port == 1234);
  CHECK(r[0].bytes == 9000);
  CHECK(r[0].packets == 6);
  CHECK(r[0].vlan == 7);
  CHECK(r[0].dst_port == 5555);  // not in the template: from the section
  CHECK(r[0].protocol == 6);
  CHECK(r[0].tcp_flags == 0x10);
}

TEST_CASE(
    "packet sections: ICMP from the section, a section past the set, plain templates untouched",
    "[decode][section]") {
  auto plan = section_plan(WireVersion::kIpfix, {{315, kVar}});
  const Bytes frame = cat({eth(0x0800), ipv4(1, kA, kB, 84), icmp(8, 0)});
  Bytes body = varlen(frame);
  Bytes over = varlen(frame);
  over.resize(over.size() - 5);  // the second record's section runs past the set
  body.insert(body.end(), over.begin(), over.end());
  const auto r = decode_set(*plan, body, SetStatus::kVarOverflow);
  REQUIRE(r.size() == 1);
  CHECK(r[0].protocol == 1);
  CHECK(r[0].dst_port == 0x0800);
  CHECK(r[0].bytes == 14 + 84);

  auto plain = section_plan(WireVersion::kIpfix, {{8, 4}, {12, 4}, {1, 4}, {2, 4}});
  CHECK_FALSE(plain->section.active);
  CHECK(plain->prototype.packets == 0);
  auto v9 = section_plan(WireVersion::kV9, {{8, 4}, {12, 4}, {1, 4}, {2, 4}, {315, 0}});
  CHECK_FALSE(v9->section.active);  // a zero-length section carries nothing
}

}  // namespace
}  // namespace ringflow

namespace ringflow {
namespace {

// An IPFIX message: one template set (template 300) and one data set.
Bytes ipfix_message(std::initializer_list<Spec> fields, const Bytes& data) {
  Bytes tset;
  put16(tset, 2);
  put16(tset, static_cast<uint16_t>(4 + 4 + 4 * fields.size()));
  put16(tset, 300);
  put16(tset, static_cast<uint16_t>(fields.size()));
  for (const Spec& f : fields) {
    put16(tset, f.id);
    put16(tset, f.length);
  }
  Bytes dset;
  put16(dset, 300);
  put16(dset, static_cast<uint16_t>(4 + data.size()));
  dset.insert(dset.end(), data.begin(), data.end());
  Bytes m;
  put16(m, 10);
  put16(m, static_cast<uint16_t>(16 + tset.size() + dset.size()));
  put32(m, 1700000000);  // export time
  put32(m, 1);           // sequence
  put32(m, 7);           // observation domain
  return cat({m, tset, dset});
}

TEST_CASE("packet sections: the reader counts records whose section did not parse, by reason",
          "[decode][section]") {
  const Bytes whole = cat({eth(0x0800), ipv4(17, kA, kB, 28), udp(1, 2)});
  const Bytes cut_frame(whole.begin(), whole.begin() + 20);  // inside IPv4
  const Bytes arp = cat({eth(0x0806), Bytes(28, 0)});        // not followed
  Bytes bad_ip = whole;
  bad_ip[14] = 0x42;  // IHL 2 < 5
  const Bytes data =
      cat({varlen(whole), varlen(cut_frame), varlen(cut_frame), varlen(arp), varlen(bad_ip)});
  const Bytes msg = ipfix_message({{315, kVar}}, data);

  DecodeConfig cfg;
  SessionCounters counters;
  Sessions sessions(cfg, 4, 9216, counters);
  const IpAddr exporter = IpAddr::from_v4(0x7F000001);
  REQUIRE(sessions.admit(msg.data(), msg.size(), exporter, 0, 1700000000000) == Admit::kHandOff);
  const DecodeOptions v5opts;  // the reader keeps a reference
  RecordReader reader(sessions.meta(0), msg.data(), msg.size(), 1700000000000, v5opts);
  FlowRecord out[64];
  RecordChunk chunk;
  size_t total = 0;
  std::array<uint32_t, kSectionReasons> by{};
  size_t n;
  while ((n = reader.next(out, 64, &chunk)) > 0) {
    CHECK(chunk.sections);
    total += n;
    for (size_t i = 0; i < kSectionReasons; ++i) by[i] += chunk.section_records[i];
  }
  sessions.release(0);
  CHECK(total == 5);
  CHECK(std::string(section_reason_name(0)) == "cut");
  CHECK(by[0] == 2);  // cut
  CHECK(by[1] == 1);  // unsupported (ARP)
  CHECK(by[2] == 1);  // malformed (IHL)
}

}  // namespace
}  // namespace ringflow
