// Packet-header parser: see packet_parser.h for the contract.
#include "decode/packet_parser.h"

#include <cstring>

#include "wire/bytes.h"

namespace ringflow {
namespace {

using wire::load_be16;
using wire::load_be32;

constexpr uint16_t kEthIPv4 = 0x0800, kEthIPv6 = 0x86DD, kEthVlan = 0x8100, kEthQinQ = 0x88A8,
                   kEthQinQOld = 0x9100, kEthMpls = 0x8847, kEthMplsMulticast = 0x8848,
                   kEthTransparentBridging = 0x6558;
constexpr uint8_t kIpHopByHop = 0, kIpIcmp = 1, kIpTcp = 6, kIpUdp = 17, kIpRouting = 43,
                  kIpFragment = 44, kIpGre = 47, kIpAh = 51, kIpIcmpv6 = 58, kIpDestOpts = 60,
                  kIpSctp = 132, kIpMobility = 135, kIpUdpLite = 136, kIpHip = 139, kIpShim6 = 140;
constexpr uint16_t kVxlanPort = 4789;
constexpr int kMaxExtensionHeaders = 16;  // bounds the IPv6 chain walk

class Parser {
 public:
  Parser(const uint8_t* p, size_t len, const PacketOptions& opt, ParsedPacket* out)
      : p_(p), len_(len), opt_(opt), o_(out) {}

  void start(PacketStart s) {
    switch (s) {
      case PacketStart::kEthernet:
        ethernet(0);
        break;
      case PacketStart::kIPv4:
        ipv4(0);
        break;
      case PacketStart::kIPv6:
        ipv6(0);
        break;
      case PacketStart::kMpls:
        mpls(0);
        break;
    }
  }

 private:
  bool have(size_t off, size_t n) const { return off <= len_ && n <= len_ - off; }

  void stop(PacketStatus s, PacketLayer layer, size_t off) {
    o_->status = s;
    o_->cut_layer = layer;
    o_->cut_offset = static_cast<uint16_t>(off > 0xFFFF ? 0xFFFF : off);
  }
  void cut(PacketLayer layer, size_t off) { stop(PacketStatus::kCut, layer, off); }
  void malformed(PacketLayer layer, size_t off) { stop(PacketStatus::kMalformed, layer, off); }
  void unsupported(PacketLayer layer, size_t off) { stop(PacketStatus::kUnsupported, layer, off); }

  bool outer() const { return depth_ == 0; }

  void ethernet(size_t off) {
    if (!have(off, 14)) return cut(PacketLayer::kEthernet, off);
    if (outer() && !o_->has_ethernet) {  // an Ethernet pseudowire's frame keeps the outer MACs
      o_->has_ethernet = true;
      std::memcpy(o_->dst_mac, p_ + off, 6);
      std::memcpy(o_->src_mac, p_ + off + 6, 6);
    }
    uint16_t type = load_be16(p_ + off + 12);
    off += 14;
    while (type == kEthVlan || type == kEthQinQ || type == kEthQinQOld) {
      if (!have(off, 4)) {
        if (outer()) o_->ethertype = type;
        return cut(PacketLayer::kVlan, off);
      }
      if (outer()) {
        if (o_->vlan_count < 2) o_->vlans[o_->vlan_count] = load_be16(p_ + off) & 0x0FFF;
        if (o_->vlan_count < 255) ++o_->vlan_count;
      }
      type = load_be16(p_ + off + 2);
      off += 4;
    }
    if (outer()) o_->ethertype = type;
    switch (type) {
      case kEthIPv4:
        return ipv4(off);
      case kEthIPv6:
        return ipv6(off);
      case kEthMpls:
      case kEthMplsMulticast:
        return mpls(off);
      default:
        return unsupported(PacketLayer::kEthernet, off);
    }
  }

