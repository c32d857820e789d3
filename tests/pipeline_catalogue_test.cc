// The exporter and interface catalogue (src/enrich/catalogue.h) through the
// CatalogueStage and the key packer, as a worker runs them: exporter_* and
// in_if_* / out_if_* key fields from the file, empty for what it does not
// list (never a made-up name), a reload seen at the next chunk, and a file
// refused as a whole with FILE:LINE for each kind of mistake.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "aggregate/key_codec.h"
#include "enrich/enrich_tables.h"
#include "enrich/names.h"
#include "pipeline/catalogue_stage.h"

using namespace ringflow;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string dir = std::string(RINGFLOW_BINARY_DIR) + "/pipeline_catalogue_test.d";
  std::filesystem::create_directories(dir);
  const std::string p = dir + "/" + name;
  std::ofstream(p) << text;
  return p;
}

const char* kCatalogue = R"(
[[exporter]]
address = "192.0.2.1"
name = "edge1.par1"
site = "par1"
region = "eu-west"
role = "edge"
tenant = "acme"

  [[exporter.interface]]
  index = 17
  name = "xe-0/0/1"
  description = "Transit: Cogent, circuit 42"
  speed = 10000
  boundary = "external"
  provider = "cogent"
  connectivity = "transit"

  [[exporter.interface]]
  index = 3
  name = "ae3"
  boundary = "internal"

[[exporter]]
address = "2001:db8::9"
name = "core1.fra1"
)";

// The key fields' text for one record of exporter `exporter`.
std::vector<std::string> pack(CatalogueStage& stage, const char* exporter, uint32_t in,
                              uint32_t out, const std::vector<std::string>& fields) {
  KeySchema schema;
  std::string err;
  REQUIRE(KeySchema::parse(fields, &schema, &err));
  KeyPacker packer(schema);
  FlowRecord r;
  r.input = in;
  r.output = out;
  FlowContext ctx;
  ctx.exporter = *IpAddr::parse(exporter);
  REQUIRE(stage.run(&r, 1, ctx) == 1);
  uint64_t key[kMaxKeyWords] = {};
  const uint8_t layout = packer.pack(r, ctx, key);
  std::vector<std::string> text;
  for (const KeyFieldSpec& f : schema.fields()) {
    char buf[64];
    char* end = format_key_field(f, layout, reinterpret_cast<const uint8_t*>(key), buf);
    text.emplace_back(buf, end);
  }
  return text;
}

const std::vector<std::string> kAll = {
    "exporter_name",      "exporter_site",  "exporter_region", "exporter_role",
    "exporter_tenant",    "in_if_name",     "out_if_name",     "in_if_description",
    "out_if_description", "in_if_speed",    "out_if_speed",    "in_if_boundary",
    "out_if_boundary",    "in_if_provider", "out_if_provider", "in_if_connectivity",
    "out_if_connectivity"};

std::string load_error(const std::string& text) {
  std::string err;
  const std::string p = write_file("bad.toml", text);
  CHECK(enrich::load_catalogue(p, &err) == nullptr);
  return err;
}

}  // namespace

TEST_CASE("catalogue: exporter and interface fields from the file, empty when unlisted",
          "[pipeline][catalogue]") {
  EnrichConfig cfg;
  cfg.catalogue = write_file("cat.toml", kCatalogue);
  enrich::EnrichTables tables(cfg);
  std::string err;
  REQUIRE(tables.load(&err));
  CatalogueStage stage(tables);

  CHECK(pack(stage, "192.0.2.1", 17, 3, kAll) ==
        std::vector<std::string>{"edge1.par1", "par1", "eu-west", "edge", "acme", "xe-0/0/1", "ae3",
                                 "Transit: Cogent, circuit 42", "", "10000", "0", "external",
                                 "internal", "cogent", "", "transit", ""});
  // An ifIndex the file does not list, and 0 (no interface): empty.
  CHECK(pack(stage, "192.0.2.1", 99, 0, kAll) ==
        std::vector<std::string>{"edge1.par1", "par1", "eu-west", "edge", "acme", "", "", "", "",
                                 "0", "0", "", "", "", "", "", ""});
  // An exporter listed without interfaces, in IPv6.
  CHECK(pack(stage, "2001:db8::9", 17, 3, {"exporter_name", "exporter_site", "in_if_name"}) ==
        std::vector<std::string>{"core1.fra1", "", ""});
  // An exporter the file does not list: every field empty, even the
  // interface it lists for another exporter.
  CHECK(pack(stage, "192.0.2.2", 17, 3, {"exporter_name", "in_if_name", "in_if_speed"}) ==
        std::vector<std::string>{"", "", "0"});
}

