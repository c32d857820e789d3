// sFlow v5 encoder for ringflow-gen (sflow.org, sflow_version_5.txt; the
// layout constants live once in src/wire/sflow.h). Pure functions over a
// caller-owned buffer: one datagram header, flow samples (compact 0:1 or
// expanded 0:3) with their records, counter samples (0:2 / 0:4) with the
// generic interface counters (0:1), and the sampled packet itself (Ethernet,
// 802.1Q, MPLS, VXLAN, IPv4/IPv6, TCP/UDP/ICMP) that a raw packet header
// record (0:1) copies the first bytes of.
//
// What a flow sample carries is described by SflowSample, which is also the
// generator's per-sample truth: tests decode a datagram with
// src/decode/sflow_decoder.h and compare each FlowRecord with the
// SflowSample it came from (SflowDatagramSpec, Generator::set_sflow_observer).
//
// Contract: every writer gets the room it may use and returns the bytes it
// wrote, or 0 when they do not fit (nothing useful is written then). No
// allocation; XDR (big-endian 32-bit words, opaque data padded to 4 bytes).
//
// Thread safety: pure functions on caller-owned memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <ringflow/ip.h>

#include "decode/sflow_decoder.h"
#include "gen/gen_config.h"

namespace ringflow::gen {

// The largest raw header copied (hsflowd's and most switches' default).
inline constexpr uint32_t kSflowMaxHeader = 128;
// Datagrams stay within an Ethernet MTU less IPv4 and UDP headers.
inline constexpr size_t kMaxSflowDatagram = 1472;
// Flow samples in one datagram (as --records caps it).
inline constexpr size_t kMaxSflowSamples = 30;
// Sources (ifIndex 1..N) of an agent, one per --samplers rate.
inline constexpr size_t kMaxSflowSources = 8;
// VXLAN encapsulation: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14).
inline constexpr uint32_t kVxlanOverhead = 50;
inline constexpr uint32_t kFcsLength = 4;  // counted in frame_length, stripped from the header

// One sampled packet and the flow sample that carries it.
struct SflowSample {
  // The packet.
  IpAddr src, dst;  // IPv4 keys as v4-mapped
  bool v6 = false;
  uint8_t protocol = 0;  // 6, 17, 1 (IPv4) or 58 (IPv6 ICMP keys)
  uint16_t src_port = 0, dst_port = 0;  // ICMP: 0 and type << 8 | code
  uint8_t tcp_flags = 0, tos = 0;
  uint16_t vlan = 0;         // 802.1Q ID, 0 = untagged
  uint32_t mpls_label = 0;   // one MPLS label, 0 = none
  bool vxlan = false;        // inside VXLAN (VNI = vlan + 1000)
  uint32_t ip_length = 0;    // IPv4 total length / IPv6 40 + payload (the key's packet)
  uint32_t frame_length = 0;  // whole frame on the wire, FCS included
  uint32_t header_length = 0;  // bytes copied into the raw header record (after any cut)
  bool cut = false;            // header_length was cut inside the packet's headers (fault)
  // The sample.
  uint32_t key = 0;  // traffic model key
  uint32_t source = 0;  // source index 0..N-1 (ifIndex source + 1)
  uint32_t sequence = 0, rate = 1, pool = 0, drops = 0;
  uint32_t input = 0, output = 0;  // ifIndex
  uint32_t records = kSflowRecDefault;
  // Extended router / gateway.
  IpAddr nexthop;
  uint8_t src_mask = 0, dst_mask = 0;
  uint32_t src_as = 0, peer_as = 0, dst_as = 0;
  // What a collector counts for it (SflowBytes::kFrameLength, the default):
  // frame_length with a raw header, else the sampled IP record's length.
  uint32_t counted_bytes() const {
    return (records & kSflowRecHeader) ? frame_length : ip_length;
  }
};

// One interface's generic counters (0:1) as a counter sample sends them.
struct SflowIfCounters {
  uint32_t if_index = 0, sequence = 0;
  uint64_t in_octets = 0;
  uint32_t in_ucast = 0;
};

// The generator's truth of one valid datagram (flow samples only; counter
// datagrams carry counters in `counters`).
struct SflowDatagramSpec {
  IpAddr agent;  // v4-mapped for an IPv4 agent
  bool agent_v6 = false;
  uint32_t sub_agent = 0, sequence = 0, uptime_ms = 0;
  bool expanded = false;
  bool lost = false;  // built, not sent (--loss)
  uint32_t n = 0;     // flow samples
  std::array<SflowSample, kMaxSflowSamples> samples;
  uint32_t n_counters = 0;
  std::array<SflowIfCounters, kMaxSflowSources> counters;
};

// Datagram header (28 bytes for an IPv4 agent, 40 for IPv6). num_samples is
// patched later with sflow_set_num_samples.
size_t sflow_write_header(uint8_t* p, size_t room, const SflowDatagramSpec& d, uint32_t num_samples);
void sflow_set_num_samples(uint8_t* datagram, bool agent_v6, uint32_t num_samples);
inline size_t sflow_header_size(bool agent_v6) {
  return agent_v6 ? sflow::kHeaderV6Size : sflow::kHeaderV4Size;
}

// The sampled frame's first bytes: Ethernet, [802.1Q], [MPLS], [outer IPv4 +
// UDP 4789 + VXLAN + inner Ethernet], IP, transport, zero payload. Writes
// min(room, frame_length - FCS) bytes; returns them.
size_t sflow_write_frame(uint8_t* p, size_t room, const SflowSample& s);
// The frame's bytes in front of the key's IP header (14, +4 VLAN, +4 MPLS, +50 VXLAN).
uint32_t sflow_l2_overhead(const SflowSample& s);
// Bytes a packet parser needs to complete the key (src/decode/packet_parser.h:
// ports and TCP flags = 14 bytes of TCP, UDP ports = 4, ICMP type/code = 2):
// a raw header shorter than this is cut.
uint32_t sflow_headers_end(const SflowSample& s);

// ICMP / ICMPv6 error types (they quote the invoking packet's IP header and
// 8 bytes, which the frame carries).
bool sflow_icmp_error(const SflowSample& s);
// The smallest transport part of the packet: TCP 20, UDP 8, ICMP 8, an ICMP
// error 8 + the quoted IP header + 8.
uint32_t sflow_l4_min(const SflowSample& s);

// One flow sample with its records; 0 when it does not fit in room.
size_t sflow_write_flow_sample(uint8_t* p, size_t room, const SflowSample& s, bool expanded);
// One counter sample with one generic interface counter record.
size_t sflow_write_counter_sample(uint8_t* p, size_t room, const SflowIfCounters& c,
                                  bool expanded);

// The reason src/decode/sflow_decoder.h rejects a malformed datagram of class
// c for (kNone for classes sFlow does not send).
SflowReject expected_sflow_reject(MalformedClass c);

}  // namespace ringflow::gen
