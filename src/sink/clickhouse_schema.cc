#include "sink/clickhouse_schema.h"

#include <algorithm>
#include <cstring>

namespace ringflow {
namespace {

// Addresses (IPv4 and IPv6 alike) are FixedString(16): the 16 bytes of
// IPv6, IPv4 v4-mapped (docs/clickhouse.md says why).
// Enriched names (and country codes, AS sources) are LowCardinality(String):
// few distinct values, stored as a dictionary (docs/enrichment.md).
const char* key_column_type(KeyField f) {
  if (key_field_is_address(f)) return "FixedString(16)";
  if (key_field_is_text(f)) return "LowCardinality(String)";
  switch (key_field_info(f).width) {
    case 4: return "UInt32";
    case 2: return "UInt16";
    default: return "UInt8";
  }
}

// Unsigned little-endian store of the low `n` bytes (RowBinary is LE).
inline char* put_le(char* p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) p[i] = static_cast<char>(v >> (8 * i));
  return p + n;
}

// DateTime is UInt32 seconds: clamp instead of wrapping, so a clock far off
// gives a visibly wrong time rather than one in 1970 + x.
uint32_t datetime_of(int64_t ms) {
  int64_t s = ms >= 0 ? ms / 1000 : 0;
  return s > 0xFFFFFFFFll ? 0xFFFFFFFFu : static_cast<uint32_t>(s);
}

}  // namespace

std::vector<ChColumn> clickhouse_columns(const KeySchema& schema) {
  std::vector<ChColumn> c;
  c.push_back({"interval_start", "DateTime"});
  c.push_back({"interval_end", "DateTime"});
  for (size_t i = 0; i < schema.fields().size(); ++i)
    c.push_back({std::string(schema.column(i)), key_column_type(schema.fields()[i].field)});
  for (const char* n : {"flows", "packets", "bytes"}) c.push_back({n, "UInt64"});
  c.push_back({"first_ms", "Int64"});
  c.push_back({"last_ms", "Int64"});
  c.push_back({"tcp_flags_or", "UInt8"});
  c.push_back({"overflow", "UInt8"});
  c.push_back({"partial", "UInt8"});
  c.push_back({"collector", "String"});
  c.push_back({"batch_id", "UInt64"});
  return c;
}

std::string ch_quote_identifier(std::string_view name) {
  std::string s = "`";
  for (char ch : name) {
    if (ch == '`' || ch == '\\') s += '\\';
    s += ch;
  }
  s += '`';
  return s;
}

std::string ch_qualified_table(std::string_view database, std::string_view table) {
  return ch_quote_identifier(database) + "." + ch_quote_identifier(table);
}

std::string ch_column_list(const std::vector<ChColumn>& columns) {
  std::string s;
  for (const ChColumn& c : columns) {
    if (!s.empty()) s += ", ";
    s += ch_quote_identifier(c.name);
  }
  return s;
}

std::string ch_spool_columns(const std::vector<ChColumn>& columns) {
  std::string s;
  for (const ChColumn& c : columns) {
    if (!s.empty()) s += ", ";
    s += ch_quote_identifier(c.name) + " " + c.type;
  }
  return s;
}

std::string ch_create_table_sql(std::string_view database, std::string_view table,
                                const KeySchema& schema) {
  std::string s = "CREATE TABLE IF NOT EXISTS " + ch_qualified_table(database, table) + " (";
  bool first = true;
  for (const ChColumn& c : clickhouse_columns(schema)) {
    s += first ? "" : ", ";
    first = false;
    s += ch_quote_identifier(c.name) + " " + c.type;
  }
  // Day partitions: retention is DROP PARTITION per day, and a query over an
  // hour touches one partition. Sorting by time first keeps an interval's
  // rows together (every query filters on time); the key columns then make
  // GROUP BY over them read sorted runs.
  s += ") ENGINE = MergeTree PARTITION BY toYYYYMMDD(interval_start) ORDER BY (interval_start";
  for (size_t i = 0; i < schema.fields().size(); ++i)
    s += ", " + ch_quote_identifier(schema.column(i));
  s += ")";
  return s;
}

bool ch_parse_describe(std::string_view tsv, std::vector<ChColumn>* out, std::string* error) {
  out->clear();
  size_t pos = 0;
  while (pos < tsv.size()) {
    size_t nl = tsv.find('\n', pos);
    std::string_view line = tsv.substr(pos, nl == std::string_view::npos ? tsv.npos : nl - pos);
    pos = nl == std::string_view::npos ? tsv.size() : nl + 1;
    if (line.empty()) continue;
    size_t t1 = line.find('\t');
    if (t1 == std::string_view::npos) {
      if (error) *error = "unexpected DESCRIBE line \"" + std::string(line.substr(0, 200)) + "\"";
      return false;
    }
    size_t t2 = line.find('\t', t1 + 1);
    std::string_view type = line.substr(t1 + 1, t2 == std::string_view::npos ? line.npos : t2 - t1 - 1);
    out->push_back({std::string(line.substr(0, t1)), std::string(type)});
  }
  return true;
}

