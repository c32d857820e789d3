#include "gen/v5_encoder.h"

#include "wire/bytes.h"

namespace ringflow::v5 {

using wire::store_be16;
using wire::store_be32;

size_t write_v5_header(const Header& h, uint8_t* out, size_t cap) {
  if (out == nullptr || cap < kHeaderSize) return 0;
  store_be16(out + hdr::kVersion, h.version);
  store_be16(out + hdr::kCount, h.count);
  store_be32(out + hdr::kSysUptime, h.sys_uptime_ms);
  store_be32(out + hdr::kUnixSecs, h.unix_secs);
  store_be32(out + hdr::kUnixNsecs, h.unix_nsecs);
  store_be32(out + hdr::kFlowSequence, h.flow_sequence);
  out[hdr::kEngineType] = h.engine_type;
  out[hdr::kEngineId] = h.engine_id;
  store_be16(out + hdr::kSamplingInterval, h.sampling_raw);
  return kHeaderSize;
}

size_t write_v5_record(const Record& r, uint8_t* out, size_t cap) {
  if (out == nullptr || cap < kRecordSize) return 0;
  store_be32(out + rec::kSrcAddr, r.src_addr);
  store_be32(out + rec::kDstAddr, r.dst_addr);
  store_be32(out + rec::kNextHop, r.nexthop);
  store_be16(out + rec::kInput, r.input);
  store_be16(out + rec::kOutput, r.output);
  store_be32(out + rec::kPackets, r.packets);
  store_be32(out + rec::kOctets, r.octets);
  store_be32(out + rec::kFirst, r.first_raw);
  store_be32(out + rec::kLast, r.last_raw);
  store_be16(out + rec::kSrcPort, r.src_port);
  store_be16(out + rec::kDstPort, r.dst_port);
  out[rec::kPad1] = 0;
  out[rec::kTcpFlags] = r.tcp_flags;
  out[rec::kProtocol] = r.protocol;
  out[rec::kTos] = r.tos;
  store_be16(out + rec::kSrcAs, r.src_as);
  store_be16(out + rec::kDstAs, r.dst_as);
  out[rec::kSrcMask] = r.src_mask;
  out[rec::kDstMask] = r.dst_mask;
  store_be16(out + rec::kPad2, 0);
  return kRecordSize;
}

size_t write_v5_record_at(const Record& r, size_t index, uint8_t* pdu, size_t cap) {
  size_t off = pdu_size(index);
  if (pdu == nullptr || cap < off || cap - off < kRecordSize) return 0;
  return write_v5_record(r, pdu + off, cap - off);
}

bool patch_v5_count(uint8_t* pdu, size_t cap, uint16_t count) {
  if (pdu == nullptr || cap < kHeaderSize) return false;
  store_be16(pdu + hdr::kCount, count);
  return true;
}

bool patch_v5_sequence(uint8_t* pdu, size_t cap, uint32_t flow_sequence) {
  if (pdu == nullptr || cap < kHeaderSize) return false;
  store_be32(pdu + hdr::kFlowSequence, flow_sequence);
  return true;
}

bool patch_v5_version(uint8_t* pdu, size_t cap, uint16_t version) {
  if (pdu == nullptr || cap < kHeaderSize) return false;
  store_be16(pdu + hdr::kVersion, version);
  return true;
}

size_t encode_v5(const Header& h, const Record* records, size_t n, uint8_t* out, size_t cap) {
  if (out == nullptr || cap < kHeaderSize) return 0;
  // Compare by division: n is caller-controlled and 24 + 48*n could overflow.
  if (n > (cap - kHeaderSize) / kRecordSize) return 0;
  if (n > 0 && records == nullptr) return 0;
  size_t total = pdu_size(n);
  Header hh = h;
  // count is a 16-bit field; a larger n is written truncated, as on the wire.
  hh.count = static_cast<uint16_t>(n);
  write_v5_header(hh, out, cap);
  for (size_t i = 0; i < n; ++i) write_v5_record(records[i], out + pdu_size(i), kRecordSize);
  return total;
}

}  // namespace ringflow::v5
