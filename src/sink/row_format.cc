#include "sink/row_format.h"

#include <charconv>
#include <cstring>

#include "aggregate/key_codec.h"
#include "sink/time_format.h"

namespace ringflow {
namespace {

char* put(char* out, const char* s) {
  size_t n = std::strlen(s);
  std::memcpy(out, s, n);
  return out + n;
}
char* put_u(char* out, uint64_t v) { return std::to_chars(out, out + 24, v).ptr; }
char* put_i(char* out, int64_t v) { return std::to_chars(out, out + 24, v).ptr; }

// A name (enrichment) of any length, appended to out: JSON as a string with
// ", \\ and control characters escaped; CSV bare, or quoted (RFC 4180, ""
// for a quote) when it holds a comma, quote, CR or LF.
void append_name(std::string_view t, bool json, std::string* out) {
  if (json) {
    out->push_back('"');
    for (char ch : t) {
      const auto u = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        out->push_back('\\');
        out->push_back(ch);
      } else if (u < 0x20) {
        static const char kHex[] = "0123456789abcdef";
        out->append("\\u00");
        out->push_back(kHex[u >> 4]);
        out->push_back(kHex[u & 15]);
      } else {
        out->push_back(ch);
      }
    }
    out->push_back('"');
    return;
  }
  if (t.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(t);
    return;
  }
  out->push_back('"');
  for (char ch : t) {
    if (ch == '"') out->push_back('"');
    out->push_back(ch);
  }
  out->push_back('"');
}

}  // namespace

char* RowFormatter::put_time(int64_t ms, char* out) {
  int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (sec != cached_sec_) {
    char full[kIsoMsLen];
    format_iso_ms(sec * 1000, full);
    std::memcpy(cached_, full, kIsoLenNoMs);
    cached_sec_ = sec;
  }
  std::memcpy(out, cached_, kIsoLenNoMs);
  out += kIsoLenNoMs;
  *out++ = '.';
  out = detail::put_digits(out, static_cast<uint64_t>(ms - sec * 1000), 3);
  *out++ = 'Z';
  return out;
}

void RowFormatter::begin(const FlushBatch& b, std::string* out) {
  // The interval columns are the same on every row of the batch.
  char* p = interval_;
  const bool json = format_ == FileFormat::kJsonl;
  const char* q = json ? "\"" : "";
  const char* sep = json ? "," : ",";
  if (json) p = put(p, "{\"interval_start\":");
  p = put(p, q);
  p = format_iso_ms(b.start_ms, p);
  p = put(p, q);
  p = put(p, json ? ",\"interval_start_ms\":" : sep);
  p = put_i(p, b.start_ms);
  p = put(p, json ? ",\"interval_end\":" : sep);
  p = put(p, q);
  p = format_iso_ms(b.end_ms, p);
  p = put(p, q);
  p = put(p, json ? ",\"interval_end_ms\":" : sep);
  p = put_i(p, b.end_ms);
  p = put(p, json ? ",\"partial\":" : sep);
  p = put(p, b.partial ? "true" : "false");
  interval_len_ = static_cast<size_t>(p - interval_);

  if (json) return;
  out->append("interval_start,interval_start_ms,interval_end,interval_end_ms,partial");
  for (size_t i = 0; i < b.schema->fields().size(); ++i) {
    out->push_back(',');
    out->append(b.schema->column(i));
  }
  out->append(",flows,packets,bytes,first,first_ms,last,last_ms,tcp_flags,overflow\n");
}

void RowFormatter::row(const FlushBatch& b, const FlushRow& r, std::string* out) {
  char line[kMaxLine];
  char* p = line;
  const bool json = format_ == FileFormat::kJsonl;
  std::memcpy(p, interval_, interval_len_);
  p += interval_len_;
  const auto& fields = b.schema->fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    const KeyFieldSpec& f = fields[i];
    if (key_field_is_text(f.field)) {
      // Names have no length bound: the line so far goes out first.
      if (json) {
        p = put(p, ",\"");
        auto col = b.schema->column(i);
        std::memcpy(p, col.data(), col.size());
        p += col.size();
        p = put(p, "\":");
      } else {
        *p++ = ',';
      }
      out->append(line, static_cast<size_t>(p - line));
      p = line;
      char tmp[2];
      append_name(key_field_text(f, r.layout, r.key, tmp), json, out);
      continue;
    }
    if (json) {
      p = put(p, ",\"");
      auto col = b.schema->column(i);
      std::memcpy(p, col.data(), col.size());
      p += col.size();
      p = put(p, "\":");
      if (key_field_is_address(f.field)) {
        *p++ = '"';
        p = format_key_field(f, r.layout, r.key, p);
        *p++ = '"';
      } else {
        p = put_u(p, key_field_number(f, r.layout, r.key));
      }
    } else {
      *p++ = ',';
      p = format_key_field(f, r.layout, r.key, p);
    }
  }
  const AggCounters& c = *r.c;
  p = put(p, json ? ",\"flows\":" : ",");
  p = put_u(p, c.flows);
  p = put(p, json ? ",\"packets\":" : ",");
  p = put_u(p, c.packets);
  p = put(p, json ? ",\"bytes\":" : ",");
  p = put_u(p, c.bytes);
  p = put(p, json ? ",\"first\":\"" : ",");
  p = put_time(c.first_ms, p);
  p = put(p, json ? "\",\"first_ms\":" : ",");
  p = put_i(p, c.first_ms);
  p = put(p, json ? ",\"last\":\"" : ",");
  p = put_time(c.last_ms, p);
  p = put(p, json ? "\",\"last_ms\":" : ",");
  p = put_i(p, c.last_ms);
  p = put(p, json ? ",\"tcp_flags\":" : ",");
  p = put_u(p, c.tcp_flags);
  p = put(p, json ? ",\"overflow\":" : ",");
  p = put(p, r.overflow ? "true" : "false");
  if (json) *p++ = '}';
  *p++ = '\n';
  out->append(line, static_cast<size_t>(p - line));
}

}  // namespace ringflow
