// Absolute times: "boot = unix_secs*1000 + unix_nsecs/10^6 - sys_uptime; a
// record's start/end = export time + signed 32-bit difference
// (first - sys_uptime), so the uptime clock's wrap and flows that began before
// the exporter's uptime wrapped come out right. Count (do not drop) records
// whose last is in the future beyond a tolerance, and records with first > last."
#include <catch2/catch.hpp>

#include <vector>

#include "decode/v5_decoder.h"
#include "gen/v5_encoder.h"

namespace ringflow {
namespace {

constexpr uint32_t kSecs = 1700000000;
constexpr uint32_t kNsecs = 123999999;                      // .123999999 s -> 123 ms
constexpr int64_t kExportMs = int64_t{kSecs} * 1000 + 123;  // nsecs truncated to ms

struct Times {
  uint32_t first, last;
};

Pdu decode(uint32_t uptime, const std::vector<Times>& t, int64_t now_ms,
           int64_t tolerance = 10000) {
  v5::Header h;
  h.version = 5;
  h.sys_uptime_ms = uptime;
  h.unix_secs = kSecs;
  h.unix_nsecs = kNsecs;
  std::vector<v5::Record> recs(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    recs[i].first_raw = t[i].first;
    recs[i].last_raw = t[i].last;
  }
  std::vector<uint8_t> buf(v5::pdu_size(t.size()));
  REQUIRE(v5::encode_v5(h, recs.data(), recs.size(), buf.data(), buf.size()) == buf.size());
  DecodeOptions opt;
  opt.future_tolerance_ms = tolerance;
  REQUIRE(validate_datagram(buf.data(), buf.size(), opt).reject == Reject::kNone);
  Pdu out;
  decode_pdu(buf.data(), buf.size(), 0, now_ms, opt, &out);
  REQUIRE(out.count == t.size());
  return out;
}

}  // namespace

TEST_CASE("time: export and boot time", "[decode][time]") {
  Pdu p = decode(3600000, {{3500000, 3599000}}, kExportMs);
  CHECK(p.export_ms == kExportMs);
  CHECK(p.boot_ms == kExportMs - 3600000);
  CHECK(p.records[0].start_ms == kExportMs - 100000);
  CHECK(p.records[0].end_ms == kExportMs - 1000);
  CHECK(p.future_records == 0);
  CHECK(p.inverted_records == 0);
}

TEST_CASE("time: the uptime clock's wrap", "[decode][time]") {
  SECTION("uptime wrapped after the flow started: first is 'ahead' of sys_uptime") {
    // Flow started 3 s before the wrap, ended 2 s after it, exported 5 s after.
    Pdu p = decode(5000, {{0xFFFFFFFFu - 2999, 2000}}, kExportMs);
    CHECK(p.records[0].start_ms == kExportMs - 8000);
    CHECK(p.records[0].end_ms == kExportMs - 3000);
    CHECK(p.inverted_records == 0);  // first > last as raw numbers, but not in time
  }
  SECTION("the flow and the export both just before the wrap") {
    Pdu p = decode(0xFFFFFF00u, {{0xFFFFF000u, 0xFFFFFE00u}}, kExportMs);
    CHECK(p.records[0].start_ms == kExportMs - 0xF00);
    CHECK(p.records[0].end_ms == kExportMs - 0x100);
  }
  SECTION("flows 8.4 days before the export, uptime wrapped since (the capture's case)") {
    // sys_uptime 4.44 s; first 3572181.888 s as a raw uptime reading.
    Pdu p = decode(4440, {{3572181888u, 3572182000u}}, kExportMs);
    CHECK(p.records[0].start_ms == kExportMs - 722789848);
    CHECK(p.records[0].end_ms == kExportMs - 722789736);
  }
}

TEST_CASE("time: future records are counted, not dropped", "[decode][time]") {
  // End 20 s after export; tolerance 10 s.
  const uint32_t up = 1000000;
  std::vector<Times> t = {{up - 10, up + 20000}, {up - 10, up + 5000}, {up - 10, up}};
  Pdu p = decode(up, t, kExportMs);
  CHECK(p.count == 3);
  CHECK(p.future_records == 1);
  CHECK(p.records[0].end_ms == kExportMs + 20000);
  // Our clock 15 s ahead of the exporter's: nothing is in the future.
  CHECK(decode(up, t, kExportMs + 15000).future_records == 0);
  // Exactly at the tolerance is not beyond it.
  CHECK(decode(up, {{up, up + 10000}}, kExportMs).future_records == 0);
  CHECK(decode(up, {{up, up + 10001}}, kExportMs).future_records == 1);
  // Tolerance 0.
  CHECK(decode(up, t, kExportMs, 0).future_records == 2);
}

TEST_CASE("time: first > last is counted, not dropped", "[decode][time]") {
  Pdu p = decode(500000, {{400000, 300000}, {300000, 400000}, {400000, 400000}}, kExportMs);
  CHECK(p.count == 3);
  CHECK(p.inverted_records == 1);
  CHECK(p.records[0].start_ms > p.records[0].end_ms);
}

TEST_CASE("time: unix_nsecs contributes whole milliseconds", "[decode][time]") {
  v5::Header h;
  h.unix_secs = 10;
  h.unix_nsecs = 999999999;
  CHECK(export_time_ms(h) == 10999);
  h.unix_nsecs = 0xFFFFFFFFu;  // nonsense from the exporter: taken as sent, no overflow
  CHECK(export_time_ms(h) == 10000 + 4294);
  h.unix_secs = 0xFFFFFFFFu;
  h.unix_nsecs = 0;
  CHECK(export_time_ms(h) == int64_t{0xFFFFFFFF} * 1000);
  CHECK(uptime_to_ms(1000000, 0, 0x7FFFFFFFu) == 1000000 + int64_t{0x7FFFFFFF});
  CHECK(uptime_to_ms(1000000, 0, 0x80000000u) == 1000000 - 0x80000000ll);
}

}  // namespace ringflow

