// The aggregation key: which fields of a flow record (and of its exporter)
// identify a row of the per-interval tables, and how they are laid out as
// packed bytes.
//
// aggregate.key is a list of field names, in the order the sinks print them:
//   src_addr dst_addr nexthop          IPv4, 4 bytes; "/N" (0..32) keeps N bits
//   exporter                           16 bytes (v4-mapped); "/N" (0..128): IPv4
//                                      exporters keep min(N, 32) bits, IPv6 N bits
//   src_port dst_port input output src_as dst_as        2 bytes
//   protocol tos tcp_flags src_mask dst_mask engine_type engine_id   1 byte
// e.g. ["src_addr/24", "dst_addr/24", "protocol"]. The default is the 5-tuple
// (src_addr, dst_addr, src_port, dst_port, protocol); an empty list gives one
// row per interval (the totals).
//
// A key is packed into 8-byte words (at most kMaxKeyWords) at the offsets
// computed here, unused bytes zero, so the table can hash and compare it as
// whole words. Packing itself is in src/aggregate/key_codec.h (hot path);
// parsing lives here, inline, so that the config validator can call
// KeySchema::parse without linking the aggregate stage.
//
// Thread safety: KeySchema is a value built at start-up and then only read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/ip.h>

namespace ringflow {

// Per-PDU context the worker passes along with each decoded record.
struct FlowContext {
  IpAddr exporter;               // source address of the datagram
  uint8_t engine_type = 0, engine_id = 0;
  uint32_t sample_multiplier = 1;  // >= 1; packets/bytes are multiplied by it (64-bit)
  int64_t arrival_ms = 0;          // receive time, ms since the Unix epoch
};

enum class KeyField : uint8_t {
  kSrcAddr,
  kDstAddr,
  kNextHop,
  kSrcPort,
  kDstPort,
  kProtocol,
  kTos,
  kTcpFlags,
  kInput,
  kOutput,
  kSrcAs,
  kDstAs,
  kSrcMask,
  kDstMask,
  kExporter,
  kEngineType,
  kEngineId,
};
inline constexpr size_t kKeyFieldCount = 17;
inline constexpr uint32_t kMaxKeyWords = 6;  // every field once: 47 bytes -> 6 words

struct KeyFieldInfo {
  std::string_view name;
  uint8_t width;       // packed bytes
  uint8_t max_prefix;  // 0 = not an address (no "/N")
};

inline constexpr KeyFieldInfo kKeyFieldInfo[kKeyFieldCount] = {
    {"src_addr", 4, 32}, {"dst_addr", 4, 32},    {"nexthop", 4, 32},   {"src_port", 2, 0},
    {"dst_port", 2, 0},  {"protocol", 1, 0},     {"tos", 1, 0},        {"tcp_flags", 1, 0},
    {"input", 2, 0},     {"output", 2, 0},       {"src_as", 2, 0},     {"dst_as", 2, 0},
    {"src_mask", 1, 0},  {"dst_mask", 1, 0},     {"exporter", 16, 128}, {"engine_type", 1, 0},
    {"engine_id", 1, 0},
};

inline constexpr const KeyFieldInfo& key_field_info(KeyField f) {
  return kKeyFieldInfo[static_cast<size_t>(f)];
}
inline constexpr bool key_field_is_address(KeyField f) {
  return key_field_info(f).max_prefix != 0;
}

struct KeyFieldSpec {
  KeyField field = KeyField::kSrcAddr;
  // Prefix length kept for address fields; equal to max_prefix when the name
  // had no "/N" (then the address is printed without a suffix).
  uint8_t prefix = 0;
  bool has_prefix = false;  // "/N" was given
  uint8_t offset = 0;       // byte offset in the packed key
};

class KeySchema {
 public:
  // The default 5-tuple.
  KeySchema() { parse({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"}, this, nullptr); }

  // Parses aggregate.key. On error returns false, leaves *out unchanged and
  // sets *error (if given) to a sentence naming the bad entry.
  static bool parse(const std::vector<std::string>& names, KeySchema* out, std::string* error) {
    KeySchema s(Empty{});
    uint32_t seen = 0;
    for (const std::string& entry : names) {
      std::string_view text = entry;
      std::string_view base = text.substr(0, text.find('/'));
      size_t idx = kKeyFieldCount;
      for (size_t i = 0; i < kKeyFieldCount; ++i)
        if (kKeyFieldInfo[i].name == base) idx = i;
      if (idx == kKeyFieldCount) {
        return fail(error, "unknown key field \"" + entry + "\" (expected one of: " +
                               all_names() + ", with /N on address fields)");
      }
      if (seen & (1u << idx)) return fail(error, "key field \"" + std::string(base) + "\" listed twice");
      seen |= 1u << idx;
      const KeyFieldInfo& info = kKeyFieldInfo[idx];
      KeyFieldSpec f;
      f.field = static_cast<KeyField>(idx);
      f.prefix = info.max_prefix;
      if (base.size() != text.size()) {
        std::string_view num = text.substr(base.size() + 1);
        if (info.max_prefix == 0) {
          return fail(error, "key field \"" + entry + "\": a /N prefix is only allowed on "
                             "src_addr, dst_addr, nexthop and exporter");
        }
        unsigned v = 0;
        bool ok = !num.empty() && num.size() <= 3;
        for (char c : num) {
          if (c < '0' || c > '9') ok = false;
          v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (!ok || v > info.max_prefix) {
          return fail(error, "key field \"" + entry + "\": prefix must be 0.." +
                                 std::to_string(info.max_prefix));
        }
        f.prefix = static_cast<uint8_t>(v);
        f.has_prefix = true;
      }
      f.offset = s.bytes_;
      s.bytes_ = static_cast<uint8_t>(s.bytes_ + info.width);
      s.fields_.push_back(f);
    }
    *out = std::move(s);
    return true;
  }

  const std::vector<KeyFieldSpec>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  uint32_t key_bytes() const { return bytes_; }  // packed bytes used (0..47)
  // Words a packed key occupies; at least 1 so that the empty key is one
  // all-zero word and needs no special case in the table.
  uint32_t key_words() const { return bytes_ == 0 ? 1 : (bytes_ + 7u) / 8u; }

  // Column name of field i (the base name, without "/N").
  std::string_view column(size_t i) const { return key_field_info(fields_[i].field).name; }

  // "src_addr/24,dst_addr,protocol" (the form accepted by parse, comma-joined).
  std::string str() const {
    std::string s;
    for (const KeyFieldSpec& f : fields_) {
      if (!s.empty()) s += ',';
      s += key_field_info(f.field).name;
      if (f.has_prefix) s += '/' + std::to_string(f.prefix);
    }
    return s;
  }

 private:
  struct Empty {};
  explicit KeySchema(Empty) {}

  static bool fail(std::string* error, std::string msg) {
    if (error) *error = std::move(msg);
    return false;
  }
  static std::string all_names() {
    std::string s;
    for (const KeyFieldInfo& i : kKeyFieldInfo) {
      if (!s.empty()) s += ", ";
      s += i.name;
    }
    return s;
  }

  std::vector<KeyFieldSpec> fields_;
  uint8_t bytes_ = 0;
};

}  // namespace ringflow
