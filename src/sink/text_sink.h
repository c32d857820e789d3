// TextSink: what a person watching the collector wants to see, per flushed
// interval, on stdout (or any FILE*, for tests):
//
//   == 2024-01-02T03:04:00Z +60s  flows 1.23 M  packets 45.6 M  bytes 78.9 GB
//      rows 12,345  drops 0  rejected 0
//     overflow 1,234 records (table full)            <- only when non-zero
//      #  src_addr   dst_addr     src_port  dst_port  protocol  flows  packets   bytes
//      1  10.0.0.1   192.0.2.10        443     51234         6     12    1.2 k  1.5 MB
//
// The header line carries "[partial]" at shutdown and "[late: N intervals]"
// when a late flush made the batch span several intervals. Drops are the
// pipeline counters accumulated since the previous batch (datagrams dropped:
// oversize + not_allowed + queue_full + kernel; rejected: malformed).
// Rows: the top N keys by bytes (ties by flows, then key), counts in SI units.
//
// Thread safety: one thread (the flusher).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "sink/sink.h"

namespace ringflow {

class TextSink : public Sink {
 public:
  // REQUIRES: out stays valid for the sink's life (not closed by the sink).
  TextSink(std::string name, uint32_t top, FILE* out = stdout);

  const std::string& name() const override { return name_; }
  bool write(const FlushBatch& batch) override;
  std::string last_error() const override { return last_error_; }

 private:
  std::string name_;
  uint32_t top_;
  FILE* out_;
  std::vector<const FlushRow*> heap_;  // capacity top_, reserved up front
  std::string last_error_;
};

// "999", "1.2 k", "45.6 M", "7.0 G", ... (SI, one decimal).
std::string human_count(uint64_t v);
// "999 B", "1.5 kB", "78.9 GB", ... (SI).
std::string human_bytes(uint64_t v);
// "12,345".
std::string grouped(uint64_t v);

}  // namespace ringflow
