// Loads a networks file (CSV) into a NetworksBuilder, off the hot path.
//
// Format: one prefix per line,
//     prefix,name,role,site,region,tenant,asn
// e.g. "203.0.113.0/24,cust-acme,customer,par1,eu-west,acme,64500". The
// prefix is IPv4 or IPv6 in CIDR form (a bare address is a /32 or /128);
// name..tenant may be empty; asn is optional (6 fields) or empty, a decimal
// 0..4294967295 with an optional "AS" prefix. A field may be double-quoted
// (a comma inside, "" for a quote). Blank lines and lines starting with '#'
// are comments. A first line equal to the column names is a header.
//
// Every line that is not a comment, a header or a valid prefix line is
// REPORTED and COUNTED by reason, never silently skipped: the message is
// "FILE:LINE: expected ..., found ..." (the first kMaxMessages are kept, all
// are counted), and the line adds nothing. A prefix given with host bits set
// (10.1.0.0/8) is refused too: it is almost always a typo for another
// prefix. A duplicate prefix is not an error: it is counted and reported
// with the line it overrides, and the LATER line wins (as in lpm.h).
//
// Strings are interned into the caller's Interner; a string the Interner
// refuses (full) makes its line an error of reason kInternerFull.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "enrich/interner.h"
#include "enrich/networks.h"

namespace ringflow::enrich {

enum class CsvError : uint8_t {
  kFieldCount,    // not 6 or 7 fields
  kBadPrefix,     // not an address or CIDR prefix
  kHostBits,      // bits set beyond the prefix length
  kBadAsn,        // not a number 0..4294967295 (optionally "AS"-prefixed)
  kBadQuote,      // an unterminated or misplaced double quote
  kInternerFull,  // the Interner refused a string
  kTooMany,       // past NetworksBuilder::kMaxRows prefixes
  kCount
};
inline constexpr std::array<const char*, static_cast<size_t>(CsvError::kCount)> kCsvErrorNames = {
    "field_count", "bad_prefix", "host_bits", "bad_asn", "bad_quote", "interner_full", "too_many"};

struct NetworksLoadReport {
  static constexpr size_t kMaxMessages = 100;
  size_t lines = 0;       // lines read, comments included
  size_t prefixes = 0;    // lines added to the builder
  size_t duplicates = 0;  // prefixes given again (the later line won)
  std::array<size_t, static_cast<size_t>(CsvError::kCount)> errors{};
  std::vector<std::string> messages;  // errors and duplicates, the first kMaxMessages
  size_t error_count() const {
    size_t n = 0;
    for (size_t e : errors) n += e;
    return n;
  }
};

// Parses `text` (the file's contents; `file` names it in messages) into
// `out`, interning strings into `strings`.
void parse_networks_csv(std::string_view text, std::string_view file, Interner& strings,
                        NetworksBuilder& out, NetworksLoadReport* report);

// Reads and parses the file at `path`. false (with *error set) only when the
// file cannot be read; malformed lines are in the report.
bool load_networks_csv(const std::string& path, Interner& strings, NetworksBuilder& out,
                       NetworksLoadReport* report, std::string* error);

}  // namespace ringflow::enrich
