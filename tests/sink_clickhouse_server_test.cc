// The clickhouse sink against a real ClickHouse server (Debian's 18.16):
// values and totals in the table, splitting, spooling while the server is
// unreachable and replay by the next run, exactly-once replay, schema
// mismatch and bad credentials refused, the spool bound, a dropped table.
//
// Server: the one in $RINGFLOW_CLICKHOUSE_DIR (a directory made by
// scripts/clickhouse.sh start: under ctest, the clickhouse_server fixture's,
// one server for every case of a suite, tests/CMakeLists.txt); else (the
// binary run by hand) a private one this process starts (scripts/clickhouse.sh,
// its own directory and ports on 127.0.0.1) and stops at exit. When clickhouse-server is not
// installed every case reports itself skipped (tests/support/skip.h; a
// failure under CI=true, where scripts/deps.sh --test installs it); an
// installed server that does not start is a failure.
#include "sink_test_util.h"
#include "support/skip.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "sink/clickhouse_http.h"
#include "sink/clickhouse_sink.h"

using namespace ringflow;
using namespace ringflow::test;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

class Server {
 public:
  static Server& get() {
    static Server s;
    return s;
  }
  bool installed() const { return installed_; }
  // Why the server could not be started ("" when it runs).
  const std::string& start_error() const { return start_error_; }
  const std::string& url() const { return url_; }
  const std::string& password() const { return password_; }

  ~Server() {
    if (owned_) {
      std::string cmd = "bash " RINGFLOW_SOURCE_DIR "/scripts/clickhouse.sh stop " + dir_ + " >/dev/null 2>&1";
      if (std::system(cmd.c_str()) != 0) fprintf(stderr, "could not stop the test server\n");
      std::filesystem::remove_all(dir_);
    }
  }

 private:
  Server() {
    const char* env = std::getenv("RINGFLOW_CLICKHOUSE_DIR");
    if (env && *env) {
      dir_ = env;
    } else {
      installed_ = std::system("command -v clickhouse-server >/dev/null 2>&1 || "
                               "test -x /usr/sbin/clickhouse-server") == 0;
      if (!installed_) return;
      char tmpl[] = "/tmp/ringflow-ch-test-XXXXXX";
      if (!mkdtemp(tmpl)) {
        start_error_ = "mkdtemp /tmp/ringflow-ch-test-XXXXXX failed";
        return;
      }
      dir_ = tmpl;
      owned_ = true;  // removed at exit, started or not
      // clickhouse.sh prints the last lines of the server's log on failure.
      std::string cmd = "bash " RINGFLOW_SOURCE_DIR "/scripts/clickhouse.sh start " + dir_ + " >/dev/null";
      if (std::system(cmd.c_str()) != 0) {
        start_error_ = "scripts/clickhouse.sh start " + dir_ + " failed (see its output above)";
        return;
      }
    }
    url_ = "http://127.0.0.1:" + slurp(dir_ + "/http_port");
    password_ = slurp(dir_ + "/password");
    if (url_ == "http://127.0.0.1:") start_error_ = "no http_port in " + dir_;
  }
  std::string dir_, url_, password_, start_error_;
  bool installed_ = true;  // RINGFLOW_CLICKHOUSE_DIR: someone else's server
  bool owned_ = false;
};

// At the top of each case: skipped (loudly) without clickhouse-server; a
// server that is installed but does not start fails the case.
#define REQUIRE_SERVER()                                                                 \
  if (!Server::get().installed())                                                       \
    RF_SKIP("clickhouse-server is not installed (as root: scripts/deps.sh --test)");    \
  INFO(Server::get().start_error());                                                    \
  REQUIRE(Server::get().start_error().empty())

