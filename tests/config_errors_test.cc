// Validation errors: each class with its exact message shape
// "FILE:LINE:COL: KEY: expected EXPECTED, found FOUND", all of them collected.
#include <catch2/catch.hpp>

#include <ringflow/config.h>
#include <ringflow/flow_key.h>

#include "config/suggest.h"

using namespace ringflow;

namespace {

std::vector<std::string> errors(const std::string& toml) {
  ConfigResult r = load_config_string(toml, "netflow.toml");
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.str());
  return out;
}

// The single error a document produces.
std::string only_error(const std::string& toml) {
  auto e = errors(toml);
  INFO(toml);
  REQUIRE(e.size() == 1);
  return e[0];
}

}  // namespace

TEST_CASE("Unknown key: named with position and the closest valid key", "[config][errors]") {
  // "netflow.toml:12:1: aggregate.intervall: unknown key; did you mean 'aggregate.interval'?"
  std::string doc(10, '\n');
  doc += "[aggregate]\nintervall = 60\n";
  CHECK(only_error(doc) == "netflow.toml:12:1: aggregate.intervall: unknown key; did you mean 'aggregate.interval'?");
  // A transposition is one edit.
  CHECK(only_error("[receive]\nwrokers = 2") ==
        "netflow.toml:2:1: receive.wrokers: unknown key; did you mean 'receive.workers'?");
  // The right key in the wrong section.
  CHECK(only_error("[receive]\ninterval = 60") ==
        "netflow.toml:2:1: receive.interval: unknown key; did you mean 'aggregate.interval'?");
  // "only if reasonably close": nothing is offered for a word unlike any key.
  CHECK(only_error("[receive]\nfrobnicate = 1") == "netflow.toml:2:1: receive.frobnicate: unknown key");
  // A key outside any section.
  CHECK(only_error("workers = 4\n") == "netflow.toml:1:1: workers: unknown key; did you mean 'receive.workers'?");
}

TEST_CASE("Unknown section", "[config][errors]") {
  CHECK(only_error("[recieve]\nworkers = 2") ==
        "netflow.toml:1:1: recieve: unknown section; did you mean 'receive'?");
  CHECK(only_error("[[sinks]]\ntype = \"csv\"") ==
        "netflow.toml:1:1: sinks: unknown section; did you mean 'sink'?");
  CHECK(only_error("[telemetry]\nx = 1") == "netflow.toml:1:1: telemetry: unknown section");
  // A section that is not a table.
  CHECK(only_error("receive = 5") == "netflow.toml:1:11: receive: expected table [receive], found integer 5");
  CHECK(only_error("[sink]\ntype = \"csv\"") ==
        "netflow.toml:1:1: sink: expected array of tables ([[sink]]), found table");
}

TEST_CASE("Wrong type: what was expected and what was found, with the value", "[config][errors]") {
  // "file:line:col: key: expected integer in 1..86400, found string "sixty""
  CHECK(only_error("[aggregate]\ninterval = \"sixty\"") ==
        "netflow.toml:2:12: aggregate.interval: expected integer in 1..86400, found string \"sixty\"");
  CHECK(only_error("[aggregate]\ninterval = 60.0") ==
        "netflow.toml:2:12: aggregate.interval: expected integer in 1..86400, found float 60.0");
  CHECK(only_error("[decode]\nrenormalize = \"yes\"") ==
        "netflow.toml:2:15: decode.renormalize: expected boolean (true or false), found string \"yes\"");
  CHECK(only_error("[output]\ndirectory = 5") ==
        "netflow.toml:2:13: output.directory: expected non-empty string, found integer 5");
  CHECK(only_error("[receive]\nlisten = \"0.0.0.0:2055\"") ==
        "netflow.toml:2:10: receive.listen: expected non-empty array of addresses \"host:port\", found string "
        "\"0.0.0.0:2055\"");
  CHECK(only_error("[receive]\nallow = [\"10.0.0.0/8\", 7]") ==
        "netflow.toml:2:24: receive.allow[1]: expected CIDR prefix such as \"10.0.0.0/8\" or \"2001:db8::/32\", "
        "found integer 7");
  CHECK(only_error("[log]\nlevel = true") ==
        "netflow.toml:2:9: log.level: expected one of \"error\", \"warn\", \"info\", \"debug\", found boolean true");
}

