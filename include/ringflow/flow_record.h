// FlowRecord: one flow as every version decodes it. NetFlow v5, v9 and IPFIX
// records all become this type (src/decode/), and aggregation, the sinks and
// --print-flows consume only it, so a stage after decode never asks which
// version a flow came in.
//
// Values are as the exporter sent them, widened: counters 64-bit, interfaces
// and AS numbers 32-bit, addresses 16 bytes with IPv4 v4-mapped
// (::ffff:a.b.c.d, see <ringflow/ip.h>). packets/bytes are NOT renormalized:
// `sampling` holds the rate the worker resolved for the record (1 = not
// sampled), and aggregation multiplies. Times are absolute milliseconds since
// the Unix epoch, whatever the wire form (v5/v9 uptime, IPFIX seconds,
// milliseconds, NTP micro/nanoseconds or delta microseconds).
//
// Fields a template does not carry keep the values of kEmptyFlow below:
// zero, except direction (kDirectionUnknown). A record without any address
// element has ip_version 0 and all-zero addresses.
//
// Layout: 128 bytes, aligned to a cache line: the key fields, counters and
// start time that aggregation reads for the default 5-tuple key all sit in
// the first 64 bytes.
//
// Thread safety: a plain value.
#pragma once

#include <cstddef>
#include <cstdint>

#include <ringflow/ip.h>

namespace ringflow {

inline constexpr uint8_t kDirectionIngress = 0, kDirectionEgress = 1, kDirectionUnknown = 255;
inline constexpr size_t kEnrichSlots = 4;  // FlowRecord::enrich

struct alignas(64) FlowRecord {
  // --- flow key ---
  IpAddr src;      // sourceIPv4Address (8) or sourceIPv6Address (27)
  IpAddr dst;      // destinationIPv4Address (12) or destinationIPv6Address (28)
  uint16_t src_port = 0, dst_port = 0;  // ICMP: dst_port = type << 8 | code when only ICMP IEs carry them
  uint8_t protocol = 0, tos = 0, tcp_flags = 0;
  uint8_t ip_version = 0;  // 4 or 6 (from the addresses, or ipVersion), 0 = no address
  // --- counters ---
  uint64_t packets = 0;  // as sent (delta; else total; else initiator + responder)
  uint64_t bytes = 0;
  int64_t start_ms = 0, end_ms = 0;  // absolute, ms since 1970
  // --- routing ---
  IpAddr nexthop;  // ipNextHopIPv4/IPv6Address (15/62), else bgpNextHop (18/63)
  uint32_t input = 0, output = 0;  // ingress/egressInterface (10/14)
  uint32_t src_as = 0, dst_as = 0;
  uint8_t src_mask = 0, dst_mask = 0;
  uint8_t direction = kDirectionUnknown;  // flowDirection (61): 0 ingress, 1 egress
  uint8_t flags = 0;                      // kFlow* bits below
  uint16_t vlan = 0;                      // vlanId (58), else dot1qVlanId (243)
  uint8_t as_sources = 0;                 // kFlow*AsSourceShift below (enrich stage)
  // --- sampling ---
  uint32_t sampler_id = 0;  // samplerId (48) / selectorId (302) when kFlowHasSamplerId
  uint32_t sampling = 1;    // rate applied (>= 1); the decoder leaves the in-record
                            // rate here when kFlowHasRate, the reader resolves it
                            // (src/decode/sampling.h, RecordSampling)
  // --- added by record stages (src/pipeline/record_stage.h) ---
  // Ids a stage interned (an exporter or interface name, a network, a
  // country...), 0 = none; which slot holds what is the stage's to say. They
  // fill the padding of the 128 bytes: the decoders' prototypes zero them at
  // no extra cost.
  uint16_t enrich[kEnrichSlots] = {};
};

// FlowRecord::flags
inline constexpr uint8_t kFlowHasSamplerId = 1;  // sampler_id came with the record
inline constexpr uint8_t kFlowHasRate = 2;       // the record carried its own sampling rate
inline constexpr uint8_t kFlowTimeUnknown = 4;   // no usable time: start/end = export time
// v9/IPFIX packet sections (src/decode/decode_plan.h): how parsing the
// record's section ended, when it did not complete (two bits).
inline constexpr uint8_t kFlowSectionMask = 8 | 16;
inline constexpr uint8_t kFlowSectionCut = 8;             // the section ended inside a header
inline constexpr uint8_t kFlowSectionUnsupported = 16;    // a header the parser does not follow
inline constexpr uint8_t kFlowSectionMalformed = 8 | 16;  // inconsistent header fields

// FlowRecord::as_sources, set by the enrich stage (src/pipeline/enrich_stage.h):
// which source gave src_as (bits 0-1) and dst_as (bits 2-3): 0 none / not
// enriched, 1 the record, 2 the networks file, 3 the MMDB (kAsSourceNames,
// flow_key.h).
inline constexpr unsigned kFlowSrcAsSourceShift = 0, kFlowDstAsSourceShift = 2;

// FlowRecord::enrich slots used by the enrich stage: the networks tuple id
// (src/enrich/names.h) of the source and destination address, and their
// country codes (two ASCII letters, the first in the low byte).
inline constexpr size_t kEnrichSrcNet = 0, kEnrichDstNet = 1, kEnrichSrcCountry = 2,
                        kEnrichDstCountry = 3;

inline constexpr FlowRecord kEmptyFlow{};
static_assert(sizeof(FlowRecord) == 128);

}  // namespace ringflow
