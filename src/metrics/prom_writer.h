// PromWriter: builds one scrape in the Prometheus text exposition format
// (version 0.0.4, what `promtool check metrics` validates). See
// docs/metrics.md for the metrics ringflow writes with it.
//
// A scrape is a sequence of families; each family() call writes its
// "# HELP" and "# TYPE" lines, and the sample() calls that follow add its
// samples. The writer enforces the rules a scraper would otherwise reject
// the whole scrape for, so that one bad series never costs every other:
//   - metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
//     [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__";
//   - a counter's name ends in "_total" (the TYPE line carries the full
//     name, as client_golang writes it) and its value is >= 0, not NaN;
//   - a family appears once per scrape, and a label set once per family;
//   - label values and HELP text are escaped (\\, \" and \n).
// A call that breaks a rule writes nothing and is recorded in errors(); the
// output stays a valid exposition.
//
// Not a hot-path component: it allocates freely and runs on the metrics
// server's thread, once per scrape.
//
// Thread safety: none; one writer per scrape, used by one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace ringflow {

enum class MetricType : uint8_t { kCounter, kGauge };

struct Label {
  std::string_view name;
  std::string_view value;
};

class PromWriter {
 public:
  // Starts a family. false (and nothing written) when the name is invalid, a
  // counter lacks the _total suffix, or the family was already written; the
  // samples that follow are then dropped as well (and each recorded).
  bool family(std::string_view name, MetricType type, std::string_view help);

  // One sample of the current family. uint64 values are written exactly
  // (a double would round counters above 2^53).
  // REQUIRES: a family() call before (else recorded as an error).
  void sample(std::span<const Label> labels, uint64_t value);
  void sample(std::span<const Label> labels, double value);
  void sample(std::initializer_list<Label> labels, uint64_t value) {
    sample(std::span<const Label>(labels.begin(), labels.size()), value);
  }
  void sample(std::initializer_list<Label> labels, double value) {
    sample(std::span<const Label>(labels.begin(), labels.size()), value);
  }
  void sample(uint64_t value) { sample(std::span<const Label>(), value); }
  void sample(double value) { sample(std::span<const Label>(), value); }

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }
  // One sentence per refused call, e.g. "ringflow_x: counter name must end in _total".
  const std::vector<std::string>& errors() const { return errors_; }

  static bool valid_metric_name(std::string_view name);
  static bool valid_label_name(std::string_view name);
  // Go-compatible float text: shortest round-trip digits, "NaN", "+Inf", "-Inf".
  static void append_double(std::string* out, double v);

 private:
  // Writes `name{labels} ` and registers the label set; false on a rule break.
  bool begin_sample(std::span<const Label> labels);
  void error(std::string msg);

  std::string out_;
  std::vector<std::string> errors_;
  std::set<std::string, std::less<>> families_;
  // Hashes of the current family's series (`name{labels}`); a hash seen
  // before is confirmed against the family's text (out_ from family_start_),
  // so a collision never refuses a series. A std::set of the strings took
  // half of a 1,000-stream scrape's 37 M instructions (docs/performance.md).
  std::unordered_set<uint64_t> series_;
  size_t family_start_ = 0;  // out_'s size after the family's TYPE line
  std::string current_;      // current family's name; "" = none / refused
  MetricType type_ = MetricType::kGauge;
  std::string scratch_;
};

}  // namespace ringflow