  void mpls(size_t off) {
    for (;;) {
      if (!have(off, 4)) return cut(PacketLayer::kMpls, off);
      const uint32_t entry = load_be32(p_ + off);
      if (outer()) {
        if (o_->mpls_count < kMaxMplsLabels) o_->mpls_labels[o_->mpls_count] = entry >> 12;
        if (o_->mpls_count < 255) ++o_->mpls_count;
      }
      off += 4;
      if (entry & 0x100) break;  // bottom of stack
    }
    // No type field follows a label stack: the IP version nibble tells.
    if (!have(off, 1)) return cut(PacketLayer::kMpls, off);
    switch (p_[off] >> 4) {
      case 4:
        return ipv4(off);
      case 6:
        return ipv6(off);
      case 0:
        // A pseudowire control word (RFC 4385: first nibble 0) and the
        // Ethernet frame it carries (RFC 4448), as Wireshark assumes.
        if (!have(off, 4)) return cut(PacketLayer::kMpls, off);
        return ethernet(off + 4);
      default:
        return unsupported(PacketLayer::kMpls, off);
    }
  }

  // Called once an IP header is complete: from here on the key fields are
  // this packet's (the inner one when decapsulating).
  void take_ip(size_t off) {
    if (!outer()) {
      o_->inner = true;
      o_->has_ports = o_->has_icmp = false;
      o_->src_port = o_->dst_port = o_->tcp_flags = 0;
      o_->icmp_type = o_->icmp_code = 0;
      o_->fragment = false;
      o_->frag_offset = 0;
    }
    o_->l3_offset = static_cast<uint16_t>(off);
  }

  void ipv4(size_t off) {
    if (!have(off, 20)) return cut(PacketLayer::kIPv4, off);
    const uint8_t* h = p_ + off;
    const size_t ihl = size_t{h[0] & 0x0Fu} * 4;
    if ((h[0] >> 4) != 4 || ihl < 20) return malformed(PacketLayer::kIPv4, off);
    if (!have(off, ihl)) return cut(PacketLayer::kIPv4, off);
    take_ip(off);
    o_->ip_version = 4;
    o_->tos = h[1];
    o_->ip_len = load_be16(h + 2);
    const uint16_t frag = load_be16(h + 6);
    o_->frag_offset = frag & 0x1FFF;
    o_->fragment = (frag & 0x3FFF) != 0;  // MF set or offset non-zero
    o_->ttl = h[8];
    o_->protocol = h[9];
    load_v4_addr(&o_->src, h + 12);
    load_v4_addr(&o_->dst, h + 16);
    if (o_->frag_offset != 0) return;  // a later fragment carries no transport header
    transport(o_->protocol, off + ihl, false);
  }

  void ipv6(size_t off) {
    if (!have(off, 40)) return cut(PacketLayer::kIPv6, off);
    const uint8_t* h = p_ + off;
    const uint32_t w0 = load_be32(h);
    if ((w0 >> 28) != 6) return malformed(PacketLayer::kIPv6, off);
    take_ip(off);
    o_->ip_version = 6;
    o_->tos = static_cast<uint8_t>(w0 >> 20);
    o_->ip_len = static_cast<uint16_t>(load_be16(h + 4) + 40);
    uint8_t next = h[6];
    o_->ttl = h[7];
    load_v6_addr(&o_->src, h + 8);
    load_v6_addr(&o_->dst, h + 24);
    o_->protocol = next;
    off += 40;
    for (int n = 0; n < kMaxExtensionHeaders; ++n) {
      size_t ext_len;
      switch (next) {
        case kIpHopByHop:
        case kIpRouting:
        case kIpDestOpts:
        case kIpMobility:
        case kIpHip:
        case kIpShim6:
          if (!have(off, 2)) return cut(PacketLayer::kIPv6Ext, off);
          ext_len = (size_t{p_[off + 1]} + 1) * 8;
          break;
        case kIpAh:
          if (!have(off, 2)) return cut(PacketLayer::kIPv6Ext, off);
          ext_len = (size_t{p_[off + 1]} + 2) * 4;
          break;
        case kIpFragment: {
          if (!have(off, 8)) return cut(PacketLayer::kIPv6Ext, off);
          const uint16_t frag = load_be16(p_ + off + 2);
          o_->fragment = true;
          o_->frag_offset = frag >> 3;
          next = p_[off];
          o_->protocol = next;
          if (o_->frag_offset != 0) return;  // no transport header in a later fragment
          off += 8;
          continue;
        }
        default:
          return transport(next, off, true);
      }
      if (!have(off, ext_len)) return cut(PacketLayer::kIPv6Ext, off);
      next = p_[off];
      o_->protocol = next;
      off += ext_len;
    }
    unsupported(PacketLayer::kIPv6Ext, off);  // a chain longer than any real one
  }

