// The clickhouse sink's table (src/sink/clickhouse_schema.h): columns per
// aggregation key, the CREATE statement, the comparison with an existing
// table, and the RowBinary bytes of a batch. No server needed.
#include "sink_test_util.h"

#include <cstring>
#include <set>
#include <tuple>

#include "sink/clickhouse_http.h"
#include "sink/clickhouse_schema.h"
#include "enrich/names.h"

using namespace ringflow;
using namespace ringflow::test;

namespace {

KeySchema key_of(std::vector<std::string> names) {
  KeySchema k;
  std::string err;
  REQUIRE(KeySchema::parse(names, &k, &err));
  return k;
}

std::string type_of(const std::vector<ChColumn>& cols, const std::string& name) {
  for (const auto& c : cols)
    if (c.name == name) return c.type;
  return "";
}

// Little-endian reader over the encoded rows.
struct Reader {
  const std::string& s;
  size_t pos = 0;
  uint64_t le(unsigned n) {
    REQUIRE(pos + n <= s.size());
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= uint64_t{static_cast<unsigned char>(s[pos + i])} << (8 * i);
    pos += n;
    return v;
  }
  std::string bytes(size_t n) {
    REQUIRE(pos + n <= s.size());
    std::string r = s.substr(pos, n);
    pos += n;
    return r;
  }
};

}  // namespace

TEST_CASE("ClickHouse schema: a column per key field with the narrowest type",
          "[sink][clickhouse][schema]") {
  // "ClickHouse: addresses as FixedString(16) (IPv4-mapped for IPv4)";
  // ports UInt16, 32-bit interfaces and AS numbers UInt32, counters UInt64.
  std::vector<std::string> all;
  for (const KeyFieldInfo& i : kKeyFieldInfo) all.emplace_back(i.name);
  all[0] = "src_addr/24/64";
  auto cols = clickhouse_columns(key_of(all));
  CHECK(type_of(cols, "interval_start") == "DateTime");
  CHECK(type_of(cols, "interval_end") == "DateTime");
  for (const char* a : {"src_addr", "dst_addr", "nexthop", "exporter"})
    CHECK(type_of(cols, a) == "FixedString(16)");
  for (const char* p : {"src_port", "dst_port", "vlan"}) CHECK(type_of(cols, p) == "UInt16");
  for (const char* p : {"input", "output", "src_as", "dst_as", "domain", "sampler", "sampling"})
    CHECK(type_of(cols, p) == "UInt32");
  for (const char* b : {"protocol", "tos", "tcp_flags", "src_mask", "dst_mask", "engine_type",
                        "engine_id", "ip_version", "direction", "version"})
    CHECK(type_of(cols, b) == "UInt8");
  for (const char* c : {"flows", "packets", "bytes", "batch_id"}) CHECK(type_of(cols, c) == "UInt64");
  CHECK(type_of(cols, "tcp_flags_or") == "UInt8");  // not clashing with the key column
  CHECK(type_of(cols, "collector") == "String");
  // Names are unique (an INSERT could not name a column twice).
  std::set<std::string> names;
  for (const auto& c : cols) CHECK(names.insert(c.name).second);
  CHECK(cols.size() == 2 + kKeyFieldCount + 3 + 2 + 3 + 2);

  // The empty key: one row per interval, still a valid table.
  auto totals = clickhouse_columns(key_of({}));
  CHECK(totals.front().name == "interval_start");
  CHECK(type_of(totals, "src_addr").empty());
}

TEST_CASE("ClickHouse schema: CREATE TABLE is MergeTree by day, ordered by time then key",
          "[sink][clickhouse][schema]") {
  std::string sql = ch_create_table_sql("flows db", "t`x", key_of({"dst_addr", "protocol"}));
  CHECK_THAT(sql, Catch::StartsWith("CREATE TABLE IF NOT EXISTS `flows db`.`t\\`x` ("));
  CHECK_THAT(sql, Catch::Contains("`dst_addr` FixedString(16), `protocol` UInt8, `flows` UInt64"));
  CHECK_THAT(sql, Catch::EndsWith("ENGINE = MergeTree PARTITION BY toYYYYMMDD(interval_start) "
                                  "ORDER BY (interval_start, `dst_addr`, `protocol`)"));
  CHECK_THAT(ch_create_table_sql("d", "t", key_of({})), Catch::EndsWith("ORDER BY (interval_start)"));
}

