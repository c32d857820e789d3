// The Flusher: a thread that waits for every worker to seal an interval,
// merges, calls every sink, and hands the tables back — with late flushes
// when a sink is slow, a deadline for stuck workers, reopen on request and
// the final partial flush at shutdown.
#include "sink_test_util.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "pipeline/flusher.h"

using namespace ringflow;
using namespace ringflow::test;

namespace {

struct Seen {
  int64_t start = 0, end = 0;
  uint64_t flows = 0, bytes = 0, rows = 0;
  bool partial = false, late = false;
  uint32_t workers_missing = 0;
  bool has_stats = false;
  uint64_t queue_full = 0;
};

// Records every batch; can be told to block (a slow sink) or to fail.
class FakeSink : public Sink {
 public:
  explicit FakeSink(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  bool write(const FlushBatch& b) override {
    std::unique_lock<std::mutex> lock(mu_);
    events_.push_back("write");
    Seen s;
    s.start = b.start_ms;
    s.end = b.end_ms;
    s.flows = b.totals.flows;
    s.bytes = b.totals.bytes;
    s.rows = b.rows.size();
    s.partial = b.partial;
    s.late = b.late;
    s.workers_missing = b.workers_missing;
    s.has_stats = b.has_pipeline_stats;
    s.queue_full = b.pipeline.queue_full;
    uint64_t sum = 0;
    for (const FlushRow& r : b.rows) sum += r.c->bytes;
    row_bytes_ok_ = row_bytes_ok_ && sum == b.totals.bytes;
    batches_.push_back(s);
    if (batches_.size() == 1) writer_ = std::this_thread::get_id();  // the flusher's
    cv_.notify_all();
    cv_.wait(lock, [&] { return !blocked_; });
    return !fail_;
  }
  void reopen() override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back("reopen");
    reopener_ = std::this_thread::get_id();
  }
  void close() override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back("close");
  }
  std::string last_error() const override { return "told to fail"; }

  void block(bool b) {
    std::lock_guard<std::mutex> lock(mu_);
    blocked_ = b;
    cv_.notify_all();
  }
  void fail(bool f) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = f;
  }
  // Waits (bounded) until n batches were seen.
  bool wait_batches(size_t n, int ms = 10000) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return batches_.size() >= n; });
  }
  std::vector<Seen> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::thread::id writer() {
    std::lock_guard<std::mutex> lock(mu_);
    return writer_;
  }
  std::thread::id reopener() {
    std::lock_guard<std::mutex> lock(mu_);
    return reopener_;
  }
  bool row_bytes_ok() {
    std::lock_guard<std::mutex> lock(mu_);
    return row_bytes_ok_;
  }

 private:
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool blocked_ = false, fail_ = false, row_bytes_ok_ = true;
  std::vector<Seen> batches_;
  std::vector<std::string> events_;
  std::thread::id writer_, reopener_;
};

AggregateConfig cfg(uint32_t interval_s = 60) {
  AggregateConfig c;
  c.interval_s = interval_s;
  c.max_entries = 4096;
  return c;
}

template <class P>
bool eventually(P pred, int ms = 10000) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct Setup {
  explicit Setup(uint32_t workers, AggregateConfig c = cfg(), FlusherOptions o = {},
                 std::function<StatsSnapshot()> stats = nullptr)
      : hub(c, workers) {
    std::vector<std::unique_ptr<Sink>> sinks;
    auto a = std::make_unique<FakeSink>("a");
    auto b = std::make_unique<FakeSink>("b");
    sink_a = a.get();
    sink_b = b.get();
    sinks.push_back(std::move(a));
    sinks.push_back(std::move(b));
    flusher = std::make_unique<Flusher>(hub, std::move(sinks), std::move(stats), o);
  }
  AggregationHub hub;
  FakeSink* sink_a;
  FakeSink* sink_b;
  std::unique_ptr<Flusher> flusher;
};

}  // namespace

