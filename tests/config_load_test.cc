// Loading: defaults, the shipped netflow.toml, values reaching the struct,
// and the --check-config dump (complete, re-loadable, password masked).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <ringflow/config.h>

#include "config/schema.h"

using namespace ringflow;

namespace {

std::string all_errors(const ConfigResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.str() + "\n";
  return s;
}

ConfigResult load_ok(const std::string& toml) {
  ConfigResult r = load_config_string(toml, "test.toml");
  INFO(all_errors(r));
  REQUIRE(r.ok());
  return r;
}

}  // namespace

TEST_CASE("Defaults: a load of an empty string equals the struct defaults", "[config][defaults]") {
  ConfigResult r = load_ok("");
  // "Defaults are in the struct": compare every key through the schema-driven dump,
  // against a Config built only from the struct's own initializers plus the two
  // list defaults the loader fills ("listen 0.0.0.0:2055 and :6343", "sinks text + csv").
  Config expected;
  expected.source = "test.toml";
  expected.receive.listen = {*Endpoint::parse("0.0.0.0:2055"), *Endpoint::parse("0.0.0.0:6343")};
  SinkConfig text, csv;
  text.type = SinkType::kText;
  text.name = "text";
  csv.type = SinkType::kCsv;
  csv.name = "csv";
  expected.output.sinks = {text, csv};
  CHECK(dump_config(r.config) == dump_config(expected));

  // And a few directly, so the check does not rest on the dump alone.
  const Config& c = r.config;
  REQUIRE(c.receive.listen.size() == 2);
  CHECK(c.receive.listen[0].str() == "0.0.0.0:2055");
  CHECK(c.receive.listen[1].str() == "0.0.0.0:6343");  // sFlow's IANA port
  CHECK(c.decode.versions == std::vector<std::string>{"v5", "v9", "ipfix", "sflow"});
  CHECK(c.receive.backend == Backend::kAuto);
  CHECK(c.receive.workers == 0);
  CHECK(c.receive.ring_entries == 4096);
  CHECK(c.receive.allow.empty());
  CHECK(c.decode.renormalize);
  CHECK(c.decode.sampling_overrides.empty());
  CHECK(c.aggregate.key == std::vector<std::string>{"src_addr", "dst_addr", "src_port", "dst_port", "protocol"});
  CHECK(c.aggregate.interval_s == 60);
  CHECK(c.output.directory == "flows");
  REQUIRE(c.output.sinks.size() == 2);
  CHECK(c.output.sinks[0].type == SinkType::kText);
  CHECK(c.output.sinks[0].name == "text");
  CHECK(c.output.sinks[1].type == SinkType::kCsv);
  CHECK(c.output.sinks[1].name == "csv");
  CHECK(c.metrics.listen == "127.0.0.1:9155");
  CHECK(c.log.level == "info");
}

TEST_CASE("Defaults: the shipped netflow.toml loads without error and is the embedded default",
          "[config][defaults]") {
  const std::string path = RINGFLOW_SOURCE_DIR "/netflow.toml";
  ConfigResult r = load_config_file(path);
  INFO(all_errors(r));
  REQUIRE(r.ok());
  CHECK(r.config.source == path);
  // "the embedded default (listen 0.0.0.0:2055, output directory flows, sinks text + csv)":
  // identical to loading nothing, key for key.
  Config defaults = load_ok("").config;
  defaults.source = path;
  CHECK(dump_config(r.config) == dump_config(defaults));
}