TEST_CASE("Out of range", "[config][errors]") {
  CHECK(only_error("[aggregate]\ninterval = 0") ==
        "netflow.toml:2:12: aggregate.interval: expected integer in 1..86400, found integer 0");
  CHECK(only_error("[aggregate]\ninterval = 86401") ==
        "netflow.toml:2:12: aggregate.interval: expected integer in 1..86400, found integer 86401");
  CHECK(only_error("[receive]\nworkers = -1") ==
        "netflow.toml:2:11: receive.workers: expected integer in 0..256, found integer -1");
  // "ring_entries (power of two)"
  CHECK(only_error("[receive]\nring_entries = 1000") ==
        "netflow.toml:2:16: receive.ring_entries: expected power of two in 64..32768, found integer 1000");
  CHECK(only_error("[receive]\nsocket_buffer = 1024") ==
        "netflow.toml:2:17: receive.socket_buffer: expected integer in 65536..2147483648, found integer 1024");
  CHECK(only_error("[[sink]]\ntype = \"text\"\ntop = 1001") ==
        "netflow.toml:3:7: sink[0].top: expected integer in 0..1000, found integer 1001");
  CHECK(only_error("[[decode.sampling_override]]\nexporter = \"192.0.2.1\"\ninterval = 16384") ==
        "netflow.toml:3:12: decode.sampling_override[0].interval: expected integer in 1..16383, found integer "
        "16384");
}

TEST_CASE("Bad enum", "[config][errors]") {
  CHECK(only_error("[receive]\nbackend = \"uring\"") ==
        "netflow.toml:2:11: receive.backend: expected one of \"auto\", \"io_uring\", \"recvmmsg\", found string "
        "\"uring\"");
  CHECK(only_error("[aggregate]\ntime = \"end\"") ==
        "netflow.toml:2:8: aggregate.time: expected one of \"arrival\", \"flow_end\", \"flow_start\", found string "
        "\"end\"");
  CHECK(only_error("[log]\nlevel = \"warning\"") ==
        "netflow.toml:2:9: log.level: expected one of \"error\", \"warn\", \"info\", \"debug\", found string "
        "\"warning\"");
  CHECK(only_error("[[sink]]\ntype = \"parquet\"") ==
        "netflow.toml:2:8: sink[0].type: expected one of \"text\", \"csv\", \"jsonl\", \"clickhouse\", found "
        "string \"parquet\"");
}

TEST_CASE("Bad address", "[config][errors]") {
  CHECK(only_error("[receive]\nlisten = [\"0.0.0.0:2055\", \"10.0.0.1\"]") ==
        "netflow.toml:2:27: receive.listen[1]: expected address \"host:port\", \"[v6]:port\" or \":port\", found "
        "string \"10.0.0.1\"");
  CHECK(only_error("[receive]\nlisten = [\"0.0.0.0:70000\"]") ==
        "netflow.toml:2:11: receive.listen[0]: expected address \"host:port\", \"[v6]:port\" or \":port\", found "
        "string \"0.0.0.0:70000\"");
  CHECK(only_error("[receive]\nlisten = []") ==
        "netflow.toml:2:10: receive.listen: expected non-empty array of addresses \"host:port\", found array []");
  CHECK(only_error("[receive]\nlisten = [\"127.0.0.1:2055\", \"127.0.0.1:2055\"]") ==
        "netflow.toml:2:29: receive.listen[1]: duplicate \"127.0.0.1:2055\" (also receive.listen[0])");
  CHECK(only_error("[receive]\nlisten = [\"[::]:2055\", \"0.0.0.0:2055\"]") ==
        "netflow.toml:2:24: receive.listen[1]: address \"0.0.0.0:2055\" overlaps \"[::]:2055\" (dual-stack [::] "
        "also receives IPv4 on that port)");
  CHECK(only_error("[metrics]\nlisten = \"localhost:9155\"") ==
        "netflow.toml:2:10: metrics.listen: expected \"\" or address \"host:port\", found string \"localhost:9155\"");
  CHECK(only_error("[[decode.sampling_override]]\nexporter = \"192.0.2\"\ninterval = 10") ==
        "netflow.toml:2:12: decode.sampling_override[0].exporter: expected IP address such as \"192.0.2.1\" or "
        "\"2001:db8::1\", found string \"192.0.2\"");
  CHECK(only_error("[[sink]]\ntype = \"clickhouse\"\nurl = \"ch:8123\"") ==
        "netflow.toml:3:7: sink[0].url: expected URL starting with http:// or https://, found string \"ch:8123\"");
}

