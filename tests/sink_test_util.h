// Helpers shared by the sink tests: batches built through the real
// aggregation path (hub + merger), a scratch directory, file reading, and a
// strict reader for the flat JSON objects the jsonl sink writes.
#pragma once

#include <catch2/catch.hpp>

#include <dirent.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "aggregate/hub.h"
#include "aggregate/merger.h"

namespace ringflow::test {

constexpr int64_t kMin = 60000;
constexpr int64_t kT0 = 28333334 * kMin;  // 2023-11-14T22:14:00Z

inline FlowRecord rec(uint32_t src, uint32_t dst, uint16_t dport, uint8_t proto, uint32_t packets,
                      uint32_t octets, int64_t start, int64_t end, uint8_t flags = 0) {
  FlowRecord r;
  r.src = IpAddr::from_v4(src);
  r.dst = IpAddr::from_v4(dst);
  r.ip_version = 4;
  r.src_port = 1234;
  r.dst_port = dport;
  r.protocol = proto;
  r.packets = packets;
  r.bytes = octets;
  r.start_ms = start;
  r.end_ms = end;
  r.tcp_flags = flags;
  return r;
}

// The same flow between two IPv6 hosts.
inline FlowRecord rec6(const char* src, const char* dst, uint16_t dport, uint8_t proto,
                       uint32_t packets, uint32_t octets, int64_t start, int64_t end) {
  FlowRecord r = rec(0, 0, dport, proto, packets, octets, start, end);
  r.src = *IpAddr::parse(src);
  r.dst = *IpAddr::parse(dst);
  r.ip_version = 6;
  return r;
}

inline FlowContext at(int64_t arrival_ms) {
  FlowContext c;
  c.exporter = IpAddr::from_v4(0x7F000001);
  c.arrival_ms = arrival_ms;
  return c;
}

// Builds batches for interval k (start kT0 + k minutes) from records.
class BatchMaker {
 public:
  explicit BatchMaker(std::vector<std::string> key, uint64_t max_entries = 4096) {
    AggregateConfig c;
    c.key = std::move(key);
    c.max_entries = max_entries;
    hub_ = std::make_unique<AggregationHub>(c, 1);
    merger_ = std::make_unique<Merger>(*hub_);
  }
  // REQUIRES: k increasing; the previous batch released (done()).
  const FlushBatch& make(int64_t k, const std::vector<FlowRecord>& records) {
    int64_t start = kT0 + k * kMin;
    auto& w = hub_->worker(0);
    w.tick(start);
    for (const auto& r : records) w.add(r, at(start + 1));
    w.tick(start + kMin);
    FlushBatch* b = merger_->collect_sealed();
    REQUIRE(b != nullptr);
    return *b;
  }
  // The open interval as a partial batch (the worker is this thread).
  const FlushBatch& make_partial(int64_t k, const std::vector<FlowRecord>& records) {
    int64_t start = kT0 + k * kMin;
    auto& w = hub_->worker(0);
    w.tick(start);
    for (const auto& r : records) w.add(r, at(start + 1));
    FlushBatch* b = merger_->collect_open(0);
    REQUIRE(b != nullptr);
    return *b;
  }
  void done() { merger_->release(); }

 private:
  std::unique_ptr<AggregationHub> hub_;
  std::unique_ptr<Merger> merger_;
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ringflow-sink-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(dir)) v.push_back(e.path().filename());
  std::sort(v.begin(), v.end());
  return v;
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> v;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      v.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  v.push_back(cur);
  return v;
}

// A JSON value of a flat object: its kind and its text (strings unquoted).
struct JsonValue {
  char kind = 0;  // 's' string, 'n' number, 'b' boolean
  std::string text;
};

// Parses one line holding a flat JSON object of strings, integers and
// booleans (all the jsonl sink writes). Fails the test on anything else.
inline std::map<std::string, JsonValue> parse_flat_json(const std::string& line) {
  std::map<std::string, JsonValue> out;
  size_t i = 0;
  auto expect = [&](char c) {
    INFO("line: " << line << " at " << i);
    REQUIRE(i < line.size());
    REQUIRE(line[i] == c);
    ++i;
  };
  auto string = [&] {
    expect('"');
    std::string s;
    while (i < line.size() && line[i] != '"') {
      INFO("line: " << line);
      REQUIRE(line[i] != '\\');  // the sink never needs escapes
      REQUIRE(static_cast<unsigned char>(line[i]) >= 0x20);
      s += line[i++];
    }
    expect('"');
    return s;
  };
  expect('{');
  while (true) {
    std::string key = string();
    expect(':');
    JsonValue v;
    if (line[i] == '"') {
      v.kind = 's';
      v.text = string();
    } else if (line.compare(i, 4, "true") == 0 || line.compare(i, 5, "false") == 0) {
      v.kind = 'b';
      v.text = line[i] == 't' ? "true" : "false";
      i += v.text.size();
    } else {
      v.kind = 'n';
      size_t j = i;
      if (line[j] == '-') ++j;
      while (j < line.size() && isdigit(static_cast<unsigned char>(line[j]))) ++j;
      INFO("line: " << line);
      REQUIRE(j > i);
      v.text = line.substr(i, j - i);
      i = j;
    }
    INFO("duplicate key " << key);
    REQUIRE(out.count(key) == 0);
    out[key] = v;
    if (line[i] == ',') {
      ++i;
      continue;
    }
    expect('}');
    break;
  }
  REQUIRE(i == line.size());
  return out;
}

}  // namespace ringflow::test
