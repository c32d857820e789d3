// sFlow version 5 wire format (sflow.org, sflow_version_5.txt): the one place
// that states the layout, for the decoder (src/decode/sflow_decoder.*) and,
// later, an encoder in src/gen/. Everything is XDR: big-endian 32-bit words,
// 64-bit hyper integers, opaque data padded to a multiple of 4 bytes.
//
// Datagram header                     (IPv4 agent: 28 bytes; IPv6 agent: 40)
//   version (5) | agent address type (1 = IPv4, 2 = IPv6) | address (4 or 16)
//   | sub_agent_id | sequence_number | uptime (ms) | num_samples
// then num_samples sample records:
//   data_format (enterprise << 12 | format) | length | <length bytes>
//
// Sample data (enterprise 0):
//   1 flow_sample            seq | source_id | rate | pool | drops | input
//                            | output | num_records                   (32 bytes)
//   2 counters_sample        seq | source_id | num_records            (12 bytes)
//   3 flow_sample_expanded   seq | source_id_type | source_id_index | rate
//                            | pool | drops | input_format | input_value
//                            | output_format | output_value | num_records (44)
//   4 counters_sample_expanded  seq | source_id_type | source_id_index
//                            | num_records                            (16 bytes)
//   (5 discard sample is sflow_drops.txt, not part of sFlow v5 proper.)
// Compact source_id: type in the top 8 bits, index in the low 24. Compact
// interface words: format in the top 2 bits, value in the low 30 (output
// format 0 value 0x3FFFFFFF = internal; format 1 = discarded, value = reason;
// format 2 = several interfaces, value = their number, 0 = unknown).
//
// Each flow / counter record: data_format | length | <length bytes>.
#pragma once

#include <cstdint>

namespace ringflow::sflow {

inline constexpr uint32_t kVersion5 = 5;
inline constexpr uint32_t kAddressIPv4 = 1, kAddressIPv6 = 2;

inline constexpr uint32_t kHeaderV4Size = 28, kHeaderV6Size = 40;
inline constexpr uint32_t kFormatHeaderSize = 8;  // data_format + length (samples and records)

// data_format: enterprise in the top 20 bits, format in the low 12.
inline constexpr uint32_t enterprise_of(uint32_t data_format) { return data_format >> 12; }
inline constexpr uint32_t format_of(uint32_t data_format) { return data_format & 0xFFF; }

// Sample formats (enterprise 0).
inline constexpr uint32_t kFlowSample = 1, kCountersSample = 2, kFlowSampleExpanded = 3,
                          kCountersSampleExpanded = 4, kDiscardSample = 5;
inline constexpr uint32_t kFlowSampleFixed = 32, kCountersSampleFixed = 12,
                          kFlowSampleExpandedFixed = 44, kCountersSampleExpandedFixed = 16;

inline constexpr uint32_t source_type_of(uint32_t source_id) { return source_id >> 24; }
inline constexpr uint32_t source_index_of(uint32_t source_id) { return source_id & 0xFFFFFF; }
inline constexpr uint32_t if_format_of(uint32_t word) { return word >> 30; }
inline constexpr uint32_t if_value_of(uint32_t word) { return word & 0x3FFFFFFF; }
inline constexpr uint32_t kIfInternal = 0x3FFFFFFF;

// Flow record formats (enterprise 0) and their fixed sizes.
inline constexpr uint32_t kRawHeader = 1;        // protocol | frame_length | stripped
inline constexpr uint32_t kRawHeaderFixed = 16;  //   | header_length | header bytes (padded)
inline constexpr uint32_t kSampledEthernet =
    2;  // length | src_mac[6]+pad2 | dst_mac[6]+pad2 | type
inline constexpr uint32_t kSampledEthernetSize = 24;
inline constexpr uint32_t kSampledIPv4 = 3;          // length | protocol | src | dst | src_port
inline constexpr uint32_t kSampledIPv4Size = 32;     //   | dst_port | tcp_flags | tos
inline constexpr uint32_t kSampledIPv6 = 4;          // as IPv4 with 16-byte addresses and
inline constexpr uint32_t kSampledIPv6Size = 56;     //   priority instead of tos
inline constexpr uint32_t kExtendedSwitch = 1001;    // src_vlan | src_priority | dst_vlan
inline constexpr uint32_t kExtendedSwitchSize = 16;  //   | dst_priority
inline constexpr uint32_t kExtendedRouter = 1002;    // next_hop (address) | src_mask | dst_mask
inline constexpr uint32_t kExtendedGateway = 1003;   // next_hop | as | src_as | src_peer_as
                                                     // | segments<> (type | count | as<>)
                                                     // | communities<> | localpref
inline constexpr uint32_t kExtendedUser = 1004, kExtendedUrl = 1005;
inline constexpr uint32_t kExtendedMpls = 1006;  // next_hop | in_stack<> | out_stack<>
inline constexpr uint32_t kAsPathSet = 1, kAsPathSequence = 2;

// header_protocol of a raw packet header (format 1).
inline constexpr uint32_t kHeaderEthernet = 1;  // ETHERNET-ISO88023
inline constexpr uint32_t kHeaderIPv4 = 11, kHeaderIPv6 = 12, kHeaderMpls = 13;

// Counter record formats (enterprise 0).
inline constexpr uint32_t kGenericInterface = 1;  // see the layout in GenericIfCounters
inline constexpr uint32_t kGenericInterfaceSize = 88;
inline constexpr uint32_t kEthernetInterface = 2;  // 13 x 32-bit dot3Stats counters
inline constexpr uint32_t kEthernetInterfaceSize = 52;

// Generic interface counters (format 1), byte offsets in the record body.
namespace generic {
inline constexpr uint32_t kIfIndex = 0, kIfType = 4, kIfSpeed = 8 /*64*/, kIfDirection = 16,
                          kIfStatus = 20 /*bit 0 admin up, bit 1 oper up*/, kInOctets = 24 /*64*/,
                          kInUcast = 32, kInMcast = 36, kInBcast = 40, kInDiscards = 44,
                          kInErrors = 48, kInUnknown = 52, kOutOctets = 56 /*64*/, kOutUcast = 64,
                          kOutMcast = 68, kOutBcast = 72, kOutDiscards = 76, kOutErrors = 80,
                          kPromisc = 84;
}  // namespace generic

}  // namespace ringflow::sflow