TEST_CASE("Worker threads across interval boundaries: every sink gets exact totals",
          "[flusher]") {
  constexpr uint32_t kWorkers = 3, kIntervals = 4, kPerInterval = 30000;
  Setup s(kWorkers);
  s.flusher->start();
  std::vector<std::thread> workers;
  for (uint32_t wi = 0; wi < kWorkers; ++wi) {
    workers.emplace_back([&, wi] {
      WorkerAggregator& w = s.hub.worker(wi);
      for (uint32_t k = 0; k < kIntervals; ++k) {
        int64_t start = kT0 + k * kMin;
        for (uint32_t i = 0; i < kPerInterval; ++i) {
          int64_t now = start + int64_t{i} * kMin / kPerInterval;
          w.add(rec(i % 500, wi, 80, 6, 1, 10 * (wi + 1), now, now), at(now));
          if (i % 3000 == 0) w.tick(now);
        }
        w.tick(start + kMin + 1);  // seal k
        // Pace the fake clock on the flusher, as the wall clock does: the
        // next interval ends only after this one was flushed and the tables
        // were handed back.
        REQUIRE(eventually([&] { return s.flusher->counters().flushes.load() >= k + 1; }));
      }
    });
  }
  for (auto& t : workers) t.join();
  s.flusher->stop_and_flush_final();

  auto got = s.sink_a->batches();
  REQUIRE(got.size() == kIntervals + 1);  // + the final (empty) partial one
  for (uint32_t k = 0; k < kIntervals; ++k) {
    INFO("interval " << k);
    CHECK(got[k].start == kT0 + k * kMin);
    CHECK(got[k].end == kT0 + (k + 1) * kMin);
    CHECK(got[k].flows == uint64_t{kWorkers} * kPerInterval);
    CHECK(got[k].bytes == uint64_t{kPerInterval} * (10 + 20 + 30));
    CHECK(got[k].rows == 500 * kWorkers);
    CHECK_FALSE(got[k].late);
    CHECK_FALSE(got[k].partial);
    CHECK(got[k].workers_missing == 0);
  }
  CHECK(got.back().partial);
  CHECK(got.back().flows == 0);
  CHECK(s.sink_b->batches().size() == got.size());
  CHECK(s.sink_a->row_bytes_ok());
  CHECK(s.sink_a->writer() != std::this_thread::get_id());
  const FlusherCounters& c = s.flusher->counters();
  CHECK(c.flushes.load() == kIntervals + 1);
  CHECK(c.partial_flushes.load() == 1);
  CHECK(c.rows_flushed.load() == uint64_t{kIntervals} * 500 * kWorkers);
  CHECK(c.late_flushes.load() == 0);
  CHECK(c.flush_ns_total.load() >= c.flush_ns_last.load());
  CHECK(c.flush_ns_max.load() > 0);
  CHECK(s.flusher->sink_counters(0).rows_written.load() == c.rows_flushed.load());
  CHECK(s.flusher->sink_counters(0).last_success_ms.load() > 0);
  CHECK(s.sink_a->events().back() == "close");
}