TEST_CASE("ClickHouse schema: spool files name the columns with their types",
          "[sink][clickhouse][schema]") {
  // A payload is replayed only into columns of the same layout: the names
  // alone (what ringflow 0.1 spooled) do not match the typed descriptor.
  auto cols = clickhouse_columns(key_of({"src_addr", "input"}));
  std::string typed = ch_spool_columns(cols);
  CHECK_THAT(typed, Catch::StartsWith("`interval_start` DateTime, `interval_end` DateTime, "
                                      "`src_addr` FixedString(16), `input` UInt32, "));
  CHECK_THAT(typed, Catch::EndsWith("`collector` String, `batch_id` UInt64"));
  CHECK(typed != ch_column_list(cols));
}

TEST_CASE("ClickHouse schema: DESCRIBE output parses, differences are named one by one",
          "[sink][clickhouse][schema]") {
  // "If the table exists with other columns, refuse with a clear message
  //  naming the difference."
  auto want = clickhouse_columns(key_of({"src_addr", "dst_port"}));
  std::string tsv;
  for (const auto& c : want) tsv += c.name + "\t" + c.type + "\t\t\n";
  std::vector<ChColumn> got;
  std::string err;
  REQUIRE(ch_parse_describe(tsv, &got, &err));
  CHECK(got == want);
  CHECK(ch_schema_difference(want, got).empty());
  // Order does not matter: every INSERT names its columns.
  std::reverse(got.begin(), got.end());
  CHECK(ch_schema_difference(want, got).empty());

  auto other = clickhouse_columns(key_of({"src_addr", "src_port"}));
  other[2].type = "String";  // src_addr
  other.push_back({"note", "String"});
  std::string diff = ch_schema_difference(want, other);
  CHECK(diff == "column src_addr is String, expected FixedString(16); missing column dst_port "
                "UInt16; unexpected column src_port UInt16; unexpected column note String");

  CHECK_FALSE(ch_parse_describe("no tab here\n", &got, &err));
  CHECK_THAT(err, Catch::Contains("no tab here"));
  REQUIRE(ch_parse_describe("", &got, &err));
  CHECK(got.empty());
}

TEST_CASE("ClickHouse schema: RowBinary rows carry the exact key and counter values",
          "[sink][clickhouse][rowbinary]") {
  BatchMaker bm({"src_addr/24/48", "dst_port", "protocol", "exporter"});
  const FlushBatch& b = bm.make(0, {
      rec(0x0A010203, 0xC0000201, 443, 6, 10, 1000, kT0 + 100, kT0 + 900, 0x02),
      rec(0x0A0102FE, 0xC0000201, 443, 6, 5, 500, kT0 - 5000, kT0 + 1500, 0x10),
      rec(0x0A090909, 0xC0000202, 53, 17, 1, 80, kT0 + 7, kT0 + 8),
      rec6("2001:db8:1:2::5", "2001:db8::1", 853, 17, 3, 300, kT0 + 7, kT0 + 8),
  });
  REQUIRE(b.rows.size() == 3);
  RowBinaryEncoder enc(*b.schema, "host-1");
  std::string out = "prefix";
  enc.encode(b, 0, b.rows.size(), 0x1122334455667788ull, &out);
  REQUIRE(out.size() == 6 + 3 * enc.row_bytes());
  CHECK(enc.row_bytes() == 4 + 4 + (16 + 2 + 1 + 16) + 5 * 8 + 3 + 7 + 8);

  Reader r{out, 6};
  std::map<uint64_t, std::tuple<uint64_t, uint64_t, uint64_t, int64_t, int64_t, uint64_t>> by_port;
  for (size_t i = 0; i < b.rows.size(); ++i) {
    CHECK(r.le(4) == static_cast<uint64_t>(kT0 / 1000));
    CHECK(r.le(4) == static_cast<uint64_t>((kT0 + kMin) / 1000));
    // Addresses as 16 bytes, IPv4 v4-mapped, masked to the row's family prefix.
    const std::string src = r.bytes(16);
    if (b.rows[i].layout == kWide) {
      CHECK(src == std::string("\x20\x01\x0d\xb8\0\x01\0\0\0\0\0\0\0\0\0\0", 16));  // /48
    } else {
      const char* net = b.rows[i].c->flows == 2 ? "\x0a\x01\x02\0" : "\x0a\x09\x09\0";
      CHECK(src == std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) + std::string(net, 4));
    }
    uint64_t port = r.le(2);
    uint64_t proto = r.le(1);
    CHECK(proto == (port == 443 ? 6u : 17u));
    std::string exporter = r.bytes(16);
    CHECK(exporter == std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\x01", 16));
    uint64_t flows = r.le(8), packets = r.le(8), bytes = r.le(8);
    int64_t first = static_cast<int64_t>(r.le(8)), last = static_cast<int64_t>(r.le(8));
    uint64_t flags = r.le(1);
    CHECK(r.le(1) == 0);  // overflow
    CHECK(r.le(1) == 0);  // partial
    CHECK(r.bytes(7) == std::string("\x06host-1"));
    CHECK(r.le(8) == 0x1122334455667788ull);
    by_port[port] = {flows, packets, bytes, first, last, flags};
  }
  CHECK(r.pos == out.size());
  CHECK(by_port[443] == std::make_tuple(2ull, 15ull, 1500ull, kT0 - 5000, kT0 + 1500, 0x12ull));
  CHECK(by_port[53] == std::make_tuple(1ull, 1ull, 80ull, kT0 + 7, kT0 + 8, 0ull));
  CHECK(by_port[853] == std::make_tuple(1ull, 3ull, 300ull, kT0 + 7, kT0 + 8, 0ull));

  // A sub-range encodes just those rows.
  std::string one;
  enc.encode(b, 1, 2, 0x1122334455667788ull, &one);
  CHECK(one == out.substr(6 + enc.row_bytes(), enc.row_bytes()));
  bm.done();
}

