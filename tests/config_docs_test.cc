// "It must stay true": docs/config.md and netflow.toml cover exactly the keys of
// the schema, and the documented defaults are the real ones.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "config/schema.h"

using namespace ringflow;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("docs/config.md documents every key with its real default and range", "[config][docs]") {
  std::string doc = slurp(RINGFLOW_SOURCE_DIR "/docs/config.md");
  std::set<std::string> documented;
  // Key table rows: | `path` | type | default | range | meaning |
  std::regex row(R"(\n\| `([a-z0-9_.]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|)");
  std::map<std::string, std::pair<std::string, std::string>> rows;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it) {
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(' '));
      s.erase(s.find_last_not_of(' ') + 1);
      return s;
    };
    rows[(*it)[1]] = {trim((*it)[3]), trim((*it)[4])};
  }
  for (const auto& key : schema::key_docs()) {
    INFO(key.path);
    auto it = rows.find(key.path);
    REQUIRE(it != rows.end());
    // Default column: the TOML value in backticks, or a remark such as "(required)".
    std::string def = key.default_value.starts_with("(") ? key.default_value : "`" + key.default_value + "`";
    CHECK(it->second.first == def);
    // Range column: what the validator says it expects.
    CHECK(it->second.second == key.expected);
    rows.erase(it);
  }
  // ... and nothing documented that does not exist.
  for (const auto& [path, _] : rows) FAIL_CHECK("docs/config.md documents unknown key " << path);
}

TEST_CASE("netflow.toml mentions every key", "[config][docs]") {
  std::string toml = slurp(RINGFLOW_SOURCE_DIR "/netflow.toml");
  for (const auto& key : schema::key_docs()) {
    std::string leaf = key.path.substr(key.path.rfind('.') + 1);
    INFO(key.path);
    // Present or commented out: "leaf =" at the start of a line, maybe after "# ".
    std::regex line("(^|\\n)(# )?" + leaf + " +=");
    CHECK(std::regex_search(toml, line));
  }
}
