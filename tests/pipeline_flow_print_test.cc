// --print-flows lines (src/pipeline/flow_print.h): each endpoint in its
// record's family, the IPv6 unspecified address "::" as "[::]" (it was once
// printed "0.0.0.0:0"), and sampled counters that saturate instead of
// wrapping.
#include <catch2/catch.hpp>

#include <string>

#include "decode/wire_formats.h"
#include "enrich/catalogue.h"
#include "enrich/names.h"
#include "pipeline/flow_print.h"

namespace ringflow {
namespace {

std::string line_of(const FlowRecord& r, uint8_t version = 10,
                    const enrich::ExporterEntry* catalogue = nullptr) {
  FlowContext ctx;
  ctx.catalogue = catalogue;
  ctx.version = version;
  ctx.format = version == 5 ? kFormatV5 : version == 9 ? kFormatV9 : kFormatIpfix;
  ctx.template_id = version == 5 ? 0 : 256;  // as the record reader gives them
  char buf[400];
  const size_t n = format_flow_line(r, ctx, buf, sizeof buf);
  REQUIRE(n > 0);
  return std::string(buf, n);
}

FlowRecord base() {
  FlowRecord r;
  r.protocol = 17;
  r.packets = 2;
  r.bytes = 300;
  r.sampling = 1;
  r.start_ms = r.end_ms = 1700000000000;
  return r;
}

}  // namespace

TEST_CASE("print-flows: IPv6 unspecified address is printed as [::]", "[pipeline][print]") {
  FlowRecord r = base();
  const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  r.src = IpAddr{};  // ::
  r.dst = IpAddr::from_v6(one);
  r.src_port = 0;
  r.dst_port = 547;
  r.ip_version = 6;
  const std::string l = line_of(r);
  INFO(l);
  CHECK(l.rfind("[::]:0 -> [::1]:547 proto 17 packets 2 bytes 300 ", 0) == 0);

  // Both "::" in an IPv6 record: still IPv6.
  r.dst = IpAddr{};
  CHECK(line_of(r).rfind("[::]:0 -> [::]:547 ", 0) == 0);
}

TEST_CASE("print-flows: IPv4 endpoints, and zero addresses of an IPv4 record",
          "[pipeline][print]") {
  FlowRecord r = base();
  r.src = IpAddr::from_v4(0xC0000201);
  r.dst = IpAddr{};  // no destination element in the template
  r.src_port = 53;
  r.ip_version = 4;
  const std::string l = line_of(r, 5);
  INFO(l);
  CHECK(l.rfind("192.0.2.1:53 -> 0.0.0.0:0 proto 17 ", 0) == 0);
  CHECK(l.find("template") == std::string::npos);
  CHECK(l.back() == '\n');
}

TEST_CASE("print-flows: sampled counters saturate", "[pipeline][print]") {
  FlowRecord r = base();
  r.src = IpAddr::from_v4(1);
  r.dst = IpAddr::from_v4(2);
  r.packets = uint64_t{1} << 62;
  r.bytes = 10;
  r.sampling = 4294967295u;
  const std::string l = line_of(r);
  INFO(l);
  CHECK(l.find("packets 18446744073709551615 bytes 42949672950 ") != std::string::npos);
}

TEST_CASE("print-flows: sFlow records say sflow, not NetFlow v5's 5", "[pipeline][print]") {
  FlowRecord r = base();
  r.src = IpAddr::from_v4(1);
  r.dst = IpAddr::from_v4(2);
  FlowContext ctx;
  ctx.version = 5;  // sFlow v5's version number is v5's
  ctx.format = kFormatSflow;
  char buf[400];
  const size_t n = format_flow_line(r, ctx, buf, sizeof buf);
  REQUIRE(n > 0);
  const std::string l(buf, n);
  INFO(l);
  CHECK(l.find(" version sflow") != std::string::npos);
  CHECK(line_of(r, 5).find(" version 5") != std::string::npos);
}

}  // namespace ringflow

namespace ringflow {

TEST_CASE("print-flows: enriched records show their names, AS source and country",
          "[pipeline][print][enrich]") {
  FlowRecord r = base();
  r.src = IpAddr::from_v4(0x0A000001);
  r.dst = IpAddr::from_v4(0xC0000201);
  r.ip_version = 4;
  auto& names = enrich::names();
  r.enrich[kEnrichSrcNet] =
      *enrich::intern_net_tuple({*names.intern("clients"), *names.intern("customer"), 0, 0, 0});
  r.enrich[kEnrichSrcCountry] = 'N' | 'L' << 8;
  r.src_as = 64512;
  r.dst_as = 15169;
  r.as_sources = static_cast<uint8_t>(2u << kFlowSrcAsSourceShift | 3u << kFlowDstAsSourceShift);
  const std::string l = line_of(r, 5);
  INFO(l);
  CHECK(l.find(" version 5 src_net \"clients\" src_net_role \"customer\" src_as 64512 (networks) "
               "src_country NL dst_as 15169 (mmdb)\n") != std::string::npos);
  // Not enriched: the line is as it always was.
  CHECK(line_of(base(), 5).find("_net") == std::string::npos);
}

TEST_CASE("print-flows: the catalogue's exporter and interface names", "[pipeline][print][enrich]") {
  FlowRecord r = base();
  r.input = 7;
  r.output = 8;
  enrich::ExporterEntry e;
  e.name = *enrich::names().intern("edge1.par1");
  enrich::IfaceEntry i;
  i.name = *enrich::names().intern("xe-0/0/7");
  e.index({{7, i}});
  const std::string l = line_of(r, 10, &e);
  INFO(l);
  // Output 8 is not listed: left out, never made up.
  CHECK(l.find(" exporter_name \"edge1.par1\" in_if_name \"xe-0/0/7\"\n") != std::string::npos);
  CHECK(l.find("out_if_name") == std::string::npos);
}

}  // namespace ringflow