std::string ch_schema_difference(const std::vector<ChColumn>& expected,
                                 const std::vector<ChColumn>& actual) {
  std::string diff;
  auto add = [&](const std::string& s) {
    if (!diff.empty()) diff += "; ";
    diff += s;
  };
  auto find = [](const std::vector<ChColumn>& v, const std::string& name) {
    return std::find_if(v.begin(), v.end(), [&](const ChColumn& c) { return c.name == name; });
  };
  for (const ChColumn& e : expected) {
    auto it = find(actual, e.name);
    if (it == actual.end()) {
      add("missing column " + e.name + " " + e.type);
    } else if (it->type != e.type) {
      add("column " + e.name + " is " + it->type + ", expected " + e.type);
    }
  }
  for (const ChColumn& a : actual)
    if (find(expected, a.name) == expected.end()) add("unexpected column " + a.name + " " + a.type);
  return diff;
}

bool ch_is_ipv4_only_table(const std::vector<ChColumn>& expected,
                           const std::vector<ChColumn>& actual) {
  if (expected.size() != actual.size()) return false;
  bool any_address = false;
  for (const ChColumn& e : expected) {
    auto it = std::find_if(actual.begin(), actual.end(),
                           [&](const ChColumn& a) { return a.name == e.name; });
    if (it == actual.end()) return false;
    if (it->type == e.type) continue;
    const bool address = e.type == "FixedString(16)" && it->type == "UInt32" && e.name != "exporter";
    const bool narrow = e.type == "UInt32" && it->type == "UInt16";
    if (!address && !narrow) return false;
    any_address |= address;
  }
  return any_address;
}

RowBinaryEncoder::RowBinaryEncoder(const KeySchema& schema, std::string_view collector) {
  for (const KeyFieldSpec& f : schema.fields()) {
    const bool addr = key_field_is_address(f.field);
    const bool text = key_field_is_text(f.field);
    const uint8_t w = addr ? 16 : text ? 0 : key_field_info(f.field).width;
    fields_.push_back({f, w, addr, text});
    row_bytes_ += w;
    has_text_ |= text;
  }
  collector_.push_back(static_cast<char>(collector.size() & 0x7F));
  collector_.append(collector.substr(0, 127));
  // 2 DateTime + 5 x 64-bit + 3 x UInt8 + collector + batch_id
  row_bytes_ += 4 + 4 + 5 * 8 + 3 + collector_.size() + 8;
}

void RowBinaryEncoder::encode(const FlushBatch& b, size_t begin, size_t end, uint64_t batch_id,
                              std::string* out) const {
  const size_t old = out->size();
  // Names (a varint length and the bytes each) make rows longer than
  // row_bytes_: their total is added first, so *out still grows once.
  size_t text_bytes = 0;
  char tmp[2];
  if (has_text_) {
    for (size_t i = begin; i < end; ++i) {
      for (const Field& f : fields_) {
        if (!f.text) continue;
        size_t n = key_field_text(f.spec, b.rows[i].layout, b.rows[i].key, tmp).size();
        text_bytes += n;
        do {
          ++text_bytes;
          n >>= 7;
        } while (n);
      }
    }
  }
  out->resize(old + (end - begin) * row_bytes_ + text_bytes);
  char* p = out->data() + old;
  const uint32_t start_s = datetime_of(b.start_ms), end_s = datetime_of(b.end_ms);
  for (size_t i = begin; i < end; ++i) {
    const FlushRow& r = b.rows[i];
    p = put_le(p, start_s, 4);
    p = put_le(p, end_s, 4);
    // Packed key fields are host-order (little-endian, asserted in
    // key_codec.h) integers, exactly what RowBinary expects for UIntN;
    // addresses become their 16-byte form whatever the row's layout.
    for (const Field& f : fields_) {
      if (f.address) {
        uint8_t a[16];
        key_field_address(f.spec, r.layout, r.key, a);
        std::memcpy(p, a, 16);
      } else if (f.text) {
        // RowBinary String (what LowCardinality(String) takes): LEB128
        // length, then the bytes.
        const std::string_view t = key_field_text(f.spec, r.layout, r.key, tmp);
        size_t n = t.size();
        while (n >= 0x80) {
          *p++ = static_cast<char>((n & 0x7F) | 0x80);
          n >>= 7;
        }
        *p++ = static_cast<char>(n);
        if (!t.empty()) std::memcpy(p, t.data(), t.size());  // an unknown name: data() may be null
        p += t.size();
      } else {
        std::memcpy(p, r.key + f.spec.offset[r.layout], f.width);
      }
      p += f.width;
    }
    p = put_le(p, r.c->flows, 8);
    p = put_le(p, r.c->packets, 8);
    p = put_le(p, r.c->bytes, 8);
    p = put_le(p, static_cast<uint64_t>(r.c->first_ms), 8);
    p = put_le(p, static_cast<uint64_t>(r.c->last_ms), 8);
    *p++ = static_cast<char>(r.c->tcp_flags & 0xFF);
    *p++ = r.overflow ? 1 : 0;
    *p++ = b.partial ? 1 : 0;
    std::memcpy(p, collector_.data(), collector_.size());
    p += collector_.size();
    p = put_le(p, batch_id, 8);
  }
}

}  // namespace ringflow
