#include "decode/v5_decoder.h"

#include "wire/bytes.h"

namespace ringflow {

using wire::load_be16;
using wire::load_be32;

Reject check_pdu(const uint8_t* p, size_t avail, size_t* size) {
  if (avail < v5::kHeaderSize) return Reject::kTooShort;
  if (load_be16(p + v5::hdr::kVersion) != v5::kVersion) return Reject::kBadVersion;
  uint16_t count = load_be16(p + v5::hdr::kCount);
  if (count == 0) return Reject::kCountZero;
  if (count > v5::kMaxRecords) return Reject::kCountTooLarge;
  size_t need = v5::kHeaderSize + size_t{count} * v5::kRecordSize;
  if (avail < need) return Reject::kTruncated;
  *size = need;
  return Reject::kNone;
}

DatagramShape validate_datagram(const uint8_t* p, size_t len, const DecodeOptions& opt) {
  DatagramShape shape;
  size_t size = 0;
  Reject r = check_pdu(p, len, &size);
  if (r != Reject::kNone) {
    shape.reject = r;
    return shape;
  }
  size_t off = size;
  size_t pdus = 1;
  // Packed PDUs: keep going while the rest starts with a complete valid PDU.
  // The first PDU's problems name the reject reason; after it, anything that
  // is not a complete PDU is "trailing bytes" (there is no other reasonable
  // reading of a well-formed PDU followed by garbage).
  while (off < len && pdus < kMaxPdusPerDatagram &&
         check_pdu(p + off, len - off, &size) == Reject::kNone) {
    off += size;
    ++pdus;
  }
  if (off < len) {
    if (!opt.accept_trailing) {
      shape.reject = Reject::kTrailingBytes;
      return shape;
    }
    shape.trailing = true;
  }
  shape.pdus = static_cast<uint8_t>(pdus);
  return shape;
}

bool decode_header(const uint8_t* p, size_t len, v5::Header* h) {
  if (len < v5::kHeaderSize) return false;
  namespace o = v5::hdr;
  h->version = load_be16(p + o::kVersion);
  h->count = load_be16(p + o::kCount);
  h->sys_uptime_ms = load_be32(p + o::kSysUptime);
  h->unix_secs = load_be32(p + o::kUnixSecs);
  h->unix_nsecs = load_be32(p + o::kUnixNsecs);
  h->flow_sequence = load_be32(p + o::kFlowSequence);
  h->engine_type = p[o::kEngineType];
  h->engine_id = p[o::kEngineId];
  h->sampling_raw = load_be16(p + o::kSamplingInterval);
  return true;
}

size_t decode_pdu_at(const uint8_t* p, size_t len, size_t offset, int64_t now_ms,
                     const DecodeOptions& opt, Pdu* out) {
  out->count = 0;
  out->future_records = 0;
  out->inverted_records = 0;
  size_t size = 0;
  if (offset >= len || check_pdu(p + offset, len - offset, &size) != Reject::kNone) return 0;
  const uint8_t* pdu = p + offset;
  v5::Header& h = out->header;
  decode_header(pdu, size, &h);
  const int64_t export_ms = export_time_ms(h);
  out->export_ms = export_ms;
  out->boot_ms = export_ms - h.sys_uptime_ms;
  const int64_t future_limit = now_ms + opt.future_tolerance_ms;
  const uint32_t uptime = h.sys_uptime_ms;
  const uint16_t n = h.count;  // 1..30, and all 24 + 48*n bytes present (check_pdu)
  uint16_t future = 0, inverted = 0;
  namespace o = v5::rec;
  for (uint16_t i = 0; i < n; ++i) {
    const uint8_t* q = pdu + v5::kHeaderSize + size_t{i} * v5::kRecordSize;
    v5::Record& r = out->records[i];
    r.src_addr = load_be32(q + o::kSrcAddr);
    r.dst_addr = load_be32(q + o::kDstAddr);
    r.nexthop = load_be32(q + o::kNextHop);
    r.input = load_be16(q + o::kInput);
    r.output = load_be16(q + o::kOutput);
    r.packets = load_be32(q + o::kPackets);
    r.octets = load_be32(q + o::kOctets);
    r.first_raw = load_be32(q + o::kFirst);
    r.last_raw = load_be32(q + o::kLast);
    r.src_port = load_be16(q + o::kSrcPort);
    r.dst_port = load_be16(q + o::kDstPort);
    r.tcp_flags = q[o::kTcpFlags];
    r.protocol = q[o::kProtocol];
    r.tos = q[o::kTos];
    r.src_as = load_be16(q + o::kSrcAs);
    r.dst_as = load_be16(q + o::kDstAs);
    r.src_mask = q[o::kSrcMask];
    r.dst_mask = q[o::kDstMask];
    r.start_ms = uptime_to_ms(export_ms, uptime, r.first_raw);
    r.end_ms = uptime_to_ms(export_ms, uptime, r.last_raw);
    // Branch-free counts: the common case (neither) costs two compares.
    future = static_cast<uint16_t>(future + (r.end_ms > future_limit));
    inverted = static_cast<uint16_t>(inverted + (r.start_ms > r.end_ms));
  }
  out->count = n;
  out->future_records = future;
  out->inverted_records = inverted;
  return offset + size;
}

namespace {

// ::ffff:a.b.c.d with the address copied as sent (network order).
inline void put_v4(IpAddr* a, const uint8_t* q) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::memcpy(a->bytes.data(), kMapped, 12);
  std::memcpy(a->bytes.data() + 12, q, 4);
}

}  // namespace

