#include "gen/template_encoder.h"

#include <cstring>

#include "wire/bytes.h"
#include "wire/ie.h"
#include "wire/ipfix.h"
#include "wire/netflow9.h"

namespace ringflow::gen {
namespace {

size_t header_size(WireVersion v) {
  return v == WireVersion::kV9 ? v9::kHeaderSize : ipfix::kHeaderSize;
}

bool is_var(const FieldSpec& f) { return f.length == ipfix::kVariableLength; }

size_t var_size(size_t n) { return n < ipfix::kLongVarLength ? 1 + n : 3 + n; }

// The value of element `id` for a record, as an unsigned integer; false for
// elements written another way (addresses) or not mapped (zeros).
bool uint_value(uint16_t id, const RecordValues& v, uint64_t* out) {
  const FlowRecord& r = *v.flow;
  switch (id) {
    case ie::kOctetDeltaCount: case ie::kOctetTotalCount: *out = r.bytes; return true;
    case ie::kPacketDeltaCount: case ie::kPacketTotalCount: *out = r.packets; return true;
    case ie::kProtocolIdentifier: *out = r.protocol; return true;
    case ie::kIpClassOfService: *out = r.tos; return true;
    case ie::kTcpControlBits: *out = r.tcp_flags; return true;
    case ie::kSourceTransportPort: *out = r.src_port; return true;
    case ie::kDestinationTransportPort: *out = r.dst_port; return true;
    case ie::kSourceIPv4PrefixLength: case ie::kSourceIPv6PrefixLength: *out = r.src_mask; return true;
    case ie::kDestinationIPv4PrefixLength: case ie::kDestinationIPv6PrefixLength:
      *out = r.dst_mask;
      return true;
    case ie::kIngressInterface: *out = r.input; return true;
    case ie::kEgressInterface: *out = r.output; return true;
    case ie::kBgpSourceAsNumber: *out = r.src_as; return true;
    case ie::kBgpDestinationAsNumber: *out = r.dst_as; return true;
    case ie::kFlowDirection: *out = r.direction; return true;
    case ie::kVlanId: case ie::kDot1qVlanId: *out = r.vlan; return true;
    case ie::kIpVersion: *out = r.ip_version; return true;
    case ie::kSamplerId: case ie::kSelectorId: *out = r.sampler_id; return true;
    case ie::kSamplingInterval: case ie::kSamplerRandomInterval: *out = v.rate; return true;
    case ie::kSamplingPacketInterval: *out = v.rate ? 1 : 0; return true;
    case ie::kSamplingPacketSpace: *out = v.rate ? v.rate - 1 : 0; return true;
    case ie::kSamplingSize: *out = v.rate ? 1 : 0; return true;
    case ie::kSamplingPopulation: *out = v.rate; return true;
    case ie::kFlowStartSysUpTime: *out = v.first_uptime_ms; return true;
    case ie::kFlowEndSysUpTime: *out = v.last_uptime_ms; return true;
    case ie::kFlowStartSeconds: *out = static_cast<uint64_t>(r.start_ms / 1000); return true;
    case ie::kFlowEndSeconds: *out = static_cast<uint64_t>(r.end_ms / 1000); return true;
    case ie::kFlowStartMilliseconds: *out = static_cast<uint64_t>(r.start_ms); return true;
    case ie::kFlowEndMilliseconds: *out = static_cast<uint64_t>(r.end_ms); return true;
    case ie::kFlowStartMicroseconds: case ie::kFlowStartNanoseconds:
    case ie::kFlowEndMicroseconds: case ie::kFlowEndNanoseconds: {
      const int64_t ms = (id == ie::kFlowStartMicroseconds || id == ie::kFlowStartNanoseconds)
                             ? r.start_ms : r.end_ms;
      const uint64_t secs = static_cast<uint64_t>(ms / 1000) + ipfix::kNtpToUnixSeconds;
      // The fraction of a second, rounded up so that the decoder's floor of
      // fraction * 1000 / 2^32 gives back the same millisecond.
      const uint64_t frac = ((static_cast<uint64_t>(ms % 1000) << 32) + 999) / 1000;
      *out = secs << 32 | (frac & 0xFFFFFFFFull);
      return true;
    }
    case ie::kFlowStartDeltaMicroseconds:
      *out = static_cast<uint64_t>(v.export_ms - r.start_ms) * 1000;
      return true;
    case ie::kFlowEndDeltaMicroseconds:
      *out = static_cast<uint64_t>(v.export_ms - r.end_ms) * 1000;
      return true;
    case ie::kSystemInitTimeMilliseconds: *out = v.system_init_ms; return true;
  }
  return false;
}

}  // namespace

size_t TemplateSpec::fixed_record_len() const {
  size_t n = 0;
  for (const FieldSpec& f : fields) n += is_var(f) ? 0 : f.length;
  return n;
}

bool TemplateSpec::variable() const {
  for (const FieldSpec& f : fields)
    if (is_var(f)) return true;
  return false;
}

MessageBuilder::MessageBuilder(WireVersion v, uint8_t* buf, size_t cap)
    : v_(v), buf_(buf), cap_(cap), pos_(header_size(v)) {}

bool MessageBuilder::begin_set(uint16_t set_id) {
  if (set_start_) end_set();
  if (room() < ipfix::kSetHeaderSize) return false;
  set_start_ = pos_;
  wire::store_be16(buf_ + pos_, set_id);
  wire::store_be16(buf_ + pos_ + 2, 0);
  pos_ += ipfix::kSetHeaderSize;
  return true;
}

size_t MessageBuilder::template_record_size(WireVersion v, const TemplateSpec& t) {
  size_t n = t.options ? 6 : 4;
  for (const FieldSpec& f : t.fields) n += (v == WireVersion::kIpfix && f.pen) ? 8 : 4;
  return n;
}

bool MessageBuilder::template_record(const TemplateSpec& t) {
  const size_t need = template_record_size(v_, t);
  if (!set_start_ || room() < need) return false;
  uint8_t* p = buf_ + pos_;
  wire::store_be16(p, t.id);
  if (v_ == WireVersion::kV9 && t.options) {
    wire::store_be16(p + 2, static_cast<uint16_t>(t.scope_count * 4));
    wire::store_be16(p + 4, static_cast<uint16_t>((t.fields.size() - t.scope_count) * 4));
    p += 6;
  } else {
    wire::store_be16(p + 2, static_cast<uint16_t>(t.fields.size()));
    p += 4;
    if (t.options) {
      wire::store_be16(p, t.scope_count);
      p += 2;
    }
  }
  for (const FieldSpec& f : t.fields) {
    const bool ent = v_ == WireVersion::kIpfix && f.pen != 0;
    wire::store_be16(p, static_cast<uint16_t>(f.id | (ent ? ipfix::kEnterpriseBit : 0)));
    wire::store_be16(p + 2, f.length);
    p += 4;
    if (ent) {
      wire::store_be32(p, f.pen);
      p += 4;
    }
  }
  pos_ += need;
  ++records_;
  return true;
}

bool MessageBuilder::withdrawal(uint16_t template_id) {
  if (!set_start_ || room() < 4) return false;
  wire::store_be16(buf_ + pos_, template_id);
  wire::store_be16(buf_ + pos_ + 2, 0);
  pos_ += 4;
  ++records_;
  return true;
}

uint8_t* MessageBuilder::reserve_record(size_t len) {
  if (!set_start_ || room() < len) return nullptr;
  uint8_t* p = buf_ + pos_;
  pos_ += len;
  ++records_;
  return p;
}

uint8_t* MessageBuilder::reserve_records(size_t len, uint16_t n) {
  if (!set_start_ || room() < len) return nullptr;
  uint8_t* p = buf_ + pos_;
  pos_ += len;
  records_ = static_cast<uint16_t>(records_ + n);
  return p;
}

void MessageBuilder::end_set() {
  if (!set_start_) return;
  while ((pos_ - set_start_) % 4 != 0 && pos_ < cap_) buf_[pos_++] = 0;
  wire::store_be16(buf_ + set_start_ + 2, static_cast<uint16_t>(pos_ - set_start_));
  set_start_ = 0;
}

size_t MessageBuilder::finish(const MessageHeader& h) {
  end_set();
  if (v_ == WireVersion::kV9) {
    wire::store_be16(buf_ + v9::hdr::kVersion, v9::kVersion);
    wire::store_be16(buf_ + v9::hdr::kCount, records_);
    wire::store_be32(buf_ + v9::hdr::kSysUptime, h.sys_uptime_ms);
    wire::store_be32(buf_ + v9::hdr::kUnixSecs, h.export_secs);
    wire::store_be32(buf_ + v9::hdr::kSequence, h.sequence);
    wire::store_be32(buf_ + v9::hdr::kSourceId, h.domain);
  } else {
    wire::store_be16(buf_ + ipfix::hdr::kVersion, ipfix::kVersion);
    wire::store_be16(buf_ + ipfix::hdr::kLength, static_cast<uint16_t>(pos_));
    wire::store_be32(buf_ + ipfix::hdr::kExportTime, h.export_secs);
    wire::store_be32(buf_ + ipfix::hdr::kSequence, h.sequence);
    wire::store_be32(buf_ + ipfix::hdr::kDomain, h.domain);
  }
  return pos_;
}

size_t record_size(const TemplateSpec& t, const RecordValues& vals) {
  size_t n = 0;
  for (const FieldSpec& f : t.fields) n += is_var(f) ? var_size(vals.variable.size()) : f.length;
  return n;
}

size_t encode_record(const TemplateSpec& t, const RecordValues& vals, uint8_t* out, size_t cap) {
  const size_t need = record_size(t, vals);
  if (need > cap) return 0;
  const FlowRecord& r = *vals.flow;
  uint8_t* p = out;
  for (const FieldSpec& f : t.fields) {
    if (is_var(f)) {
      const size_t n = vals.variable.size();
      if (n < ipfix::kLongVarLength) {
        *p++ = static_cast<uint8_t>(n);
      } else {
        *p++ = ipfix::kLongVarLength;
        wire::store_be16(p, static_cast<uint16_t>(n));
        p += 2;
      }
      std::memcpy(p, vals.variable.data(), n);
      p += n;
      continue;
    }
    const size_t len = f.length;
    std::memset(p, 0, len);
    if (f.pen != 0) {
      if (len >= 1 && len <= 8) wire::store_be_n(p, vals.enterprise_value, len);
      p += len;
      continue;
    }
    const IpAddr* addr = nullptr;
    switch (f.id) {
      case ie::kSourceIPv4Address: case ie::kSourceIPv6Address: addr = &r.src; break;
      case ie::kDestinationIPv4Address: case ie::kDestinationIPv6Address: addr = &r.dst; break;
      case ie::kIpNextHopIPv4Address: case ie::kIpNextHopIPv6Address:
      case ie::kBgpNextHopIPv4Address: case ie::kBgpNextHopIPv6Address:
        addr = &r.nexthop;
        break;
    }
    if (addr) {
      if (len == 4) std::memcpy(p, addr->bytes.data() + 12, 4);
      if (len == 16) std::memcpy(p, addr->bytes.data(), 16);
    } else if (uint64_t v; len >= 1 && len <= 8 && uint_value(f.id, vals, &v)) {
      wire::store_be_n(p, v, len);
    }
    p += len;
  }
  return need;
}

}  // namespace ringflow::gen