TEST_CASE("Values reach the typed struct", "[config][load]") {
  ConfigResult r = load_ok(R"(
[receive]
listen = ["127.0.0.1:9995", "[::1]:9996", ":9997"]
backend = "recvmmsg"
reactors = 2
workers = 3
socket_buffer = 1048576
buffer_size = 9000
ring_entries = 1024
batch = 32
queue_depth = 4096
allow = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]

[decode]
accept_trailing = true
future_tolerance_ms = 0
renormalize = false
default_sampling = 64
max_streams = 16
stream_idle_timeout = 10
reorder_window = 0
reset_threshold = 1000

[[decode.sampling_override]]
exporter = "192.0.2.1"
interval = 100
[[decode.sampling_override]]
exporter = "2001:db8::1"
interval = 16383

[aggregate]
key = ["src_addr/24", "exporter/128", "engine_id"]
interval = 300
time = "flow_end"
grace = 30
max_entries = 1024

[output]
directory = "/var/lib/ringflow"

[metrics]
listen = ""
max_streams = 0

[log]
stats_interval = 0
level = "debug"

[[sink]]
type = "jsonl"
keep = 24
[[sink]]
type = "clickhouse"
name = "ch-main"
url = "https://ch.example:8443"
database = "netflow"
table = "flows"
user = "ringflow"
password = "s3cret"
timeout_ms = 500
batch_rows = 5000
spool_dir = "/tmp/spool"
spool_max_bytes = 1048576
collector = "fra1-rg2"
)");
  const Config& c = r.config;
  REQUIRE(c.receive.listen.size() == 3);
  CHECK(c.receive.listen[0].str() == "127.0.0.1:9995");
  CHECK(c.receive.listen[1].str() == "[::1]:9996");
  CHECK(c.receive.listen[2].any_v6);
  CHECK(c.receive.listen[2].port == 9997);
  CHECK(c.receive.backend == Backend::kRecvmmsg);
  CHECK(c.receive.reactors == 2);
  CHECK(c.receive.workers == 3);
  CHECK(c.receive.socket_buffer == 1048576);
  CHECK(c.receive.buffer_size == 9000);
  CHECK(c.receive.ring_entries == 1024);
  CHECK(c.receive.batch == 32);
  CHECK(c.receive.queue_depth == 4096);
  REQUIRE(c.receive.allow.size() == 3);
  CHECK(c.receive.allow[0].contains(*IpAddr::parse("10.1.2.3")));
  CHECK_FALSE(c.receive.allow[0].contains(*IpAddr::parse("11.0.0.1")));
  CHECK(c.receive.allow[1].contains(*IpAddr::parse("2001:db8::99")));
  CHECK(c.receive.allow[2].str() == "192.0.2.7/32");
  CHECK(c.decode.accept_trailing);
  CHECK(c.decode.future_tolerance_ms == 0);
  CHECK_FALSE(c.decode.renormalize);
  CHECK(c.decode.default_sampling == 64);
  CHECK(c.decode.max_streams == 16);
  CHECK(c.decode.stream_idle_timeout_s == 10);
  CHECK(c.decode.reorder_window == 0);
  CHECK(c.decode.reset_threshold == 1000);
  REQUIRE(c.decode.sampling_overrides.size() == 2);
  CHECK(c.decode.sampling_overrides[0].exporter == *IpAddr::parse("192.0.2.1"));
  CHECK(c.decode.sampling_overrides[0].interval == 100);
  CHECK(c.decode.sampling_overrides[1].exporter == *IpAddr::parse("2001:db8::1"));
  CHECK(c.decode.sampling_overrides[1].interval == 16383);
  CHECK(c.aggregate.key == std::vector<std::string>{"src_addr/24", "exporter/128", "engine_id"});
  CHECK(c.aggregate.interval_s == 300);
  CHECK(c.aggregate.time == TimeMode::kFlowEnd);
  CHECK(c.aggregate.grace_s == 30);
  CHECK(c.aggregate.max_entries == 1024);
  CHECK(c.output.directory == "/var/lib/ringflow");
  CHECK(c.metrics.listen.empty());
  CHECK(c.metrics.max_streams == 0);
  CHECK(c.log.stats_interval_s == 0);
  CHECK(c.log.level == "debug");
  // "When the file has no [[sink]] the default sinks are text + csv" -- and when it has, only its own.
  REQUIRE(c.output.sinks.size() == 2);
  const SinkConfig& j = c.output.sinks[0];
  CHECK(j.type == SinkType::kJsonl);
  CHECK(j.name == "jsonl");  // "name ... default = type"
  CHECK(j.keep == 24);
  const SinkConfig& ch = c.output.sinks[1];
  CHECK(ch.type == SinkType::kClickHouse);
  CHECK(ch.name == "ch-main");
  CHECK(ch.url == "https://ch.example:8443");
  CHECK(ch.database == "netflow");
  CHECK(ch.table == "flows");
  CHECK(ch.user == "ringflow");
  CHECK(ch.password == "s3cret");
  CHECK(ch.timeout_ms == 500);
  CHECK(ch.batch_rows == 5000);
  CHECK(ch.spool_dir == "/tmp/spool");
  CHECK(ch.spool_max_bytes == 1048576);
  CHECK(ch.collector == "fra1-rg2");

  SECTION("the dump re-loads to the same configuration") {
    std::string dump = dump_config(c);
    ConfigResult again = load_config_string(dump, "dump.toml");
    INFO(dump << all_errors(again));
    REQUIRE(again.ok());
    again.config.output.sinks[1].password = "s3cret";  // the one thing the dump hides
    again.config.source = c.source;
    CHECK(dump_config(again.config) == dump);
  }
}