TEST_CASE("Bad CIDR", "[config][errors]") {
  CHECK(only_error("[receive]\nallow = [\"10.0.0.0/33\"]") ==
        "netflow.toml:2:10: receive.allow[0]: expected CIDR prefix such as \"10.0.0.0/8\" or \"2001:db8::/32\", "
        "found string \"10.0.0.0/33\"");
  CHECK(only_error("[receive]\nallow = [\"2001:db8::/129\"]") ==
        "netflow.toml:2:10: receive.allow[0]: expected CIDR prefix such as \"10.0.0.0/8\" or \"2001:db8::/32\", "
        "found string \"2001:db8::/129\"");
  CHECK(only_error("[receive]\nallow = [\"10.0.0/8\"]") ==
        "netflow.toml:2:10: receive.allow[0]: expected CIDR prefix such as \"10.0.0.0/8\" or \"2001:db8::/32\", "
        "found string \"10.0.0/8\"");
}

TEST_CASE("Bad key field / prefix", "[config][errors]") {
  CHECK(only_error("[aggregate]\nkey = [\"src_adr\"]") ==
        "netflow.toml:2:8: aggregate.key[0]: unknown field \"src_adr\"; did you mean 'src_addr'?");
  CHECK(only_error("[aggregate]\nkey = [\"colour\"]")
            .starts_with("netflow.toml:2:8: aggregate.key[0]: unknown field \"colour\"; expected one of src_addr "));
  // "prefixes only on address fields"
  CHECK(only_error("[aggregate]\nkey = [\"src_port/8\"]") ==
        "netflow.toml:2:8: aggregate.key[0]: prefix length only allowed on address fields (src_addr, dst_addr, "
        "nexthop, exporter), not on src_port");
  // "0..32 for v4 record fields, 0..128 for exporter"
  CHECK(only_error("[aggregate]\nkey = [\"dst_addr/33\"]") ==
        "netflow.toml:2:8: aggregate.key[0]: prefix length \"33\" out of range 0..32 for dst_addr");
  CHECK(only_error("[aggregate]\nkey = [\"nexthop/\"]") ==
        "netflow.toml:2:8: aggregate.key[0]: prefix length \"\" out of range 0..32 for nexthop");
  CHECK(only_error("[aggregate]\nkey = [\"exporter/129\"]") ==
        "netflow.toml:2:8: aggregate.key[0]: prefix length \"129\" out of range 0..128 for exporter");
  CHECK(errors("[aggregate]\nkey = [\"exporter/128\", \"src_addr/0\", \"dst_addr/32\"]").empty());
  // "/N/M": N for IPv4 (0..32), M for IPv6 (0..128).
  CHECK(errors("[aggregate]\nkey = [\"src_addr/24/64\", \"dst_addr/0/128\"]").empty());
  CHECK(only_error("[aggregate]\nkey = [\"src_addr/24/129\"]") ==
        "netflow.toml:2:8: aggregate.key[0]: IPv6 prefix length \"129\" out of range 0..128 for src_addr");
  CHECK(only_error("[aggregate]\nkey = [\"src_addr/33/64\"]") ==
        "netflow.toml:2:8: aggregate.key[0]: IPv4 prefix length \"33\" out of range 0..32 for src_addr");
  // "no duplicates" -- the same field twice, even with different prefixes.
  CHECK(only_error("[aggregate]\nkey = [\"src_addr/24\", \"dst_port\", \"src_addr/16\"]") ==
        "netflow.toml:2:35: aggregate.key[2]: duplicate \"src_addr/16\" (also aggregate.key[0])");
}

