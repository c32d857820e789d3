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
// (FlusherOptions::observe), but for its row counters, which the metrics
// thread reads; the metric writer runs on the metrics thread.
//
// ClickHouse (output.counters = "clickhouse"): the rows go to the table
// <table>_counters beside the first clickhouse sink's table, created if
// missing, as one INSERT ... FORMAT JSONEachRow per interval. A failed
// INSERT keeps its rows and sends them with the next interval's, up to
// kMaxPendingBytes; rows beyond that are dropped and counted. Nothing is
// spooled to disk: a restart loses what was pending (counted as failed).
#pragma once

#include <atomic>
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
#include "sink/clickhouse_http.h"

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
  enum class Format : uint8_t { kCsv, kJsonl, kClickHouse };
  using Reader = std::function<void(std::vector<SflowIfStat>*)>;
  static constexpr size_t kMaxPendingBytes = 16u << 20;

  // A file (kCsv, kJsonl) at `path`.
  SflowCountersOutput(std::string path, Format format, Reader read);
  // ClickHouse: `table` is "database.table" (each part as configured).
  SflowCountersOutput(ChEndpoint endpoint, std::string database, std::string table, Reader read);
  ~SflowCountersOutput();

  // Opens (appends to) the file; a new or empty CSV file gets its header.
  // ClickHouse: creates the table if missing; a server that does not answer
  // is not an error here (the first INSERT retries the CREATE), a refused
  // CREATE (a table of another shape) is.
  bool open(std::string* error);
  // One row per interface whose totals moved since the last call (flushed to
  // the file, or inserted). Returns the rows written; a write error is
  // counted in errors().
  size_t write_interval(int64_t start_ms, int64_t end_ms);
  uint64_t rows() const { return rows_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  // ClickHouse: rows waiting for a successful INSERT, and rows dropped
  // because the pending rows reached kMaxPendingBytes.
  uint64_t pending_rows() const { return pending_rows_.load(std::memory_order_relaxed); }
  uint64_t dropped_rows() const { return dropped_.load(std::memory_order_relaxed); }
  Format format() const { return format_; }

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
  std::atomic<uint64_t> rows_{0}, errors_{0}, pending_rows_{0}, dropped_{0};
  // ClickHouse
  std::unique_ptr<ChHttp> ch_;
  std::string database_, table_;
  bool created_ = false;
  std::string pending_;  // JSONEachRow lines not yet inserted
  bool create_table(std::string* error);
  void insert_pending();
};

// The CSV header of the counters rows (the JSONL keys are the same names).
extern const char* const kSflowCountersColumns;

}  // namespace ringflow
