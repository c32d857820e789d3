// "Never throw out of these functions": mutated files and odd override values
// give errors, never exceptions or crashes; whatever loads cleanly dumps to a
// file that loads to the same thing.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include <ringflow/config.h>

using namespace ringflow;

namespace {

std::string shipped() {
  std::ifstream in(RINGFLOW_SOURCE_DIR "/netflow.toml");
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("Mutated config files give errors, never exceptions", "[config][robust]") {
  const std::string base = shipped() +
                           "\n[[decode.sampling_override]]\nexporter = \"2001:db8::1\"\ninterval = 7\n"
                           "[[sink]]\ntype = \"clickhouse\"\nname = \"ch\"\npassword = \"pw\"\n";
  REQUIRE(load_config_string(base, "base.toml").ok());
  std::mt19937 rng(20240601);  // fixed seed: the same 3000 cases every run
  const char alphabet[] = "[]{}=\"'.,#/:\n 0123456789abcdefxyz_-\\\t\x01\xff";
  int loaded_ok = 0, rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string doc = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      size_t at = rng() % doc.size();
      switch (rng() % 4) {
        case 0: doc[at] = alphabet[rng() % (sizeof alphabet - 1)]; break;
        case 1: doc.insert(at, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
        case 2: doc.erase(at, 1 + rng() % 8); break;
        default: doc.resize(at); break;
      }
    }
    ConfigResult r;
    REQUIRE_NOTHROW(r = load_config_string(doc, "m.toml"));
    if (!r.ok()) {
      ++rejected;
      for (const auto& err : r.errors) REQUIRE_FALSE(err.str().empty());
      continue;
    }
    ++loaded_ok;
    // A clean load is a complete config: it dumps, and the dump loads to it.
    std::string dump;
    REQUIRE_NOTHROW(dump = dump_config(r.config));
    ConfigResult again = load_config_string(dump, "m.toml");
    INFO(doc << "\n---\n" << dump);
    REQUIRE(again.ok());
    // The dump masks every password (a mutation may have changed its value,
    // so compare with what was loaded, not with the literal).
    REQUIRE(again.config.output.sinks.size() == r.config.output.sinks.size());
    for (size_t k = 0; k < r.config.output.sinks.size(); ++k) {
      const std::string& pw = r.config.output.sinks[k].password;
      if (pw.empty()) continue;
      REQUIRE(again.config.output.sinks[k].password == "********");
      if (pw.size() >= 2 && pw != "********") REQUIRE(dump.find("\"" + pw + "\"") == std::string::npos);
    }
    REQUIRE(dump_config(again.config) == dump);
  }
  // Both outcomes were exercised, or the test proves little.
  CHECK(loaded_ok > 100);
  CHECK(rejected > 100);
}

TEST_CASE("Odd override values give errors, never exceptions", "[config][robust]") {
  const std::vector<std::string> values = {
      "", "\"", "[", "]", "{", "=", "1\nx = 2", "[1, \"a\"]", "{a = 1}", "[{}]", "9223372036854775807",
      "-9223372036854775808", "99999999999999999999", "1e400", "nan", "inf", "true", "2024-01-01",
      "\"\\u0000\"", std::string(5000, 'x'), "'''", "\"\"\"x\"\"\""};
  const std::vector<std::string> keys = {"receive.workers", "receive.listen", "receive.allow", "aggregate.key",
                                         "log.level", "output.directory", "sink", "decode.sampling_override",
                                         "decode.renormalize", "receive", "", ".", "a.b.c"};
  int errors = 0;
  for (const auto& k : keys) {
    for (const auto& v : values) {
      ConfigResult r = load_config_string("", "");
      REQUIRE_NOTHROW(apply_overrides(&r, {{k, v, ""}}));
      errors += static_cast<int>(r.errors.size());
      if (r.ok()) REQUIRE(load_config_string(dump_config(r.config), "").ok());
    }
  }
  CHECK(errors > 0);
}
