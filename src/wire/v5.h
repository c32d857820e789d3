// NetFlow v5 wire format: the one place that states the layout, shared by the
// decoder (src/decode/v5_decoder.*) and the encoder (src/gen/v5_encoder.*)
// used by ringflow-gen and the tests. See docs/architecture.md.
//
// Datagram = Header (24 bytes) followed by `count` Records (48 bytes each),
// 1 <= count <= 30, all fields in network byte order.
//
//  Header                               Record
//  off size field                       off size field
//   0   2   version (= 5)                0   4   srcaddr
//   2   2   count (1..30)                4   4   dstaddr
//   4   4   sys_uptime (ms since boot)   8   4   nexthop
//   8   4   unix_secs                   12   2   input (ifIndex)
//  12   4   unix_nsecs                  14   2   output (ifIndex)
//  16   4   flow_sequence (flows seen)  16   4   dPkts
//  20   1   engine_type                 20   4   dOctets
//  21   1   engine_id                   24   4   first (sys_uptime at start)
//  22   2   sampling_interval           28   4   last (sys_uptime at end)
//           (2 bits mode, 14 interval)  32   2   srcport
//                                       34   2   dstport
//                                       36   1   pad1
//                                       37   1   tcp_flags (OR)
//                                       38   1   prot
//                                       39   1   tos
//                                       40   2   src_as
//                                       42   2   dst_as
//                                       44   1   src_mask
//                                       45   1   dst_mask
//                                       46   2   pad2
//
// The structs below are decoded values in host order, never overlays of the
// datagram: decoding uses bounded byte loads (src/decode/v5_decoder.cc).
//
// Header-only, no dependencies (the wire stage library is an INTERFACE
// target); thread safety: constants and plain value types.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringflow::v5 {

inline constexpr uint16_t kVersion = 5;
inline constexpr size_t kHeaderSize = 24;
inline constexpr size_t kRecordSize = 48;
inline constexpr uint16_t kMaxRecords = 30;
inline constexpr size_t kMaxPduSize = kHeaderSize + kMaxRecords * kRecordSize;  // 1464

// Header field offsets.
namespace hdr {
inline constexpr size_t kVersion = 0, kCount = 2, kSysUptime = 4, kUnixSecs = 8,
                        kUnixNsecs = 12, kFlowSequence = 16, kEngineType = 20,
                        kEngineId = 21, kSamplingInterval = 22;
}
// Record field offsets.
namespace rec {
inline constexpr size_t kSrcAddr = 0, kDstAddr = 4, kNextHop = 8, kInput = 12,
                        kOutput = 14, kPackets = 16, kOctets = 20, kFirst = 24,
                        kLast = 28, kSrcPort = 32, kDstPort = 34, kPad1 = 36,
                        kTcpFlags = 37, kProtocol = 38, kTos = 39, kSrcAs = 40,
                        kDstAs = 42, kSrcMask = 44, kDstMask = 45, kPad2 = 46;
}

// A packed mirror of the wire layout, used only to check the offsets above at
// compile time. Never cast a datagram to it.
#pragma pack(push, 1)
struct WireHeader {
  uint16_t version, count;
  uint32_t sys_uptime, unix_secs, unix_nsecs, flow_sequence;
  uint8_t engine_type, engine_id;
  uint16_t sampling_interval;
};
struct WireRecord {
  uint32_t srcaddr, dstaddr, nexthop;
  uint16_t input, output;
  uint32_t dpkts, doctets, first, last;
  uint16_t srcport, dstport;
  uint8_t pad1, tcp_flags, prot, tos;
  uint16_t src_as, dst_as;
  uint8_t src_mask, dst_mask;
  uint16_t pad2;
};
#pragma pack(pop)
static_assert(sizeof(WireHeader) == kHeaderSize);
static_assert(sizeof(WireRecord) == kRecordSize);
static_assert(offsetof(WireHeader, sampling_interval) == hdr::kSamplingInterval);
static_assert(offsetof(WireRecord, last) == rec::kLast);
static_assert(offsetof(WireRecord, tcp_flags) == rec::kTcpFlags);
static_assert(offsetof(WireRecord, dst_mask) == rec::kDstMask);

// Decoded header, host order, raw values.
struct Header {
  uint16_t version = 0;
  uint16_t count = 0;
  uint32_t sys_uptime_ms = 0;
  uint32_t unix_secs = 0;
  uint32_t unix_nsecs = 0;
  uint32_t flow_sequence = 0;
  uint8_t engine_type = 0;
  uint8_t engine_id = 0;
  uint16_t sampling_raw = 0;  // as sent: mode in bits 15..14, interval in 13..0

  uint8_t sampling_mode() const { return static_cast<uint8_t>(sampling_raw >> 14); }
  uint16_t sampling_interval() const { return sampling_raw & 0x3FFF; }
};

// Decoded record, host order. Raw fields as sent, plus absolute times
// computed by the decoder (milliseconds since the Unix epoch).
struct Record {
  uint32_t src_addr = 0, dst_addr = 0, nexthop = 0;
  uint16_t input = 0, output = 0;
  uint32_t packets = 0;   // dPkts as sent (not renormalized)
  uint32_t octets = 0;    // dOctets as sent (not renormalized)
  uint32_t first_raw = 0, last_raw = 0;  // sys_uptime ms as sent
  uint16_t src_port = 0, dst_port = 0;
  uint8_t tcp_flags = 0, protocol = 0, tos = 0;
  uint16_t src_as = 0, dst_as = 0;
  uint8_t src_mask = 0, dst_mask = 0;

  int64_t start_ms = 0;  // export time + (int32)(first - sys_uptime)
  int64_t end_ms = 0;    // export time + (int32)(last - sys_uptime)
};

}  // namespace ringflow::v5
