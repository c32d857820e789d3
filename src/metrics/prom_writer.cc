#include "metrics/prom_writer.h"

#include <charconv>
#include <cmath>
#include <functional>

namespace ringflow {
namespace {

bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// HELP text escapes backslash and newline; label values also the quote.
void append_escaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (quote && c == '"') {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

}  // namespace

bool PromWriter::valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!(is_alpha_(c) || c == ':' || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

bool PromWriter::valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;  // "__" is reserved for Prometheus
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!(is_alpha_(c) || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

void PromWriter::append_double(std::string* out, double v) {
  if (std::isnan(v)) {
    *out += "NaN";
  } else if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    // Shortest text that parses back to the same double (Go's ParseFloat,
    // which Prometheus uses, reads every form to_chars writes).
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, r.ptr);
  }
}

void PromWriter::error(std::string msg) { errors_.push_back(std::move(msg)); }

bool PromWriter::family(std::string_view name, MetricType type, std::string_view help) {
  current_.clear();
  series_.clear();
  if (!valid_metric_name(name)) {
    error(std::string(name) + ": invalid metric name");
    return false;
  }
  if (type == MetricType::kCounter && !name.ends_with("_total")) {
    error(std::string(name) + ": counter name must end in _total");
    return false;
  }
  if (!families_.emplace(name).second) {
    error(std::string(name) + ": family written twice");
    return false;
  }
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(&out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == MetricType::kCounter ? " counter\n" : " gauge\n";
  current_ = name;
  type_ = type;
  family_start_ = out_.size();
  return true;
}

bool PromWriter::begin_sample(std::span<const Label> labels) {
  if (current_.empty()) {
    error("sample without a valid family (" + std::to_string(labels.size()) + " labels)");
    return false;
  }
  scratch_ = current_;
  if (!labels.empty()) {
    scratch_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      const Label& l = labels[i];
      if (!valid_label_name(l.name)) {
        error(current_ + ": invalid label name \"" + std::string(l.name) + "\"");
        return false;
      }
      for (size_t j = 0; j < i; ++j) {
        if (labels[j].name == l.name) {
          error(current_ + ": label \"" + std::string(l.name) + "\" given twice");
          return false;
        }
      }
      if (i > 0) scratch_ += ',';
      scratch_ += l.name;
      scratch_ += "=\"";
      append_escaped(&scratch_, l.value, true);
      scratch_ += '"';
    }
    scratch_ += '}';
  }
  // Label order is part of the text here; every caller passes labels in a
  // fixed order per family, so equal sets give equal text.
  if (!series_.insert(std::hash<std::string_view>{}(scratch_)).second) {
    // Seen before, or a hash collision: look for the series' line.
    const std::string_view written = std::string_view(out_).substr(family_start_);
    for (size_t at = 0; at < written.size();) {
      const size_t eol = written.find('\n', at);
      const std::string_view line =
          written.substr(at, eol == std::string_view::npos ? eol : eol - at);
      if (line.size() > scratch_.size() && line.starts_with(scratch_) &&
          line[scratch_.size()] == ' ') {
        error(current_ + ": duplicate series " + scratch_);
        return false;
      }
      if (eol == std::string_view::npos) break;
      at = eol + 1;
    }
  }
  out_ += scratch_;
  out_ += ' ';
  return true;
}

void PromWriter::sample(std::span<const Label> labels, uint64_t value) {
  if (!begin_sample(labels)) return;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, r.ptr);
  out_ += '\n';
}

void PromWriter::sample(std::span<const Label> labels, double value) {
  if (type_ == MetricType::kCounter && !current_.empty() && !(value >= 0)) {
    error(current_ + ": counter value must be >= 0");
    return;
  }
  if (!begin_sample(labels)) return;
  append_double(&out_, value);
  out_ += '\n';
}

}  // namespace ringflow