TEST_CASE("Sink keys belong to the sink's type", "[config][errors]") {
  // "a key that does not belong to the sink's type is an error naming the type"
  CHECK(only_error("[[sink]]\ntype = \"csv\"\ntop = 5") ==
        "netflow.toml:3:1: sink[0].top: not a key of csv sinks (a csv sink takes: type, name, keep)");
  CHECK(only_error("[[sink]]\ntype = \"text\"\npassword = \"x\"") ==
        "netflow.toml:3:1: sink[0].password: not a key of text sinks (a text sink takes: type, name, top)");
  CHECK(only_error("[[sink]]\ntype = \"jsonl\"\nkepe = 5") ==
        "netflow.toml:3:1: sink[0].kepe: unknown key; did you mean 'sink[0].keep'?");
  CHECK(only_error("[[sink]]\nname = \"x\"") ==
        "netflow.toml:1:1: sink[0].type: missing; expected one of \"text\", \"csv\", \"jsonl\", \"clickhouse\"");
  CHECK(only_error("[[sink]]\ntype = \"csv\"\nname = \"my sink\"") ==
        "netflow.toml:3:8: sink[0].name: expected name of letters, digits, '_' and '-', found string \"my sink\"");
}

TEST_CASE("Cross-key checks", "[config][errors]") {
  // "two sinks with the same name"
  CHECK(only_error("[[sink]]\ntype = \"csv\"\n[[sink]]\ntype = \"csv\"\n") ==
        "netflow.toml:3:1: sink[1].name: duplicate sink name \"csv\" (also sink[0]); give each sink a distinct name");
  CHECK(errors("[[sink]]\ntype = \"csv\"\n[[sink]]\ntype = \"csv\"\nname = \"csv2\"\n").empty());
  CHECK(only_error("[[decode.sampling_override]]\nexporter = \"192.0.2.1\"\ninterval = 2\n"
                   "[[decode.sampling_override]]\nexporter = \"192.0.2.1\"\ninterval = 3\n") ==
        "netflow.toml:5:12: decode.sampling_override[1].exporter: duplicate exporter \"192.0.2.1\" (also "
        "decode.sampling_override[0])");
  CHECK(only_error("[receive]\nring_entries = 64\nbatch = 128") ==
        "netflow.toml:3:9: receive.batch: expected at most receive.ring_entries (64), found integer 128: a batch "
        "cannot outgrow the buffers");
  CHECK(only_error("[aggregate]\ninterval = 10\ntime = \"flow_end\"\ngrace = 10") ==
        "netflow.toml:4:9: aggregate.grace: expected less than aggregate.interval (10) when aggregate.time is "
        "flow_end or flow_start, found integer 10: an interval must close before the next one does");
  // Grace does not matter when intervals follow arrival time.
  CHECK(errors("[aggregate]\ninterval = 1\ngrace = 10").empty());
}

TEST_CASE("An enriched key field without its file is refused, naming both", "[config][errors]") {
  CHECK(only_error("[aggregate]\nkey = [\"src_addr\", \"dst_net_role\"]") ==
        "netflow.toml:2:7: aggregate.key: expected enrich.networks to be set for the key field "
        "\"dst_net_role\" (its values come from that file), found it empty (docs/enrichment.md)");
  CHECK(only_error("[aggregate]\nkey = [\"src_country\"]\n[enrich]\nasn_mmdb = \"a.mmdb\"") ==
        "netflow.toml:2:7: aggregate.key: expected enrich.country_mmdb to be set for the key field "
        "\"src_country\" (its values come from that file), found it empty (docs/enrichment.md)");
  CHECK(errors("[aggregate]\nkey = [\"src_as_name\", \"src_as_source\", \"dst_net\"]\n"
               "[enrich]\nasn_mmdb = \"a.mmdb\"\nnetworks = \"n.csv\"").empty());
  // Values are checked too: an AS source that does not exist.
  CHECK_THAT(only_error("[enrich]\nas_sources = [\"bgp\"]"),
             Catch::Contains("enrich.as_sources") && Catch::Contains("\"bgp\""));
}

TEST_CASE("filter.expression: the file, line and key, then the column in the expression", "[config][errors]") {
  CHECK(only_error("[filter]\nexpression = \"dst port\"") ==
        "netflow.toml:2:14: filter.expression: in \"dst port\" at column 9: expected a number "
        "after 'dst port', found end of expression (docs/filter.md)");
  CHECK(only_error("[filter]\nexpression = \"src_net_role = customer\"") ==
        "netflow.toml:2:14: filter.expression: expected enrich.networks to be set for the field "
        "\"src_net_role\" the filter reads (its values come from that file), found it empty "
        "(docs/enrichment.md)");
  CHECK_THAT(only_error("[filter]\naction = \"reject\""), Catch::Contains("one of \"keep\", \"drop\""));
  CHECK(errors("[filter]\nexpression = \"src net 10.0.0.0/8 and proto tcp\"\naction = \"drop\"").empty());
  CHECK(errors("[filter]\nexpression = \"\"").empty());
}

