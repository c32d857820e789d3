#include "sink/text_sink.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "aggregate/key_codec.h"
#include "sink/time_format.h"

namespace ringflow {
namespace {

// v in SI units with one decimal: units[0] below 1000, then k, M, G, ...
std::string scaled(uint64_t v, const char* const (&units)[7]) {
  double d = static_cast<double>(v);
  size_t i = 0;
  // 999.95 would print as "1000.0": move to the next unit instead.
  while (d >= 999.95 && i + 1 < 7) {
    d /= 1000;
    ++i;
  }
  char buf[32];
  if (i == 0) {
    std::snprintf(buf, sizeof buf, "%llu%s%s", static_cast<unsigned long long>(v),
                  units[0][0] ? " " : "", units[0]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", d, units[i]);
  }
  return buf;
}

// Orders rows by bytes, then flows, then layout and key bytes: "a ranks
// before b" (a total order, so the top N is the same on every run).
struct Ranks {
  size_t key_bytes[2];
  bool operator()(const FlushRow* a, const FlushRow* b) const {
    if (a->c->bytes != b->c->bytes) return a->c->bytes > b->c->bytes;
    if (a->c->flows != b->c->flows) return a->c->flows > b->c->flows;
    if (a->layout != b->layout) return a->layout < b->layout;
    return std::memcmp(a->key, b->key, key_bytes[a->layout]) < 0;
  }
};

}  // namespace

std::string human_count(uint64_t v) {
  static const char* const kUnits[7] = {"", "k", "M", "G", "T", "P", "E"};
  return scaled(v, kUnits);
}

std::string human_bytes(uint64_t v) {
  static const char* const kUnits[7] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  return scaled(v, kUnits);
}

std::string grouped(uint64_t v) {
  std::string d = std::to_string(v), s;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) s += ',';
    s += d[i];
  }
  return s;
}

TextSink::TextSink(std::string name, uint32_t top, FILE* out)
    : name_(std::move(name)), top_(top), out_(out) {
  heap_.reserve(top_ + 1);
}

bool TextSink::write(const FlushBatch& b) {
  const KeySchema& schema = *b.schema;
  std::string out;
  char t[kIsoMsLen];
  char* e = format_iso_ms(b.start_ms, t);
  // Whole seconds are enough for a person: drop ".000".
  std::string start(t, e - 5);
  start += 'Z';
  out += "== " + start + " +" + std::to_string((b.end_ms - b.start_ms) / 1000) + "s";
  out += "  flows " + human_count(b.totals.flows);
  out += "  packets " + human_count(b.totals.packets);
  out += "  bytes " + human_bytes(b.totals.bytes);
  out += "  rows " + grouped(b.rows.size());
  if (b.has_pipeline_stats) {
    out += "  drops " + grouped(b.pipeline.dropped() + b.pipeline.kernel_drops);
    out += "  rejected " + grouped(b.pipeline.rejected());
  }
  if (b.partial) out += "  [partial]";
  if (b.late) out += "  [late: " + std::to_string(b.intervals()) + " intervals]";
  out += '\n';
  if (b.overflow_records || b.merge_overflow_rows) {
    out += "   overflow " + grouped(b.overflow_records) + " records";
    if (b.merge_overflow_rows) out += " + " + grouped(b.merge_overflow_rows) + " merged rows";
    out += " (table full: raise aggregate.max_entries)\n";
  }
  if (b.late_records || b.future_records)
    out += "   late records " + grouped(b.late_records) + ", future records " +
           grouped(b.future_records) + "\n";
  if (b.workers_missing)
    out += "   " + std::to_string(b.workers_missing) + " worker(s) missed the flush deadline\n";

  // Top N by bytes: a bounded heap whose front is the weakest row kept.
  Ranks ranks{{schema.key_bytes(kNarrow), schema.key_bytes(kWide)}};
  heap_.clear();
  for (const FlushRow& r : b.rows) {
    if (r.overflow || top_ == 0) continue;
    if (heap_.size() < top_) {
      heap_.push_back(&r);
      std::push_heap(heap_.begin(), heap_.end(), ranks);
    } else if (ranks(&r, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), ranks);
      heap_.back() = &r;
      std::push_heap(heap_.begin(), heap_.end(), ranks);
    }
  }
  std::sort_heap(heap_.begin(), heap_.end(), ranks);

  if (!heap_.empty()) {
    // Cells as text first, then widths, then aligned lines.
    size_t nkey = schema.fields().size();
    size_t ncol = 1 + nkey + 3;
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> header = {"#"};
    for (size_t i = 0; i < nkey; ++i) header.emplace_back(schema.column(i));
    header.insert(header.end(), {"flows", "packets", "bytes"});
    cells.push_back(header);
    for (size_t i = 0; i < heap_.size(); ++i) {
      std::vector<std::string> row = {std::to_string(i + 1)};
      for (std::string& s : key_field_texts(schema, heap_[i]->layout, heap_[i]->key))
        row.push_back(std::move(s));
      row.push_back(human_count(heap_[i]->c->flows));
      row.push_back(human_count(heap_[i]->c->packets));
      row.push_back(human_bytes(heap_[i]->c->bytes));
      cells.push_back(std::move(row));
    }
    std::vector<size_t> width(ncol, 0);
    for (const auto& row : cells)
      for (size_t c = 0; c < ncol; ++c) width[c] = std::max(width[c], row[c].size());
    for (const auto& row : cells) {
      std::string line = "  ";
      for (size_t c = 0; c < ncol; ++c) {
        // Addresses read best left-aligned, numbers right-aligned.
        bool left = c > 0 && c <= nkey && key_field_is_address(schema.fields()[c - 1].field);
        std::string pad(width[c] - row[c].size(), ' ');
        line += left ? row[c] + pad : pad + row[c];
        if (c + 1 < ncol) line += "  ";
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + '\n';
    }
  }
  if (std::fwrite(out.data(), 1, out.size(), out_) != out.size() || std::fflush(out_) != 0) {
    last_error_ = std::string("write to terminal: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace ringflow
