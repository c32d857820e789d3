// sFlow interface counters out of the collector: per-interface Prometheus
// series (capped) and the optional `counters` rows per interval
// (output.counters), both read from what each reactor's ordered stage
// published (Sessions::sflow_interfaces, src/decode/sflow_if_table.h).
//
// Alignment: the ordered stage credits an interface's counter deltas and the
// flow bytes of the same period (between two of its counter samples) when the
// later counter sample arrives. A row of interval [start, end) holds the
// counter periods that ended in it (as published at most a second before the
// flush), so octets and flow bytes always cover the same traffic; coverage =
// flow bytes / octets, empty when the interface counted no octets. An agent
// polling less often than the interval gives rows only in the intervals where
// a counter sample arrived.
//
// Thread safety: SflowCountersOutput is used by the flusher thread only
// (FlusherOptions::observe); the metric writer by the metrics thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "decode/sflow_if_table.h"
#include "metrics/prom_writer.h"

namespace ringflow {

// Sorts by (agent, sub-agent, ifIndex) and sums the entries of one interface
// published by several reactors.
void merge_sflow_interfaces(std::vector<SflowIfStat>* v);

// Per-interface series for the busiest `cap` interfaces (by octets in + out),
// the rest summed under agent="other", sub_agent="", if_index="other"; and
// the tracked / exported gauges. Merges *v first.
void write_sflow_interface_metrics(PromWriter& w, std::vector<SflowIfStat>* v, size_t cap);

class SflowCountersOutput {
 public:
  enum class Format : uint8_t { kCsv, kJsonl };
  using Reader = std::function<void(std::vector<SflowIfStat>*)>;

  SflowCountersOutput(std::string path, Format format, Reader read);

  // Opens (appends to) the file; a new or empty CSV file gets its header.
  bool open(std::string* error);
  // One row per interface whose totals moved since the last call (flushed to
  // the file). Returns the rows written; a write error is counted in errors().
  size_t write_interval(int64_t start_ms, int64_t end_ms);
  uint64_t rows() const { return rows_; }
  uint64_t errors() const { return errors_; }

 private:
  using Key = std::tuple<std::array<uint8_t, 16>, uint32_t, uint32_t>;
  std::string path_;
  Format format_;
  Reader read_;
  struct Close {
    void operator()(FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<FILE, Close> f_;
  std::map<Key, SflowIfTable::Totals> prev_;
  std::vector<SflowIfStat> now_;
  uint64_t rows_ = 0, errors_ = 0;
};

// The CSV header of the counters rows (the JSONL keys are the same names).
extern const char* const kSflowCountersColumns;

}  // namespace ringflow
