// sFlow datagrams before sFlow is decoded (src/decode/sflow_notice.h): a
// recognisable sFlow datagram is rejected as sflow_not_decoded, not
// bad_version, and logged once per exporter. Checked on a crafted sFlow v5
// header and on every datagram of the real sFlow captures in
// ../shared/captures/sflow/pcap (read in place, never copied here).
#include <catch2/catch.hpp>

#include <dirent.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "decode/sessions.h"
#include "decode/sflow_notice.h"
#include "gen/pcap_reader.h"
#include "support/skip.h"

namespace ringflow {
namespace {

constexpr int64_t kNow = 1700000000000;

std::vector<uint8_t> sflow_header(uint32_t version, uint32_t agent_type) {
  std::vector<uint8_t> d(28, 0);
  auto be32 = [&](size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) d[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  be32(0, version);
  be32(4, agent_type);
  be32(8, 0xC0000201);  // agent 192.0.2.1
  be32(12, 0);          // sub-agent
  be32(16, 7);          // sequence
  be32(20, 123456);     // uptime
  be32(24, 0);          // no samples
  return d;
}

struct Stage {
  DecodeConfig cfg;
  SessionCounters counters;
  std::unique_ptr<Sessions> s = std::make_unique<Sessions>(cfg, 16, 65535, counters);
  uint64_t rejects(Reject r) const {
    return counters.rejects[version_slot(0)][static_cast<size_t>(r)].load();
  }
};

}  // namespace

TEST_CASE("sflow: a crafted sFlow v5 datagram is rejected by its own reason", "[decode][sflow]") {
  Stage st;
  const IpAddr exporter = IpAddr::from_v4(0xC0000201);
  std::vector<uint8_t> d = sflow_header(5, 1);
  CHECK(st.s->admit(d.data(), d.size(), exporter, 0, kNow) == Admit::kRejected);
  CHECK(st.rejects(Reject::kSflowNotDecoded) == 1);
  CHECK(st.rejects(Reject::kBadVersion) == 0);

  // Not sFlow: a 32-bit version 5 with agent type 3, version 6, or cut
  // before the agent address type, stays bad_version.
  std::vector<uint8_t> odd = sflow_header(5, 3);
  CHECK(st.s->admit(odd.data(), odd.size(), exporter, 1, kNow) == Admit::kRejected);
  std::vector<uint8_t> v6 = sflow_header(6, 1);
  CHECK(st.s->admit(v6.data(), v6.size(), exporter, 2, kNow) == Admit::kRejected);
  std::vector<uint8_t> cut = sflow_header(5, 2);
  cut.resize(7);
  CHECK(st.s->admit(cut.data(), cut.size(), exporter, 3, kNow) == Admit::kRejected);
  CHECK(st.rejects(Reject::kBadVersion) == 3);
  CHECK(st.rejects(Reject::kSflowNotDecoded) == 1);
  // An IPv6 agent, and sFlow v4 (same header), are sFlow too.
  std::vector<uint8_t> agent6 = sflow_header(5, 2);
  agent6.resize(40);
  CHECK(st.s->admit(agent6.data(), agent6.size(), exporter, 4, kNow) == Admit::kRejected);
  std::vector<uint8_t> v4 = sflow_header(4, 1);
  CHECK(st.s->admit(v4.data(), v4.size(), exporter, 5, kNow) == Admit::kRejected);
  CHECK(st.rejects(Reject::kSflowNotDecoded) == 3);
  CHECK(reject_reason_name(Reject::kSflowNotDecoded) == "sflow_not_decoded");
}

TEST_CASE("sflow: the notice logs once per exporter, bounded", "[decode][sflow]") {
  SflowNotice n;
  const IpAddr a = IpAddr::from_v4(0x0A000001), b = IpAddr::from_v4(0x0A000002);
  CHECK(n.rejected(a, 5));
  CHECK_FALSE(n.rejected(a, 5));
  CHECK(n.rejected(b, 5));
  CHECK(n.exporters() == 2);
  for (uint32_t i = 0; n.exporters() < SflowNotice::kMaxExporters; ++i)
    n.rejected(IpAddr::from_v4(0x0B000000 + i), 5);
  CHECK(n.rejected(IpAddr::from_v4(0x0C000000), 5));        // one line: "more exporters"
  CHECK_FALSE(n.rejected(IpAddr::from_v4(0x0C000001), 5));  // then silence
  CHECK(n.exporters() == SflowNotice::kMaxExporters);
}

TEST_CASE("sflow: every datagram of the real sFlow captures is sflow_not_decoded",
          "[decode][sflow]") {
  RF_SHARED_CAPTURE(probe, "sflow/pcap/akv-ipv4-data.pcap");
  const std::string dir = probe.substr(0, probe.rfind('/'));
  std::vector<std::string> files;
  std::unique_ptr<DIR, int (*)(DIR*)> dp(opendir(dir.c_str()), closedir);
  REQUIRE(dp);
  while (dirent* e = readdir(dp.get())) {
    const std::string name = e->d_name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".pcap") files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  REQUIRE(!files.empty());
  uint64_t datagrams = 0;
  for (const std::string& f : files) {
    INFO(f);
    Stage st;
    gen::PcapReader r;
    std::string err;
    REQUIRE(r.open(dir + "/" + f, &err));
    gen::CapturedUdp u;
    uint64_t n = 0;
    while (r.next(&u, &err) == 1) {
      ++n;
      st.s->admit(u.payload, u.len, u.src, 0, kNow);
    }
    datagrams += n;
    // td-multiple-counter-30-pdus also holds 5 NetFlow v5 datagrams sent to
    // the sFlow port (the captures' README): those are v5, the rest sFlow.
    const uint64_t v5 = st.counters.datagrams[version_slot(5)].load();
    CHECK(v5 == (f == "td-multiple-counter-30-pdus.pcap" ? 5u : 0u));
    CHECK(st.rejects(Reject::kSflowNotDecoded) == n - v5);
    CHECK(st.rejects(Reject::kBadVersion) == 0);
  }
  INFO(files.size() << " captures, " << datagrams << " datagrams");
  CHECK(datagrams > 0);
}

}  // namespace ringflow
