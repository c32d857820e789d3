// The sFlow v5 decoder against real agents: every datagram of the 57 captures
// in ../shared/captures/sflow/pcap (read in place, never copied) is decoded,
// and every flow record, every counter record and every per-key flow total
// must equal what Wireshark decoded from the same bytes (truth/*.tsv there),
// field by field. Where the captures' README says tshark is not truth, the
// datagram or sample is listed below by name with the reason, and checked
// against the independent walk of sample and record headers (index.tsv).
// Without ../shared the cases are reported skipped (label shared-data).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "decode/sflow_decoder.h"
#include "decode/sflow_if_table.h"
#include "support/capture_file.h"
#include "support/skip.h"
#include "support/tsv.h"

namespace ringflow {
namespace {

const std::string kDir = RINGFLOW_SOURCE_DIR "/../shared/captures/sflow";

using testing::num;
using testing::read_tsv;
using testing::split;
using testing::Tsv;

std::string addr_text(const std::string& s) {
  auto a = IpAddr::parse(s);
  REQUIRE(a.has_value());
  return a->str();
}

std::string mac_text(const uint8_t m[6]) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

// "a=1;b=2;b=3" -> a: [1], b: [2, 3]
std::map<std::string, std::vector<std::string>> extra_map(const std::string& s) {
  std::map<std::string, std::vector<std::string>> m;
  if (s.empty()) return m;
  for (const auto& kv : split(s, ';')) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      m[kv].push_back("");
    } else {
      m[kv.substr(0, eq)].push_back(kv.substr(eq + 1));
    }
  }
  return m;
}

// What the decoder handed to its sink for one datagram.
struct FlowSampleOut {
  SflowFlowSample fs;
  FlowRecord flow;
  std::vector<SflowFlowRecord> records;
};
struct CounterSampleOut {
  SflowCounterSample cs;
  std::vector<SflowCounterRecord> records;
};
struct DatagramOut {
  SflowResult res;
  SflowDatagram d;
  std::map<uint32_t, FlowSampleOut> flows;        // by sample index
  std::map<uint32_t, CounterSampleOut> counters;  // by sample index
  std::vector<std::pair<uint32_t, uint32_t>> unknown_samples;
};

class Collect : public SflowSink {
 public:
  explicit Collect(DatagramOut* out) : out_(out) {}
  void flow_record(const SflowDatagram& d, const SflowFlowSample& fs,
                   const SflowFlowRecord& r) override {
    out_->d = d;
    auto& s = out_->flows[fs.index];
    s.fs = fs;
    CHECK(r.index == s.records.size());
    s.records.push_back(r);
  }
  void flow(const SflowDatagram& d, const SflowFlowSample& fs, const FlowRecord& f) override {
    out_->d = d;
    auto& s = out_->flows[fs.index];
    s.fs = fs;
    s.flow = f;
  }
  void counters(const SflowDatagram& d, const SflowCounterSample& cs,
                const SflowCounterRecord& r) override {
    out_->d = d;
    auto& s = out_->counters[cs.index];
    s.cs = cs;
    CHECK(r.index == s.records.size());
    s.records.push_back(r);
  }
  void unknown(const SflowDatagram& d, SflowUnknown kind, uint32_t enterprise,
               uint32_t format) override {
    out_->d = d;
    if (kind == SflowUnknown::kSample) out_->unknown_samples.emplace_back(enterprise, format);
  }

 private:
  DatagramOut* out_;
};

DatagramOut decode(const std::vector<uint8_t>& payload, SflowBytes bytes) {
  // An exact-size heap copy, so that ASan catches a read past the datagram.
  std::vector<uint8_t> exact(payload);
  exact.shrink_to_fit();
  DatagramOut out;
  Collect sink(&out);
  SflowOptions opt;
  opt.bytes = bytes;
  opt.now_ms = 1700000000000;
  out.res = decode_sflow(exact.data(), exact.size(), opt, &sink);
  return out;
}

// Datagrams the decoder must reject, with the reason (README: "Where tshark
// is not truth"; none of them has usable truth).
struct ExpectedReject {
  const char* capture;
  size_t frame;
  SflowReject reason;
  const char* why;
};
const ExpectedReject kRejects[] = {
    {"gp-packet5", 1, SflowReject::kRecordPastSample,
     "sample length 4 bytes short of its extended-router record (tshark decodes it anyway)"},
    {"gp-packet8", 1, SflowReject::kRecordPastSample,
     "sample length 4 bytes short of its IPv6 extended-router record"},
    {"gp-packet11", 1, SflowReject::kSamplePastDatagram,
     "LACP counter sample of length 116 runs 40 bytes past the datagram"},
    {"td-print-segv", 1, SflowReject::kTooShort, "fuzzed: 8 bytes, version and address type only"},
    {"td-print-segv-iplen", 1, SflowReject::kRecordPastSample,
     "fuzzed: a flow sample claiming 768 records whose first record runs past the sample"},
    {"td-multiple-counter-30-pdus", 13, SflowReject::kBadVersion, "NetFlow v5 on port 6343"},
    {"td-multiple-counter-30-pdus", 19, SflowReject::kBadVersion, "NetFlow v5 on port 6343"},
    {"td-multiple-counter-30-pdus", 20, SflowReject::kBadVersion, "NetFlow v5 on port 6343"},
    {"td-multiple-counter-30-pdus", 21, SflowReject::kBadVersion, "NetFlow v5 on port 6343"},
    {"td-multiple-counter-30-pdus", 22, SflowReject::kBadVersion, "NetFlow v5 on port 6343"},
};