namespace ringflow {

// An exporter whose clock was never set sends export times in 1970: the
// records' times were once start = 1970 - 10 s (first_ms = -10000 in the
// CSV), uncounted. Times before 1993-01-01 (kMinFlowTimeMs) are now unknown:
// start = end = the decoding time, flagged and counted.
TEST_CASE("time: a v5 export time before 1993 is unknown and counted", "[decode][time]") {
  auto flows = [](uint32_t unix_secs, uint16_t* unknown, std::vector<FlowRecord>* out) {
    v5::Header h;
    h.version = 5;
    h.count = 2;
    h.sys_uptime_ms = 20000;
    h.unix_secs = unix_secs;
    std::vector<v5::Record> recs(2);
    recs[0].first_raw = 10000;  // 10 s before the export
    recs[0].last_raw = 20000;
    recs[1].first_raw = 20000;
    recs[1].last_raw = 20000;
    std::vector<uint8_t> buf(v5::pdu_size(2));
    REQUIRE(v5::encode_v5(h, recs.data(), recs.size(), buf.data(), buf.size()) == buf.size());
    v5::Header got;
    out->assign(v5::kMaxRecords, FlowRecord{});
    uint16_t future = 0, inverted = 0;
    REQUIRE(decode_pdu_flows(buf.data(), buf.size(), 0, kExportMs, {}, &got, out->data(), &future,
                             &inverted, unknown) == buf.size());
    CHECK(future == 0);
    CHECK(inverted == 0);
  };
  std::vector<FlowRecord> r;
  uint16_t unknown = 99;
  SECTION("1970: both records unknown, at the decoding time") {
    flows(0, &unknown, &r);
    CHECK(unknown == 2);
    for (int i = 0; i < 2; ++i) {
      CHECK(r[i].start_ms == kExportMs);
      CHECK(r[i].end_ms == kExportMs);
      CHECK((r[i].flags & kFlowTimeUnknown) != 0);
    }
  }
  SECTION("the bound: a start before 1993-01-01 is unknown, one at it is kept") {
    // Export at 1993-01-01T00:00:00Z: record 0 starts 10 s before the bound.
    flows(725846400, &unknown, &r);
    CHECK(unknown == 1);
    CHECK((r[0].flags & kFlowTimeUnknown) != 0);
    CHECK(r[1].flags == 0);
    CHECK(r[1].start_ms == kMinFlowTimeMs);
  }
  SECTION("a real export time decodes as before") {
    flows(kSecs, &unknown, &r);
    CHECK(unknown == 0);
    CHECK(r[0].start_ms == int64_t{kSecs} * 1000 - 10000);
    CHECK(r[0].flags == 0);
  }
}

}  // namespace ringflow