TEST_CASE("catalogue: a reload is seen at the next chunk, a bad one keeps the table",
          "[pipeline][catalogue]") {
  EnrichConfig cfg;
  cfg.catalogue = write_file("reload.toml", kCatalogue);
  cfg.watch_interval_s = 0;
  enrich::EnrichTables tables(cfg);
  std::string err;
  REQUIRE(tables.load(&err));
  CatalogueStage stage(tables);
  CHECK(pack(stage, "192.0.2.1", 17, 0, {"exporter_name", "in_if_name"}) ==
        std::vector<std::string>{"edge1.par1", "xe-0/0/1"});
  write_file("reload.toml", R"(
[[exporter]]
address = "192.0.2.1"
name = "edge1-renamed"
[[exporter.interface]]
index = 17
name = "et-0/0/1"
)");
  CHECK(tables.reload(false) == 0);
  CHECK(pack(stage, "192.0.2.1", 17, 0, {"exporter_name", "in_if_name"}) ==
        std::vector<std::string>{"edge1-renamed", "et-0/0/1"});
  write_file("reload.toml", "[[exporter]]\naddress = \"not an address\"\n");
  CHECK(tables.reload(false) == 1);
  CHECK(tables.reloads_failed[static_cast<size_t>(enrich::EnrichTable::kCatalogue)].load() == 1);
  CHECK(pack(stage, "192.0.2.1", 17, 0, {"exporter_name", "in_if_name"}) ==
        std::vector<std::string>{"edge1-renamed", "et-0/0/1"});
}

TEST_CASE("catalogue: a bad file is refused with its file and line", "[pipeline][catalogue]") {
  CHECK_THAT(load_error("[[exporter]]\naddress = \"192.0.2.1\"\nnmae = \"x\"\n"),
             Catch::Contains("bad.toml:3: expected one of address, name") &&
                 Catch::Contains("found unknown key \"nmae\""));
  CHECK_THAT(load_error("[[exporter]]\nname = \"x\"\n"),
             Catch::Contains("expected address = ") && Catch::Contains("found none"));
  CHECK_THAT(load_error("[[exporter]]\naddress = \"192.0.2.1\"\n[[exporter]]\naddress = "
                        "\"192.0.2.1\"\n"),
             Catch::Contains("bad.toml:3: exporter 192.0.2.1 listed twice"));
  CHECK_THAT(load_error("[[exporter]]\naddress = \"192.0.2.1\"\n[[exporter.interface]]\nindex = "
                        "4\n[[exporter.interface]]\nindex = 4\n"),
             Catch::Contains("interface index 4 listed twice"));
  CHECK_THAT(
      load_error("[[exporter]]\naddress = \"192.0.2.1\"\n[[exporter.interface]]\nindex = "
                 "0\n"),
      Catch::Contains("bad.toml:4: expected an integer in 1..4294967295 for index, found 0"));
  CHECK_THAT(load_error("[[exporter]]\naddress = \"192.0.2.1\"\n[[exporter.interface]]\nindex = "
                        "1\nboundary = \"outside\"\n"),
             Catch::Contains("bad.toml:5: expected \"external\" or \"internal\" for boundary"));
  CHECK_THAT(load_error("[[exporter]]\naddress = \"192.0.2.1\"\nsite = 4\n"),
             Catch::Contains("bad.toml:3: expected a string for site, found an integer"));
  CHECK_THAT(load_error("[[exporter]\n"), Catch::Contains("bad.toml:1: "));
}