// Captures (or parts) whose truth rows are absent or wrong, by name; their
// samples are checked against index.tsv's walk instead (sample types and
// record formats), and the listed facts below.
const std::pair<const char*, const char*> kNotTruth[] = {
    {"td-multiple-counter-30-pdus",
     "frames 12 and 18: host counters 2000-2006, which tshark 4.0 reads as records (throws)"},
    {"cis-host-sample", "host counters 2000-2006 only: tshark 4.0 misreads them and throws"},
    {"gp-packet9", "OpenFlow port counters (1004): tshark 4.0 throws"},
    {"gp-packet12", "OpenFlow port counters (1004): tshark 4.0 throws"},
    {"gp-packet13", "app resources (2203) + OVS datapath (2207): tshark 4.0 throws"},
    {"tg-v5-example",
     "port-name record (1005) before the generic counters: tshark 4.0 shows a bogus record"},
    {"tg-issue-15375-drop", "discard sample (0:5) not decoded by Wireshark 4.0"},
    {"gf2-drop-extended-acl", "discard sample (0:5) not decoded by Wireshark 4.0"},
    {"gf2-drop-extended-function", "discard sample (0:5) not decoded by Wireshark 4.0"},
    {"cis-event-discarded-packet", "discard sample (0:5) not decoded by Wireshark 4.0"},
    {"akv-encap-vxlan",
     "tshark (analysis off) stops at the outer UDP: truth is the outer key (decapsulate "
     "off); the inner key is checked against tshark with analysis on"},
    {"sfp-sflow",
     "tshark reads a sampled IPv4 record's tcp_flags/tos from the word's first byte: "
     "checked against the bytes"},
};

const ExpectedReject* expected_reject(const std::string& capture, size_t frame) {
  for (const auto& r : kRejects)
    if (capture == r.capture && frame == r.frame) return &r;
  return nullptr;
}

std::vector<std::string> captures() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(kDir + "/pcap"))
    if (e.path().extension() == ".pcap") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Compact samples: tshark shows the whole input word and the output split.
void check_sample_fields(const Tsv& t, const std::vector<std::string>& row,
                         const SflowFlowSample& fs) {
  CHECK(num(t.at(row, "sample_type")) == fs.format);
  CHECK(num(t.at(row, "sample_seq")) == fs.sequence);
  CHECK(num(t.at(row, "source_id_type")) == fs.source_type);
  CHECK(num(t.at(row, "source_id_index")) == fs.source_index);
  CHECK(num(t.at(row, "sampling_rate")) == fs.rate);
  CHECK(num(t.at(row, "sample_pool")) == fs.pool);
  CHECK(num(t.at(row, "drops")) == fs.drops);
  if (fs.format == sflow::kFlowSample) {
    CHECK(t.at(row, "input_format").empty());
    CHECK(num(t.at(row, "input_if")) == (fs.input_format << 30 | fs.input));
  } else {
    CHECK(num(t.at(row, "input_format")) == fs.input_format);
    CHECK(num(t.at(row, "input_if")) == fs.input);
  }
  CHECK(num(t.at(row, "output_format")) == fs.output_format);
  CHECK(num(t.at(row, "output_if")) == fs.output);
}

void check_header_record(const Tsv& t, const std::vector<std::string>& row,
                         const SflowFlowRecord& r, const FlowRecord& flow, bool key_record) {
  CHECK(num(t.at(row, "header_protocol")) == r.header_protocol);
  CHECK(num(t.at(row, "frame_length")) == r.frame_length);
  CHECK(num(t.at(row, "stripped")) == r.stripped);
  CHECK(num(t.at(row, "header_length")) == r.header_length);
  const ParsedPacket& pk = r.packet;
  INFO("parse status " << int(pk.status) << " cut layer " << int(pk.cut_layer) << " at "
                       << pk.cut_offset);
  if (t.at(row, "src_mac").empty()) {
    CHECK(!pk.has_ethernet);
  } else {
    REQUIRE(pk.has_ethernet);
    CHECK(t.at(row, "src_mac") == mac_text(pk.src_mac));
    CHECK(t.at(row, "dst_mac") == mac_text(pk.dst_mac));
  }
  std::string vlans;
  for (size_t i = 0; i < pk.vlan_count && i < 2; ++i) {
    if (i) vlans += ',';
    vlans += std::to_string(pk.vlans[i]);
  }
  CHECK(t.at(row, "vlans") == vlans);
  if (t.at(row, "ip_version").empty()) {
    CHECK(pk.ip_version == 0);
    return;
  }
  CHECK(num(t.at(row, "ip_version")) == pk.ip_version);
  CHECK(addr_text(t.at(row, "src")) == pk.src.str());
  CHECK(addr_text(t.at(row, "dst")) == pk.dst.str());
  CHECK(num(t.at(row, "protocol")) == pk.protocol);
  CHECK(num(t.at(row, "ip_len")) == pk.ip_len);
  if (t.at(row, "src_port").empty()) {
    CHECK(!pk.has_ports);
  } else {
    REQUIRE(pk.has_ports);
    CHECK(num(t.at(row, "src_port")) == pk.src_port);
    CHECK(num(t.at(row, "dst_port")) == pk.dst_port);
  }
  if (t.at(row, "tcp_flags").empty()) {
    CHECK(pk.tcp_flags == 0);
  } else {
    CHECK(num(t.at(row, "tcp_flags")) == pk.tcp_flags);
  }
  auto extra = extra_map(t.at(row, "extra"));
  if (extra.count("icmp_type")) {
    REQUIRE(pk.has_icmp);
    CHECK(num(extra["icmp_type"][0]) == pk.icmp_type);
    CHECK(num(extra["icmp_code"][0]) == pk.icmp_code);
  } else {
    CHECK(!pk.has_icmp);
  }
  if (key_record) {  // the sample's FlowRecord took its key from this header
    CHECK(flow.ip_version == pk.ip_version);
    CHECK(flow.src == pk.src);
    CHECK(flow.dst == pk.dst);
    CHECK(flow.protocol == pk.protocol);
    CHECK(flow.tcp_flags == (pk.tcp_flags & 0xFF));
    if (pk.has_icmp) {
      CHECK(flow.src_port == 0);
      CHECK(flow.dst_port == (pk.icmp_type << 8 | pk.icmp_code));
    } else {
      CHECK(flow.src_port == pk.src_port);
      CHECK(flow.dst_port == pk.dst_port);
    }
  }
}

