// NetFlow v5 decoder: one received datagram in, decoded headers and records
// (with absolute times) out, or the reason it was rejected.
//
// Two steps, always in this order:
//   1. validate_datagram() checks the whole datagram (every packed PDU and
//      the trailing bytes) before anything is decoded, so a datagram is
//      either accepted whole or rejected whole and counted under exactly one
//      Reject reason (include/ringflow/stats.h);
//   2. decode_pdu() decodes one accepted PDU into a caller-owned Pdu.
// Neither allocates, throws, or reads a byte outside [p, p + len): every field
// is a bounded big-endian byte load (src/wire/bytes.h) at an offset from
// src/wire/v5.h, never a cast of the datagram to a struct (the datagram has
// no alignment guarantee and the host is little-endian).
//
// Validation, in order (the first failing rule names the reason):
//   len < 24                         -> kTooShort
//   version != 5                     -> kBadVersion
//   count == 0                       -> kCountZero
//   count > 30                       -> kCountTooLarge
//   len < 24 + 48*count              -> kTruncated
//   len > 24 + 48*count: the rest is examined as another PDU. Some exporters
//     pack several PDUs into one datagram (nfdump decodes them), so while the
//     remaining bytes start with a complete, valid v5 PDU (version 5,
//     1 <= count <= 30, all 24 + 48*count bytes present) it is accepted too.
//     Whatever follows the last complete PDU is trailing bytes -> kTrailingBytes,
//     or accepted (DatagramShape::trailing, counted by the caller) when
//     DecodeOptions::accept_trailing. At most kMaxPdusPerDatagram PDUs are
//     taken; anything after them is trailing bytes too.
//
// Times (why signed 32-bit differences): first/last/sys_uptime are readings
// of the exporter's 32-bit millisecond uptime clock, which wraps every 49.7
// days. Taking (int32_t)(first - sys_uptime) gives the flow's offset from the
// export time correctly across a wrap (first "ahead" of sys_uptime as unsigned
// numbers means the flow started before the wrap), as long as the flow is
// within +-24.8 days of the export, which every real cache timeout is.
//   export_ms = unix_secs*1000 + unix_nsecs/1e6
//   boot_ms   = export_ms - sys_uptime       (informational; wraps with uptime)
//   start_ms  = export_ms + (int32_t)(first - sys_uptime)
//   end_ms    = export_ms + (int32_t)(last  - sys_uptime)
// Records are never dropped for their times; two anomalies are counted per
// PDU: end_ms > now_ms + future_tolerance_ms (future_records), and
// start_ms > end_ms (inverted_records).
// A start or end before kMinFlowTimeMs (1993-01-01T00:00:00Z; NetFlow
// appeared in 1996, so no real flow is older, while an exporter whose clock
// was never set sends 1970) cannot be known: decode_pdu_flows() then sets
// both to now_ms and kFlowTimeUnknown, and counts the record in
// *unknown_time_records, as v9/IPFIX records without a usable time are.
//
// Thread safety: pure functions on caller-owned memory; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>

#include <ringflow/flow_record.h>
#include <ringflow/stats.h>

#include "wire/v5.h"

namespace ringflow {

// 1993-01-01T00:00:00Z in ms since the epoch: see "Times" above.
inline constexpr int64_t kMinFlowTimeMs = 725846400000;

struct DecodeOptions {
  bool accept_trailing = false;         // accept datagrams with trailing bytes (flagged in shape)
  int64_t future_tolerance_ms = 10000;  // end_ms beyond now + this is counted as future
};

// The most PDUs one datagram can carry when each is full: 65535 / 1464.
inline constexpr size_t kMaxPdusPerDatagram = 44;

// Result of validating a whole datagram before anything is decoded: either a
// reject reason, or the PDU count (>= 1) and whether trailing bytes were
// accepted.
struct DatagramShape {
  Reject reject = Reject::kNone;
  uint8_t pdus = 0;       // 1..kMaxPdusPerDatagram when reject == kNone, else 0
  bool trailing = false;  // accepted with trailing bytes (only with accept_trailing)
};

DatagramShape validate_datagram(const uint8_t* p, size_t len, const DecodeOptions& opt);

// One decoded PDU, in a caller-provided fixed buffer (no allocation).
// About 2 KB: keep it as a member or static, not in a hot stack frame.
struct Pdu {
  v5::Header header;
  int64_t export_ms = 0;  // unix_secs*1000 + unix_nsecs/1e6
  int64_t boot_ms = 0;    // export_ms - sys_uptime
  uint16_t count = 0;     // records[0..count) are valid; 0 when decode_pdu had nothing to decode
  uint16_t future_records = 0, inverted_records = 0;  // counted, not dropped
  v5::Record records[v5::kMaxRecords];
};

// Decodes PDU number `index` (0-based) of a datagram that validate_datagram
// accepted, with now_ms (epoch ms) as the reference for future_records.
// REQUIRES: validate_datagram(p, len, opt) accepted with index < shape.pdus.
// Defensive anyway: if the PDU at `index` is not complete and valid, sets
// out->count = 0 and reads nothing outside [p, p + len).
void decode_pdu(const uint8_t* p, size_t len, size_t index, int64_t now_ms,
                const DecodeOptions& opt, Pdu* out);

// The same, addressed by byte offset instead of index (walking packed PDUs
// without re-scanning from the start). Returns the offset just past the
// decoded PDU (the next PDU's offset, or len), or 0 when the bytes at
// `offset` are not a complete valid PDU (out->count = 0 then).
size_t decode_pdu_at(const uint8_t* p, size_t len, size_t offset, int64_t now_ms,
                     const DecodeOptions& opt, Pdu* out);

// The pipeline's form of decode_pdu_at: the PDU at `offset` decoded straight
// into FlowRecords (out[0..count), count = h->count), with its header in *h
// and the future / inverted / unknown-time counts as above. Returns the
// offset just past the PDU, or 0 (and writes nothing) when the bytes at
// `offset` are not a complete valid PDU. REQUIRES: out has room for
// kMaxRecords records.
size_t decode_pdu_flows(const uint8_t* p, size_t len, size_t offset, int64_t now_ms,
                        const DecodeOptions& opt, v5::Header* h, FlowRecord* out,
                        uint16_t* future_records, uint16_t* inverted_records,
                        uint16_t* unknown_time_records = nullptr);

// ---- Building blocks, exposed for the tests, the fuzzer and the tracker ----

// Checks the PDU starting at p (avail bytes from p to the end of the
// datagram): kNone and *size = 24 + 48*count when it is complete and valid.
Reject check_pdu(const uint8_t* p, size_t avail, size_t* size);

// Decodes the 24-byte header. Returns false (and leaves *out alone) when
// len < 24. Performs no validation of the values.
bool decode_header(const uint8_t* p, size_t len, v5::Header* out);

// Export time of a header in epoch ms (unix_nsecs beyond 1e9 is taken as
// sent: the exporter's clock, not ours to fix).
inline int64_t export_time_ms(const v5::Header& h) {
  return int64_t{h.unix_secs} * 1000 + h.unix_nsecs / 1000000;
}
// Absolute time of an uptime reading `t` taken by the exporter, given the
// header's export time and sys_uptime: see "Times" above.
inline int64_t uptime_to_ms(int64_t export_ms, uint32_t sys_uptime_ms, uint32_t t) {
  return export_ms + static_cast<int32_t>(t - sys_uptime_ms);
}

}  // namespace ringflow
