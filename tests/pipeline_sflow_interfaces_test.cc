// sFlow interface counters out of the collector (src/pipeline/sflow_interfaces.h):
// the per-interface series capped with the rest summed under agent="other",
// and the counters rows as differences of the published totals per interval.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/sflow_interfaces.h"

using namespace ringflow;

namespace {

SflowIfStat stat(const char* agent, uint32_t if_index, uint64_t in_octets, uint64_t flow_in) {
  SflowIfStat s;
  s.agent = *IpAddr::parse(agent);
  s.if_index = if_index;
  s.totals.in_octets = in_octets;
  s.totals.flow_in_bytes = flow_in;
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("per-interface series: the busiest up to the cap, the rest summed as other") {
  // Interface 1 of 192.0.2.1 comes from two reactors: merged first.
  std::vector<SflowIfStat> v = {stat("192.0.2.1", 1, 100, 90), stat("192.0.2.2", 7, 5000, 4000),
                                stat("192.0.2.1", 1, 50, 40), stat("192.0.2.1", 2, 10, 10),
                                stat("2001:db8::1", 3, 1, 1)};
  PromWriter w;
  write_sflow_interface_metrics(w, &v, 2);
  const std::string page = w.take();
  auto has = [&](const std::string& line) {
    for (const auto& l : lines_of(page))
      if (l == line) return true;
    return false;
  };
  CHECK(has("ringflow_sflow_interfaces_tracked 4"));
  CHECK(has("ringflow_sflow_interfaces_exported 2"));
  CHECK(has(
      "ringflow_sflow_interface_octets_total{agent=\"192.0.2.2\",sub_agent=\"0\",if_index=\"7\","
      "direction=\"in\"} 5000"));
  CHECK(has(
      "ringflow_sflow_interface_octets_total{agent=\"192.0.2.1\",sub_agent=\"0\",if_index=\"1\","
      "direction=\"in\"} 150"));
  CHECK(
      has("ringflow_sflow_interface_flow_bytes_total{agent=\"192.0.2.1\",sub_agent=\"0\","
          "if_index=\"1\",direction=\"in\"} 130"));
  // 192.0.2.1 ifIndex 2 and 2001:db8::1 ifIndex 3: summed.
  CHECK(
      has("ringflow_sflow_interface_octets_total{agent=\"other\",sub_agent=\"\",if_index=\"other\","
          "direction=\"in\"} 11"));
  CHECK(page.find("if_index=\"2\"") == std::string::npos);
  CHECK(page.find("2001:db8::1") == std::string::npos);
}

TEST_CASE("counters rows: one per interface that moved, the difference since the last flush") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("rf-sflow-ifs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "counters.csv").string();
  std::vector<SflowIfStat> published = {stat("192.0.2.1", 1, 1000, 900)};
  SflowCountersOutput out(path, SflowCountersOutput::Format::kCsv,
                          [&](std::vector<SflowIfStat>* v) {
                            v->insert(v->end(), published.begin(), published.end());
                          });
  std::string error;
  REQUIRE(out.open(&error));
  CHECK(out.write_interval(0, 1000) == 1);
  CHECK(out.write_interval(1000, 2000) == 0);  // nothing moved
  published[0].totals.in_octets = 3000;
  published[0].totals.flow_in_bytes = 2900;
  CHECK(out.write_interval(2000, 3000) == 1);
  // Forgotten and entered again (its totals restart): the new totals whole.
  published[0].totals.in_octets = 400;
  published[0].totals.flow_in_bytes = 100;
  CHECK(out.write_interval(3000, 4000) == 1);
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  const auto lines = lines_of(ss.str());
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == kSflowCountersColumns);
  CHECK(lines[1] ==
        "1970-01-01T00:00:00.000Z,1970-01-01T00:00:01.000Z,192.0.2.1,0,1,0,1000,0,0,0,0,0,0,0,900,"
        "0,0.900000,");
  CHECK(lines[2].find(",192.0.2.1,0,1,0,2000,0,0,0,0,0,0,0,2000,0,1.000000,") != std::string::npos);
  CHECK(lines[3].find(",192.0.2.1,0,1,0,400,0,0,0,0,0,0,0,100,0,0.250000,") != std::string::npos);
  std::filesystem::remove_all(dir);
}