void check_flow_record(const Tsv& t, const std::vector<std::string>& row, const FlowSampleOut& s,
                       const SflowFlowRecord& r, bool key_record) {
  CHECK(num(t.at(row, "enterprise")) == r.enterprise);
  CHECK(num(t.at(row, "format")) == r.format);
  auto extra = extra_map(t.at(row, "extra"));
  auto x = [&](const std::string& k, size_t i = 0) {
    INFO("extra " << k);
    REQUIRE(extra.count(k));
    REQUIRE(extra[k].size() > i);
    return extra[k][i];
  };
  if (r.enterprise != 0) return;
  switch (r.format) {
    case sflow::kRawHeader:
      return check_header_record(t, row, r, s.flow, key_record);
    case sflow::kSampledEthernet:
      CHECK(num(t.at(row, "frame_length")) == r.eth_length);
      CHECK(t.at(row, "src_mac") == mac_text(r.eth_src));
      CHECK(t.at(row, "dst_mac") == mac_text(r.eth_dst));
      CHECK(num(x("packet_type")) == r.eth_type);
      return;
    case sflow::kSampledIPv4:
    case sflow::kSampledIPv6: {
      CHECK(num(t.at(row, "ip_version")) == (r.format == sflow::kSampledIPv4 ? 4u : 6u));
      CHECK(addr_text(t.at(row, "src")) == r.ip.src.str());
      CHECK(addr_text(t.at(row, "dst")) == r.ip.dst.str());
      CHECK(num(t.at(row, "protocol")) == r.ip.protocol);
      CHECK(num(t.at(row, "src_port")) == r.ip.src_port);
      CHECK(num(t.at(row, "dst_port")) == r.ip.dst_port);
      CHECK(num(t.at(row, "ip_len")) == r.ip.length);
      // tshark 4.0 reads the TCP flag bits from the first byte of the 32-bit
      // tcp_flags word, not the last (sfp-sflow: word 0x00000010, ACK, shown
      // as no flag set): compare with that byte, and the word itself below.
      const char* bits[] = {"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"};
      uint32_t flags = 0;
      for (int b = 0; b < 8; ++b) {
        std::string key = "ip.tcp_flag.";
        key += bits[b];
        if (num(x(key)) != 0) flags |= 1u << b;
      }
      CHECK(flags == r.ip.tcp_flags >> 24);
      if (key_record) {
        CHECK(s.flow.src == r.ip.src);
        CHECK(s.flow.tcp_flags == (r.ip.tcp_flags & 0xFF));
        CHECK(s.flow.dst_port == r.ip.dst_port);
      }
      return;
    }
    case sflow::kExtendedSwitch:
      CHECK(num(x("vlan.in")) == r.src_vlan);
      CHECK(num(x("pri.in")) == r.src_priority);
      CHECK(num(x("vlan.out")) == r.dst_vlan);
      CHECK(num(x("pri.out")) == r.dst_priority);
      if (r.src_vlan <= 4095) CHECK(s.flow.vlan == r.src_vlan);  // else "unknown" (akv-1140)
      return;
    case sflow::kExtendedRouter:
      if (extra.count("nexthop.v6")) {
        CHECK(addr_text(x("nexthop.v6")) == r.nexthop.str());
      } else {
        CHECK(addr_text(x("nexthop")) == r.nexthop.str());
      }
      CHECK(num(x("nexthop.src_mask")) == r.src_mask);
      CHECK(num(x("nexthop.dst_mask")) == r.dst_mask);
      CHECK(s.flow.nexthop == r.nexthop);
      return;
    case sflow::kExtendedGateway: {
      CHECK(addr_text(x("nexthop")) == r.nexthop.str());
      CHECK(num(x("as")) == r.as);
      CHECK(num(x("srcAS")) == r.src_as);
      CHECK(num(x("peerAS")) == r.src_peer_as);
      CHECK(num(x("dstASentries")) == r.path_segments);
      CHECK(extra["as_type"].size() == r.path_segments);
      const auto& path = extra["dstAS"];
      CHECK(path.size() == r.path_length);
      CHECK((path.empty() ? 0u : num(path.front())) == r.first_as);
      CHECK((path.empty() ? 0u : num(path.back())) == r.last_as);
      CHECK(num(x("communityEntries")) == r.communities);
      CHECK(extra["community"].size() == r.communities);
      CHECK(num(x("localpref")) == r.localpref);
      CHECK(s.flow.src_as == r.src_as);
      CHECK(s.flow.dst_as == r.last_as);
      return;
    }
    default:
      return;  // user (1004), URL (1005), tunnels: skipped by length
  }
}

void check_counter_record(const Tsv& t, const std::vector<std::string>& row,
                          const SflowCounterRecord& r) {
  if (r.enterprise != 0) return;
  if (r.format == sflow::kGenericInterface) {
    const GenericIfCounters& c = r.generic;
    CHECK(num(t.at(row, "if_index")) == c.if_index);
    CHECK(num(t.at(row, "if_type")) == c.if_type);
    CHECK(num(t.at(row, "if_speed")) == c.if_speed);
    CHECK(num(t.at(row, "if_direction")) == c.if_direction);
    CHECK(num(t.at(row, "if_admin_up")) == (c.if_status & 1));
    CHECK(num(t.at(row, "if_oper_up")) == (c.if_status >> 1 & 1));
    CHECK(num(t.at(row, "in_octets")) == c.in_octets);
    CHECK(num(t.at(row, "in_ucast")) == c.in_ucast);
    CHECK(num(t.at(row, "in_mcast")) == c.in_mcast);
    CHECK(num(t.at(row, "in_bcast")) == c.in_bcast);
    CHECK(num(t.at(row, "in_discards")) == c.in_discards);
    CHECK(num(t.at(row, "in_errors")) == c.in_errors);
    CHECK(num(t.at(row, "in_unknown")) == c.in_unknown);
    CHECK(num(t.at(row, "out_octets")) == c.out_octets);
    CHECK(num(t.at(row, "out_ucast")) == c.out_ucast);
    CHECK(num(t.at(row, "out_mcast")) == c.out_mcast);
    CHECK(num(t.at(row, "out_bcast")) == c.out_bcast);
    CHECK(num(t.at(row, "out_discards")) == c.out_discards);
    CHECK(num(t.at(row, "out_errors")) == c.out_errors);
    CHECK(num(t.at(row, "promisc")) == c.promisc);
  } else if (r.format == sflow::kEthernetInterface) {
    auto extra = extra_map(t.at(row, "extra"));
    const EthernetCounters& e = r.ethernet;
    const std::pair<const char*, uint32_t> fields[] = {
        {"AlignmentErrors", e.alignment_errors},
        {"FCSErrors", e.fcs_errors},
        {"SingleCollisionFrames", e.single_collision_frames},
        {"MultipleCollisionFrames", e.multiple_collision_frames},
        {"SQETestErrors", e.sqe_test_errors},
        {"DeferredTransmissions", e.deferred_transmissions},
        {"LateCollisions", e.late_collisions},
        {"ExcessiveCollisions", e.excessive_collisions},
        {"InternalMacTransmitErrors", e.internal_mac_transmit_errors},
        {"CarrierSenseErrors", e.carrier_sense_errors},
        {"FrameTooLongs", e.frame_too_longs},
        {"InternalMacReceiveErrors", e.internal_mac_receive_errors},
        {"SymbolErrors", e.symbol_errors},
    };
    for (const auto& [name, value] : fields) {
      std::string key = "2.dot3Stats";
      key += name;
      INFO(key);
      REQUIRE(extra.count(key));
      CHECK(num(extra[key][0]) == value);
    }
  }
}

