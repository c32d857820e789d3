// Family tables: how every stage describes its metrics. A stage keeps one
// table of Family entries next to its counters (name, type, help, and how to
// read the value from one row: a reactor's, worker's or sink's counter
// block), and its writer hands the table to write_families(), which writes
// each family once with one sample per row. docs/metrics.md lists them all.
//
// Values are read with the function in the entry, so a table can read a
// snapshot field, a relaxed Counter, or convert (ns to seconds).
//
// A stage-wide family whose series are not rows but enumerated label values
// (by version, by reason, by event) is a SeriesFamily: series i of one row,
// with up to two labels, written by write_series_families().
//
// Thread safety: tables are constexpr data; write_families() is as safe as
// the row accessors it is given (the stages read relaxed atomics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string_view>

#include "metrics/prom_writer.h"

namespace ringflow {

inline constexpr MetricType kCounter = MetricType::kCounter;
inline constexpr MetricType kGauge = MetricType::kGauge;

// One family of metrics over rows of type T, with values of type V
// (uint64_t or double).
template <class T, class V = uint64_t>
struct Family {
  const char* name;
  MetricType type;
  const char* help;
  V (*value)(const T& row);
};

// One family over the series i = first..series-1 of a single row of type T.
// label_names holds zero, one or two label names (nullptr after the last);
// label_value(i, k) gives label k's value for series i. A series is written
// when present is null or present(row, i) is true.
template <class T>
struct SeriesFamily {
  const char* name;
  MetricType type;
  const char* help;
  uint64_t (*value)(const T& row, size_t i);
  size_t series = 1;
  const char* label_names[2] = {nullptr, nullptr};
  std::string_view (*label_value)(size_t i, size_t k) = nullptr;
  size_t first = 0;
  bool (*present)(const T& row, size_t i) = nullptr;
};

// Decimal text of a small index, for "reactor" / "worker" label values.
// (Copyable: the view is made on demand, never stored over its own buffer.)
class IndexLabel {
 public:
  explicit IndexLabel(uint64_t v)
      : len_(static_cast<size_t>(
            snprintf(buf_, sizeof buf_, "%llu", static_cast<unsigned long long>(v)))) {}
  std::string_view sv() const { return {buf_, len_}; }

 private:
  char buf_[24];
  size_t len_;
};

// The writers below take any range of Family entries as `table` (a
// constexpr array, a span).

// Writes every family of `table`, each followed by one sample per row
// 0..rows-1: row(i) gives the row, label_value(i) the value of label `label`.
template <class Table, class Row, class LabelValue>
void write_families(PromWriter& w, const Table& table, std::string_view label, size_t rows,
                    Row&& row, LabelValue&& label_value) {
  for (const auto& f : table) {
    w.family(f.name, f.type, f.help);
    for (size_t i = 0; i < rows; ++i) w.sample({{label, label_value(i)}}, f.value(row(i)));
  }
}

// The same, labelled by index: label="0", "1", ...
template <class Table, class Row>
void write_indexed_families(PromWriter& w, const Table& table, std::string_view label, size_t rows,
                            Row&& row) {
  for (const auto& f : table) {
    w.family(f.name, f.type, f.help);
    for (size_t i = 0; i < rows; ++i) w.sample({{label, IndexLabel(i).sv()}}, f.value(row(i)));
  }
}

// Every family of a SeriesFamily table, over one row.
template <class Table, class T>
void write_series_families(PromWriter& w, const Table& table, const T& row) {
  for (const auto& f : table) {
    w.family(f.name, f.type, f.help);
    size_t nlabels = 0;
    while (nlabels < 2 && f.label_names[nlabels] != nullptr) ++nlabels;
    for (size_t i = f.first; i < f.series; ++i) {
      if (f.present != nullptr && !f.present(row, i)) continue;
      Label labels[2];
      for (size_t k = 0; k < nlabels; ++k) labels[k] = {f.label_names[k], f.label_value(i, k)};
      w.sample(std::span<const Label>(labels, nlabels), f.value(row, i));
    }
  }
}

// Families without labels, one sample each, all read from one row.
template <class Table, class T>
void write_single_families(PromWriter& w, const Table& table, const T& row) {
  for (const auto& f : table) {
    w.family(f.name, f.type, f.help);
    w.sample(f.value(row));
  }
}

}  // namespace ringflow
