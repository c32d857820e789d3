// The ringflow forwarding encapsulation, version 1: a fixed 24-byte header a
// forwarder (src/forward/forwarder.h, encapsulation = "ringflow") puts in
// front of each datagram it re-sends, so that the receiving ringflow knows the
// exporter's address and port although the UDP source is the forwarder's.
// A ringflow receives it only from senders in receive.forwarded_from
// (src/pipeline/forward_admission.h unwraps it before the ordered stage);
// docs/cluster.md documents the layout for other tools.
//
//   offset  size  field
//   0       4     magic "RFWD" (0x52 0x46 0x57 0x44): no NetFlow/IPFIX version
//                 (5, 9, 10) nor sFlow (0x00000005) starts so
//   4       1     version = 1 (a receiver refuses any other, counted)
//   5       1     flags: bit 0 kFlagTemplatesOnly (a balance-mode copy with
//                 only template, options-template and options-data sets; the
//                 receiver decodes it but leaves the stream's sequence alone),
//                 bit 1 kFlagProbe (a liveness probe, no payload); others 0
//   6       2     exporter UDP source port, big-endian
//   8       16    exporter address, IPv4 as ::ffff:a.b.c.d
//   24      ...   the exporter's datagram, unchanged (or the templates copy)
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <ringflow/ip.h>

namespace ringflow::encap {

inline constexpr uint8_t kMagic[4] = {'R', 'F', 'W', 'D'};
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderSize = 24;
inline constexpr uint8_t kFlagTemplatesOnly = 1u << 0;
inline constexpr uint8_t kFlagProbe = 1u << 1;
inline constexpr uint8_t kKnownFlags = kFlagTemplatesOnly | kFlagProbe;

inline void write_header(uint8_t* out, const IpAddr& exporter, uint16_t port, uint8_t flags) {
  std::memcpy(out, kMagic, 4);
  out[4] = kVersion;
  out[5] = flags;
  out[6] = static_cast<uint8_t>(port >> 8);
  out[7] = static_cast<uint8_t>(port);
  std::memcpy(out + 8, exporter.bytes.data(), 16);
}

// True when the datagram starts with the magic (then it is ours, valid or not).
inline bool is_encapsulated(const uint8_t* p, size_t len) {
  return len >= 4 && std::memcmp(p, kMagic, 4) == 0;
}

struct Header {
  IpAddr exporter;
  uint16_t port = 0;
  uint8_t flags = 0;
};

enum class ParseResult : uint8_t { kOk, kTooShort, kBadVersion, kBadFlags };

// REQUIRES: is_encapsulated(p, len).
inline ParseResult parse_header(const uint8_t* p, size_t len, Header* h) {
  if (len < kHeaderSize) return ParseResult::kTooShort;
  if (p[4] != kVersion) return ParseResult::kBadVersion;
  if (p[5] & ~kKnownFlags) return ParseResult::kBadFlags;
  h->flags = p[5];
  h->port = static_cast<uint16_t>(p[6] << 8 | p[7]);
  std::memcpy(h->exporter.bytes.data(), p + 8, 16);
  return ParseResult::kOk;
}

}  // namespace ringflow::encap
