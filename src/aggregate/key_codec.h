// Packing a flow record into its aggregation key (hot path) and turning a
// packed key back into field values for the sinks.
//
// The layout is the one KeySchema computes (include/ringflow/flow_key.h):
// each field at its byte offset, host byte order, address fields masked to
// their prefix, every other byte zero. Only equality matters to the table, so
// host order is fine; the sinks decode with the same layout.
//
// Thread safety: a KeyPacker is immutable after construction; pack() may be
// called from any number of threads on their own output buffers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <ringflow/flow_key.h>
#include <ringflow/v5.h>

namespace ringflow {

class KeyPacker {
 public:
  explicit KeyPacker(const KeySchema& schema);

  uint32_t words() const { return words_; }

  // Writes words() words to out. No allocation, no branches that depend on
  // data except the per-field switch (fixed per schema, so well predicted).
  void pack(const v5::Record& r, const FlowContext& ctx, uint64_t* out) const {
    for (uint32_t i = 0; i < words_; ++i) out[i] = 0;
    auto* p = reinterpret_cast<uint8_t*>(out);
    for (const Op& op : ops_) {
      uint8_t* d = p + op.offset;
      switch (op.field) {
        case KeyField::kSrcAddr: put32(d, r.src_addr & op.mask); break;
        case KeyField::kDstAddr: put32(d, r.dst_addr & op.mask); break;
        case KeyField::kNextHop: put32(d, r.nexthop & op.mask); break;
        case KeyField::kSrcPort: put16(d, r.src_port); break;
        case KeyField::kDstPort: put16(d, r.dst_port); break;
        case KeyField::kProtocol: *d = r.protocol; break;
        case KeyField::kTos: *d = r.tos; break;
        case KeyField::kTcpFlags: *d = r.tcp_flags; break;
        case KeyField::kInput: put16(d, r.input); break;
        case KeyField::kOutput: put16(d, r.output); break;
        case KeyField::kSrcAs: put16(d, r.src_as); break;
        case KeyField::kDstAs: put16(d, r.dst_as); break;
        case KeyField::kSrcMask: *d = r.src_mask; break;
        case KeyField::kDstMask: *d = r.dst_mask; break;
        case KeyField::kExporter: pack_exporter(ctx.exporter, op.prefix, d); break;
        case KeyField::kEngineType: *d = ctx.engine_type; break;
        case KeyField::kEngineId: *d = ctx.engine_id; break;
      }
    }
  }

 private:
  struct Op {
    KeyField field;
    uint8_t offset;
    uint8_t prefix;
    uint32_t mask;  // IPv4 fields: network mask in host order
  };
  static void put32(uint8_t* d, uint32_t v) { std::memcpy(d, &v, 4); }
  static void put16(uint8_t* d, uint16_t v) { std::memcpy(d, &v, 2); }
  static void pack_exporter(const IpAddr& a, uint8_t prefix, uint8_t* d);

  std::vector<Op> ops_;
  uint32_t words_;
};

// IPv4 network mask of `prefix` bits (0..32), host order.
inline uint32_t v4_mask(unsigned prefix) {
  return prefix == 0 ? 0u : ~uint32_t{0} << (32 - prefix);
}

// Longest text of one key field: an IPv6 address with "/128".
inline constexpr size_t kMaxFieldText = 64;

// Writes the text of field `f` of the packed key: addresses as dotted/IPv6
// text, with "/N" when the schema gave a prefix ("10.1.2.0/24"); numbers in
// decimal. Returns the end of the text (not NUL-terminated).
// REQUIRES: out has kMaxFieldText bytes.
char* format_key_field(const KeyFieldSpec& f, const uint8_t* key, char* out);

// Numeric value of a non-address field (for JSON numbers); 0 for addresses.
uint64_t key_field_number(const KeyFieldSpec& f, const uint8_t* key);

// Convenience for tests and the text sink: every field's text, in order.
std::vector<std::string> key_field_texts(const KeySchema& schema, const uint8_t* key);

// Fast IPv4 dotted-quad writer (the CSV/JSONL sinks print millions).
char* format_ipv4(uint32_t host_order, char* out);

}  // namespace ringflow
