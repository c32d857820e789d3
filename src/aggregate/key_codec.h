// Packing a flow record into its aggregation key (hot path) and turning a
// packed key back into field values for the sinks.
//
// The layouts are the ones KeySchema computes (include/ringflow/flow_key.h):
// each field at its byte offset, every other byte zero. Integers are in host
// byte order (only equality matters to the table; the sinks decode with the
// same layout). Addresses: narrow-layout record addresses as IPv4 in host
// order, masked to prefix4; wide-layout record addresses and the exporter as
// the 16 bytes of IpAddr (network order, IPv4 v4-mapped), masked to prefix6
// (IPv6) or 96 + prefix4 (IPv4).
//
// Thread safety: a KeyPacker is immutable after construction; pack() may be
// called from any number of threads on their own output buffers.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/flow_key.h>
#include <ringflow/flow_record.h>

namespace ringflow {

// Packed keys are read back byte-wise (format_key_field) and built word-wise.
static_assert(std::endian::native == std::endian::little, "key packing assumes little-endian");

// An address as the narrow layout holds it: true and the IPv4 address (host
// order) when `a` is v4-mapped or all zero (a record without that address).
inline bool narrow_v4(const IpAddr& a, uint32_t* host) {
  uint64_t lo, hi;
  std::memcpy(&lo, a.bytes.data(), 8);
  std::memcpy(&hi, a.bytes.data() + 8, 8);
  // Bytes 8..11 as a little-endian word: 00 00 ff ff -> 0xFFFF0000.
  const uint32_t mid = static_cast<uint32_t>(hi);
  if (lo != 0 || (mid != 0xFFFF0000u && hi != 0)) return false;
  *host = __builtin_bswap32(static_cast<uint32_t>(hi >> 32));
  return true;
}

class KeyPacker {
 public:
  explicit KeyPacker(const KeySchema& schema);

  uint32_t words(uint8_t layout) const { return words_[layout]; }

  // Writes the record's key (words(layout) words) to out and returns its
  // layout: kNarrow when every key address of the record is IPv4 (or
  // absent), else kWide. No allocation. Keys are built in whole 64-bit words
  // (never byte stores followed by a word load: that defeats store-to-load
  // forwarding and cost ~15 cycles per word in the hash).
  uint8_t pack(const FlowRecord& r, const FlowContext& ctx, uint64_t* out) const {
    if (five_tuple_) {
      // The default key, in its default order: the common case, in registers.
      uint32_t s, d;
      if (narrow_v4(r.src, &s) && narrow_v4(r.dst, &d)) {
        out[0] = uint64_t{s} | uint64_t{d} << 32;
        out[1] = uint64_t{r.src_port} | uint64_t{r.dst_port} << 16 | uint64_t{r.protocol} << 32;
        return kNarrow;
      }
      // Wide (an IPv6 address): both addresses as they are (no prefix), then
      // the ports and protocol, as the schema's wide offsets place them.
      std::memcpy(out, r.src.bytes.data(), 16);
      std::memcpy(out + 2, r.dst.bytes.data(), 16);
      out[4] = uint64_t{r.src_port} | uint64_t{r.dst_port} << 16 | uint64_t{r.protocol} << 32;
      return kWide;
    }
    return pack_general(r, ctx, out);
  }

 private:
  struct Op {
    KeyField field;
    uint8_t offset[2];
    uint8_t prefix4, prefix6;
    uint32_t mask4;  // IPv4 network mask of prefix4, host order
  };
  uint8_t pack_general(const FlowRecord& r, const FlowContext& ctx, uint64_t* out) const;

  std::vector<Op> ops_;
  uint32_t words_[2];
  bool five_tuple_ = false;  // the default key in the default order
};

// IPv4 network mask of `prefix` bits (0..32), host order.
inline uint32_t v4_mask(unsigned prefix) {
  return prefix == 0 ? 0u : ~uint32_t{0} << (32 - prefix);
}
// Keeps the first `bits` bits of the 16 bytes at d (0..128).
void mask_bits(uint8_t* d, unsigned bits);

// Longest text of one key field: an IPv6 address with "/128".
inline constexpr size_t kMaxFieldText = 64;

// Writes the text of field `f` of a key packed in `layout`: addresses as
// dotted IPv4 or RFC 5952 IPv6 text, with "/N" when the schema gave a prefix
// for that family ("10.1.2.0/24", "2001:db8::/48"); numbers in decimal.
// Returns the end of the text (not NUL-terminated).
// REQUIRES: out has kMaxFieldText bytes.
char* format_key_field(const KeyFieldSpec& f, uint8_t layout, const uint8_t* key, char* out);

// The text of a text field (key_field_is_text: a name, a country code, an AS
// source): a view into the process's names (src/enrich/names.h) or into
// tmp[2]; empty when unknown. format_key_field writes at most kMaxFieldText
// bytes of it; sinks printing names call this instead.
std::string_view key_field_text(const KeyFieldSpec& f, uint8_t layout, const uint8_t* key,
                                char* tmp);

// Numeric value of a non-address field (for JSON numbers); 0 for addresses.
uint64_t key_field_number(const KeyFieldSpec& f, uint8_t layout, const uint8_t* key);

// The 16-byte (IPv6, IPv4 v4-mapped) form of address field f of a key packed
// in `layout`, into out[16]. REQUIRES: key_field_is_address(f.field).
void key_field_address(const KeyFieldSpec& f, uint8_t layout, const uint8_t* key, uint8_t* out);

// Convenience for tests and the text sink: every field's text, in order.
std::vector<std::string> key_field_texts(const KeySchema& schema, uint8_t layout,
                                         const uint8_t* key);

// Fast IPv4 dotted-quad writer (the CSV/JSONL sinks print millions).
char* format_ipv4(uint32_t host_order, char* out);

}  // namespace ringflow
