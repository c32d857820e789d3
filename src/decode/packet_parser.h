// Packet-header parser: the first bytes of a sampled packet in, the flow key
// and link-layer facts out. One parser for every wire format that carries
// packet bytes instead of flow fields: sFlow's raw packet header (flow record
// 0:1), IPFIX dataLinkFrameSection (315) / ipHeaderPacketSection (313) and
// NetFlow v9 layer2packetSectionData (104).
//
// Layers, in the order they may appear:
//   Ethernet II -> 802.1Q / 802.1ad tags (any number; the first two IDs kept,
//   outermost first) -> MPLS label stack (first kMaxMplsLabels kept; payload
//   guessed from the first nibble after bottom-of-stack: 4 IPv4, 6 IPv6, 0 a
//   pseudowire control word and the Ethernet frame it carries, RFC 4385 /
//   4448, whose tags and type then follow the outer ones; the MACs stay the
//   outer frame's) -> IPv4 (options
//   skipped by IHL; fragments: no ports unless offset 0) or IPv6 (extension
//   chain: hop-by-hop, routing, destination options, fragment, AH, mobility;
//   `protocol` is the last next-header value) -> TCP / UDP / UDP-Lite / SCTP
//   ports (TCP flags too), ICMP / ICMPv6 type and code.
//   With PacketOptions::decapsulate, a VXLAN header (UDP port 4789) or a GRE
//   header (IP protocol 47, version 0: Ethernet, IPv4, IPv6 or MPLS payload)
//   is followed into the inner packet, and the key fields (addresses, ports,
//   protocol, tos, flags, icmp, ip_len) describe the inner IP packet once its
//   header is complete; `encap` is set either way.
//
// A header may be cut anywhere (an sFlow agent copies the first N bytes of
// the frame). Every layer checks that the bytes it needs are there before it
// reads them: a cut header yields every field of the layers it completed,
// `status` = kCut and `cut_layer` / `cut_offset` say which layer lacked bytes
// and where it started. A field of a layer never reached keeps its zero
// value; `has_*` say what was reached.
//
// Reads only [p, p + len): every load is a bounded big-endian byte load
// (src/wire/bytes.h). No allocation, no exceptions, no state.
//
// Thread safety: pure function on caller-owned memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <ringflow/ip.h>

namespace ringflow {

// What the first byte of the buffer is.
enum class PacketStart : uint8_t { kEthernet, kIPv4, kIPv6, kMpls };

enum class PacketStatus : uint8_t {
  kComplete,     // parsed down to the last layer this parser knows
  kCut,          // the buffer ended inside a layer (cut_layer / cut_offset)
  kUnsupported,  // a layer this parser does not follow (e.g. ARP, 802.3 LLC, ESP)
  kMalformed,    // a layer's own fields are inconsistent (IHL < 5, IP version mismatch)
};

enum class PacketLayer : uint8_t {
  kNone,
  kEthernet,
  kVlan,
  kMpls,
  kIPv4,
  kIPv6,
  kIPv6Ext,
  kTransport,
  kIcmp,
  kVxlan,
  kGre,
};

enum class Encap : uint8_t { kNone, kVxlan, kGre };

struct PacketOptions {
  bool decapsulate = false;  // follow VXLAN / GRE: the key is the inner packet's
};

inline constexpr size_t kMaxMplsLabels = 4;

struct ParsedPacket {
  // The addresses first and 16-byte aligned: an address that straddles a
  // cache line cannot be store-forwarded when the decoder copies it right
  // after the parser wrote it (a third of decode_sflow_bench's time).
  alignas(16) IpAddr src;  // network layer (see below)
  alignas(16) IpAddr dst;

  PacketStatus status = PacketStatus::kComplete;
  PacketLayer cut_layer = PacketLayer::kNone;  // with kCut / kMalformed: the layer
  uint16_t cut_offset = 0;                     // and the offset where it starts

  // --- link layer (outer frame) ---
  bool has_ethernet = false;
  uint8_t dst_mac[6] = {}, src_mac[6] = {};
  uint8_t vlan_count = 0;                     // tags seen (may exceed 2)
  uint16_t vlans[2] = {};                     // 12-bit IDs, outermost first
  uint8_t mpls_count = 0;                     // labels seen (may exceed kMaxMplsLabels)
  uint32_t mpls_labels[kMaxMplsLabels] = {};  // 20-bit labels, top first
  uint16_t ethertype = 0;                     // the type after the tags (0 without Ethernet)

  // --- network layer (inner when decapsulated) ---
  uint8_t ip_version = 0;    // 4 or 6 once that header is complete, else 0; src, dst above
  uint8_t protocol = 0;      // IPv4 protocol / IPv6 last next header
  uint8_t tos = 0;           // IPv4 TOS / IPv6 traffic class
  uint8_t ttl = 0;           // IPv4 TTL / IPv6 hop limit
  uint16_t ip_len = 0;       // IPv4 total length / IPv6 payload length + 40
  uint16_t l3_offset = 0;    // offset of that IP header in the buffer
  bool fragment = false;     // IPv4 MF or offset, or an IPv6 fragment header
  uint16_t frag_offset = 0;  // in 8-byte units; ports only when 0

  // --- transport (of the same IP packet) ---
  bool has_ports = false;
  uint16_t src_port = 0, dst_port = 0;
  uint16_t tcp_flags = 0;  // 12 bits (NS..FIN), as Wireshark's tcp.flags
  bool has_icmp = false;
  uint8_t icmp_type = 0, icmp_code = 0;

  // --- tunnels ---
  Encap encap = Encap::kNone;  // set when a VXLAN / GRE header was found (any option)
  bool inner = false;          // the key fields are the inner packet's
  uint32_t vni = 0;            // VXLAN network identifier, GRE key
};

// An address straight from wire bytes (4 of IPv4, 16 of IPv6), written with
// one 16-byte store. IpAddr::from_v4 builds the v4-mapped form in pieces, and
// a later 16-byte copy of those pieces stalls on store forwarding (a third of
// a sample's decode time in decode_sflow_bench).
// REQUIRES: [p, p + 4) / [p, p + 16) readable.
inline void load_v4_addr(IpAddr* a, const uint8_t* p) {
  using V = unsigned long long __attribute__((vector_size(16)));
  uint32_t net;
  std::memcpy(&net, p, 4);
  const V v = {0, 0xFFFF0000ull | static_cast<unsigned long long>(net) << 32};
  std::memcpy(a->bytes.data(), &v, 16);
}
inline void load_v6_addr(IpAddr* a, const uint8_t* p) { std::memcpy(a->bytes.data(), p, 16); }

// Parses [p, p + len) starting at `start`. Always fills *out (reset first).
void parse_packet(const uint8_t* p, size_t len, PacketStart start, const PacketOptions& opt,
                  ParsedPacket* out);

}  // namespace ringflow