TEST_CASE("Range limits are inclusive", "[config][load]") {
  CHECK(load_ok("[aggregate]\ninterval = 1").config.aggregate.interval_s == 1);
  CHECK(load_ok("[aggregate]\ninterval = 86400").config.aggregate.interval_s == 86400);
  CHECK(load_ok("[receive]\nring_entries = 64").config.receive.ring_entries == 64);
  CHECK(load_ok("[receive]\nring_entries = 32768").config.receive.ring_entries == 32768);
  CHECK(load_ok("[receive]\nsocket_buffer = 2147483648").config.receive.socket_buffer == 2147483648ull);
  CHECK(load_ok("[aggregate]\nkey = []").config.aggregate.key.empty());  // "An empty key gives totals"
  CHECK(load_ok("sink = []").config.output.sinks.empty());
  // Dotted keys and inline tables are the same TOML, and are accepted as such.
  CHECK(load_ok("receive.workers = 7").config.receive.workers == 7);
  CHECK(load_ok("log = { level = \"warn\" }").config.log.level == "warn");
}

TEST_CASE("The dump lists every key and masks the password", "[config][dump]") {
  ConfigResult r = load_ok(R"(
[[sink]]
type = "clickhouse"
password = "hunter2-very-secret"
)");
  std::string dump = dump_config(r.config);
  // "The dumped password must be masked."
  CHECK(dump.find("hunter2") == std::string::npos);
  CHECK(dump.find("password = \"********\"") != std::string::npos);
  // The struct still has it: masking is for output only.
  CHECK(r.config.output.sinks[0].password == "hunter2-very-secret");

  // An empty password is shown as empty, not as a mask that suggests one is set.
  ConfigResult none = load_ok("[[sink]]\ntype = \"clickhouse\"\n");
  CHECK(dump_config(none.config).find("password = \"\"") != std::string::npos);

  // Every section key of the schema appears in the dump of the defaults.
  std::string defaults = dump_config(load_ok("").config);
  for (const auto& key : schema::kConfigKeys) {
    std::string_view full = key.name;
    // (Built with append: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.)
    std::string section("[");
    section.append(full.substr(0, full.find('.'))).append("]");
    std::string line("\n");
    line.append(full.substr(full.find('.') + 1)).append(" = ");
    INFO(full);
    auto at = defaults.find(section);
    REQUIRE(at != std::string::npos);
    CHECK(defaults.find(line, at) != std::string::npos);
  }
}

TEST_CASE("Enum names match the schema", "[config][load]") {
  CHECK(std::string(backend_name(Backend::kIoUring)) == "io_uring");
  CHECK(std::string(time_mode_name(TimeMode::kFlowStart)) == "flow_start");
  for (const char* b : {"auto", "io_uring", "recvmmsg"}) {
    ConfigResult r = load_ok(std::string("[receive]\nbackend = \"") + b + "\"");
    CHECK(std::string(backend_name(r.config.receive.backend)) == b);
  }
}
