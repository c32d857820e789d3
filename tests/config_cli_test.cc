// The ringflow command line: help, version, --check-config, overrides, exit codes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/cli.h"

using namespace ringflow;

namespace {

struct Run {
  CliResult result;
  std::string out, err;
};

Run run(std::vector<std::string> args) {
  args.insert(args.begin(), "ringflow");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  Run r;
  r.result = parse_ringflow_cli(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// A scratch directory, removed at the end of the test; also the current
// directory while it lives (for the ./netflow.toml default).
struct TempDir {
  std::filesystem::path path, old;
  TempDir() {
    char tmpl[] = "/tmp/ringflow_cli_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
    old = std::filesystem::current_path();
    std::filesystem::current_path(path);
  }
  ~TempDir() {
    std::filesystem::current_path(old);
    std::filesystem::remove_all(path);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("CLI --help lists every option, one line each, exit 0", "[config][cli]") {
  Run r = run({"--help"});
  CHECK(r.result.exit_code == 0);
  CHECK(r.err.empty());
  for (const char* opt : {"-h,--help", "--version", "-c,--config FILE", "--check-config FILE", "--print-flows",
                          "--listen ADDR", "--workers N", "--reactors N", "--backend NAME", "--interval SECONDS",
                          "--output-dir DIR", "--metrics-listen ADDR", "--log-level LEVEL", "--set KEY=VALUE"}) {
    INFO(opt);
    auto at = r.out.find(std::string("  ") + opt);
    REQUIRE(at != std::string::npos);
    // "one line each": the description follows on the same line.
    auto eol = r.out.find('\n', at);
    std::string line = r.out.substr(at, eol - at);
    CHECK(line.size() > std::string(opt).size() + 10);
  }
  CHECK(run({"-h"}).result.exit_code == 0);
}

TEST_CASE("CLI --version prints ringflow RINGFLOW_VERSION, exit 0", "[config][cli]") {
  Run r = run({"--version"});
  CHECK(r.result.exit_code == 0);
  CHECK(r.out == std::string("ringflow ") + RINGFLOW_VERSION + "\n");
}

TEST_CASE("Unknown options and bad values exit 2 with a message on err", "[config][cli]") {
  TempDir dir;
  Run r = run({"--frobnicate"});
  CHECK(r.result.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("--frobnicate") != std::string::npos);
  r = run({"--workers"});  // missing value
  CHECK(r.result.exit_code == 2);
  CHECK(r.err.find("--workers") != std::string::npos);
  r = run({"stray-positional"});
  CHECK(r.result.exit_code == 2);
  // "an out-of-range `--workers 0x` names the option and what was expected"
  r = run({"--workers", "0x"});
  CHECK(r.result.exit_code == 2);
  CHECK(r.err.find("--workers: receive.workers: expected integer in 0..256, found string \"0x\"\n") !=
        std::string::npos);
  r = run({"--set", "no-equals-sign"});
  CHECK(r.result.exit_code == 2);
  CHECK(r.err.find("--set: expected KEY=VALUE, found \"no-equals-sign\"") != std::string::npos);
  r = run({"--backend", "dpdk", "--log-level", "loud"});
  CHECK(r.result.exit_code == 2);
  CHECK(r.err.find("--backend: receive.backend: expected one of") != std::string::npos);
  CHECK(r.err.find("--log-level: log.level: expected one of") != std::string::npos);
  r = run({"-c", "a.toml", "--check-config", "b.toml"});
  CHECK(r.result.exit_code == 2);
}

TEST_CASE("CLI --check-config: the effective config and exit 0, or every error and exit 2", "[config][cli]") {
  TempDir dir;
  std::string good = dir.write("good.toml", "[receive]\nworkers = 2\n[aggregate]\ninterval = 30\n");
  Run r = run({"--check-config", good, "--interval", "120"});
  CHECK(r.result.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("workers = 2 ") != std::string::npos);
  CHECK(r.out.find("interval = 120 ") != std::string::npos);  // the override applies to the check too
  // "defaults filled in"
  CHECK(r.out.find("listen = [\"0.0.0.0:2055\", \"0.0.0.0:6343\"]") != std::string::npos);
  CHECK(r.out.find("type = \"csv\"") != std::string::npos);
  // The output is itself a valid config that loads to the same thing.
  ConfigResult again = load_config_string(r.out, "dump");
  CHECK(again.ok());
  CHECK(again.config.aggregate.interval_s == 120);

  std::string bad = dir.write("bad.toml", "[receive]\nworkers = \"x\"\n[aggregate]\nintervall = 5\n");
  r = run({"--check-config", bad});
  CHECK(r.result.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find(bad + ":2:11: receive.workers: expected integer in 0..256, found string \"x\"\n") !=
        std::string::npos);
  CHECK(r.err.find(bad + ":4:1: aggregate.intervall: unknown key; did you mean 'aggregate.interval'?\n") !=
        std::string::npos);
  CHECK(r.err.find("2 config errors") != std::string::npos);

  r = run({"--check-config", (dir.path / "missing.toml").string()});
  CHECK(r.result.exit_code == 2);
  CHECK(r.err.find("missing.toml: cannot open: No such file or directory") != std::string::npos);

  // The shipped file checks clean and the password of a ClickHouse sink is masked.
  r = run({"--check-config", RINGFLOW_SOURCE_DIR "/netflow.toml"});
  CHECK(r.result.exit_code == 0);
  std::string ch = dir.write("ch.toml", "[[sink]]\ntype = \"clickhouse\"\npassword = \"topsecret\"\n");
  r = run({"--check-config", ch});
  CHECK(r.result.exit_code == 0);
  CHECK(r.out.find("topsecret") == std::string::npos);
  CHECK(r.out.find("password = \"********\"") != std::string::npos);
}

TEST_CASE("Config file selection: -c FILE, else ./netflow.toml, else defaults", "[config][cli]") {
  TempDir dir;
  Run r = run({});
  REQUIRE(r.result.exit_code == -1);
  CHECK(r.result.config.source.empty());  // built-in defaults
  CHECK(r.result.config.aggregate.interval_s == 60);
  CHECK_FALSE(r.result.print_flows);

  dir.write("netflow.toml", "[aggregate]\ninterval = 10\n");
  r = run({"--print-flows"});
  REQUIRE(r.result.exit_code == -1);
  CHECK(r.result.config.source == "netflow.toml");
  CHECK(r.result.config.aggregate.interval_s == 10);
  CHECK(r.result.print_flows);
  CHECK_FALSE(r.result.print_flows_json);
  // --print-flows=json: JSON lines; any other value is a usage error.
  r = run({"--print-flows=json"});
  REQUIRE(r.result.exit_code == -1);
  CHECK(r.result.print_flows);
  CHECK(r.result.print_flows_json);
  CHECK_FALSE(run({"--print-flows=text"}).result.print_flows_json);
  r = run({"--print-flows=xml"});
  CHECK(r.result.exit_code == kExitUsage);
  CHECK(r.err.find("--print-flows=xml: expected text or json") != std::string::npos);

  std::string other = dir.write("other.toml", "[aggregate]\ninterval = 20\n");
  r = run({"-c", other});
  REQUIRE(r.result.exit_code == -1);
  CHECK(r.result.config.aggregate.interval_s == 20);

  r = run({"--config", (dir.path / "nope.toml").string()});
  CHECK(r.result.exit_code == 2);
  CHECK(r.err.find("nope.toml: cannot open") != std::string::npos);

  dir.write("netflow.toml", "[aggregate]\ninterval = 0\n");
  r = run({});
  CHECK(r.result.exit_code == 2);
  CHECK(r.err.find("netflow.toml:2:12: aggregate.interval: expected integer in 1..86400, found integer 0") !=
        std::string::npos);
}

TEST_CASE("CLI overrides win over the file, in command-line order", "[config][cli]") {
  TempDir dir;
  std::string file = dir.write("f.toml", R"([receive]
listen = ["0.0.0.0:2055"]
workers = 2
reactors = 1
backend = "io_uring"
[aggregate]
interval = 60
[output]
directory = "flows"
[metrics]
listen = "127.0.0.1:9155"
[log]
level = "info"
)");
  Run r = run({"-c", file, "--listen", "127.0.0.1:9995", "--listen", "[::1]:9996", "--workers", "4", "--reactors",
               "2", "--backend", "recvmmsg", "--interval", "10", "--output-dir", "/tmp/out", "--metrics-listen", "",
               "--log-level", "debug", "--set", "decode.default_sampling=100", "--set", "aggregate.key=[\"src_addr/24\"]"});
  INFO(r.err);
  REQUIRE(r.result.exit_code == -1);
  const Config& c = r.result.config;
  REQUIRE(c.receive.listen.size() == 2);  // "repeatable, replaces receive.listen"
  CHECK(c.receive.listen[0].str() == "127.0.0.1:9995");
  CHECK(c.receive.listen[1].str() == "[::1]:9996");
  CHECK(c.receive.workers == 4);
  CHECK(c.receive.reactors == 2);
  CHECK(c.receive.backend == Backend::kRecvmmsg);
  CHECK(c.aggregate.interval_s == 10);
  CHECK(c.output.directory == "/tmp/out");
  CHECK(c.metrics.listen.empty());
  CHECK(c.log.level == "debug");
  CHECK(c.decode.default_sampling == 100);
  CHECK(c.aggregate.key == std::vector<std::string>{"src_addr/24"});

  // The later of --set and the dedicated option wins.
  r = run({"-c", file, "--workers", "4", "--set", "receive.workers=6"});
  REQUIRE(r.result.exit_code == -1);
  CHECK(r.result.config.receive.workers == 6);
  r = run({"-c", file, "--set", "receive.workers=6", "--workers", "5"});
  REQUIRE(r.result.exit_code == -1);
  CHECK(r.result.config.receive.workers == 5);
  r = run({"-c", file, "--workers", "3", "--workers", "7"});
  REQUIRE(r.result.exit_code == -1);
  CHECK(r.result.config.receive.workers == 7);
  r = run({"-c", file, "--set", "log.level = debug", "--set", "receive.listen=[\"127.0.0.1:1\"]", "--listen",
           "127.0.0.1:2", "--set", "aggregate.interval= 30"});
  REQUIRE(r.result.exit_code == -1);
  CHECK(r.result.config.log.level == "debug");
  REQUIRE(r.result.config.receive.listen.size() == 1);
  CHECK(r.result.config.receive.listen[0].str() == "127.0.0.1:2");  // --listen came later
  CHECK(r.result.config.aggregate.interval_s == 30);
}

TEST_CASE("Config errors and override errors are all reported", "[config][cli]") {
  TempDir dir;
  std::string file = dir.write("f.toml", "[receive]\nbackend = \"x\"\n");
  Run r = run({"-c", file, "--workers", "300", "--set", "log.levle=debug"});
  CHECK(r.result.exit_code == 2);
  CHECK(count_lines(r.err) == 4);  // three errors and the summary
  CHECK(r.err.find(file + ":2:11: receive.backend: expected one of") != std::string::npos);
  CHECK(r.err.find("--workers: receive.workers: expected integer in 0..256, found integer 300") != std::string::npos);
  CHECK(r.err.find("--set: log.levle: unknown key; did you mean 'log.level'?") != std::string::npos);
}