TEST_CASE("A slow sink never stalls the workers: the late flush is counted", "[flusher]") {
  // "A slow sink must not stall receive: if a flush is still running when the
  //  next is due, say so and count it, and keep memory bounded."
  Setup s(1);
  s.flusher->start();
  WorkerAggregator& w = s.hub.worker(0);
  s.sink_a->block(true);
  w.tick(kT0);
  w.add(rec(1, 1, 80, 6, 1, 100, kT0, kT0), at(kT0 + 1));
  w.tick(kT0 + kMin);                  // seal 0: the flusher blocks in sink a
  REQUIRE(s.sink_a->wait_batches(1));
  // The worker carries on while the sink is blocked: nothing waits on it.
  w.add(rec(1, 1, 80, 6, 1, 10, kT0, kT0), at(kT0 + kMin + 1));
  w.tick(kT0 + 2 * kMin);              // 1 is due, the standby is not back
  w.add(rec(1, 1, 80, 6, 1, 20, kT0, kT0), at(kT0 + 2 * kMin + 5));
  CHECK(w.counters().deferred_seals.load() == 1);
  s.sink_a->block(false);
  // Wait until the flusher has handed the table back (seen at the next tick).
  REQUIRE(eventually([&] { return s.flusher->counters().flushes.load() == 1; }));
  w.tick(kT0 + 2 * kMin + 10);
  w.tick(kT0 + 3 * kMin);              // seals [1, 2]
  REQUIRE(s.sink_a->wait_batches(2));
  s.flusher->stop_and_flush_final();
  auto got = s.sink_a->batches();
  REQUIRE(got.size() == 3);
  CHECK(got[0].bytes == 100);
  CHECK(got[1].late);
  CHECK(got[1].start == kT0 + kMin);
  CHECK(got[1].end == kT0 + 3 * kMin);
  CHECK(got[1].bytes == 30);
  CHECK(s.flusher->counters().late_flushes.load() == 1);
  CHECK(got[2].partial);
}

TEST_CASE("Shutdown flushes the open interval as partial: nothing added is lost", "[flusher]") {
  // "Shutdown: the final partial interval is flushed and marked partial."
  AggregateConfig c = cfg();
  c.time = TimeMode::kFlowEnd;
  c.grace_s = 10;
  Setup s(2, c);
  s.flusher->start();
  auto& w0 = s.hub.worker(0);
  auto& w1 = s.hub.worker(1);
  w0.tick(kT0 + 30000);
  w1.tick(kT0 + 30000);
  w0.add(rec(1, 1, 80, 6, 1, 1, kT0, kT0 + 100), at(kT0 + 30000));
  w1.add(rec(2, 1, 80, 6, 1, 2, kT0, kT0 + 200), at(kT0 + 30000));
  // Into the grace period: the next interval's record goes to the standby.
  w0.tick(kT0 + kMin + 2000);
  w0.add(rec(3, 1, 80, 6, 1, 4, kT0, kT0 + kMin + 10), at(kT0 + kMin + 2000));
  // Worker threads are "joined" (this thread drove them).
  s.flusher->stop_and_flush_final();
  s.flusher->stop_and_flush_final();  // idempotent
  auto got = s.sink_a->batches();
  REQUIRE(got.size() == 2);
  CHECK(got[0].partial);
  CHECK(got[0].start == kT0);
  CHECK(got[0].bytes == 3);
  CHECK(got[1].partial);
  CHECK(got[1].start == kT0 + kMin);
  CHECK(got[1].bytes == 4);
  CHECK(s.flusher->counters().partial_flushes.load() == 2);
  auto ev = s.sink_b->events();
  CHECK(ev == std::vector<std::string>{"write", "write", "close"});
}

TEST_CASE("request_reopen reaches every sink on the flusher thread before the next write",
          "[flusher]") {
  Setup s(1);
  s.flusher->start();
  auto& w = s.hub.worker(0);
  w.tick(kT0);
  w.tick(kT0 + kMin);
  REQUIRE(s.sink_a->wait_batches(1));
  s.flusher->request_reopen();
  REQUIRE(eventually([&] {
    auto e = s.sink_b->events();
    return !e.empty() && e.back() == "reopen";
  }));
  CHECK(s.sink_a->reopener() != std::this_thread::get_id());
  CHECK(s.sink_a->reopener() == s.sink_a->writer());
  REQUIRE(eventually([&] { return s.flusher->counters().flushes.load() == 1; }));
  w.tick(kT0 + kMin + 1);
  w.tick(kT0 + 2 * kMin);
  REQUIRE(s.sink_a->wait_batches(2));
  s.flusher->stop_and_flush_final();
  CHECK(s.sink_a->events() ==
        std::vector<std::string>{"write", "reopen", "write", "write", "close"});
}