// Runs SQL on the test server; the first line of the answer.
std::string q(const std::string& sql) {
  ChEndpoint ep;
  ep.url = Server::get().url();
  ChHttp http(ep);
  ChResult r = http.query(sql);
  INFO(sql << " -> " << r.error);
  REQUIRE(r.ok);
  std::string s = r.body;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string unique_table(const char* what) {
  static int n = 0;
  return std::string("t_") + what + "_" + std::to_string(getpid()) + "_" + std::to_string(++n);
}

// A port nothing listens on (bound, then closed).
uint16_t closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

ClickHouseSinkOptions options(const std::string& table, const std::string& spool,
                              std::vector<std::string> key = {"src_addr", "dst_addr", "src_port",
                                                              "dst_port", "protocol"}) {
  ClickHouseSinkOptions o;
  o.name = "ch-test";
  o.endpoint.url = Server::get().url();
  o.endpoint.timeout_ms = 5000;
  o.table = table;
  o.spool_dir = spool;
  std::string err;
  REQUIRE(KeySchema::parse(key, &o.key, &err));
  o.collector = "test-collector";
  o.retry_min_ms = 20;
  o.retry_max_ms = 200;
  return o;
}

std::unique_ptr<ClickHouseSink> make(ClickHouseSinkOptions o) {
  std::string err;
  auto s = ClickHouseSink::create(std::move(o), &err);
  INFO(err);
  REQUIRE(s);
  return s;
}

// n distinct keys for interval k, with packets/bytes that depend on k and i.
std::vector<FlowRecord> records(int k, int n) {
  std::vector<FlowRecord> v;
  for (int i = 0; i < n; ++i)
    v.push_back(rec(0x0A000000u + static_cast<uint32_t>(i), 0xC0000201, static_cast<uint16_t>(1000 + i), 6,
                    static_cast<uint32_t>(k + i + 1), static_cast<uint32_t>(100 * (k + 1) + i),
                    kT0 + k * kMin + 10, kT0 + k * kMin + 20));
  return v;
}

struct Totals {
  uint64_t flows = 0, packets = 0, bytes = 0, rows = 0;
  void add(const FlushBatch& b) {
    flows += b.totals.flows;
    packets += b.totals.packets;
    bytes += b.totals.bytes;
    rows += b.rows.size();
  }
  std::string str() const {
    return std::to_string(flows) + "\t" + std::to_string(packets) + "\t" + std::to_string(bytes) +
           "\t" + std::to_string(rows);
  }
};

std::string table_totals(const std::string& t) {
  return q("SELECT sum(flows), sum(packets), sum(bytes), count() FROM " + t);
}

}  // namespace

