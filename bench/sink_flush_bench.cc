// Time to flush 1 M rows (5-tuple key): merging two workers' tables into the
// flusher's merge table, and writing one interval file as CSV and as JSONL
// (format + write + fsync + rename, bench/sink_flush_bench [runs] [dir]).
// Files go to a scratch directory under [dir] (default /tmp), removed after.
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "aggregate/hub.h"
#include "aggregate/merger.h"
#include "bench_util.h"
#include "sink/file_sink.h"

using namespace ringflow;

namespace {

constexpr uint64_t kRows = 1'000'000;
constexpr int64_t kMin = 60000;
constexpr int64_t kT0 = 28333334 * kMin;

// Fills worker w with rows distinct keys (offset keeps workers disjoint).
void fill(WorkerAggregator& w, uint64_t rows, uint32_t offset) {
  FlowContext ctx;
  ctx.exporter = IpAddr::from_v4(0xC0000201);
  ctx.arrival_ms = kT0 + 1;
  alignas(64) static FlowRecord batch[30];
  for (uint64_t i = 0; i < rows; i += 30) {
    size_t m = 0;
    for (; m < 30 && i + m < rows; ++m) {
      FlowRecord& r = batch[m];
      uint32_t k = static_cast<uint32_t>(i + m) + offset;
      r.src = IpAddr::from_v4(0x0A000000u + k);
      r.dst = IpAddr::from_v4(0xC0A80000u + (k * 2654435761u >> 16));
      r.ip_version = 4;
      r.src_port = static_cast<uint16_t>(1024 + k % 60000);
      r.dst_port = static_cast<uint16_t>(k % 3 ? 443 : 53);
      r.protocol = k % 3 ? 6 : 17;
      r.packets = 1 + k % 1000;
      r.bytes = r.packets * 512;
      r.tcp_flags = static_cast<uint8_t>(k);
      r.start_ms = kT0 - 30000 + k % 60000;
      r.end_ms = r.start_ms + k % 5000;
    }
    w.add_batch(batch, m, ctx);
  }
}

void report(const char* name, const std::vector<double>& secs, uint64_t bytes) {
  bench::Summary s = bench::summarize(secs);
  std::printf("%-40s median %7.3f s  (min %.3f, max %.3f, %zu runs)  %.1f M rows/s", name, s.median,
              s.min, s.max, secs.size(), kRows / s.median / 1e6);
  if (bytes) std::printf("  %.1f MB/file", bytes / 1e6);
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = bench::runs_from_args(argc, argv, 5);
  std::string base = argc > 2 ? argv[2] : "/tmp";
  std::string tmpl = base + "/ringflow-flush-bench-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = buf.data();

  AggregateConfig cfg;  // 5-tuple, max_entries 1 M per table
  AggregationHub hub(cfg, 2);
  Merger merger(hub);

  // Merge: two workers with 500 k keys each into one 1 M-row batch.
  std::vector<double> merge_s;
  for (int r = 0; r < runs; ++r) {
    for (uint32_t w = 0; w < 2; ++w) {
      hub.worker(w).tick(kT0 + r * kMin);
      fill(hub.worker(w), kRows / 2, w * 10'000'000u);
      hub.worker(w).tick(kT0 + (r + 1) * kMin);
    }
    auto t0 = std::chrono::steady_clock::now();
    FlushBatch* b = merger.collect_sealed();
    bench::do_not_optimize(b->rows.size());
    merger.release();
    merge_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  report("merge 2 x 500 k rows (+ clear)", merge_s, 0);

  // Files: one batch of 1 M rows from one worker (no merge needed).
  int64_t k = runs + 2;
  hub.worker(0).tick(kT0 + k * kMin);  // seals the last (empty) interval
  hub.worker(1).tick(kT0 + k * kMin);
  if (merger.collect_sealed()) merger.release();
  fill(hub.worker(0), kRows, 0);
  hub.worker(0).tick(kT0 + (k + 1) * kMin);
  FlushBatch* b = merger.collect_sealed();
  if (!b || b->rows.size() != kRows) {
    std::fprintf(stderr, "expected %llu rows\n", static_cast<unsigned long long>(kRows));
    return 1;
  }
  for (FileFormat f : {FileFormat::kCsv, FileFormat::kJsonl}) {
    // Formatting alone (no I/O), to separate CPU from the disk.
    std::vector<double> fmt_s;
    for (int r = 0; r < runs; ++r) {
      RowFormatter fmt(f);
      std::string out;
      out.reserve(2 << 20);
      uint64_t total = 0;
      auto t0 = std::chrono::steady_clock::now();
      fmt.begin(*b, &out);
      for (size_t i = 0; i < b->rows.size(); ++i) {
        if (i + 16 < b->rows.size()) {  // as FileSink::write does
          __builtin_prefetch(b->rows[i + 16].key, 0, 3);
          __builtin_prefetch(b->rows[i + 16].c, 0, 3);
        }
        fmt.row(*b, b->rows[i], &out);
        if (out.size() >= (1 << 20)) {
          total += out.size();
          out.clear();
        }
      }
      bench::do_not_optimize(total + out.size());
      fmt_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    report(f == FileFormat::kCsv ? "format 1 M rows CSV (no I/O)" : "format 1 M rows JSONL (no I/O)",
           fmt_s, 0);

    FileSink sink("bench", dir, 1, f);  // keep = 1: each run replaces the last
    std::string err;
    if (!sink.open(&err)) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 1;
    }
    std::vector<double> secs;
    for (int r = 0; r < runs; ++r) {
      b->start_ms = kT0 + r * kMin;  // a new file name each run
      auto t0 = std::chrono::steady_clock::now();
      if (!sink.write(*b)) {
        std::fprintf(stderr, "write failed: %s\n", sink.last_error().c_str());
        return 1;
      }
      secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    uint64_t size = 0;
    for (const auto& name : sink.list_files()) size = std::filesystem::file_size(dir + "/" + name);
    report(f == FileFormat::kCsv ? "write 1 M rows CSV (fsync + rename)"
                                 : "write 1 M rows JSONL (fsync + rename)",
           secs, size);
  }
  merger.release();
  std::filesystem::remove_all(dir);
  return 0;
}