// --- classification rules (src/enrich/catalogue_rules.h) ---

TEST_CASE("catalogue rules: every rule's example in the rule table gives what it expects",
          "[pipeline][catalogue]") {
  const std::string path = std::string(RINGFLOW_SOURCE_DIR) + "/tests/data/catalogue_rules.toml";
  std::string err;
  const auto cat = enrich::load_catalogue(path, &err);
  INFO(err);
  REQUIRE(cat);
  // Read the examples independently of the loader and check each against
  // the compiled rules.
  const toml::table root = toml::parse_file(path);
  const toml::array& rules = *root["rule"].as_array();
  REQUIRE(rules.size() == cat->rules().size());
  REQUIRE(rules.size() >= 7);
  size_t tags_checked = 0;
  for (const toml::node& n : rules) {
    const toml::table& r = *n.as_table();
    INFO("rule at line " << r.source().begin.line);
    REQUIRE(r["example"].as_table());  // every rule carries one
    REQUIRE(r["expect"].as_table());
    std::array<std::string, enrich::kPatternCount> subject;
    for (size_t p = 0; p < enrich::kPatternCount; ++p)
      subject[p] = r["example"][enrich::kPatternNames[p]].value_or(std::string());
    const enrich::Tags got =
        cat->rules().classify({subject[0], subject[1], subject[2], subject[3]});
    for (const auto& [k, v] : *r["expect"].as_table()) {
      size_t t = 0;
      while (enrich::kTagNames[t] != k.str()) ++t;
      CHECK(got[t] == v.as_string()->get());
      ++tags_checked;
    }
  }
  CHECK(tags_checked == 14);
}

TEST_CASE("catalogue rules: fill what the catalogue leaves empty, per exporter and interface",
          "[pipeline][catalogue]") {
  EnrichConfig cfg;
  cfg.catalogue = std::string(RINGFLOW_SOURCE_DIR) + "/tests/data/catalogue_rules.toml";
  enrich::EnrichTables tables(cfg);
  std::string err;
  REQUIRE(tables.load(&err));
  CatalogueStage stage(tables);
  const std::vector<std::string> f = {
      "exporter_name",   "exporter_site",       "exporter_role",  "exporter_region",
      "in_if_name",      "in_if_boundary",      "in_if_provider", "in_if_connectivity",
      "out_if_provider", "out_if_connectivity", "out_if_boundary"};
  // Listed exporter: its role from the file (not the rule's "edge"), site
  // from the rule's capture group; interface 17 by its description, 18's
  // provider from the file, the rest by the rule.
  CHECK(pack(stage, "192.0.2.1", 17, 18, f) ==
        std::vector<std::string>{"edge1.par1", "par", "border", "eu-west", "xe-0/0/1", "external",
                                 "Cogent", "transit", "franceix-rs", "ix", "external"});
  // An ifIndex the file does not list: the last-resort rule; 0: nothing.
  CHECK(pack(stage, "192.0.2.1", 5, 0, {"in_if_name", "in_if_boundary", "out_if_boundary"}) ==
        std::vector<std::string>{"", "internal", ""});
  // An exporter the file does not list: classified by its address, the
  // same answer at the next chunk (from the worker's cache).
  for (int i = 0; i < 2; ++i)
    CHECK(
        pack(stage, "2001:db8::7", 3, 0, {"exporter_name", "exporter_region", "in_if_boundary"}) ==
        std::vector<std::string>{"", "eu-central", "internal"});
}

