#include "enrich/networks_csv.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace ringflow::enrich {
namespace {

constexpr std::string_view kHeader = "prefix,name,role,site,region,tenant,asn";

// Splits one CSV line; false on a quote error. Quoted fields may hold commas
// and "" for a quote; outside quotes a field is taken as is.
bool split_csv(std::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  std::string cur;
  size_t i = 0;
  while (true) {
    cur.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cur += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        cur += line[i++];
      }
      if (!closed || (i < line.size() && line[i] != ',')) return false;
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') return false;
        cur += line[i++];
      }
    }
    fields->push_back(cur);
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<uint32_t> parse_asn(std::string_view s) {
  if (s.size() >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
    s.remove_prefix(2);
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::string shown(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

// Host bits set beyond prefix_len in the address as written?
bool host_bits_set(const IpAddr& written, const Cidr& c) { return written != c.net; }

}  // namespace

void parse_networks_csv(std::string_view text, std::string_view file, Interner& strings,
                        NetworksBuilder& out, NetworksLoadReport* report) {
  NetworksLoadReport& r = *report;
  std::map<std::pair<std::array<uint8_t, 16>, uint8_t>, size_t> first_line;
  std::vector<std::string> f;
  auto note = [&](size_t line, std::string msg) {
    if (r.messages.size() < NetworksLoadReport::kMaxMessages) {
      std::ostringstream os;
      os << file << ':' << line << ": " << msg;
      r.messages.push_back(os.str());
    }
  };
  auto fail = [&](size_t line, CsvError why, std::string msg) {
    ++r.errors[static_cast<size_t>(why)];
    note(line, std::move(msg));
  };
  size_t lineno = 0;
  bool seen_data = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    ++r.lines;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (!seen_data) {
      seen_data = true;
      if (line == kHeader || line == kHeader.substr(0, kHeader.rfind(','))) continue;
    }
    if (!split_csv(line, &f)) {
      fail(lineno, CsvError::kBadQuote,
           "expected fields separated by commas, a quoted field closed before the next comma; "
           "found " +
               shown(line));
      continue;
    }
    if (f.size() != 6 && f.size() != 7) {
      fail(lineno, CsvError::kFieldCount,
           "expected 7 fields (prefix,name,role,site,region,tenant,asn; asn optional), found " +
               std::to_string(f.size()) + " in " + shown(line));
      continue;
    }
    const std::string_view pfx = trim(f[0]);
    const auto cidr = Cidr::parse(pfx);
    if (!cidr) {
      fail(lineno, CsvError::kBadPrefix,
           "expected an IPv4 or IPv6 prefix (203.0.113.0/24, 2001:db8::/32), found " + shown(pfx));
      continue;
    }
    if (host_bits_set(*IpAddr::parse(pfx.substr(0, pfx.find('/'))), *cidr)) {
      fail(
          lineno, CsvError::kHostBits,
          "expected no bits set past the prefix length (" + cidr->str() + "), found " + shown(pfx));
      continue;
    }
    NetAttrs a;
    if (f.size() == 7 && !trim(f[6]).empty()) {
      const auto asn = parse_asn(trim(f[6]));
      if (!asn) {
        fail(lineno, CsvError::kBadAsn,
             "expected an AS number 0..4294967295 (or AS64500), found " + shown(trim(f[6])));
        continue;
      }
      a.asn = *asn;
    }
    uint32_t* dst[5] = {&a.name, &a.role, &a.site, &a.region, &a.tenant};
    bool full = false;
    for (int i = 0; i < 5 && !full; ++i) {
      const auto id = strings.intern(trim(f[i + 1]));
      if (!id) {
        full = true;
      } else {
        *dst[i] = *id;
      }
    }
    if (full) {
      fail(lineno, CsvError::kInternerFull,
           "expected room in the string table for this line's names, found it full (" +
               std::to_string(strings.size()) + " strings)");
      continue;
    }
    const auto key = std::make_pair(cidr->net.bytes, cidr->prefix_len);
    auto [it, fresh] = first_line.emplace(key, lineno);
    if (!fresh) {
      ++r.duplicates;
      note(lineno, "duplicate of line " + std::to_string(it->second) + " (" + cidr->str() +
                       "): this later line wins");
      it->second = lineno;
    }
    if (!out.add(*cidr, a)) {
      fail(lineno, CsvError::kTooMany, "expected at most 2^31-1 prefixes, found more");
      continue;
    }
    ++r.prefixes;
  }
}

bool load_networks_csv(const std::string& path, Interner& strings, NetworksBuilder& out,
                       NetworksLoadReport* report, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    *error = path + ": read error";
    return false;
  }
  parse_networks_csv(ss.str(), path, strings, out, report);
  return true;
}

}  // namespace ringflow::enrich
