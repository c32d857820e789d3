// Rows per second the clickhouse sink gets into a real ClickHouse server:
// write() of a flushed interval of N distinct 5-tuple rows (RowBinary
// encoding + HTTP INSERTs of sink.batch_rows = 100 000 rows), measured end to
// end until the server acknowledged, and the RowBinary encoding alone.
//
// Server: $RINGFLOW_CLICKHOUSE_DIR (made by scripts/clickhouse.sh start), or
// a private one started here when clickhouse-server is installed; otherwise
// only the encoding is measured.
//
// Usage: sink_clickhouse_bench [runs]   (default 5)
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "aggregate/hub.h"
#include "aggregate/merger.h"
#include "bench_util.h"
#include "sink/clickhouse_sink.h"

using namespace ringflow;

namespace {

constexpr int64_t kMin = 60000;
constexpr int64_t kT0 = 28333334 * kMin;

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// scripts/clickhouse.sh of this source tree (the benchmarks get no source
// directory macro; __FILE__ is absolute in a CMake build).
std::string script() {
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "scripts" / "clickhouse.sh")
      .string();
}

// One interval of n distinct 5-tuples, built through the real aggregation path.
class Interval {
 public:
  explicit Interval(size_t n) {
    AggregateConfig c;
    c.max_entries = n + 1024;
    hub_ = std::make_unique<AggregationHub>(c, 1);
    merger_ = std::make_unique<Merger>(*hub_);
    std::mt19937_64 rng(5);
    auto& w = hub_->worker(0);
    w.tick(kT0);
    FlowContext ctx;
    ctx.exporter = IpAddr::from_v4(0x7F000001);
    ctx.arrival_ms = kT0 + 1;
    for (size_t i = 0; i < n; ++i) {
      FlowRecord r;
      uint64_t x = rng();
      r.src = IpAddr::from_v4(0x0A000000u | static_cast<uint32_t>(i & 0xFFFFFF));
      r.dst = IpAddr::from_v4(static_cast<uint32_t>(x));
      r.ip_version = 4;
      r.src_port = static_cast<uint16_t>(x >> 32);
      r.dst_port = static_cast<uint16_t>(x >> 48);
      r.protocol = 6;
      r.packets = 1 + x % 50;
      r.bytes = r.packets * 400;
      r.start_ms = kT0;
      r.end_ms = kT0 + 10;
      w.add(r, ctx);
    }
    w.tick(kT0 + kMin);
    batch_ = merger_->collect_sealed();
  }
  ~Interval() { merger_->release(); }
  const FlushBatch& batch() const { return *batch_; }

 private:
  std::unique_ptr<AggregationHub> hub_;
  std::unique_ptr<Merger> merger_;
  FlushBatch* batch_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  const int runs = bench::runs_from_args(argc, argv, 5);
  constexpr size_t kRows = 500000;
  Interval iv(kRows);
  const FlushBatch& b = iv.batch();
  std::printf("interval of %zu rows (5-tuple key)\n", b.rows.size());

  RowBinaryEncoder enc(*b.schema, "bench-host");
  std::string buf;
  bench::rate("RowBinary encode", runs, [&] {
    buf.clear();
    enc.encode(b, 0, b.rows.size(), 1, &buf);
    bench::do_not_optimize(buf.data());
    return b.rows.size();
  }, "rows");
  std::printf("  %zu bytes per row\n", enc.row_bytes());

  std::string dir;
  bool owned = false;
  if (const char* env = std::getenv("RINGFLOW_CLICKHOUSE_DIR"); env && *env) {
    dir = env;
  } else if (access("/usr/sbin/clickhouse-server", X_OK) == 0) {
    char tmpl[] = "/tmp/ringflow-ch-bench-XXXXXX";
    if (mkdtemp(tmpl)) {
      dir = tmpl;
      std::string cmd = "bash " + script() + " start " + dir + " >/dev/null";
      owned = std::system(cmd.c_str()) == 0;
      if (!owned) dir.clear();
    }
  }
  if (dir.empty()) {
    std::printf("ClickHouse: no server (set RINGFLOW_CLICKHOUSE_DIR); INSERT rate not measured\n");
    return 0;
  }

  char spool[] = "/tmp/ringflow-ch-bench-spool-XXXXXX";
  if (!mkdtemp(spool)) return 1;
  ClickHouseSinkOptions o;
  o.name = "bench";
  o.endpoint.url = "http://127.0.0.1:" + first_line(dir + "/http_port");
  o.endpoint.timeout_ms = 60000;
  o.table = "ringflow_bench_" + std::to_string(getpid());
  o.spool_dir = spool;
  std::string err;
  auto sink = ClickHouseSink::create(o, &err);
  if (!sink) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  bench::rate("clickhouse write() (INSERTs acknowledged)", runs, [&] {
    if (!sink->write(b)) std::fprintf(stderr, "write failed: %s\n", sink->last_error().c_str());
    return b.rows.size();
  }, "rows");
  std::printf("  inserted %llu rows in %llu INSERTs, %llu spooled\n",
              static_cast<unsigned long long>(sink->counters().rows_inserted.load()),
              static_cast<unsigned long long>(sink->counters().batches_inserted.load()),
              static_cast<unsigned long long>(sink->counters().spooled_batches_total.load()));
  std::fflush(stdout);
  sink->wait_spool_empty(60000);
  sink->close();
  {
    ChEndpoint ep = o.endpoint;
    ChHttp http(ep);
    http.query("DROP TABLE IF EXISTS `default`.`" + o.table + "`");
  }
  std::filesystem::remove_all(spool);
  if (owned) {
    std::string cmd = "bash " + script() + " stop " + dir;
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not stop %s\n", dir.c_str());
    std::filesystem::remove_all(dir);
  }
  return 0;
}