TEST_CASE("catalogue rules: bad rules and failing examples are refused", "[pipeline][catalogue]") {
  CHECK_THAT(load_error("[[rule]]\ndescription = \"^Transit\"\nprovider = \"x\"\nexample = { "
                        "description = \"Transit: a\" }\nexpect = { provider = \"y\" }\n"),
             Catch::Contains("bad.toml:1: expected the example of rule 1 to give provider = "
                             "\"y\", found \"x\""));
  CHECK_THAT(load_error("[[rule]]\ninterface = \"(\"\nboundary = \"internal\"\n"),
             Catch::Contains("bad.toml:2: expected a regular expression for interface"));
  CHECK_THAT(load_error("[[rule]]\ninterface = \"^xe\"\nsite = \"par\"\n"),
             Catch::Contains("bad.toml:3: expected only interface tags"));
  CHECK_THAT(load_error("[[rule]]\nexporter = \"^edge\"\n"),
             Catch::Contains("bad.toml:1: expected a rule to set at least one"));
  CHECK_THAT(load_error("[[rule]]\nexporter = \"^edge\"\nboundary = \"edge\"\n"),
             Catch::Contains("bad.toml:3: expected \"external\" or \"internal\" for boundary"));
}

TEST_CASE("learnt interface names: fill what the catalogue leaves empty, the catalogue "
          "overrides them, the rules classify them",
          "[pipeline][catalogue]") {
  EnrichConfig cfg;
  cfg.catalogue = write_file("learnt.toml", std::string(kCatalogue) + R"toml(
[[rule]]
description = "^Peering: (\\w+)"
provider = "$1"
connectivity = "peering"
)toml");
  enrich::EnrichTables tables(cfg);
  std::string err;
  REQUIRE(tables.load(&err));
  enrich::EpochHolder<enrich::LearnedInterfaces> learned;
  auto id = [](const char* s) { return *enrich::names().intern(s); };
  auto table = std::make_unique<enrich::LearnedInterfaces>();
  const IpAddr edge1 = *IpAddr::parse("192.0.2.1"), other = *IpAddr::parse("192.0.2.2");
  // ifIndex 17: the catalogue names and describes it; 3: named, no
  // description; 5: not listed.
  table->add(edge1, 7, {17, id("learnt-17"), id("Peering: ignored")});
  table->add(edge1, 7, {3, id("learnt-3"), id("Peering: franceix")});
  table->add(edge1, 7, {5, id("et-0/0/5"), id("Peering: amsix")});
  table->add(other, 0, {5, id("ge-5"), 0});
  table->finish();
  learned.publish(std::move(table));
  CatalogueStage stage(&tables, &learned);
  const std::vector<std::string> f = {"exporter_name",  "in_if_name",        "in_if_description",
                                      "in_if_provider", "in_if_connectivity", "in_if_boundary"};
  // The catalogue's own values win field by field.
  CHECK(pack(stage, "192.0.2.1", 17, 0, f) ==
        std::vector<std::string>{"edge1.par1", "xe-0/0/1", "Transit: Cogent, circuit 42", "cogent",
                                 "transit", "external"});
  // Listed without a description: the learnt one fills it, and the rules
  // classify with it.
  CHECK(pack(stage, "192.0.2.1", 3, 0, f) ==
        std::vector<std::string>{"edge1.par1", "ae3", "Peering: franceix", "franceix", "peering",
                                 "internal"});
  // Not listed: the learnt name and description, classified.
  CHECK(pack(stage, "192.0.2.1", 5, 0, f) ==
        std::vector<std::string>{"edge1.par1", "et-0/0/5", "Peering: amsix", "amsix", "peering",
                                 ""});
  // Another domain of the same exporter takes the exporter's names.
  FlowRecord r;
  r.input = 5;
  FlowContext ctx;
  ctx.exporter = edge1;
  ctx.domain = 8;
  REQUIRE(stage.run(&r, 1, ctx) == 1);
  CHECK(enrich::names().str(ctx.catalogue->iface(5).name) == "et-0/0/5");
  // An exporter the catalogue does not list: its learnt name only.
  CHECK(pack(stage, "192.0.2.2", 5, 6, {"exporter_name", "in_if_name", "out_if_name"}) ==
        std::vector<std::string>{"", "ge-5", ""});
  // No names learnt for an exporter: the catalogue alone, as before.
  CHECK(pack(stage, "2001:db8::9", 17, 0, {"exporter_name", "in_if_name"}) ==
        std::vector<std::string>{"core1.fra1", ""});
}