// "1×5 1001×5" from the walk in index.tsv; "-" = none.
std::map<uint32_t, uint64_t> walk_counts(const std::string& s) {
  std::map<uint32_t, uint64_t> m;
  if (s == "-" || s.empty()) return m;
  for (const auto& item : split(s, ' ')) {
    auto x = item.find("\xC3\x97");  // U+00D7 MULTIPLICATION SIGN
    REQUIRE(x != std::string::npos);
    m[static_cast<uint32_t>(num(item.substr(0, x)))] = num(item.substr(x + 2));
  }
  return m;
}

struct CaptureRun {
  std::string name;
  testing::CaptureFile file;
  std::vector<DatagramOut> l2, l3;  // per frame, decoded with kFrameLength / kIpLength
};

CaptureRun run_capture(const std::string& name) {
  CaptureRun c;
  c.name = name;
  c.file = testing::read_capture(kDir + "/pcap/" + name + ".pcap");
  for (const auto& d : c.file.datagrams) {
    c.l2.push_back(decode(d.payload, SflowBytes::kFrameLength));
    c.l3.push_back(decode(d.payload, SflowBytes::kIpLength));
  }
  return c;
}

std::string join_key(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty() || &p != parts.begin()) out += '\t';
    out += p;
  }
  return out;
}

std::string flow_key_text(const DatagramOut& d, const FlowSampleOut& s) {
  const FlowRecord& f = s.flow;
  const std::string key = d.d.agent.str();
  if (f.ip_version == 0) return join_key({key, "", "", "", "", ""});
  // Ports as tshark shows them: absent when the header had none (cut, ICMP,
  // other protocols), as sent by a sampled IPv4/IPv6 record otherwise.
  bool ports = true;
  for (const auto& r : s.records) {
    if (r.enterprise != 0) continue;
    if (r.format == sflow::kRawHeader && r.packet.ip_version != 0) {
      ports = r.packet.has_ports;
      break;
    }
    if (r.format == sflow::kSampledIPv4 || r.format == sflow::kSampledIPv6) break;
  }
  return join_key({key, f.src.str(), f.dst.str(), ports ? std::to_string(f.src_port) : "",
                   ports ? std::to_string(f.dst_port) : "", std::to_string(f.protocol)});
}