TEST_CASE("Syntax error: toml++'s line, column and message", "[config][errors]") {
  ConfigResult r = load_config_string("[receive]\nworkers = 4\nbatch = \n", "netflow.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 3);
  CHECK(r.errors[0].column == 9);
  CHECK(r.errors[0].str().starts_with("netflow.toml:3:9: "));
  CHECK(r.errors[0].message.find("Error while parsing") != std::string::npos);
  auto e = errors("[aggregate\ninterval = 60\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].starts_with("netflow.toml:1:11: "));
  e = errors("[log]\nlevel = \"info\"\nlevel = \"debug\"\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].starts_with("netflow.toml:3:"));
  CHECK(e[0].find("level") != std::string::npos);
}

TEST_CASE("Several errors are reported together, in file order", "[config][errors]") {
  auto e = errors(R"([receive]
workers = "many"
backend = "uring"
[aggregat]
x = 1
[aggregate]
intervall = 60
key = ["src_port/8"]
[[sink]]
type = "csv"
top = 3
)");
  REQUIRE(e.size() == 6);
  CHECK(e[0] == "netflow.toml:2:11: receive.workers: expected integer in 0..256, found string \"many\"");
  CHECK(e[1].starts_with("netflow.toml:3:11: receive.backend: "));
  CHECK(e[2] == "netflow.toml:4:1: aggregat: unknown section; did you mean 'aggregate'?");
  CHECK(e[3] == "netflow.toml:7:1: aggregate.intervall: unknown key; did you mean 'aggregate.interval'?");
  CHECK(e[4].starts_with("netflow.toml:8:8: aggregate.key[0]: prefix length only allowed"));
  CHECK(e[5].starts_with("netflow.toml:11:1: sink[0].top: not a key of csv sinks"));
}

TEST_CASE("A file that cannot be read is an error, not an exception", "[config][errors]") {
  ConfigResult r = load_config_file("/nonexistent/ringflow.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].str() == "/nonexistent/ringflow.toml: cannot open: No such file or directory");
  // A directory would otherwise read as an empty file, i.e. silently as all defaults.
  r = load_config_file("/tmp");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].str() == "/tmp: cannot read: is a directory");
}

TEST_CASE("Edit distance and suggestions", "[config][suggest]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("interval", "intervall") == 1);
  CHECK(edit_distance("top", "tpo") == 1);  // transposition
  CHECK(edit_distance("kitten", "sitting") == 3);
  std::vector<std::string> keys = {"interval", "time", "grace", "key"};
  CHECK(closest_match("intervall", keys) == "interval");
  CHECK(closest_match("gace", keys) == "grace");
  CHECK(closest_match("zzzzzzzz", keys).empty());
  CHECK(closest_match("ky", keys) == "key");
  CHECK(closest_match("x", keys).empty());  // "time" is 4 edits away
}

TEST_CASE("aggregate.key: the validator and the aggregator's KeySchema::parse agree", "[config][errors]") {
  // The validator words its own errors (with positions and suggestions); the
  // aggregator parses the same list at start-up. A list one accepts and the
  // other rejects would pass --check-config and then fail at run time.
  const std::vector<std::string> entries = {
      "src_addr", "dst_addr", "nexthop", "exporter", "src_port", "dst_port", "protocol", "tos", "tcp_flags",
      "input", "output", "src_as", "dst_as", "src_mask", "dst_mask", "engine_type", "engine_id",
      "src_addr/0", "src_addr/24", "src_addr/32", "src_addr/33", "src_addr/024", "src_addr/", "src_addr/x",
      "src_addr/-1", "src_addr/+1", "exporter/128", "exporter/129", "nexthop/8", "src_port/8", "protocol/0",
      "Src_addr", "src_addr ", "", "/24", "src_addr/24/8", "dst_addr/1000", "src_addr/24/64",
      "src_addr/33/64", "src_addr/24/129", "src_addr/24/", "src_addr//64", "src_addr/24/64/1",
      "exporter/24/64", "exporter/33/0", "nexthop/0/0", "ip_version", "direction", "vlan", "domain",
      "sampler", "version", "sampling", "vlan/12"};
  int checked = 0;
  for (const auto& a : entries) {
    for (const auto& b : {std::string(), std::string("dst_port"), std::string("src_addr")}) {
      std::vector<std::string> key = {a};
      if (!b.empty()) key.push_back(b);
      std::string toml = "[aggregate]\nkey = [";
      for (size_t i = 0; i < key.size(); ++i) toml += (i ? ", \"" : "\"") + key[i] + "\"";
      toml += "]\n";
      KeySchema schema;
      std::string why;
      bool aggregator_ok = KeySchema::parse(key, &schema, &why);
      ConfigResult r = load_config_string(toml, "netflow.toml");
      INFO(toml << why);
      CHECK(r.ok() == aggregator_ok);
      // The validator calls KeySchema::parse as a safety net; agreement means
      // its own rules caught the entry, not the net.
      for (const auto& e : r.errors) CHECK(e.message != why);
      ++checked;
    }
  }
  CHECK(checked == static_cast<int>(entries.size()) * 3);
}

TEST_CASE("[[forward]]: keys, defaults and transparent mode's IPv4 targets", "[config][errors]") {
  ConfigResult r = load_config_string(
      "[[forward]]\ntargets = [\"127.0.0.2:2055\", \"[::1]:2056\"]\nmode = \"balance\"\n"
      "encapsulation = \"ringflow\"\nexporters = [\"10.0.0.0/8\"]\nversions = [\"v9\", \"ipfix\"]\n"
      "[[forward]]\ntargets = [\"127.0.0.3:9995\"]\n",
      "netflow.toml");
  REQUIRE(r.errors.empty());
  REQUIRE(r.config.forwards.size() == 2);
  const ForwardConfig& f = r.config.forwards[0];
  CHECK(f.name == "forward0");
  CHECK(f.targets.size() == 2);
  CHECK(f.targets[1].port == 2056);
  CHECK(f.mode == "balance");
  CHECK(f.encapsulation == "ringflow");
  CHECK(f.versions == std::vector<std::string>{"v9", "ipfix"});
  CHECK(f.queue == 4096);
  const ForwardConfig& g = r.config.forwards[1];
  CHECK(g.name == "forward1");
  CHECK(g.mode == "replicate");
  CHECK(g.encapsulation == "none");
  CHECK(g.versions.empty());  // every format

  CHECK(only_error("[[forward]]\nmode = \"replicate\"") ==
        "netflow.toml:1:1: forward[0].targets: missing; expected non-empty array of addresses \"host:port\"");
  CHECK(only_error("[[forward]]\ntargets = [\"127.0.0.1:1\"]\nmdoe = \"balance\"") ==
        "netflow.toml:3:1: forward[0].mdoe: unknown key; did you mean 'forward[0].mode'?");
  CHECK(only_error("[[forward]]\ntargets = [\"127.0.0.1:1\"]\nqueue = 1000") ==
        "netflow.toml:3:9: forward[0].queue: expected power of two in 16..1048576, found integer 1000");
  // Transparent (a raw IPv4 socket with the exporter's address) is accepted
  // with IPv4 targets; an IPv6 target is refused by the config (CAP_NET_RAW
  // is checked at start: e2e_forward_transparent_test).
  ConfigResult tr = load_config_string(
      "[[forward]]\ntargets = [\"127.0.0.1:1\"]\nencapsulation = \"transparent\"", "netflow.toml");
  CHECK(tr.errors.empty());
  const std::string t =
      only_error("[[forward]]\ntargets = [\"[::1]:1\"]\nencapsulation = \"transparent\"");
  CHECK(t.find("forward[0].targets") != std::string::npos);
  CHECK(t.find("expected IPv4 targets") != std::string::npos);
  CHECK(only_error("[[forward]]\nname = \"x\"\ntargets = [\"127.0.0.1:1\"]\n"
                   "[[forward]]\nname = \"x\"\ntargets = [\"127.0.0.1:2\"]\n")
            .find("duplicate forward name \"x\"") != std::string::npos);
}
