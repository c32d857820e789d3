// The Top page's top-K (src/live/top_k.h) and its API body
// (src/live/top_json.h), on flush batches built here from packed keys:
//   - the selection keeps the union of the top K by bytes, packets and flows,
//     breaks ties by the key (deterministic), and keeps every row when K is
//     larger than the rows;
//   - projections merge rows on their fields: an IPv4 source in a narrow row
//     and in a wide row (the other address IPv6) is one src_addr row;
//     proto_port sums ports across sources; a projection the key lacks is
//     unavailable;
//   - sums over several intervals, the ring of the last N, "complete";
//   - the query parser's 400 sentences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "aggregate/key_codec.h"
#include "live/top_json.h"
#include "live/top_k.h"

using namespace ringflow;

namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

// A batch of rows (one per distinct packed key), built like the merger's.
struct Batch {
  explicit Batch(KeySchema s) : schema(std::move(s)), packer(schema) {}
  void add(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t proto,
           uint64_t flows, uint64_t packets, uint64_t bytes, const char* exporter = "192.0.2.1",
           uint32_t src_as = 0) {
    FlowRecord r;
    r.src_as = src_as;
    r.src = ip(src);
    r.dst = ip(dst);
    r.src_port = sport;
    r.dst_port = dport;
    r.protocol = proto;
    FlowContext ctx;
    ctx.exporter = ip(exporter);
    std::vector<uint64_t> key(kMaxKeyWords, 0);
    const uint8_t layout = packer.pack(r, ctx, key.data());
    keys.push_back(key);
    AggCounters c;
    c.flows = flows;
    c.packets = packets;
    c.bytes = bytes;
    counters.push_back(c);
    layouts.push_back(layout);
  }
  FlushBatch& batch(int64_t start_ms = 60000) {
    rows.clear();
    b = FlushBatch{};
    for (size_t i = 0; i < keys.size(); ++i) {
      rows.push_back(
          {reinterpret_cast<const uint8_t*>(keys[i].data()), &counters[i], false, layouts[i]});
      b.totals.flows += counters[i].flows;
      b.totals.packets += counters[i].packets;
      b.totals.bytes += counters[i].bytes;
    }
    b.schema = &schema;
    b.start_ms = start_ms;
    b.end_ms = start_ms + 60000;
    b.interval_ms = 60000;
    b.rows = rows;
    return b;
  }
  KeySchema schema;
  KeyPacker packer;
  std::deque<std::vector<uint64_t>> keys;
  std::deque<AggCounters> counters;
  std::vector<uint8_t> layouts;
  std::vector<FlushRow> rows;
  FlushBatch b;
};

struct Shown {
  std::string label;
  uint64_t bytes, packets, flows;
};

