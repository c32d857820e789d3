#include "aggregate/key_codec.h"

#include <charconv>

namespace ringflow {

KeyPacker::KeyPacker(const KeySchema& schema) : words_(schema.key_words()) {
  for (const KeyFieldSpec& f : schema.fields()) {
    Op op{f.field, f.offset, f.prefix, 0};
    if (key_field_is_address(f.field) && f.field != KeyField::kExporter) op.mask = v4_mask(f.prefix);
    ops_.push_back(op);
  }
  five_tuple_ = schema.str() == KeySchema().str();
}

void KeyPacker::pack_exporter(const IpAddr& a, uint8_t prefix, uint8_t* d) {
  std::memcpy(d, a.bytes.data(), 16);
  // IPv4 exporters are stored v4-mapped: the prefix counts IPv4 bits, so the
  // 96 bits of the mapping are always kept.
  unsigned bits = a.is_v4() ? 96u + (prefix < 32 ? prefix : 32u) : prefix;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned bit = i * 8;
    if (bit >= bits) {
      d[i] = 0;
    } else if (bit + 8 > bits) {
      d[i] &= static_cast<uint8_t>(0xFF00u >> (bits - bit));
    }
  }
}

char* format_ipv4(uint32_t v, char* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    unsigned b = (v >> shift) & 0xFF;
    if (b >= 100) {
      *out++ = static_cast<char>('0' + b / 100);
      *out++ = static_cast<char>('0' + b / 10 % 10);
    } else if (b >= 10) {
      *out++ = static_cast<char>('0' + b / 10);
    }
    *out++ = static_cast<char>('0' + b % 10);
    if (shift) *out++ = '.';
  }
  return out;
}

namespace {

uint64_t load(const uint8_t* p, unsigned width) {
  switch (width) {
    case 1: return *p;
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
  }
  return 0;
}

char* append_prefix(const KeyFieldSpec& f, char* out) {
  if (!f.has_prefix) return out;
  *out++ = '/';
  return std::to_chars(out, out + 4, unsigned{f.prefix}).ptr;
}

}  // namespace

char* format_key_field(const KeyFieldSpec& f, const uint8_t* key, char* out) {
  const uint8_t* p = key + f.offset;
  if (f.field == KeyField::kExporter) {
    IpAddr a;
    std::memcpy(a.bytes.data(), p, 16);
    std::string s = a.str();
    std::memcpy(out, s.data(), s.size());
    return append_prefix(f, out + s.size());
  }
  if (key_field_is_address(f.field)) {
    return append_prefix(f, format_ipv4(static_cast<uint32_t>(load(p, 4)), out));
  }
  return std::to_chars(out, out + kMaxFieldText, load(p, key_field_info(f.field).width)).ptr;
}

uint64_t key_field_number(const KeyFieldSpec& f, const uint8_t* key) {
  if (key_field_is_address(f.field)) return 0;
  return load(key + f.offset, key_field_info(f.field).width);
}

std::vector<std::string> key_field_texts(const KeySchema& schema, const uint8_t* key) {
  std::vector<std::string> v;
  char buf[kMaxFieldText];
  for (const KeyFieldSpec& f : schema.fields()) v.emplace_back(buf, format_key_field(f, key, buf));
  return v;
}

}  // namespace ringflow