TEST_CASE("ClickHouse server: rows, values and totals equal the batches, table as documented",
          "[sink][clickhouse][server]") {
  // "create the table if missing ... MergeTree partitioned by day, ordered by
  //  (interval start, key)"; "totals in ClickHouse equal the ground truth"
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("values");
  auto sink = make(options(t, dir.path() + "/spool", {"src_addr/24", "dst_port", "protocol", "exporter"}));
  CHECK(sink->counters().schema_ok.load() == 1);
  CHECK_THAT(q("SHOW CREATE TABLE " + t),
             Catch::Contains("PARTITION BY toYYYYMMDD(interval_start) ORDER BY (interval_start, src_addr, "
                             "dst_port, protocol, exporter)"));
  BatchMaker bm({"src_addr/24", "dst_port", "protocol", "exporter"});
  Totals want;
  for (int k = 0; k < 3; ++k) {
    std::vector<FlowRecord> recs = records(k, 40);
    recs.push_back(rec6("2001:db8:1:2:3::9", "2001:db8::1", 5353, 17, 2, 200, kT0, kT0));
    const FlushBatch& b = bm.make(k, recs);
    want.add(b);
    CHECK(sink->write(b));
    bm.done();
  }
  CHECK(table_totals(t) == want.str());
  CHECK(sink->counters().rows_inserted.load() == want.rows);
  CHECK(sink->counters().batches_inserted.load() == 3);
  CHECK(sink->counters().spooled_batches_total.load() == 0);
  CHECK(sink->counters().last_success_ms.load() > 0);
  // Values decode to what the CSV sink would print: addresses are
  // FixedString(16), IPv4 v4-mapped; docs/clickhouse.md gives the expression
  // that prints either family as the CSV does.
  const std::string text =
      "if(substring(src_addr, 1, 12) = unhex('00000000000000000000FFFF'), "
      "IPv4NumToString(reinterpretAsUInt32(reverse(substring(src_addr, 13, 4)))), "
      "IPv6NumToString(src_addr))";
  CHECK(q("SELECT " + text + ", IPv6NumToString(src_addr), dst_port, protocol, "
          "IPv6NumToString(exporter), toString(interval_start), toString(interval_end), collector "
          "FROM " + t + " WHERE dst_port = 1001 AND interval_start = toDateTime(" +
          std::to_string(kT0 / 1000) + ")") ==
        "10.0.0.0\t::ffff:10.0.0.0\t1001\t6\t::ffff:127.0.0.1\t2023-11-14 22:14:00\t"
        "2023-11-14 22:15:00\ttest-collector");
  CHECK(q("SELECT " + text + " FROM " + t + " WHERE dst_port = 5353 LIMIT 1") == "2001:db8:1:2:3::9");  // "/24": IPv6 whole
  CHECK(q("SELECT uniqExact(batch_id), count() FROM " + t) == "3\t123");
  sink->close();
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: a batch larger than batch_rows is several INSERTs, all rows in",
          "[sink][clickhouse][server]") {
  // "one batch per flush interval (split when large)"
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("split");
  auto o = options(t, dir.path() + "/spool");
  o.batch_rows = 7;
  auto sink = make(o);
  BatchMaker bm({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"});
  const FlushBatch& b = bm.make(0, records(0, 50));
  Totals want;
  want.add(b);
  CHECK(sink->write(b));
  bm.done();
  CHECK(sink->counters().batches_inserted.load() == 8);  // 7 x 7 + 1
  CHECK(table_totals(t) == want.str());
  CHECK(q("SELECT uniqExact(batch_id), max(c), min(c) FROM (SELECT batch_id, count() AS c FROM " + t +
          " GROUP BY batch_id)") == "8\t7\t1");
  sink->close();
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: unreachable server -> spooled, the next run replays in order, once",
          "[sink][clickhouse][server]") {
  // "when the server is down ... batches are spooled to disk ... and replayed
  //  in order when it comes back"; "the spool survives [a restart]"
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("outage");
  const std::string spool = dir.path() + "/spool";
  BatchMaker bm({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"});
  Totals want;
  {
    auto o = options(t, spool);
    o.endpoint.url = "http://127.0.0.1:" + std::to_string(closed_port());
    auto down = make(o);  // a server down at start-up is not an error
    CHECK(down->counters().schema_ok.load() == 0);
    for (int k = 0; k < 4; ++k) {
      const FlushBatch& b = bm.make(k, records(k, 10 + k));
      want.add(b);
      CHECK_FALSE(down->write(b));
      CHECK_THAT(down->last_error(), Catch::Contains("spooled"));
      bm.done();
    }
    CHECK(down->counters().spooled_batches_total.load() == 4);
    CHECK(down->counters().spool_batches.load() == 4);
    CHECK(down->counters().spool_rows.load() == want.rows);
    CHECK(down->counters().rows_inserted.load() == 0);
    down->close();
  }
  CHECK(list_dir(spool).size() == 4);
  auto up = make(options(t, spool));
  REQUIRE(up->wait_spool_empty(20000));
  CHECK(up->counters().batches_replayed.load() == 4);
  CHECK(up->counters().duplicates_skipped.load() == 0);
  CHECK(up->counters().spool_batches.load() == 0);
  CHECK(table_totals(t) == want.str());
  // In order: the part of interval k was written before that of k + 1.
  CHECK(q("SELECT groupArray(toUInt32(interval_start) - " + std::to_string(kT0 / 1000) +
          ") FROM (SELECT interval_start FROM system.parts p ANY INNER JOIN (SELECT DISTINCT "
          "_part AS name, interval_start FROM " + t + ") USING name WHERE table = '" + t +
          "' AND active ORDER BY modification_time, name)") == "[0,60,120,180]");
  CHECK(list_dir(spool).empty());
  up->close();
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: a spooled INSERT already in the table is not inserted again",
          "[sink][clickhouse][server]") {
  // "idempotent so that a retried batch is not counted twice"; the crash
  // window: INSERT acknowledged, spool file not yet deleted.
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("dedup");
  const std::string spool = dir.path() + "/spool";
  BatchMaker bm({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"});
  Totals want;
  SpoolRecord again;
  {
    auto sink = make(options(t, spool));
    const FlushBatch& b = bm.make(0, records(0, 25));
    want.add(b);
    REQUIRE(sink->write(b));
    // Rebuild exactly what the sink sent: same id, same rows.
    again.batch_id = std::stoull(q("SELECT DISTINCT batch_id FROM " + t));
    again.rows = b.rows.size();
    again.start_ms = b.start_ms;
    again.columns = ch_spool_columns(sink->columns());
    RowBinaryEncoder(*b.schema, sink->collector()).encode(b, 0, b.rows.size(), again.batch_id, &again.payload);
    bm.done();
    sink->close();
  }
  {
    Spool s;
    std::string err;
    REQUIRE(s.open(spool, 1 << 30, &err));
    REQUIRE(s.append(again, &err) == Spool::Append::kOk);
  }
  auto sink = make(options(t, spool));
  REQUIRE(sink->wait_spool_empty(20000));
  CHECK(sink->counters().duplicates_skipped.load() == 1);
  CHECK(sink->counters().rows_inserted.load() == 0);
  CHECK(table_totals(t) == want.str());
  sink->close();
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: the replay check tells collectors apart, even by the same batch id",
          "[sink][clickhouse][server]") {
  // Several collectors write one table: a batch id that another collector
  // already wrote must not make this one skip its own rows.
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("collectors");
  BatchMaker bm({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"});
  const FlushBatch& b = bm.make(0, records(0, 12));
  uint64_t id = 0;
  {
    auto o = options(t, dir.path() + "/a");
    o.collector = "site-a";
    auto a = make(std::move(o));
    REQUIRE(a->write(b));
    id = std::stoull(q("SELECT DISTINCT batch_id FROM " + t));
    a->close();
  }
  {
    // Site b's spool holds an INSERT that carries the same id.
    SpoolRecord again;
    again.batch_id = id;
    again.rows = b.rows.size();
    again.start_ms = b.start_ms;
    auto o = options(t, dir.path() + "/b");
    o.collector = "site-b";
    again.columns = ch_spool_columns(clickhouse_columns(o.key));
    RowBinaryEncoder(*b.schema, "site-b").encode(b, 0, b.rows.size(), id, &again.payload);
    Spool sp;
    std::string err;
    REQUIRE(sp.open(o.spool_dir, 1 << 30, &err));
    REQUIRE(sp.append(again, &err) == Spool::Append::kOk);
  }
  auto o = options(t, dir.path() + "/b");
  o.collector = "site-b";
  auto sb = make(std::move(o));
  REQUIRE(sb->wait_spool_empty(20000));
  CHECK(sb->counters().duplicates_skipped.load() == 0);
  CHECK(sb->counters().rows_inserted.load() == b.rows.size());
  CHECK(q("SELECT collector, count(), sum(flows) FROM " + t +
          " GROUP BY collector ORDER BY collector FORMAT CSV") ==
        "\"site-a\",12," + std::to_string(b.totals.flows) + "\n\"site-b\",12," +
            std::to_string(b.totals.flows));
  bm.done();
  sb->close();
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: an INSERT spooled by ringflow 0.1 (UInt32 addresses) is set aside",
          "[sink][clickhouse][server]") {
  // 0.1 wrote the column names alone into its spool files; its payload has
  // 4-byte addresses, which must never be replayed into FixedString(16).
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("oldspool");
  const std::string spool = dir.path() + "/spool";
  auto o = options(t, spool);
  {
    SpoolRecord old;
    old.batch_id = 42;
    old.rows = 1;
    old.start_ms = kT0;
    old.columns = ch_column_list(clickhouse_columns(o.key));
    old.payload.assign(4 + 4 + 4 + 4 + 2 + 2 + 1 + 5 * 8 + 3 + 1 + 8, '\0');
    Spool sp;
    std::string err;
    REQUIRE(sp.open(spool, 1 << 30, &err));
    REQUIRE(sp.append(old, &err) == Spool::Append::kOk);
  }
  auto sink = make(std::move(o));
  REQUIRE(sink->wait_spool_empty(20000));
  CHECK(sink->counters().spool_rejected.load() == 1);
  CHECK(sink->counters().rows_inserted.load() == 0);
  CHECK(q("SELECT count() FROM " + t) == "0");
  bool set_aside = false;
  for (const std::string& f : list_dir(spool)) set_aside |= f.ends_with(".rejected");
  CHECK(set_aside);
  sink->close();
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: a table with other columns is refused, naming the difference",
          "[sink][clickhouse][server]") {
  // "If the table exists with other columns, refuse with a clear message"
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("mismatch");
  {
    auto sink = make(options(t, dir.path() + "/a", {"src_addr", "dst_port"}));
    sink->close();
  }
  std::string err;
  auto bad = ClickHouseSink::create(options(t, dir.path() + "/b", {"src_addr", "protocol"}), &err);
  CHECK(bad == nullptr);
  CHECK_THAT(err, Catch::Contains("`default`.`" + t + "` exists with other columns"));
  CHECK_THAT(err, Catch::Contains("missing column protocol UInt8"));
  CHECK_THAT(err, Catch::Contains("unexpected column dst_port UInt16"));
  CHECK_THAT(err, Catch::Contains("sink \"ch-test\""));
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: credentials are used, wrong ones are refused without echoing them",
          "[sink][clickhouse][server]") {
  // "optional user/password (never logged)"
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("auth");
  auto o = options(t, dir.path() + "/a");
  o.endpoint.user = "ringflow";
  o.endpoint.password = Server::get().password();
  {
    auto sink = make(o);
    BatchMaker bm({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"});
    CHECK(sink->write(bm.make(0, records(0, 3))));
    bm.done();
    sink->close();
  }
  CHECK(q("SELECT count() FROM " + t) == "3");
  o.endpoint.password = "not-the-password-1234";
  o.spool_dir = dir.path() + "/b";
  std::string err;
  CHECK(ClickHouseSink::create(o, &err) == nullptr);
  CHECK_THAT(err, Catch::Contains("refused the credentials of user \"ringflow\""));
  CHECK_THAT(err, !Catch::Contains("not-the-password-1234"));
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: a full spool refuses the newest INSERT and counts its rows",
          "[sink][clickhouse][server]") {
  // "bounded by spool.max_bytes, counted when the bound is hit"
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("full");
  const std::string spool = dir.path() + "/spool";
  BatchMaker bm({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"});
  Totals kept;
  uint64_t dropped_rows = 0;
  {
    auto o = options(t, spool);
    o.endpoint.url = "http://127.0.0.1:" + std::to_string(closed_port());
    o.spool_max_bytes = 3000;  // one 20-row INSERT (~2.7 KB with its typed columns), not two
    auto down = make(o);
    for (int k = 0; k < 3; ++k) {
      const FlushBatch& b = bm.make(k, records(k, 20));
      CHECK_FALSE(down->write(b));
      if (k == 0) {
        kept.add(b);
      } else {
        dropped_rows += b.rows.size();
      }
      bm.done();
    }
    CHECK(down->counters().spooled_batches_total.load() == 1);
    CHECK(down->counters().spool_dropped_batches.load() == 2);
    CHECK(down->counters().spool_dropped_rows.load() == dropped_rows);
    CHECK(down->counters().spool_bytes.load() <= 3000);
    CHECK_THAT(down->last_error(), Catch::Contains("full"));
    down->close();
  }
  auto up = make(options(t, spool));
  REQUIRE(up->wait_spool_empty(20000));
  CHECK(table_totals(t) == kept.str());
  up->close();
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: a table dropped while running is re-created, nothing is lost",
          "[sink][clickhouse][server]") {
  REQUIRE_SERVER();
  TempDir dir;
  const std::string t = unique_table("dropped");
  auto sink = make(options(t, dir.path() + "/spool"));
  BatchMaker bm({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"});
  CHECK(sink->write(bm.make(0, records(0, 5))));
  bm.done();
  q("DROP TABLE " + t);
  Totals want;
  const FlushBatch& b = bm.make(1, records(1, 9));
  want.add(b);
  CHECK_FALSE(sink->write(b));  // UNKNOWN_TABLE: spooled, table re-checked
  bm.done();
  REQUIRE(sink->wait_spool_empty(20000));
  CHECK(table_totals(t) == want.str());
  sink->close();
  q("DROP TABLE " + t);
}

TEST_CASE("ClickHouse server: a server that does not answer holds write() one timeout at most",
          "[sink][clickhouse][server]") {
  // "it also must not hold the flusher for minutes: short timeouts". No
  // ClickHouse server is involved: the endpoint is this listening socket,
  // which nobody accepts on, so connects succeed and answers never come.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(fd, 16) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  TempDir dir;
  auto o = options(unique_table("hang"), dir.path() + "/spool");
  o.endpoint.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  // 5 INSERTs: only the first may wait. One timeout takes [1 s, 2 s); two
  // take 2 s or more, so the bound below separates one from two exactly, and
  // 1 s leaves the rest of write() a whole second on a loaded machine.
  constexpr int kTimeoutMs = 1000;
  o.endpoint.timeout_ms = kTimeoutMs;
  o.batch_rows = 2;
  auto sink = make(o);
  BatchMaker bm({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"});
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(sink->write(bm.make(0, records(0, 10))));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  bm.done();
  INFO("write() took " << ms << " ms with a " << kTimeoutMs << " ms timeout");
  CHECK(ms >= kTimeoutMs - 50);  // it did wait for the first INSERT's answer...
  CHECK(ms < 2 * kTimeoutMs);    // ...and for no other
  CHECK(sink->counters().spooled_batches_total.load() == 5);
  CHECK_THAT(sink->last_error(), Catch::Contains("imeout"));
  sink->close();
  close(fd);
}