TEST_CASE("sFlow captures: every flow and counter record equals tshark's",
          "[decode][sflow][capture][shared-data]") {
  RF_SHARED_CAPTURE(readme, "sflow/README.md");
  const Tsv index = read_tsv(kDir + "/index.tsv");
  std::map<std::string, std::vector<std::string>> index_rows;
  for (const auto& row : index.rows) index_rows[index.at(row, "capture")] = row;

  const auto names = captures();
  REQUIRE(names.size() == 57);
  uint64_t flow_rows = 0, counter_rows = 0, flow_keys = 0, rejected = 0;
  uint64_t datagrams = 0, flow_samples = 0, counter_samples = 0;
  std::set<std::string> rejects_seen;
  for (const auto& name : names) {
    INFO("capture " << name);
    CaptureRun c = run_capture(name);
    REQUIRE(c.file.ok());
    const Tsv dg = read_tsv(kDir + "/truth/" + name + ".datagrams.tsv");
    const Tsv recs = read_tsv(kDir + "/truth/" + name + ".records.tsv");
    const Tsv cnts = read_tsv(kDir + "/truth/" + name + ".counters.tsv");
    const Tsv flows = read_tsv(kDir + "/truth/" + name + ".flows.tsv");
    const Tsv summary = read_tsv(kDir + "/truth/" + name + ".summary.tsv");
    REQUIRE(summary.rows.size() == 1);
    REQUIRE(c.file.datagrams.size() == num(summary.at(summary.rows[0], "frames")));

    // 1. Accepted or rejected, frame by frame, exactly as expected.
    for (size_t i = 0; i < c.l2.size(); ++i) {
      INFO("frame " << i + 1);
      const ExpectedReject* want = expected_reject(name, i + 1);
      CHECK(sflow_reject_name(c.l2[i].res.reject) ==
            std::string(sflow_reject_name(want ? want->reason : SflowReject::kNone)));
      if (want) {
        rejects_seen.insert(name + ":" + std::to_string(i + 1));
        ++rejected;
        CHECK(c.l2[i].flows.empty());
        CHECK(c.l2[i].counters.empty());
      } else {
        ++datagrams;
      }
    }

    // 2. Datagram headers.
    for (const auto& row : dg.rows) {
      const size_t frame = num(dg.at(row, "frame"));
      INFO("frame " << frame);
      REQUIRE(frame >= 1);
      REQUIRE(frame <= c.l2.size());
      const DatagramOut& d = c.l2[frame - 1];
      if (d.res.reject != SflowReject::kNone) continue;
      SflowDatagram h;
      uint32_t trailing = 0;
      const auto& payload = c.file.datagrams[frame - 1].payload;
      REQUIRE(validate_sflow(payload.data(), payload.size(), &h, &trailing) == SflowReject::kNone);
      CHECK(addr_text(dg.at(row, "agent")) == h.agent.str());
      CHECK(num(dg.at(row, "sub_agent")) == h.sub_agent);
      CHECK(num(dg.at(row, "dgram_seq")) == h.sequence);
      CHECK(num(dg.at(row, "uptime_ms")) == h.uptime_ms);
      CHECK(num(dg.at(row, "num_samples")) == h.num_samples);
      CHECK(d.flows.size() + d.counters.size() + d.unknown_samples.size() == h.num_samples);
    }

    // 3. Every flow record tshark decoded (tshark_ok=yes) equals ours.
    for (const auto& row : recs.rows) {
      const size_t frame = num(recs.at(row, "frame"));
      const uint32_t sample = static_cast<uint32_t>(num(recs.at(row, "sample"))) - 1;
      const size_t rec = num(recs.at(row, "rec")) - 1;
      INFO("frame " << frame << " sample " << sample + 1 << " record " << rec + 1);
      const DatagramOut& d = c.l2[frame - 1];
      if (d.res.reject != SflowReject::kNone) {
        CHECK(recs.at(row, "tshark_ok") == "no");  // only datagrams tshark misread are rejected
        continue;
      }
      if (recs.at(row, "tshark_ok") != "yes") continue;
      CHECK(addr_text(recs.at(row, "agent")) == d.d.agent.str());
      REQUIRE(d.flows.count(sample));
      const FlowSampleOut& s = d.flows.at(sample);
      REQUIRE(rec < s.records.size());
      check_sample_fields(recs, row, s.fs);
      // Which record gave the FlowRecord its key (sflow_decoder.h).
      size_t key_rec = s.records.size();
      for (size_t k = 0; k < s.records.size() && key_rec == s.records.size(); ++k)
        if (s.records[k].enterprise == 0 && s.records[k].format == sflow::kRawHeader &&
            s.records[k].packet.ip_version != 0)
          key_rec = k;
      for (size_t k = 0; k < s.records.size() && key_rec == s.records.size(); ++k)
        if (s.records[k].enterprise == 0 && (s.records[k].format == sflow::kSampledIPv4 ||
                                             s.records[k].format == sflow::kSampledIPv6))
          key_rec = k;
      check_flow_record(recs, row, s, s.records[rec], rec == key_rec);
      CHECK(s.flow.sampling == std::max<uint32_t>(s.fs.rate, 1));
      CHECK(s.flow.packets == 1);
      ++flow_rows;
    }

    // 3b. Where tshark is not truth for a record's values, the bytes are.
    if (name == "sfp-sflow") {
      // The sampled IPv4 record's last two words are 00 00 00 10 and
      // 00 00 00 70 (tshark -x): tcp_flags ACK, tos 0x70.
      const SflowFlowRecord& r = c.l2[0].flows.at(0).records.at(0);
      CHECK(r.ip.tcp_flags == 0x10);
      CHECK(r.ip.tos == 0x70);
      CHECK(c.l2[0].flows.at(0).flow.tos == 0x70);
    }
    if (name == "akv-encap-vxlan") {
      // The inner packet, as tshark shows it with -o sflow.enable_analysis:TRUE
      // (-T fields -e vxlan.vni -e ipv6.src -e ipv6.dst -e ipv6.plen
      // -e ipv6.nxt -e icmpv6.type -e icmpv6.code): 100, 2001:db8:4::1,
      // 2001:db8:4::3, 64, 58, 128, 0 (ICMPv6 echo request).
      SflowOptions opt;
      opt.packet.decapsulate = true;
      DatagramOut inner;
      Collect sink(&inner);
      const auto& payload = c.file.datagrams[0].payload;
      REQUIRE(decode_sflow(payload.data(), payload.size(), opt, &sink).reject ==
              SflowReject::kNone);
      const FlowSampleOut& s = inner.flows.at(0);
      const ParsedPacket& pk = s.records.at(1).packet;
      CHECK(pk.encap == Encap::kVxlan);
      CHECK(pk.inner);
      CHECK(pk.vni == 100);
      CHECK(pk.ip_version == 6);
      CHECK(pk.src.str() == "2001:db8:4::1");
      CHECK(pk.dst.str() == "2001:db8:4::3");
      CHECK(pk.ip_len == 64 + 40);
      CHECK(pk.protocol == 58);
      CHECK(pk.has_icmp);
      CHECK(pk.icmp_type == 128);
      CHECK(pk.icmp_code == 0);
      CHECK(s.flow.dst.str() == "2001:db8:4::3");
      CHECK(s.flow.dst_port == 128 << 8);
      CHECK(s.flow.ip_version == 6);
    }

    // 4. Every counter sample tshark decoded equals ours, record by record.
    for (const auto& row : cnts.rows) {
      const size_t frame = num(cnts.at(row, "frame"));
      const uint32_t sample = static_cast<uint32_t>(num(cnts.at(row, "sample"))) - 1;
      INFO("frame " << frame << " counter sample " << sample + 1);
      const DatagramOut& d = c.l2[frame - 1];
      if (d.res.reject != SflowReject::kNone) {
        CHECK(cnts.at(row, "tshark_ok") == "no");
        continue;
      }
      if (cnts.at(row, "tshark_ok") != "yes") continue;
      REQUIRE(d.counters.count(sample));
      const CounterSampleOut& s = d.counters.at(sample);
      CHECK(num(cnts.at(row, "sample_type")) == s.cs.format);
      CHECK(num(cnts.at(row, "sample_seq")) == s.cs.sequence);
      CHECK(num(cnts.at(row, "source_id_type")) == s.cs.source_type);
      CHECK(num(cnts.at(row, "source_id_index")) == s.cs.source_index);
      std::string formats;
      for (const auto& r : s.records) {
        if (!formats.empty()) formats += ',';
        formats += std::to_string(r.format);
      }
      CHECK(cnts.at(row, "records") == formats);
      bool generic = false;
      for (const auto& r : s.records) {
        check_counter_record(cnts, row, r);
        generic = generic || (r.enterprise == 0 && r.format == sflow::kGenericInterface);
      }
      CHECK(cnts.at(row, "if_index").empty() == !generic);
      ++counter_rows;
    }

    // 5. Per-key flow totals (flows.tsv): samples, packets = sum of rates,
    // bytes_l2 = sum of frame_length x rate, bytes_l3 = sum of ip_len x rate.
    std::set<size_t> exception_frames;
    for (const auto& f : split(summary.at(summary.rows[0], "exception_frames"), ','))
      if (!f.empty() && f != "-") exception_frames.insert(num(f));
    std::set<std::pair<size_t, uint32_t>> not_ok;
    for (const auto& row : recs.rows)
      if (recs.at(row, "tshark_ok") != "yes")
        not_ok.emplace(num(recs.at(row, "frame")),
                       static_cast<uint32_t>(num(recs.at(row, "sample"))) - 1);
    struct Totals {
      uint64_t samples = 0, packets = 0, l2 = 0, l3 = 0;
    };
    std::map<std::string, Totals> mine;
    for (size_t i = 0; i < c.l2.size(); ++i) {
      if (exception_frames.count(i + 1)) continue;
      for (const auto& [index, s] : c.l2[i].flows) {
        if (not_ok.count({i + 1, index})) continue;
        Totals& t = mine[flow_key_text(c.l2[i], s)];
        t.samples += 1;
        t.packets += s.flow.packets * s.flow.sampling;
        const FlowSampleOut& s3 = c.l3[i].flows.at(index);
        t.l3 += s3.flow.bytes * s3.flow.sampling;
        bool l2_length = false;
        for (const auto& r : s.records)
          l2_length = l2_length || (r.enterprise == 0 && (r.format == sflow::kRawHeader ||
                                                          r.format == sflow::kSampledEthernet));
        if (l2_length) {
          t.l2 += s.flow.bytes * s.flow.sampling;
        } else {
          // No frame length in the sample (a sampled IPv4/IPv6 record only):
          // tshark's bytes_l2 has nothing, the decoder's layer-2 mode falls
          // back to the IP length (sflow_decoder.h).
          CHECK(s.flow.bytes == s3.flow.bytes);
        }
      }
    }
    CHECK(mine.size() == flows.rows.size());
    for (const auto& row : flows.rows) {
      const std::string& src = flows.at(row, "src");
      const std::string& dst = flows.at(row, "dst");
      const std::string key =
          join_key({addr_text(flows.at(row, "agent")), src.empty() ? "" : addr_text(src),
                    dst.empty() ? "" : addr_text(dst), flows.at(row, "src_port"),
                    flows.at(row, "dst_port"), flows.at(row, "protocol")});
      INFO("flow key " << key);
      REQUIRE(mine.count(key));
      const Totals& t = mine[key];
      CHECK(num(flows.at(row, "samples")) == t.samples);
      CHECK(num(flows.at(row, "packets")) == t.packets);
      const std::string& l2 = flows.at(row, "bytes_l2");
      const std::string& l3 = flows.at(row, "bytes_l3");
      CHECK((l2.empty() ? 0 : num(l2)) == t.l2);
      CHECK((l3.empty() ? 0 : num(l3)) == t.l3);
      ++flow_keys;
    }

    // 6. The independent walk (index.tsv): sample types and record formats of
    // every accepted datagram, including what tshark could not decode.
    REQUIRE(index_rows.count(name));
    const auto& irow = index_rows[name];
    std::map<uint32_t, uint64_t> types, fformats, cformats;
    bool any_accepted = false;
    for (const auto& d : c.l2) {
      if (d.res.reject != SflowReject::kNone) continue;
      any_accepted = true;
      for (const auto& [i, s] : d.flows) {
        ++types[s.fs.format];
        for (const auto& r : s.records) ++fformats[r.enterprise << 12 | r.format];
      }
      for (const auto& [i, s] : d.counters) {
        ++types[s.cs.format];
        for (const auto& r : s.records) ++cformats[r.enterprise << 12 | r.format];
      }
      for (const auto& [e, f] : d.unknown_samples) ++types[e << 12 | f];
      flow_samples += d.flows.size();
      counter_samples += d.counters.size();
    }
    if (any_accepted) {
      CHECK(types == walk_counts(index.at(irow, "sample_types")));
      CHECK(fformats == walk_counts(index.at(irow, "flow_record_formats")));
      CHECK(cformats == walk_counts(index.at(irow, "counter_record_formats")));
    }
  }
  // Every expected reject was met, and the totals are the README's.
  CHECK(rejects_seen.size() == std::size(kRejects));
  std::printf(
      "sflow captures: %zu captures, %llu datagrams accepted, %llu rejected; "
      "%llu flow samples, %llu counter samples; %llu flow-record rows, %llu counter "
      "rows, %llu flow keys equal tshark's\n",
      names.size(), (unsigned long long)datagrams, (unsigned long long)rejected,
      (unsigned long long)flow_samples, (unsigned long long)counter_samples,
      (unsigned long long)flow_rows, (unsigned long long)counter_rows,
      (unsigned long long)flow_keys);
  std::printf("not checked against tshark (checked against index.tsv's walk instead):\n");
  for (const auto& [capture, why] : kNotTruth) std::printf("  %s: %s\n", capture, why);
  for (const auto& r : kRejects)
    std::printf("  %s frame %zu: rejected as %s: %s\n", r.capture, r.frame,
                sflow_reject_name(r.reason), r.why);
}

