// EnrichStage (src/pipeline/enrich_stage.h) on records, without MMDB files
// (e2e_enrich_test covers those against mmdblookup): the networks tuple of
// each address, the AS precedence of enrich.as_sources and the source it
// records, records without addresses left alone, and a reload seen by the
// next chunk, never by half of one.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "enrich/enrich_tables.h"
#include "enrich/names.h"
#include "pipeline/enrich_stage.h"

using namespace ringflow;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string dir = std::string(RINGFLOW_BINARY_DIR) + "/pipeline_enrich_stage_test.d";
  std::filesystem::create_directories(dir);
  const std::string p = dir + "/" + name;
  std::ofstream(p) << text;
  return p;
}

FlowRecord rec(const char* src, const char* dst, uint32_t src_as, uint32_t dst_as) {
  FlowRecord r;
  r.src = *IpAddr::parse(src);
  r.dst = *IpAddr::parse(dst);
  r.ip_version = r.src.is_v4() ? 4 : 6;
  r.src_as = src_as;
  r.dst_as = dst_as;
  return r;
}

std::string net_name(uint16_t tuple) { return std::string(enrich::names().str(enrich::net_tuple(tuple).name)); }
std::string net_role(uint16_t tuple) { return std::string(enrich::names().str(enrich::net_tuple(tuple).role)); }
unsigned src_source(const FlowRecord& r) { return (r.as_sources >> kFlowSrcAsSourceShift) & 3u; }
unsigned dst_source(const FlowRecord& r) { return (r.as_sources >> kFlowDstAsSourceShift) & 3u; }

const char* kNets =
    "prefix,name,role,site,region,tenant,asn\n"
    "10.0.0.0/8,clients,customer,,,,64512\n"
    "10.1.0.0/16,clients-par,customer,par1,,,\n"
    "2001:db8::/32,v6,transit,,,,64999\n";

}  // namespace

TEST_CASE("enrich stage: networks by longest prefix, AS by precedence, source recorded",
          "[pipeline][enrich]") {
  EnrichConfig cfg;
  cfg.networks = write_file("nets.csv", kNets);
  enrich::EnrichTables tables(cfg);
  std::string err;
  REQUIRE(tables.load(&err));
  EnrichStage stage(tables);
  FlowRecord rs[] = {rec("10.1.2.3", "10.9.9.9", 0, 65001), rec("192.0.2.1", "2001:db8::1", 0, 0),
                     rec("2001:db8::5", "2001:db9::1", 7, 0), FlowRecord{}};
  rs[1].dst = *IpAddr::parse("10.2.0.1");  // one family per record in practice; not required
  REQUIRE(stage.run(rs, 4, FlowContext{}) == 4);
  // Longest prefix: 10.1/16 for the source, 10/8 for the destination.
  CHECK(net_name(rs[0].enrich[kEnrichSrcNet]) == "clients-par");
  CHECK(net_name(rs[0].enrich[kEnrichDstNet]) == "clients");
  CHECK(net_role(rs[0].enrich[kEnrichDstNet]) == "customer");
  // 10.1/16 has no asn and the record's is 0: nothing (the MMDB is not configured).
  CHECK(rs[0].src_as == 0);
  CHECK(src_source(rs[0]) == 0);
  // The record's own AS first.
  CHECK(rs[0].dst_as == 65001);
  CHECK(dst_source(rs[0]) == 1);
  // No network: empty; the networks' asn when the record has none.
  CHECK(rs[1].enrich[kEnrichSrcNet] == 0);
  CHECK(rs[1].dst_as == 64512);
  CHECK(dst_source(rs[1]) == 2);
  CHECK(rs[2].src_as == 7);
  CHECK(src_source(rs[2]) == 1);
  CHECK(rs[2].enrich[kEnrichDstNet] == 0);  // 2001:db9:: is outside 2001:db8::/32
  // A record without addresses is left as it is.
  CHECK(rs[3].flags == 0);
  CHECK(rs[3].enrich[kEnrichSrcNet] == 0);
}

