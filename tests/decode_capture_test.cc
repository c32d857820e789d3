// The decoder against a real exporter: every field of every header and record
// of tests/data/v5-pmacct.pcap must equal Wireshark's decoding of the
// same bytes (the TSV files beside it), and the absolute times must come out
// where tests/data/README.md says (the exporter's uptime clock wrapped).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include <arpa/inet.h>

#include "decode/sequence_tracker.h"
#include "decode/v5_decoder.h"
#include "support/capture_file.h"
#include "support/tsv.h"

namespace ringflow {
namespace {

const std::string kCaptures = RINGFLOW_SOURCE_DIR "/tests/data";

using testing::num;
using testing::read_tsv;
using testing::split;

// tshark prints uptime readings in seconds with 9 decimals ("3572181.888000000");
// the wire value is milliseconds. Parsed as text so no float rounding sneaks in.
uint32_t seconds_to_ms(const std::string& s) {
  auto dot = s.find('.');
  REQUIRE(dot != std::string::npos);
  std::string frac = s.substr(dot + 1);
  REQUIRE(frac.size() == 9);
  REQUIRE(frac.substr(3) == "000000");  // whole milliseconds
  uint32_t ms = 0;
  for (size_t k = 0; k < 3; ++k) {
    REQUIRE((frac[k] >= '0' && frac[k] <= '9'));
    ms = ms * 10 + static_cast<uint32_t>(frac[k] - '0');
  }
  return static_cast<uint32_t>(num(s.substr(0, dot)) * 1000 + ms);
}

uint32_t ipv4(const std::string& s) {
  in_addr a;
  REQUIRE(inet_pton(AF_INET, s.c_str(), &a) == 1);
  return ntohl(a.s_addr);
}

struct Capture {
  std::vector<testing::UdpDatagram> datagrams;
  std::vector<std::vector<std::string>> headers, records;
};

const Capture& capture() {
  static const Capture c = [] {
    Capture c;
    auto pcap = testing::read_capture(kCaptures + "/v5-pmacct.pcap");
    INFO(pcap.error);
    REQUIRE(pcap.ok());
    c.datagrams = std::move(pcap.datagrams);
    c.headers = read_tsv(kCaptures + "/v5-pmacct.headers.tsv").rows;
    c.records = read_tsv(kCaptures + "/v5-pmacct.records.tsv").rows;
    return c;
  }();
  return c;
}

// Decodes every datagram of the capture (each is one PDU).
std::vector<Pdu> decode_all(int64_t now_ms) {
  std::vector<Pdu> out;
  DecodeOptions opt;
  for (const auto& d : capture().datagrams) {
    DatagramShape shape = validate_datagram(d.payload.data(), d.payload.size(), opt);
    REQUIRE(shape.reject == Reject::kNone);
    REQUIRE(shape.pdus == 1);
    REQUIRE_FALSE(shape.trailing);
    out.emplace_back();
    decode_pdu(d.payload.data(), d.payload.size(), 0, now_ms, opt, &out.back());
  }
  return out;
}

constexpr int64_t kNow = 1795722800000;  // shortly after the capture's export time

}  // namespace

TEST_CASE("capture: 104 NetFlow v5 datagrams to UDP port 29995", "[decode][capture]") {
  const Capture& c = capture();
  REQUIRE(c.datagrams.size() == 104);
  REQUIRE(c.headers.size() == 104);
  REQUIRE(c.records.size() == 104);
  for (const auto& d : c.datagrams) CHECK(d.dst_port == 29995);
}

// "Header: version, count, sys_uptime, unix_secs, unix_nsecs, flow_sequence,
//  engine_type, engine_id, sampling_interval (2 bits mode, 14 interval)"
TEST_CASE("capture: every header field equals tshark's decoding", "[decode][capture]") {
  const Capture& c = capture();
  auto pdus = decode_all(kNow);
  for (size_t i = 0; i < pdus.size(); ++i) {
    const auto& row = c.headers[i];
    const v5::Header& h = pdus[i].header;
    INFO("frame " << row[0]);
    REQUIRE(row.size() >= 9);
    CHECK(num(row[0]) == i + 1);
    CHECK(h.version == num(row[1]));
    CHECK(h.count == num(row[2]));
    CHECK(pdus[i].count == h.count);
    CHECK(h.sys_uptime_ms == seconds_to_ms(row[3]));
    CHECK(h.unix_secs == num(row[4]));
    CHECK(h.unix_nsecs == num(row[5]));
    CHECK(h.flow_sequence == num(row[6]));
    CHECK(h.engine_type == num(row[7]));
    CHECK(h.engine_id == num(row[8]));
    // tshark leaves the column empty when the field is 0.
    const std::string sampling = row.size() > 9 ? row[9] : "";
    CHECK(h.sampling_interval() == (sampling.empty() ? 0 : num(sampling)));
    // Datagram length is exactly 24 + 48*count.
    CHECK(c.datagrams[i].payload.size() == v5::kHeaderSize + h.count * v5::kRecordSize);
  }
}

// "Record: srcaddr, dstaddr, nexthop, input, output, dPkts, dOctets, first,
//  last, srcport, dstport, pad1, tcp_flags, prot, tos, src_as, dst_as,
//  src_mask, dst_mask, pad2"
TEST_CASE("capture: every record field equals tshark's decoding", "[decode][capture]") {
  const Capture& c = capture();
  auto pdus = decode_all(kNow);
  size_t total = 0;
  for (size_t i = 0; i < pdus.size(); ++i) {
    const auto& row = c.records[i];
    REQUIRE(row.size() == 19);
    std::vector<std::vector<std::string>> col;
    for (size_t k = 1; k < row.size(); ++k) {
      col.push_back(split(row[k], ','));
      REQUIRE(col.back().size() == pdus[i].count);
    }
    for (size_t r = 0; r < pdus[i].count; ++r) {
      const v5::Record& rec = pdus[i].records[r];
      INFO("frame " << row[0] << " record " << r);
      CHECK(rec.src_addr == ipv4(col[0][r]));
      CHECK(rec.dst_addr == ipv4(col[1][r]));
      CHECK(rec.nexthop == ipv4(col[2][r]));
      CHECK(rec.input == num(col[3][r]));
      CHECK(rec.output == num(col[4][r]));
      CHECK(rec.packets == num(col[5][r]));
      CHECK(rec.octets == num(col[6][r]));
      CHECK(rec.first_raw == seconds_to_ms(col[7][r]));
      CHECK(rec.last_raw == seconds_to_ms(col[8][r]));
      CHECK(rec.src_port == num(col[9][r]));
      CHECK(rec.dst_port == num(col[10][r]));
      CHECK(rec.tcp_flags == num(col[11][r]));
      CHECK(rec.protocol == num(col[12][r]));
      CHECK(rec.tos == num(col[13][r]));
      CHECK(rec.src_as == num(col[14][r]));
      CHECK(rec.dst_as == num(col[15][r]));
      CHECK(rec.src_mask == num(col[16][r]));
      CHECK(rec.dst_mask == num(col[17][r]));
      ++total;
    }
  }
  CHECK(total == 3000);
}

// tests/data/README.md: first/last are numerically far above sys_uptime
// because the 32-bit millisecond uptime clock wrapped; decoded correctly,
// every flow starts and ends between unix time 1795000000.190 and
// 1795000981.357.
TEST_CASE("capture: absolute times survive the uptime wrap", "[decode][capture][time]") {
  auto pdus = decode_all(kNow);
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  uint64_t future = 0, inverted = 0, ahead_of_uptime = 0;
  for (const Pdu& p : pdus) {
    future += p.future_records;
    inverted += p.inverted_records;
    for (size_t r = 0; r < p.count; ++r) {
      const v5::Record& rec = p.records[r];
      if (rec.first_raw > p.header.sys_uptime_ms) ++ahead_of_uptime;
      lo = std::min({lo, rec.start_ms, rec.end_ms});
      hi = std::max({hi, rec.start_ms, rec.end_ms});
      CHECK(rec.start_ms <= rec.end_ms);
      CHECK(rec.end_ms <= p.export_ms);
    }
  }
  CHECK(ahead_of_uptime == 3000);  // the wrap is really there
  CHECK(lo == 1795000000190);
  CHECK(hi == 1795000981357);
  CHECK(future == 0);
  CHECK(inverted == 0);
  // Decoded with a receive clock a day behind the flows, every record ends
  // "in the future" and is counted (not dropped).
  auto early = decode_all(1795000000190 - 86400000);
  uint64_t early_future = 0;
  for (const Pdu& p : early) early_future += p.future_records;
  CHECK(early_future == 3000);
}

TEST_CASE("capture: one exporter stream, every datagram in order", "[decode][capture][sequence]") {
  const Capture& c = capture();
  auto pdus = decode_all(kNow);
  DecodeConfig cfg;
  SequenceTracker tracker(cfg);
  IpAddr exporter = c.datagrams[0].src;
  for (size_t i = 0; i < pdus.size(); ++i) {
    SeqResult r = tracker.observe(exporter, pdus[i].header, kNow);
    CHECK(r.cls == (i == 0 ? SeqClass::kNewStream : SeqClass::kInOrder));
  }
  const StreamStats* st = tracker.find(exporter, 7, 3);
  REQUIRE(st != nullptr);
  CHECK(st->datagrams == 104);
  CHECK(st->flows == 3000);
  CHECK(st->lost_flows == 0);
  CHECK(st->next_sequence == 3000);
  CHECK(st->duplicates == 0);
  CHECK(st->resets == 0);
}

}  // namespace ringflow