// Runs the API's renderer and reads back "label" and the counters of every
// row (the JSON is ours: a tiny scan suffices).
std::vector<Shown> shown(const TopKeeper& top, const std::string& by, const std::string& sort,
                         uint32_t intervals = 1, uint32_t limit = 100) {
  TopQuery q;
  std::string error;
  REQUIRE(parse_top_query({{"by", by},
                           {"sort", sort},
                           {"intervals", std::to_string(intervals)},
                           {"limit", std::to_string(std::min(limit, top.k()))}},
                          top, &q, &error));
  const std::string j = top_json(top, q);
  std::vector<Shown> out;
  const size_t rows_at = j.find("\"rows\":[");
  const size_t end = j.find("\"series\":");
  size_t at = rows_at;
  while ((at = j.find("\"label\":\"", at)) != std::string::npos && at < end) {
    Shown s;
    at += 9;
    s.label = j.substr(at, j.find('"', at) - at);
    auto num = [&](const char* name) {
      const size_t p = j.find(std::string("\"") + name + "\":", at) + std::strlen(name) + 3;
      return std::stoull(j.substr(p, j.find_first_of(",}", p) - p));
    };
    s.bytes = num("bytes");
    s.packets = num("packets");
    s.flows = num("flows");
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> labels(const std::vector<Shown>& v) {
  std::vector<std::string> l;
  for (const Shown& s : v) l.push_back(s.label);
  return l;
}

KeySchema key_of(std::vector<std::string> names) {
  KeySchema s;
  REQUIRE(KeySchema::parse(names, &s, nullptr));
  return s;
}

}  // namespace

TEST_CASE("select_top: the union of each sort's top K, ties by key, all when K >= rows") {
  const uint64_t k1 = 1, k2 = 2, k3 = 3, k4 = 4, k5 = 5;
  // bytes, packets, flows
  std::vector<TopCandidate> c = {
      {&k1, 1, 0, {100, 1, 1}},  // top by bytes
      {&k2, 1, 0, {10, 50, 1}},  // top by packets
      {&k3, 1, 0, {10, 1, 9}},   // top by flows
      {&k4, 1, 0, {10, 1, 1}},  {&k5, 1, 0, {5, 1, 1}},
  };
  CHECK(select_top(c, 1) == std::vector<uint32_t>{0, 1, 2});
  // K = 2 by bytes: 100, then a three-way tie at 10 that the key breaks
  // (k2 < k3 < k4): k2. By packets: k2, then tie at 1: k1. By flows: k3, k1.
  CHECK(select_top(c, 2) == std::vector<uint32_t>{0, 1, 2});
  CHECK(select_top(c, 5) == std::vector<uint32_t>{0, 1, 2, 3, 4});
  CHECK(select_top(c, 1000) == std::vector<uint32_t>{0, 1, 2, 3, 4});
  CHECK(select_top({}, 3).empty());
  // All equal: the smallest keys win, whatever the input order.
  std::vector<TopCandidate> tie = {{&k5, 1, 0, {7, 7, 7}},
                                   {&k3, 1, 0, {7, 7, 7}},
                                   {&k1, 1, 0, {7, 7, 7}},
                                   {&k4, 1, 0, {7, 7, 7}}};
  CHECK(select_top(tie, 2) == std::vector<uint32_t>{1, 2});  // k3, k1
  // A wide row sorts after a narrow one on a tie.
  std::vector<TopCandidate> lay = {{&k1, 1, kWide, {7, 7, 7}}, {&k5, 1, kNarrow, {7, 7, 7}}};
  CHECK(select_top(lay, 1) == std::vector<uint32_t>{1});
}

TEST_CASE("projections merge rows on their fields, across the narrow and wide layouts") {
  Batch t(KeySchema{});  // the default 5-tuple
  t.add("10.0.0.1", "10.9.9.9", 1000, 443, 6, 1, 10, 1000);
  t.add("10.0.0.1", "10.9.9.8", 1001, 443, 6, 2, 20, 2000);
  t.add("10.0.0.2", "10.9.9.9", 1002, 53, 17, 4, 40, 500);
  t.add("10.0.0.1", "2001:db8::1", 1003, 443, 6, 8, 80, 4000);  // wide: src v4-mapped
  t.add("2001:db8::2", "10.9.9.9", 1004, 80, 6, 16, 5, 300);
  REQUIRE(t.layouts[3] == kWide);
  TopKeeper top(t.schema, 1000, 4, 100);
  top.add(t.batch());

  // src_addr: 10.0.0.1 = 1000 + 2000 + 4000 from two narrow rows and a wide one.
  const auto src = shown(top, "src_addr", "bytes");
  REQUIRE(src.size() == 3);
  CHECK(src[0].label == "10.0.0.1");
  CHECK(src[0].bytes == 7000);
  CHECK(src[0].packets == 110);
  CHECK(src[0].flows == 11);
  CHECK(labels(src) == std::vector<std::string>{"10.0.0.1", "10.0.0.2", "2001:db8::2"});
  CHECK(labels(shown(top, "src_addr", "flows")) ==
        std::vector<std::string>{"2001:db8::2", "10.0.0.1", "10.0.0.2"});
  // dst_addr by packets: 10.9.9.9 = 10 + 40 + 5.
  const auto dst = shown(top, "dst_addr", "packets");
  CHECK(labels(dst) == std::vector<std::string>{"2001:db8::1", "10.9.9.9", "10.9.9.8"});
  CHECK(dst[1].packets == 55);
  // proto_port: protocol then dst_port.
  const auto pp = shown(top, "proto_port", "bytes");
  CHECK(labels(pp) == std::vector<std::string>{"6 443", "17 53", "6 80"});
  CHECK(pp[0].bytes == 7000);
  // key: one row per 5-tuple, texts as the sinks print them.
  const auto key = shown(top, "key", "bytes", 1, 2);
  CHECK(labels(key) == std::vector<std::string>{"10.0.0.1 2001:db8::1 1003 443 6",
                                                "10.0.0.1 10.9.9.8 1001 443 6"});
  // exporter is not in the 5-tuple: a sentence, not a row.
  TopQuery q;
  std::string error;
  CHECK_FALSE(parse_top_query({{"by", "exporter"}}, top, &q, &error));
  CHECK(error.find("needs the key field(s) exporter in aggregate.key") != std::string::npos);
}

TEST_CASE("K smaller than the rows keeps each sort's top K, sums over intervals, the ring") {
  KeySchema schema = key_of({"src_addr", "exporter"});
  TopKeeper top(schema, 2, 3, 100);
  // Interval 1: bytes order a > b > c, packets order c > b > a.
  Batch i1(schema);
  i1.add("10.0.0.1", "0.0.0.0", 0, 0, 0, 1, 1, 300);
  i1.add("10.0.0.2", "0.0.0.0", 0, 0, 0, 1, 2, 200);
  i1.add("10.0.0.3", "0.0.0.0", 0, 0, 0, 1, 3, 100);
  i1.add("10.0.0.4", "0.0.0.0", 0, 0, 0, 1, 0, 50, "192.0.2.2");
  top.add(i1.batch(60000));
  // limit is at most K: each sort's own top K, exact.
  CHECK(labels(shown(top, "src_addr", "bytes")) ==
        std::vector<std::string>{"10.0.0.1", "10.0.0.2"});
  CHECK(labels(shown(top, "src_addr", "packets")) ==
        std::vector<std::string>{"10.0.0.3", "10.0.0.2"});
  auto snap = top.snapshot();
  REQUIRE(snap->intervals.size() == 1);
  // src_addr had 4 distinct rows, kept 3 (top 2 by bytes, packets, flows).
  CHECK(snap->intervals[0]->sets[1].distinct == 4);
  CHECK(snap->intervals[0]->sets[1].rows.size() == 3);
  CHECK_FALSE(snap->intervals[0]->sets[1].complete());
  CHECK(labels(shown(top, "exporter", "bytes")) ==
        std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
  CHECK(shown(top, "exporter", "bytes")[0].bytes == 600);

  Batch i2(schema);
  i2.add("10.0.0.3", "0.0.0.0", 0, 0, 0, 5, 1, 1000);
  top.add(i2.batch(120000));
  // Over both: 10.0.0.3 = 100 + 1000.
  auto two = shown(top, "src_addr", "bytes", 2);
  REQUIRE(two.size() == 2);
  CHECK(labels(two) == std::vector<std::string>{"10.0.0.3", "10.0.0.1"});
  CHECK(two[0].bytes == 1100);
  CHECK(two[0].flows == 6);
  CHECK(shown(top, "src_addr", "bytes", 1).size() == 1);
  // The ring keeps 3: a fourth interval pushes out the first.
  Batch i3(schema), i4(schema);
  i3.add("10.0.0.9", "0.0.0.0", 0, 0, 0, 1, 1, 1);
  i4.add("10.0.0.9", "0.0.0.0", 0, 0, 0, 1, 1, 1);
  top.add(i3.batch(180000));
  top.add(i4.batch(240000));
  snap = top.snapshot();
  REQUIRE(snap->intervals.size() == 3);
  CHECK(snap->intervals.front()->start_ms == 120000);
  auto all = shown(top, "src_addr", "bytes", 3);
  CHECK(labels(all) == std::vector<std::string>{"10.0.0.3", "10.0.0.9"});
  CHECK(all[1].bytes == 2);
}

TEST_CASE("bad parameters are sentences for a 400") {
  TopKeeper top(KeySchema{}, 50, 10, 100);
  TopQuery q;
  std::string e;
  CHECK_FALSE(parse_top_query({{"by", "nope"}}, top, &q, &e));
  CHECK(e ==
        "by=nope: unknown projection; expected one of key, src_addr, dst_addr, proto_port, "
        "exporter, src_port, dst_port, protocol");
  CHECK_FALSE(parse_top_query({{"sort", "octets"}}, top, &q, &e));
  CHECK(e == "sort=octets: expected bytes, packets or flows");
  CHECK_FALSE(parse_top_query({{"intervals", "11"}}, top, &q, &e));
  CHECK(e == "intervals=11: expected a whole number in 1..10 (metrics.top_intervals)");
  CHECK_FALSE(parse_top_query({{"intervals", "0"}}, top, &q, &e));
  CHECK_FALSE(parse_top_query({{"limit", "51"}}, top, &q, &e));
  CHECK(e == "limit=51: expected a whole number in 1..50 (metrics.top_k)");
  CHECK_FALSE(parse_top_query({{"limit", "1x"}}, top, &q, &e));
  CHECK_FALSE(parse_top_query({{"limit", ""}}, top, &q, &e));
  CHECK_FALSE(parse_top_query({{"sort", "bytes"}, {"sort", "flows"}}, top, &q, &e));
  CHECK(e == "parameter \"sort\" given twice");
  CHECK_FALSE(parse_top_query({{"top", "5"}}, top, &q, &e));
  CHECK(e == "unknown parameter \"top\": /api/v1/top takes by, sort, intervals, limit");
  REQUIRE(parse_top_query(
      {{"by", "dst_addr"}, {"sort", "flows"}, {"intervals", "10"}, {"limit", "50"}}, top, &q, &e));
  CHECK(q.projection == 2);
  CHECK(q.sort == TopSort::kFlows);
  CHECK(q.intervals == 10);
  CHECK(q.limit == 50);
  // Before any flush: a valid, empty answer.
  const std::string j = top_json(top, q);
  CHECK(j.find("\"rows\":[]") != std::string::npos);
  CHECK(j.find("\"kept\":0") != std::string::npos);
}

// Issue 24: Top by any key field the table has, enriched ones included: one
// projection per field of aggregate.key that no named projection is alone.
TEST_CASE("a projection per key field: by src_as, by protocol, beside the named ones") {
  KeySchema schema = key_of({"src_addr", "dst_addr", "src_as", "protocol"});
  TopKeeper top(schema, 50, 3, 100);
  std::vector<std::string> names;
  for (const TopProjection& p : top.projections())
    if (p.available) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"key", "src_addr", "dst_addr", "src_as", "protocol"});
  Batch b(schema);
  b.add("10.0.0.1", "10.9.9.9", 1, 443, 6, 1, 10, 1000, "192.0.2.1", 64500);
  b.add("10.0.0.2", "10.9.9.9", 2, 443, 6, 2, 20, 2000, "192.0.2.1", 64500);
  b.add("10.0.0.3", "10.9.9.8", 3, 53, 17, 4, 40, 500, "192.0.2.1", 64501);
  b.add("2001:db8::1", "2001:db8::2", 4, 80, 6, 8, 5, 300, "192.0.2.1", 64501);
  top.add(b.batch());
  // src_as: 64500 = 1000 + 2000 bytes; 64501 = 500 + 300, IPv4 and IPv6 rows alike.
  const auto as = shown(top, "src_as", "bytes");
  CHECK(labels(as) == std::vector<std::string>{"64500", "64501"});
  CHECK(as[0].bytes == 3000);
  CHECK(as[0].flows == 3);
  CHECK(as[1].bytes == 800);
  CHECK(as[1].flows == 12);
  // protocol by flows: 6 = 1 + 2 + 8, 17 = 4.
  const auto proto = shown(top, "protocol", "flows");
  CHECK(labels(proto) == std::vector<std::string>{"6", "17"});
  CHECK(proto[0].flows == 11);
  CHECK(proto[1].packets == 40);
}