TEST_CASE("enrich stage: as_sources order, and a source left out is never used",
          "[pipeline][enrich]") {
  EnrichConfig cfg;
  cfg.networks = write_file("nets.csv", kNets);
  cfg.as_sources = {"networks", "record"};
  enrich::EnrichTables tables(cfg);
  std::string err;
  REQUIRE(tables.load(&err));
  {
    EnrichStage stage(tables);
    FlowRecord r = rec("10.9.0.1", "10.1.0.1", 65001, 65002);
    stage.run(&r, 1, FlowContext{});
    CHECK(r.src_as == 64512);  // networks before the record
    CHECK(src_source(r) == 2);
    CHECK(r.dst_as == 65002);  // 10.1/16 has no asn: the record's
    CHECK(dst_source(r) == 1);
  }
  EnrichConfig only = cfg;
  only.as_sources = {"networks"};
  enrich::EnrichTables t2(only);
  REQUIRE(t2.load(&err));
  EnrichStage stage(t2);
  FlowRecord r = rec("10.1.0.1", "192.0.2.1", 65001, 65002);
  stage.run(&r, 1, FlowContext{});
  // The record's AS is not a source: 0, with no source, rather than the exporter's value.
  CHECK(r.src_as == 0);
  CHECK(src_source(r) == 0);
  CHECK(r.dst_as == 0);
}

TEST_CASE("enrich stage: a reload is seen by the next chunk, a failed one keeps the table",
          "[pipeline][enrich]") {
  EnrichConfig cfg;
  cfg.networks = write_file("reload.csv", "10.0.0.0/8,before,r1,,,\n");
  enrich::EnrichTables tables(cfg);
  std::string err;
  REQUIRE(tables.load(&err));
  EnrichStage stage(tables);
  FlowRecord a = rec("10.0.0.1", "10.0.0.2", 0, 0);
  stage.run(&a, 1, FlowContext{});
  CHECK(net_name(a.enrich[kEnrichSrcNet]) == "before");

  write_file("reload.csv", "10.0.0.0/8,after,r2,,,\n");
  CHECK(tables.reload(true) == 0);
  CHECK(tables.reloads[0].load() == 1);
  FlowRecord b = rec("10.0.0.1", "10.0.0.2", 0, 0);
  stage.run(&b, 1, FlowContext{});
  CHECK(net_name(b.enrich[kEnrichSrcNet]) == "after");
  CHECK(net_role(b.enrich[kEnrichDstNet]) == "r2");
  // The earlier record still names its own version: ids are never reused.
  CHECK(net_name(a.enrich[kEnrichSrcNet]) == "before");

  write_file("reload.csv", "10.0.0.0/33,broken,,,,\n");
  CHECK(tables.reload(true) == 1);
  CHECK(tables.reloads_failed[0].load() == 1);
  FlowRecord c = rec("10.0.0.1", "10.0.0.2", 0, 0);
  stage.run(&c, 1, FlowContext{});
  CHECK(net_name(c.enrich[kEnrichSrcNet]) == "after");
}

TEST_CASE("enrich tables: a bad networks file stops the load, naming file and line",
          "[pipeline][enrich]") {
  EnrichConfig cfg;
  cfg.networks = write_file("bad.csv", "prefix,name,role,site,region,tenant\n10.0.0.0/8,ok,,,,\n"
                                       "10.0.0.300/8,bad,,,,\n");
  enrich::EnrichTables tables(cfg);
  std::string err;
  CHECK_FALSE(tables.load(&err));
  CHECK_THAT(err, Catch::StartsWith("enrich.networks: ") && Catch::Contains("bad.csv:3: expected") &&
                      Catch::Contains("1 bad line"));
  cfg.networks = "/nonexistent/networks.csv";
  enrich::EnrichTables missing(cfg);
  CHECK_FALSE(missing.load(&err));
  CHECK_THAT(err, Catch::Contains("/nonexistent/networks.csv"));
}
