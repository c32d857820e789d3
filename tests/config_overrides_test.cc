// apply_overrides(): "dotted.key=value" on top of a loaded file, with the same
// validation, errors naming the option that caused them.
#include <catch2/catch.hpp>

#include <ringflow/config.h>

using namespace ringflow;

namespace {

ConfigResult with(const std::string& toml, const std::vector<Override>& ov) {
  ConfigResult r = load_config_string(toml, "netflow.toml");
  REQUIRE(r.ok());
  apply_overrides(&r, ov);
  return r;
}

std::vector<std::string> strs(const ConfigResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.str());
  return out;
}

}  // namespace

TEST_CASE("Overrides win over the file", "[config][overrides]") {
  ConfigResult r = with("[receive]\nworkers = 2\nbackend = \"io_uring\"\n[aggregate]\ninterval = 60\n",
                        {{"receive.workers", "8", "--workers"},
                         {"aggregate.interval", "300", ""},
                         {"receive.backend", "recvmmsg", ""},  // bare word = string
                         {"receive.backend", "\"auto\"", ""},  // TOML string; the later one wins
                         {"output.directory", "/tmp/flows dir", ""},
                         {"decode.renormalize", "false", ""},
                         {"receive.listen", "[\"127.0.0.1:9995\", \"[::1]:9995\"]", ""},
                         {"receive.allow", "10.0.0.0/8", ""},  // one bare element = a one-element list
                         {"metrics.listen", "", ""}});
  INFO(strs(r).size());
  REQUIRE(r.ok());
  CHECK(r.config.receive.workers == 8);
  CHECK(r.config.aggregate.interval_s == 300);
  CHECK(r.config.receive.backend == Backend::kAuto);
  CHECK(r.config.output.directory == "/tmp/flows dir");
  CHECK_FALSE(r.config.decode.renormalize);
  REQUIRE(r.config.receive.listen.size() == 2);
  CHECK(r.config.receive.listen[1].str() == "[::1]:9995");
  REQUIRE(r.config.receive.allow.size() == 1);
  CHECK(r.config.receive.allow[0].str() == "10.0.0.0/8");
  CHECK(r.config.metrics.listen.empty());
}

TEST_CASE("A string key takes a value that looks like a number as text", "[config][overrides]") {
  ConfigResult r = with("", {{"output.directory", "2024", ""}});
  REQUIRE(r.ok());
  CHECK(r.config.output.directory == "2024");
}

TEST_CASE("Arrays of tables can be replaced whole", "[config][overrides]") {
  ConfigResult r = with("", {{"sink", "[{type = \"jsonl\", keep = 3}, {type = \"text\", top = 5}]", ""},
                             {"decode.sampling_override", "[{exporter = \"192.0.2.9\", interval = 10}]", ""}});
  REQUIRE(r.ok());
  REQUIRE(r.config.output.sinks.size() == 2);
  CHECK(r.config.output.sinks[0].type == SinkType::kJsonl);
  CHECK(r.config.output.sinks[0].keep == 3);
  CHECK(r.config.output.sinks[1].top == 5);
  REQUIRE(r.config.decode.sampling_overrides.size() == 1);
  CHECK(r.config.decode.sampling_overrides[0].interval == 10);
}

TEST_CASE("Override errors name the option, the key, expected and found", "[config][overrides]") {
  // "an out-of-range `--workers 0x` names the option and what was expected"
  ConfigResult r = with("", {{"receive.workers", "0x", "--workers"}});
  CHECK(strs(r) == std::vector<std::string>{
                       "--workers: receive.workers: expected integer in 0..256, found string \"0x\""});
  r = with("", {{"receive.workers", "999", "--workers"}});
  CHECK(strs(r) == std::vector<std::string>{
                       "--workers: receive.workers: expected integer in 0..256, found integer 999"});
  r = with("", {{"aggregate.intervall", "5", ""}});
  CHECK(strs(r) == std::vector<std::string>{
                       "--set: aggregate.intervall: unknown key; did you mean 'aggregate.interval'?"});
  r = with("", {{"recieve.workers", "5", ""}});
  CHECK(strs(r) == std::vector<std::string>{"--set: recieve: unknown section; did you mean 'receive'?"});
  r = with("", {{"workers", "5", ""}});
  CHECK(strs(r) == std::vector<std::string>{"--set: workers: unknown key; did you mean 'receive.workers'?"});
  r = with("", {{"sink", "[{type = \"csv\", top = 1}]", ""}});
  CHECK(strs(r) == std::vector<std::string>{
                       "--set: sink[0].top: not a key of csv sinks (a csv sink takes: type, name, keep)"});
  // A failed override leaves the file's value in place.
  r = with("[receive]\nworkers = 3\n", {{"receive.workers", "-1", "--workers"}});
  CHECK(r.config.receive.workers == 3);
  CHECK_FALSE(r.ok());
}

TEST_CASE("Cross-key checks see the overridden values, and name the override", "[config][overrides]") {
  ConfigResult r = with("[receive]\nring_entries = 64\n", {{"receive.batch", "128", "--set"}});
  CHECK(strs(r) == std::vector<std::string>{
                       "--set: receive.batch: expected at most receive.ring_entries (64), found integer 128: a batch "
                       "cannot outgrow the buffers"});
  // The file's own cross-key error is not reported twice.
  ConfigResult f = load_config_string("[[sink]]\ntype = \"csv\"\n[[sink]]\ntype = \"csv\"\n", "netflow.toml");
  REQUIRE(f.errors.size() == 1);
  apply_overrides(&f, {{"receive.workers", "2", ""}});
  CHECK(f.errors.size() == 1);
  // An override can also fix what the file got wrong in combination.
  ConfigResult g = load_config_string("[receive]\nring_entries = 64\nbatch = 128\n", "netflow.toml");
  REQUIRE(g.errors.size() == 1);
  ConfigResult fixed = load_config_string("[receive]\nring_entries = 64\n", "netflow.toml");
  apply_overrides(&fixed, {{"receive.ring_entries", "256", ""}, {"receive.batch", "128", ""}});
  CHECK(fixed.ok());
  CHECK(fixed.config.receive.batch == 128);
}