TEST_CASE("A stuck worker cannot block the flush: deadline, counted, rows follow later",
          "[flusher]") {
  FlusherOptions o;
  o.seal_wait_ms = 50;
  Setup s(2, cfg(), o);
  s.flusher->start();
  auto& w0 = s.hub.worker(0);
  auto& w1 = s.hub.worker(1);
  w0.tick(kT0);
  w1.tick(kT0);
  w0.add(rec(1, 1, 80, 6, 1, 1, kT0, kT0), at(kT0 + 1));
  w1.add(rec(2, 1, 80, 6, 1, 2, kT0, kT0), at(kT0 + 1));
  w0.tick(kT0 + kMin);  // worker 1 does not tick: stuck
  REQUIRE(s.sink_a->wait_batches(1));
  auto got = s.sink_a->batches();
  CHECK(got[0].bytes == 1);
  CHECK(got[0].workers_missing == 1);
  CHECK(s.flusher->counters().seal_timeouts.load() == 1);
  // Worker 1 comes back: its interval-0 table is flushed with what is next.
  w1.tick(kT0 + kMin + 30);
  REQUIRE(s.sink_a->wait_batches(2));
  got = s.sink_a->batches();
  CHECK(got[1].bytes == 2);
  CHECK(got[1].start == kT0);
  s.flusher->stop_and_flush_final();
  uint64_t total = 0;
  for (const auto& b : s.sink_a->batches()) total += b.bytes;
  CHECK(total == 3);
}

TEST_CASE("A failing sink is counted and does not stop the others", "[flusher]") {
  Setup s(1);
  s.sink_a->fail(true);
  s.flusher->start();
  auto& w = s.hub.worker(0);
  w.tick(kT0);
  // Two keys, three flows: the failed write loses both rows and all three
  // flows, and says so in data, not only in batches (issue 26 item 7).
  w.add(rec(1, 1, 80, 6, 1, 1, kT0, kT0), at(kT0 + 1));
  w.add(rec(1, 1, 80, 6, 1, 1, kT0, kT0), at(kT0 + 2));
  w.add(rec(2, 1, 80, 6, 1, 1, kT0, kT0), at(kT0 + 3));
  w.tick(kT0 + kMin);
  REQUIRE(s.sink_b->wait_batches(1));
  REQUIRE(eventually([&] { return s.flusher->counters().flushes.load() == 1; }));
  CHECK(s.flusher->sink_counters(0).errors.load() == 1);
  CHECK(s.flusher->sink_counters(0).last_success_ms.load() == 0);
  CHECK(s.flusher->sink_counters(0).rows_written.load() == 0);
  CHECK(s.flusher->sink_counters(0).rows_lost.load() == 2);
  CHECK(s.flusher->sink_counters(0).flows_lost.load() == 3);
  CHECK(s.flusher->sink_counters(1).errors.load() == 0);
  CHECK(s.flusher->sink_counters(1).rows_written.load() == 2);
  CHECK(s.flusher->sink_counters(1).rows_lost.load() == 0);
  s.sink_a->fail(false);
  s.flusher->stop_and_flush_final();
  CHECK(s.flusher->sink_counters(0).batches.load() == 1);  // the final one
}

TEST_CASE("Pipeline drops reach the batch as a per-flush delta", "[flusher]") {
  std::atomic<uint64_t> queue_full{5};
  Setup s(1, cfg(), {}, [&] {
    StatsSnapshot st;
    st.queue_full = queue_full.load();
    return st;
  });
  s.flusher->start();  // baseline: 5
  auto& w = s.hub.worker(0);
  w.tick(kT0);
  queue_full = 12;
  w.tick(kT0 + kMin);
  REQUIRE(s.sink_a->wait_batches(1));
  REQUIRE(eventually([&] { return s.flusher->counters().flushes.load() == 1; }));
  queue_full = 20;
  s.flusher->stop_and_flush_final();
  auto got = s.sink_a->batches();
  REQUIRE(got.size() == 2);
  CHECK(got[0].has_stats);
  CHECK(got[0].queue_full == 7);
  CHECK(got[1].queue_full == 8);
}