TEST_CASE("ClickHouse schema: enriched names are LowCardinality(String) columns in RowBinary",
          "[sink][clickhouse][rowbinary][enrich]") {
  // A name longer than 127 bytes needs a two-byte LEB128 length.
  const std::string long_name = "paris, \"fr\" " + std::string(200, 'x');
  auto& names = enrich::names();
  const uint16_t net = *enrich::intern_net_tuple({*names.intern(long_name), 0, 0, 0, 0});
  auto cols = clickhouse_columns(key_of({"dst_port", "src_net", "src_country", "src_as_source"}));
  REQUIRE(cols.size() >= 6);
  CHECK(cols[2].type == "UInt16");
  CHECK(cols[3].name == "src_net");
  CHECK(cols[3].type == "LowCardinality(String)");
  CHECK(cols[4].type == "LowCardinality(String)");
  CHECK(cols[5].type == "LowCardinality(String)");
  // A table created without them is refused (the migration check).
  auto old = clickhouse_columns(key_of({"dst_port"}));
  CHECK(ch_schema_difference(cols, old) ==
        "missing column src_net LowCardinality(String); missing column src_country "
        "LowCardinality(String); missing column src_as_source LowCardinality(String)");

  BatchMaker bm({"dst_port", "src_net", "src_country", "src_as_source"});
  FlowRecord named = rec(0x0A010203, 0xC0000201, 443, 6, 10, 1000, kT0 + 100, kT0 + 900);
  named.enrich[kEnrichSrcNet] = net;
  named.enrich[kEnrichSrcCountry] = 'F' | 'R' << 8;
  named.as_sources = 3u << kFlowSrcAsSourceShift;
  const FlushBatch& b = bm.make(0, {named, rec(0x0A010203, 0xC0000201, 53, 17, 1, 80, kT0, kT0)});
  REQUIRE(b.rows.size() == 2);
  RowBinaryEncoder enc(*b.schema, "h");
  std::string out;
  enc.encode(b, 0, b.rows.size(), 7, &out);
  CHECK(out.size() == 2 * enc.row_bytes() + (2 + long_name.size()) + (1 + 2) + (1 + 4) + 3);
  Reader r{out, 0};
  for (size_t i = 0; i < b.rows.size(); ++i) {
    r.le(8);  // interval start and end
    const uint64_t port = r.le(2);
    if (port == 443) {
      CHECK(r.le(1) == ((long_name.size() & 0x7F) | 0x80));
      CHECK(r.le(1) == (long_name.size() >> 7));
      CHECK(r.bytes(long_name.size()) == long_name);
      CHECK(r.bytes(3) == std::string("\x02" "FR"));
      CHECK(r.bytes(5) == std::string("\x04" "mmdb"));
    } else {
      // Unknown: empty strings, never a made-up name.
      CHECK(r.bytes(3) == std::string("\0\0\0", 3));
    }
    r.bytes(5 * 8 + 3 + 2 + 8);  // counters, flags, collector "h", batch id
  }
  CHECK(r.pos == out.size());
  bm.done();
}

TEST_CASE("ClickHouse HTTP helpers: URL escaping and redaction of credentials",
          "[sink][clickhouse][http]") {
  CHECK(ch_url_escape("INSERT INTO `d`.`t` (a, b) FORMAT RowBinary") ==
        "INSERT%20INTO%20%60d%60.%60t%60%20%28a%2C%20b%29%20FORMAT%20RowBinary");
  CHECK(ch_url_escape("a-b_c.d~") == "a-b_c.d~");
  CHECK(ch_redact_url("http://user:secret@host:8123/path") == "http://host:8123/path");
  CHECK(ch_redact_url("https://host:8443") == "https://host:8443");
  CHECK(ch_redact_url("http://host/p@th") == "http://host/p@th");
}
