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

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <ringflow/flow_key.h>

#include "wire/v5.h"

namespace ringflow {

// Packed keys are read back byte-wise (format_key_field) and built word-wise.
static_assert(std::endian::native == std::endian::little, "key packing assumes little-endian");

class KeyPacker {
 public:
  explicit KeyPacker(const KeySchema& schema);

  uint32_t words() const { return words_; }

  // Writes words() words to out. No allocation. Keys are built in whole
  // 64-bit words (never byte stores followed by a word load: that defeats
  // store-to-load forwarding and cost ~15 cycles per word in the hash).
  void pack(const v5::Record& r, const FlowContext& ctx, uint64_t* out) const {
    if (five_tuple_) {
      // The default key, in its default order: the common case, in registers.
      out[0] = uint64_t{r.src_addr} | uint64_t{r.dst_addr} << 32;
      out[1] = uint64_t{r.src_port} | uint64_t{r.dst_port} << 16 | uint64_t{r.protocol} << 32;
      return;
    }
    uint64_t w[kMaxKeyWords + 1] = {};  // +1: a field may straddle into the next word
    for (const Op& op : ops_) {
      switch (op.field) {
        case KeyField::kSrcAddr: place(w, op, r.src_addr & op.mask); break;
        case KeyField::kDstAddr: place(w, op, r.dst_addr & op.mask); break;
        case KeyField::kNextHop: place(w, op, r.nexthop & op.mask); break;
        case KeyField::kSrcPort: place(w, op, r.src_port); break;
        case KeyField::kDstPort: place(w, op, r.dst_port); break;
        case KeyField::kProtocol: place(w, op, r.protocol); break;
        case KeyField::kTos: place(w, op, r.tos); break;
        case KeyField::kTcpFlags: place(w, op, r.tcp_flags); break;
        case KeyField::kInput: place(w, op, r.input); break;
        case KeyField::kOutput: place(w, op, r.output); break;
        case KeyField::kSrcAs: place(w, op, r.src_as); break;
        case KeyField::kDstAs: place(w, op, r.dst_as); break;
        case KeyField::kSrcMask: place(w, op, r.src_mask); break;
        case KeyField::kDstMask: place(w, op, r.dst_mask); break;
        case KeyField::kExporter: place_exporter(w, op, ctx.exporter); break;
        case KeyField::kEngineType: place(w, op, ctx.engine_type); break;
        case KeyField::kEngineId: place(w, op, ctx.engine_id); break;
      }
    }
    for (uint32_t i = 0; i < words_; ++i) out[i] = w[i];
  }

 private:
  struct Op {
    KeyField field;
    uint8_t offset;
    uint8_t prefix;
    uint32_t mask;  // IPv4 fields: network mask in host order
  };
  // ORs the low `width` bytes of v in at byte `offset` of the little-endian
  // word array (the same bytes a memcpy of v at that offset would write).
  static void place_bytes(uint64_t* w, unsigned offset, uint64_t v, unsigned width) {
    unsigned i = offset / 8, shift = (offset % 8) * 8;
    w[i] |= v << shift;
    if (shift + width * 8 > 64) w[i + 1] |= v >> (64 - shift);
  }
  static void place(uint64_t* w, const Op& op, uint64_t v) {
    place_bytes(w, op.offset, v, key_field_info(op.field).width);
  }
  static void place_exporter(uint64_t* w, const Op& op, const IpAddr& a) {
    uint8_t b[16];
    pack_exporter(a, op.prefix, b);
    uint64_t lo, hi;
    std::memcpy(&lo, b, 8);
    std::memcpy(&hi, b + 8, 8);
    place_bytes(w, op.offset, lo, 8);
    place_bytes(w, op.offset + 8u, hi, 8);
  }
  static void pack_exporter(const IpAddr& a, uint8_t prefix, uint8_t* d);

  std::vector<Op> ops_;
  uint32_t words_;
  bool five_tuple_ = false;  // the default key in the default order
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