  void transport(uint8_t proto, size_t off, bool v6) {
    switch (proto) {
      case kIpTcp:
      case kIpUdp:
      case kIpUdpLite:
      case kIpSctp: {
        if (!have(off, 4)) return cut(PacketLayer::kTransport, off);
        o_->has_ports = true;
        o_->src_port = load_be16(p_ + off);
        o_->dst_port = load_be16(p_ + off + 2);
        if (proto == kIpTcp) {
          if (!have(off, 14)) return cut(PacketLayer::kTransport, off);
          o_->tcp_flags = load_be16(p_ + off + 12) & 0x0FFF;
        } else if (proto == kIpUdp && opt_.decapsulate && outer() && o_->dst_port == kVxlanPort) {
          if (!have(off, 8)) return cut(PacketLayer::kTransport, off);
          return vxlan(off + 8);
        }
        return;
      }
      case kIpIcmp:
      case kIpIcmpv6:
        if ((proto == kIpIcmpv6) != v6) return;  // ICMP in IPv6 or ICMPv6 in IPv4: no fields
        if (!have(off, 2)) return cut(PacketLayer::kIcmp, off);
        o_->has_icmp = true;
        o_->icmp_type = p_[off];
        o_->icmp_code = p_[off + 1];
        return;
      case kIpGre:
        if (opt_.decapsulate && outer()) return gre(off);
        return;
      default:
        return;  // ESP, OSPF, ...: the key is complete without ports
    }
  }

  void vxlan(size_t off) {
    if (!have(off, 8)) return cut(PacketLayer::kVxlan, off);
    o_->encap = Encap::kVxlan;
    o_->vni = load_be32(p_ + off + 4) >> 8;
    if (!(p_[off] & 0x08)) return unsupported(PacketLayer::kVxlan, off);  // I flag clear
    ++depth_;
    ethernet(off + 8);
  }

  void gre(size_t off) {
    if (!have(off, 4)) return cut(PacketLayer::kGre, off);
    const uint16_t flags = load_be16(p_ + off);
    const uint16_t type = load_be16(p_ + off + 2);
    if ((flags & 7) != 0) return unsupported(PacketLayer::kGre, off);  // only version 0
    o_->encap = Encap::kGre;
    size_t hdr = 4;
    if (flags & 0x8000) hdr += 4;  // checksum + reserved
    size_t key_at = hdr;
    if (flags & 0x2000) hdr += 4;  // key
    if (flags & 0x1000) hdr += 4;  // sequence number
    if (!have(off, hdr)) return cut(PacketLayer::kGre, off);
    if (flags & 0x2000) o_->vni = load_be32(p_ + off + key_at);
    ++depth_;
    switch (type) {
      case kEthTransparentBridging:
        return ethernet(off + hdr);
      case kEthIPv4:
        return ipv4(off + hdr);
      case kEthIPv6:
        return ipv6(off + hdr);
      case kEthMpls:
        return mpls(off + hdr);
      default:
        return unsupported(PacketLayer::kGre, off);
    }
  }

  const uint8_t* p_;
  size_t len_;
  const PacketOptions& opt_;
  ParsedPacket* o_;
  int depth_ = 0;
};

}  // namespace

// Copied rather than value-initialised: GCC zeroes a fresh ParsedPacket with
// `rep stos`, whose start-up cost was a fifth of a sample's decode time. Not
// const, so that the compiler cannot turn the copy back into that memset.
static ParsedPacket g_empty_packet{};

void parse_packet(const uint8_t* p, size_t len, PacketStart start, const PacketOptions& opt,
                  ParsedPacket* out) {
  std::memcpy(static_cast<void*>(out), &g_empty_packet, sizeof(ParsedPacket));
  Parser(p, len, opt, out).start(start);
}

}  // namespace ringflow