// What the ordered stage's walk (walk_sflow_samples) hands on.
class WalkCollect : public SflowWalk {
 public:
  std::vector<SflowSampleHead> flows;
  std::vector<std::pair<SflowCounterSample, SflowCounterRecord>> crecs;
  void sample(const SflowSampleHead& h) override {
    if (h.flow) flows.push_back(h);
  }
  void counters(const SflowCounterSample& cs, const SflowCounterRecord& r) override {
    crecs.emplace_back(cs, r);
  }
};

// The ordered stage's view of the real captures (issue 22 item 4): the
// walk's flow-sample fields for the reconciliation (input, output, layer-2
// length) equal the decoder's FlowRecord (whose records equal tshark's,
// above), its generic counter records equal the decoder's, and every
// interface counter delta SflowIfTable gives equals the difference of two
// consecutive counter rows of tshark's for the same (agent, sub-agent,
// ifIndex); every such in-order pair gives one.
TEST_CASE("sFlow captures: the ordered stage's walk and counter deltas equal tshark's",
          "[decode][sflow][capture][shared-data]") {
  RF_SHARED_CAPTURE(readme, "sflow/README.md");
  struct Want {
    bool delta = false;
    uint64_t in_octets = 0, out_octets = 0, in_packets = 0, out_packets = 0;
    uint64_t in_errors = 0, out_errors = 0, in_discards = 0, out_discards = 0;
  };
  uint64_t walked_flows = 0, walked_counters = 0, deltas = 0, no_deltas = 0;
  for (const auto& name : captures()) {
    INFO("capture " << name);
    CaptureRun c = run_capture(name);
    REQUIRE(c.file.ok());
    // tshark's consecutive generic rows per interface -> the delta the later one must give.
    const Tsv cnts = read_tsv(kDir + "/truth/" + name + ".counters.tsv");
    using IfKey = std::tuple<std::string, uint64_t, uint64_t>;
    std::map<IfKey, const std::vector<std::string>*> last;
    std::map<std::tuple<std::string, uint64_t, uint64_t, uint64_t>, Want> want;
    for (const auto& row : cnts.rows) {
      if (cnts.at(row, "tshark_ok") != "yes" || cnts.at(row, "if_index").empty()) continue;
      const IfKey k{addr_text(cnts.at(row, "agent")), num(cnts.at(row, "sub_agent")),
                    num(cnts.at(row, "if_index"))};
      const auto* prev = last.count(k) ? last[k] : nullptr;
      last[k] = &row;
      if (!prev) continue;
      auto n = [&](const std::vector<std::string>& r, const char* col) {
        return num(cnts.at(r, col));
      };
      const uint64_t seq = n(row, "sample_seq"), pseq = n(*prev, "sample_seq");
      Want w;
      const char* cols[] = {"in_octets", "out_octets", "in_ucast", "in_mcast", "in_bcast",
                            "out_ucast", "out_mcast", "out_bcast", "in_errors", "out_errors",
                            "in_discards", "out_discards"};
      bool forward = true;
      for (const char* col : cols) forward = forward && n(row, col) >= n(*prev, col);
      w.delta = seq > pseq && n(row, "uptime_ms") >= n(*prev, "uptime_ms") && forward;
      if (w.delta) {
        w.in_octets = n(row, "in_octets") - n(*prev, "in_octets");
        w.out_octets = n(row, "out_octets") - n(*prev, "out_octets");
        for (const char* col : {"in_ucast", "in_mcast", "in_bcast"})
          w.in_packets += n(row, col) - n(*prev, col);
        for (const char* col : {"out_ucast", "out_mcast", "out_bcast"})
          w.out_packets += n(row, col) - n(*prev, col);
        w.in_errors = n(row, "in_errors") - n(*prev, "in_errors");
        w.out_errors = n(row, "out_errors") - n(*prev, "out_errors");
        w.in_discards = n(row, "in_discards") - n(*prev, "in_discards");
        w.out_discards = n(row, "out_discards") - n(*prev, "out_discards");
      }
      want[{std::get<0>(k), std::get<1>(k), std::get<2>(k), seq}] = w;
    }

    SflowIfTable table(1024);
    std::map<std::pair<std::string, uint32_t>, uint32_t> stream_of;  // (agent, sub-agent)
    uint64_t capture_deltas = 0, want_deltas = 0;
    for (const auto& [k, w] : want) want_deltas += w.delta;
    for (size_t i = 0; i < c.l2.size(); ++i) {
      const DatagramOut& d = c.l2[i];
      if (d.res.reject != SflowReject::kNone) continue;
      INFO("frame " << i + 1);
      const auto& payload = c.file.datagrams[i].payload;
      SflowDatagram h;
      uint32_t trailing = 0;
      REQUIRE(validate_sflow(payload.data(), payload.size(), &h, &trailing) == SflowReject::kNone);
      WalkCollect walk;
      walk_sflow_samples(payload.data(), payload.size(), h, &walk);
      REQUIRE(walk.flows.size() == d.flows.size());
      size_t k = 0;
      for (const auto& [index, s] : d.flows) {
        const SflowSampleHead& wh = walk.flows[k++];
        CHECK(wh.sequence == s.fs.sequence);
        CHECK(wh.input == s.flow.input);
        CHECK(wh.output == s.flow.output);
        CHECK(wh.length == s.flow.bytes);  // decode.sflow_bytes = frame_length
        ++walked_flows;
      }
      size_t ndec = 0;
      for (const auto& [index, s] : d.counters)
        for (const auto& r : s.records)
          ndec += r.enterprise == 0 && (r.format == sflow::kGenericInterface ||
                                        r.format == sflow::kEthernetInterface);
      REQUIRE(walk.crecs.size() == ndec);
      const auto skey = std::make_pair(h.agent.str(), h.sub_agent);
      if (!stream_of.count(skey)) stream_of[skey] = static_cast<uint32_t>(stream_of.size());
      for (const auto& [cs, r] : walk.crecs) {
        REQUIRE(d.counters.count(cs.index));
        const CounterSampleOut& s = d.counters.at(cs.index);
        REQUIRE(r.index < s.records.size());
        const SflowCounterRecord& dr = s.records[r.index];
        CHECK(dr.format == r.format);
        ++walked_counters;
        if (r.format != sflow::kGenericInterface) continue;
        CHECK(dr.generic.in_octets == r.generic.in_octets);
        CHECK(dr.generic.out_octets == r.generic.out_octets);
        CHECK(dr.generic.if_index == r.generic.if_index);
        SflowIfDelta delta;
        const SflowIfTable::Seen seen =
            table.counters(stream_of[skey], h.uptime_ms, cs.sequence, r.generic, &delta);
        const auto wk = std::make_tuple(skey.first, uint64_t{skey.second},
                                        uint64_t{r.generic.if_index}, uint64_t{cs.sequence});
        INFO("if_index " << r.generic.if_index << " sample_seq " << cs.sequence << " seen "
                         << static_cast<int>(seen));
        if (!want.count(wk)) {
          // The interface's first sample (or one tshark could not read).
          CHECK(seen != SflowIfTable::Seen::kDelta);
          continue;
        }
        const Want& w = want[wk];
        if (!w.delta) {
          CHECK(seen != SflowIfTable::Seen::kDelta);
          ++no_deltas;
          continue;
        }
        REQUIRE(seen == SflowIfTable::Seen::kDelta);
        CHECK(delta.in_octets == w.in_octets);
        CHECK(delta.out_octets == w.out_octets);
        CHECK(delta.in_packets == w.in_packets);
        CHECK(delta.out_packets == w.out_packets);
        CHECK(delta.in_errors == w.in_errors);
        CHECK(delta.out_errors == w.out_errors);
        CHECK(delta.in_discards == w.in_discards);
        CHECK(delta.out_discards == w.out_discards);
        ++capture_deltas;
      }
    }
    CHECK(capture_deltas == want_deltas);
    deltas += capture_deltas;
  }
  std::printf("sflow captures, ordered stage: %llu flow samples and %llu counter records walked; "
              "%llu interface deltas equal tshark's, %llu consecutive pairs without one\n",
              (unsigned long long)walked_flows, (unsigned long long)walked_counters,
              (unsigned long long)deltas, (unsigned long long)no_deltas);
  CHECK(deltas == 87);  // the 57 captures hold 87 in-order pairs (ls-, ndpi-, td- captures)
}