size_t decode_pdu_flows(const uint8_t* p, size_t len, size_t offset, int64_t now_ms,
                        const DecodeOptions& opt, v5::Header* h, FlowRecord* out,
                        uint16_t* future_records, uint16_t* inverted_records,
                        uint16_t* unknown_time_records) {
  size_t size = 0;
  if (offset >= len || check_pdu(p + offset, len - offset, &size) != Reject::kNone) return 0;
  const uint8_t* pdu = p + offset;
  decode_header(pdu, size, h);
  const int64_t export_ms = export_time_ms(*h);
  const int64_t future_limit = now_ms + opt.future_tolerance_ms;
  const uint32_t uptime = h->sys_uptime_ms;
  const uint16_t n = h->count;  // 1..30, and all 24 + 48*n bytes present (check_pdu)
  uint16_t future = 0, inverted = 0, unknown = 0;
  namespace o = v5::rec;
  for (uint16_t i = 0; i < n; ++i) {
    const uint8_t* q = pdu + v5::kHeaderSize + size_t{i} * v5::kRecordSize;
    FlowRecord& r = out[i];
    // Every field is written: no template, so nothing is left at its default.
    put_v4(&r.src, q + o::kSrcAddr);
    put_v4(&r.dst, q + o::kDstAddr);
    put_v4(&r.nexthop, q + o::kNextHop);
    r.src_port = load_be16(q + o::kSrcPort);
    r.dst_port = load_be16(q + o::kDstPort);
    r.protocol = q[o::kProtocol];
    r.tos = q[o::kTos];
    r.tcp_flags = q[o::kTcpFlags];
    r.ip_version = 4;
    r.packets = load_be32(q + o::kPackets);
    r.bytes = load_be32(q + o::kOctets);
    r.start_ms = uptime_to_ms(export_ms, uptime, load_be32(q + o::kFirst));
    r.end_ms = uptime_to_ms(export_ms, uptime, load_be32(q + o::kLast));
    r.input = load_be16(q + o::kInput);
    r.output = load_be16(q + o::kOutput);
    r.src_as = load_be16(q + o::kSrcAs);
    r.dst_as = load_be16(q + o::kDstAs);
    r.src_mask = q[o::kSrcMask];
    r.dst_mask = q[o::kDstMask];
    r.direction = kDirectionUnknown;
    r.flags = 0;
    r.vlan = 0;
    r.sampler_id = 0;
    r.sampling = 1;
    // A time before 1993 (an exporter clock never set): unknown, see the header.
    if (__builtin_expect((r.start_ms < kMinFlowTimeMs) | (r.end_ms < kMinFlowTimeMs), 0)) {
      r.start_ms = r.end_ms = now_ms;
      r.flags = kFlowTimeUnknown;
      ++unknown;
    }
    // Branch-free counts: the common case (neither) costs two compares.
    future = static_cast<uint16_t>(future + (r.end_ms > future_limit));
    inverted = static_cast<uint16_t>(inverted + (r.start_ms > r.end_ms));
  }
  *future_records = future;
  *inverted_records = inverted;
  if (unknown_time_records) *unknown_time_records = unknown;
  return offset + size;
}

void decode_pdu(const uint8_t* p, size_t len, size_t index, int64_t now_ms,
                const DecodeOptions& opt, Pdu* out) {
  // Walk the count fields of the PDUs before `index` (at most 43 loads).
  size_t off = 0, size = 0;
  for (size_t i = 0; i < index; ++i) {
    if (off >= len || check_pdu(p + off, len - off, &size) != Reject::kNone) {
      out->count = out->future_records = out->inverted_records = 0;
      return;
    }
    off += size;
  }
  decode_pdu_at(p, len, off, now_ms, opt, out);
}

}  // namespace ringflow
