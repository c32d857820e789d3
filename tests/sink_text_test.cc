// The text sink: per interval, totals (flows, packets, bytes, rows, drops)
// and the top N keys by bytes, in aligned columns.
#include "sink_test_util.h"

#include <cstdio>

#include "sink/text_sink.h"

using namespace ringflow;
using namespace ringflow::test;

namespace {

// Captures what a TextSink prints.
class Capture {
 public:
  Capture() : f_(open_memstream(&buf_, &len_)) { REQUIRE(f_ != nullptr); }
  ~Capture() {
    std::fclose(f_);
    std::free(buf_);
  }
  FILE* file() { return f_; }
  std::vector<std::string> lines() {
    std::fflush(f_);
    return split(std::string(buf_, len_), '\n');
  }

 private:
  char* buf_ = nullptr;
  size_t len_ = 0;
  FILE* f_;
};

}  // namespace

TEST_CASE("Human-readable units", "[sink][text]") {
  CHECK(human_count(0) == "0");
  CHECK(human_count(999) == "999");
  CHECK(human_count(1000) == "1.0 k");
  CHECK(human_count(1234567) == "1.2 M");
  CHECK(human_count(999999) == "1.0 M");  // not "1000.0 k"
  CHECK(human_bytes(512) == "512 B");
  CHECK(human_bytes(1500) == "1.5 kB");
  CHECK(human_bytes(78900000000ull) == "78.9 GB");
  CHECK(human_bytes(UINT64_MAX) == "18.4 EB");
  CHECK(grouped(1234567) == "1,234,567");
  CHECK(grouped(12) == "12");
}

TEST_CASE("Header line with totals and drops, then the top N by bytes", "[sink][text]") {
  Capture cap;
  TextSink sink("text", 3, cap.file());
  BatchMaker bm({"src_addr", "dst_port", "protocol"});
  std::vector<FlowRecord> rs;
  // Five keys with bytes 100, 5000, 300, 40000, 2000 (key 4 twice).
  uint32_t bytes[] = {100, 5000, 300, 20000, 2000};
  for (uint32_t i = 0; i < 5; ++i) rs.push_back(rec(0x0A000001 + i, 0, 80 + i, 6, 1, bytes[i], kT0, kT0));
  rs.push_back(rec(0x0A000004, 0, 83, 6, 1, 20000, kT0, kT0));
  FlushBatch b = bm.make(0, rs);
  b.has_pipeline_stats = true;
  b.pipeline.queue_full = 7;
  b.pipeline.kernel_drops = 3;
  b.pipeline.rejects[static_cast<size_t>(Reject::kTruncated)] = 2;
  REQUIRE(sink.write(b));
  bm.done();

  auto lines = cap.lines();
  REQUIRE(lines.size() >= 5);
  CHECK(lines[0] ==
        "== 2023-11-14T22:14:00Z +60s  flows 6  packets 6  bytes 47.4 kB  rows 5  drops 10  "
        "rejected 2");
  // Column header, then 3 rows in descending bytes.
  CHECK_THAT(lines[1], Catch::Contains("src_addr") && Catch::Contains("dst_port") &&
                           Catch::Contains("bytes"));
  CHECK_THAT(lines[2], Catch::Contains("10.0.0.4") && Catch::Contains("40.0 kB"));
  CHECK_THAT(lines[3], Catch::Contains("10.0.0.2") && Catch::Contains("5.0 kB"));
  CHECK_THAT(lines[4], Catch::Contains("10.0.0.5") && Catch::Contains("2.0 kB"));
  CHECK(lines[5].empty());  // nothing beyond the top 3
  // Aligned: the header and every row have the same length, and the columns
  // end at the same place.
  CHECK(lines[1].size() == lines[2].size());
  CHECK(lines[2].size() == lines[3].size());
  CHECK(lines[3].size() == lines[4].size());
  CHECK(lines[1].find("dst_port") + 8 == lines[2].find(" 83 ") + 3);
}

TEST_CASE("Partial, late and overflow are said in the summary", "[sink][text]") {
  Capture cap;
  TextSink sink("text", 10, cap.file());
  BatchMaker bm({"src_addr"}, 1);
  std::vector<FlowRecord> rs = {rec(1, 0, 0, 6, 1, 10, kT0, kT0), rec(2, 0, 0, 6, 1, 20, kT0, kT0),
                                rec(3, 0, 0, 6, 1, 30, kT0, kT0)};
  FlushBatch b = bm.make(0, rs);
  b.partial = true;
  b.late = true;
  b.end_ms = b.start_ms + 2 * kMin;
  REQUIRE(sink.write(b));
  bm.done();
  auto lines = cap.lines();
  CHECK_THAT(lines[0], Catch::Contains("+120s") && Catch::Contains("[partial]") &&
                           Catch::Contains("[late: 2 intervals]") &&
                           !Catch::Contains("drops"));
  CHECK_THAT(lines[1], Catch::Contains("overflow 2 records"));
  // The overflow row is not ranked among the keys.
  CHECK_THAT(lines[3], Catch::Contains("0.0.0.1"));
  CHECK(lines[4].empty());
}

TEST_CASE("Empty key: one totals row", "[sink][text]") {
  Capture cap;
  TextSink sink("text", 10, cap.file());
  BatchMaker bm({});
  std::vector<FlowRecord> rs = {rec(1, 2, 3, 6, 4, 10, kT0, kT0), rec(5, 6, 7, 17, 1, 20, kT0, kT0)};
  REQUIRE(sink.write(bm.make(0, rs)));
  bm.done();
  auto lines = cap.lines();
  CHECK_THAT(lines[0], Catch::Contains("flows 2  packets 5  bytes 30 B  rows 1"));
  CHECK_THAT(lines[2], Catch::Contains("30 B"));
}