// The ordered stage's one-pass shortcut and the worker's decode of a
// validated datagram, against the two-pass paths they replace, on every
// real capture: validate_sflow with SflowHeads rejects exactly what it
// rejects without; when it says `complete`, its heads equal, field by field,
// every sample walk_sflow_samples hands over (and the walk reports nothing
// else); decode_sflow with SflowOptions::validated yields the same
// FlowRecords as the validating decode. Both kinds of datagram (complete:
// flow samples of known records only; not: counter samples, unknown
// formats) must occur, so that both branches of admit_sflow are compared.
class WalkAll : public SflowWalk {
 public:
  std::vector<SflowSampleHead> samples;
  size_t others = 0;  // unknown records and counter records
  void sample(const SflowSampleHead& h) override { samples.push_back(h); }
  void unknown_record(SflowUnknown, uint32_t, uint32_t) override { ++others; }
  void counters(const SflowCounterSample&, const SflowCounterRecord&) override { ++others; }
};

struct Flows : SflowSink {
  std::vector<FlowRecord> flows;
  void flow(const SflowDatagram&, const SflowFlowSample&, const FlowRecord& f) override {
    flows.push_back(f);
  }
};

TEST_CASE("sFlow captures: the one-pass heads and the validated decode equal the two-pass paths",
          "[decode][sflow][capture][shared-data]") {
  RF_SHARED_CAPTURE(readme, "sflow/README.md");
  size_t complete = 0, walked = 0, heads_compared = 0, flows_compared = 0;
  for (const auto& name : captures()) {
    INFO("capture " << name);
    const testing::CaptureFile file = testing::read_capture(kDir + "/pcap/" + name + ".pcap");
    REQUIRE(file.ok());
    for (size_t i = 0; i < file.datagrams.size(); ++i) {
      INFO("frame " << i + 1);
      const auto& pl = file.datagrams[i].payload;
      SflowDatagram d1, d2;
      uint32_t t1 = 0, t2 = 0;
      SflowHeads heads;
      const SflowReject r1 = validate_sflow(pl.data(), pl.size(), &d1, &t1);
      const SflowReject r2 = validate_sflow(pl.data(), pl.size(), &d2, &t2, &heads);
      REQUIRE(r1 == r2);
      if (r1 != SflowReject::kNone) continue;
      CHECK(t1 == t2);
      WalkAll walk;
      walk_sflow_samples(pl.data(), pl.size(), d1, &walk);
      if (heads.complete) {
        ++complete;
        CHECK(walk.others == 0);
        REQUIRE(walk.samples.size() == heads.n);
        for (size_t k = 0; k < heads.n; ++k) {
          const SflowSampleHead &a = walk.samples[k], &b = heads.heads[k];
          CHECK(a.flow);
          CHECK(b.flow == a.flow);
          CHECK(b.counters == a.counters);
          CHECK(b.enterprise == a.enterprise);
          CHECK(b.format == a.format);
          CHECK(b.sequence == a.sequence);
          CHECK(b.source_type == a.source_type);
          CHECK(b.source_index == a.source_index);
          CHECK(b.rate == a.rate);
          CHECK(b.pool == a.pool);
          CHECK(b.drops == a.drops);
          CHECK(b.input == a.input);
          CHECK(b.output == a.output);
          CHECK(b.length == a.length);
          ++heads_compared;
        }
      } else {
        ++walked;
      }
      Flows full, trusted;
      SflowOptions opt;
      const SflowResult a = decode_sflow(pl.data(), pl.size(), opt, &full);
      opt.validated = true;
      const SflowResult b = decode_sflow(pl.data(), pl.size(), opt, &trusted);
      REQUIRE(b.reject == SflowReject::kNone);
      CHECK(b.flow_samples == a.flow_samples);
      CHECK(b.counter_samples == a.counter_samples);
      CHECK(b.cut_headers == a.cut_headers);
      REQUIRE(trusted.flows.size() == full.flows.size());
      for (size_t k = 0; k < full.flows.size(); ++k) {
        const FlowRecord &x = full.flows[k], &y = trusted.flows[k];
        CHECK(y.src == x.src);
        CHECK(y.dst == x.dst);
        CHECK(y.src_port == x.src_port);
        CHECK(y.dst_port == x.dst_port);
        CHECK(y.protocol == x.protocol);
        CHECK(y.bytes == x.bytes);
        CHECK(y.packets == x.packets);
        CHECK(y.sampling == x.sampling);
        CHECK(y.input == x.input);
        CHECK(y.output == x.output);
        CHECK(y.vlan == x.vlan);
        ++flows_compared;
      }
    }
  }
  INFO(complete << " one-pass datagrams (" << heads_compared << " heads), " << walked << " walked, "
                << flows_compared << " flow records compared");
  CHECK(complete > 0);
  CHECK(walked > 0);
  CHECK(heads_compared > 0);
  CHECK(flows_compared > 0);
}

}  // namespace
}  // namespace ringflow
