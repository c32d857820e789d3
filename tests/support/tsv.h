// Tab-separated truth files, as the capture tests read them: a header row of
// column names, then one row per line (tshark's decoding of a capture, in
// tests/data/ and ../shared/captures/*/truth/). One reader for the v5, the
// v9/IPFIX and the sFlow capture tests.
//
// Errors: a file that cannot be opened, a column the header lacks, or a cell
// that is not a number throws (std::runtime_error, std::out_of_range,
// std::invalid_argument) with the path, the name or the text; a Catch test
// case then fails with that message.
//
// Thread safety: pure functions of their input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ringflow::testing {

// `s` cut at every `sep`: "a\tb" -> {"a", "b"}; a trailing separator ends in
// an empty field ("a\t" -> {"a", ""}); "" -> {}.
inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

// A cell as a whole unsigned number, in tshark's notation: decimal, or hex
// with 0x ("0x1b", "0x0010" for TCP flags). Throws std::invalid_argument
// naming the text when it is empty or not a number to its end.
inline uint64_t num(const std::string& s) {
  char* end = nullptr;
  const uint64_t v = std::strtoull(s.c_str(), &end, 0);
  if (s.empty() || *end != '\0') throw std::invalid_argument("TSV: not a number: '" + s + "'");
  return v;
}

// A TSV file: its header, the column of each name, and the rows after the
// header (empty lines skipped). Rows may be shorter than the header.
struct Tsv {
  std::vector<std::string> header;
  std::map<std::string, size_t> col;
  std::vector<std::vector<std::string>> rows;

  // The cell of column `name` in `row`; "" past the end of a short row.
  // Throws std::out_of_range when the header has no such column.
  const std::string& at(const std::vector<std::string>& row, const std::string& name) const {
    static const std::string kEmpty;
    auto it = col.find(name);
    if (it == col.end()) throw std::out_of_range("TSV: no column '" + name + "'");
    return it->second < row.size() ? row[it->second] : kEmpty;
  }
};

// Reads `path`; throws std::runtime_error naming it when it cannot be opened.
inline Tsv read_tsv(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) throw std::runtime_error("TSV: cannot read " + path);
  Tsv t;
  std::string line;
  if (std::getline(in, line)) t.header = split(line, '\t');
  for (size_t i = 0; i < t.header.size(); ++i) t.col[t.header[i]] = i;
  while (std::getline(in, line))
    if (!line.empty()) t.rows.push_back(split(line, '\t'));
  return t;
}

}  // namespace ringflow::testing
