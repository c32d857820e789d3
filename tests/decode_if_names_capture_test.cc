// Interface names learnt from real exporters' options data: the captures of
// ../shared/captures/v9ipfix/ whose options records carry interfaceName (82)
// or interfaceDescription (83) (Cisco ASR 9000 v9 with a System scope and
// INPUT_SNMP as a plain field; IOS XR IPFIX with ingress/egressInterface as
// scope fields, 80-byte NUL-padded strings, and pm-112's reassignment that
// renames ifIndex 167 mid-capture; softflowd, which names its capture
// interface without any ifIndex) are replayed through the ordered stage
// (src/decode/sessions.h), and every (domain, ifIndex) -> name, description
// ringflow keeps at the end must equal the last value tshark decoded for it
// from the same pcap (tshark's cflow.if_name / cflow.if_descr of the record
// whose cflow.inputint, else cflow.outputint, names it), and nothing else is
// kept. The captures are read in place, never copied (RF_SHARED_CAPTURE).
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "decode/sessions.h"
#include "support/capture_file.h"
#include "support/skip.h"
#include "support/tshark_cflow.h"

namespace ringflow {
namespace {

using Names = std::map<std::pair<uint32_t, uint32_t>, std::pair<std::string, std::string>>;

// Found with `tshark -T fields -e cflow.if_name -e cflow.if_descr` over every
// capture of the folder.
const char* const kCaptures[] = {
    "ls-netflow-9-cisco-asr-9000-series-options-template-256",
    "pm-112",
    "pm-400-00",
    "pm-400-01",
    "pm-401-00",
    "pm-401-01",
    "pm-403",
    "pm-500",
    "pm-501",
    "pm-502",
    "pynf-ipfix-softflowd-padding",
};

uint32_t num(const std::string& s) { return static_cast<uint32_t>(std::stoul(s)); }

void check_capture(const std::string& name, size_t* total_names) {
  RF_SHARED_CAPTURE(path, "v9ipfix/pcap/" + name + ".pcap");
  INFO(name);
  std::vector<testing::CflowFrame> frames;
  std::string err;
  REQUIRE(testing::run_tshark_cflow(path, 2055, &frames, &err));
  Names truth;
  for (const testing::CflowFrame& f : frames) {
    const auto dom = f.header.count("od_id")       ? f.header.at("od_id")
                     : f.header.count("source_id") ? f.header.at("source_id")
                                                   : std::string("0");
    for (const testing::CflowRecord& r : f.records) {
      if (!r.has("if_name") && !r.has("if_descr")) continue;
      const std::string idx = r.has("inputint") ? r.get("inputint") : r.get("outputint");
      if (idx.empty() || num(idx) == 0) continue;
      auto& e = truth[{num(dom), num(idx)}];
      if (r.has("if_name") && !r.get("if_name").empty()) e.first = r.get("if_name");
      if (r.has("if_descr") && !r.get("if_descr").empty()) e.second = r.get("if_descr");
    }
  }

  const testing::CaptureFile pcap = testing::read_capture(path);
  REQUIRE(pcap.ok());
  DecodeConfig cfg;
  SessionCounters counters;
  Sessions sessions(cfg, 4, 9216, counters);
  for (const testing::UdpDatagram& dg : pcap.datagrams) {
    const int64_t now_ms = dg.ts_ns / 1000000;
    if (sessions.admit(dg.payload.data(), dg.payload.size(), dg.src, 0, now_ms) == Admit::kHandOff)
      sessions.release(0);
    ReadyDatagram ready[16];
    size_t nr;
    while ((nr = sessions.take_ready(ready, 16)) > 0)
      for (size_t i = 0; i < nr; ++i) sessions.release(ready[i].buf);
  }
  TemplateState st;
  sessions.export_state(&st);
  Names ours;
  for (const StateInterface& i : st.interfaces)
    ours[{i.key.domain, i.if_index}] = {i.name, i.description};
  for (const auto& [k, v] : truth) {
    INFO("domain " << k.first << " ifIndex " << k.second);
    REQUIRE(ours.count(k));
    CHECK(ours[k].first == v.first);
    CHECK(ours[k].second == v.second);
  }
  CHECK(ours.size() == truth.size());
  *total_names += truth.size();
  if (name == "pynf-ipfix-softflowd-padding") {
    // Its interfaceName has no ifIndex beside it: counted, not kept.
    CHECK(truth.empty());
    CHECK(counters.if_name_drops[static_cast<size_t>(IfNameDrop::kNoIndex)].load() >= 1);
  }
  if (name == "pm-112") {
    // ifIndex 167 renamed by the exporter mid-capture: the later name is kept.
    CHECK(counters.if_names[static_cast<size_t>(IfNameEvent::kChanged)].load() >= 1);
  }
}

TEST_CASE("interface names learnt from real captures equal tshark's decoding") {
  size_t total = 0;
  for (const char* c : kCaptures) check_capture(c, &total);
  if (total == 0) return;  // every capture skipped (no ../shared)
  CHECK(total >= 40);
}

}  // namespace
}  // namespace ringflow
