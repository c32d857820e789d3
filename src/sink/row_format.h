// Row formatting of the CSV and JSON-lines sinks: one line per FlushRow, with
// the columns
//   interval_start interval_start_ms interval_end interval_end_ms partial
//   <key fields...> flows packets bytes first first_ms last last_ms
//   tcp_flags overflow
// Times as ISO 8601 UTC with milliseconds and as epoch ms; addresses as text
// ("10.1.2.0/24" when aggregated to a prefix); booleans as true/false.
// Enriched names (src_net, src_as_name, src_country, ...; docs/enrichment.md)
// print as their strings, empty when unknown: in CSV quoted (RFC 4180) only
// when they hold a comma, quote or line break; no other value ever does.
// JSON: one object per line; addresses, names and times as strings, the rest
// numbers (exact: JSON numbers up to 2^53 are exact in jq/JS; counters beyond
// that lose precision there, not in the file).
//
// Formatting avoids printf and gmtime (a 1 M-row interval is written in well
// under a second): integers with to_chars, IPv4 by hand, and the date part of
// first/last cached per second.
//
// Thread safety: a RowFormatter holds per-batch caches; one thread.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "aggregate/flush_batch.h"

namespace ringflow {

enum class FileFormat : uint8_t { kCsv, kJsonl };

class RowFormatter {
 public:
  explicit RowFormatter(FileFormat format) : format_(format) {}

  // Starts a batch: appends the CSV header line (nothing for JSONL).
  void begin(const FlushBatch& batch, std::string* out);
  // Appends one line, '\n' included.
  void row(const FlushBatch& batch, const FlushRow& row, std::string* out);

  // Longest line row() can produce.
  static constexpr size_t kMaxLine = 4096;

 private:
  char* put_time(int64_t ms, char* out);

  static constexpr int kIsoLenNoMs = 19;  // "2024-01-02T03:04:05"

  FileFormat format_;
  char interval_[256];  // pre-formatted interval columns of the batch (JSON: ~165 bytes)
  size_t interval_len_ = 0;
  int64_t cached_sec_ = std::numeric_limits<int64_t>::min();  // second of cached_
  char cached_[kIsoLenNoMs];
};

}  // namespace ringflow
