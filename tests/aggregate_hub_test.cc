// AggregationHub + WorkerAggregator + Merger: wall-clock intervals, the
// double-buffered hand-over, late flushes, flow_end grace and the final
// partial flush. Time is driven explicitly through tick(now_ms) and the
// records' times, so every test is deterministic.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <map>
#include <thread>
#include <vector>

#include "aggregate/hub.h"
#include "aggregate/merger.h"

using namespace ringflow;

namespace {

constexpr int64_t kMin = 60000;
constexpr int64_t kT0 = 28333334 * kMin;  // 2023-11-14T22:14:00Z, a minute boundary

FlowRecord rec(uint32_t src, uint32_t packets, uint32_t octets, int64_t start, int64_t end,
               uint32_t sampling = 1) {
  FlowRecord r;
  r.src = IpAddr::from_v4(src);
  r.dst = IpAddr::from_v4(0x0A000001);
  r.ip_version = 4;
  r.src_port = 1000;
  r.dst_port = 80;
  r.protocol = 6;
  r.packets = packets;
  r.bytes = octets;
  r.start_ms = start;
  r.end_ms = end;
  r.sampling = sampling;
  return r;
}

FlowContext at(int64_t arrival_ms) {
  FlowContext c;
  c.exporter = IpAddr::from_v4(0x7F000001);
  c.arrival_ms = arrival_ms;
  return c;
}

AggregateConfig cfg_arrival(uint32_t interval_s = 60) {
  AggregateConfig c;
  c.interval_s = interval_s;
  c.max_entries = 4096;
  return c;
}

struct Seen {
  int64_t start = 0, end = 0;
  uint64_t flows = 0, packets = 0, bytes = 0, rows = 0;
  bool partial = false, late = false;
  uint64_t late_records = 0, future_records = 0, overflow_records = 0;
};

Seen summarize(const FlushBatch& b) {
  Seen s;
  s.start = b.start_ms;
  s.end = b.end_ms;
  s.flows = b.totals.flows;
  s.packets = b.totals.packets;
  s.bytes = b.totals.bytes;
  s.rows = b.rows.size();
  s.partial = b.partial;
  s.late = b.late;
  s.late_records = b.late_records;
  s.future_records = b.future_records;
  s.overflow_records = b.overflow_records;
  return s;
}

// Collects one sealed batch (REQUIREs there is one) and releases it.
Seen take(Merger& m) {
  FlushBatch* b = m.collect_sealed();
  REQUIRE(b != nullptr);
  Seen s = summarize(*b);
  m.release();
  return s;
}

}  // namespace

TEST_CASE("Arrival mode: intervals are aligned to wall-clock boundaries", "[hub]") {
  // "every aggregate.interval ... aligned to wall-clock boundaries (an
  //  interval starting 12:01:00 ends 12:02:00)"
  AggregationHub hub(cfg_arrival(), 1);
  Merger m(hub);
  WorkerAggregator& w = hub.worker(0);
  w.tick(kT0 + 1000);
  w.add(rec(1, 10, 1000, 0, 0), at(kT0 + 1000));
  w.add(rec(1, 5, 500, 0, 0, 10), at(kT0 + 30000));  // sampled 1:10 -> x10
  w.add(rec(2, 1, 40, 0, 0), at(kT0 + 59999));
  w.tick(kT0 + 59999);
  CHECK(hub.sealed_ready() == 0);
  // Arrives after the boundary, before the worker's next tick: next interval.
  w.add(rec(3, 2, 200, 0, 0), at(kT0 + 60010));
  w.tick(kT0 + 60050);
  REQUIRE(hub.sealed_ready() == 1);
  Seen a = take(m);
  CHECK(a.start == kT0);
  CHECK(a.end == kT0 + kMin);
  CHECK_FALSE(a.partial);
  CHECK_FALSE(a.late);
  CHECK(a.flows == 3);
  CHECK(a.packets == 10 + 50 + 1);
  CHECK(a.bytes == 1000 + 5000 + 40);
  CHECK(a.rows == 2);

  w.tick(kT0 + 2 * kMin + 20);
  Seen b = take(m);
  CHECK(b.start == kT0 + kMin);
  CHECK(b.end == kT0 + 2 * kMin);
  CHECK(b.flows == 1);
  CHECK(b.bytes == 200);
  CHECK(w.counters().records.load() == 4);
  CHECK(w.counters().seals.load() == 2);
}

TEST_CASE("Several worker threads across interval boundaries: per-interval totals exact", "[hub]") {
  constexpr uint32_t kWorkers = 4, kIntervals = 5, kPerInterval = 20000;
  AggregationHub hub(cfg_arrival(1), kWorkers);
  Merger m(hub);
  std::atomic<int64_t> released{-1};  // last interval index the merger released
  std::map<int64_t, Seen> got;
  const int64_t base = 1700000000;    // seconds: interval index base + k

  std::thread merger([&] {
    for (uint32_t k = 0; k < kIntervals; ++k) {
      while (hub.sealed_ready() < kWorkers) std::this_thread::yield();
      FlushBatch* b = m.collect_sealed();
      got[b->start_ms] = summarize(*b);
      m.release();
      released.store(k, std::memory_order_release);
    }
  });
  std::vector<std::thread> workers;
  for (uint32_t wi = 0; wi < kWorkers; ++wi) {
    workers.emplace_back([&, wi] {
      WorkerAggregator& w = hub.worker(wi);
      for (uint32_t k = 0; k < kIntervals; ++k) {
        int64_t start = (base + k) * 1000;
        for (uint32_t i = 0; i < kPerInterval; ++i) {
          int64_t now = start + i * 1000 / kPerInterval;
          // Keys overlap between workers, so the merge must add them up.
          w.add(rec(i % 1000, 1, 100 + wi, now, now), at(now));
          if (i % 1000 == 0) w.tick(now);
        }
        w.tick(start + 1000);  // seals interval k
        while (released.load(std::memory_order_acquire) < static_cast<int64_t>(k))
          std::this_thread::yield();
      }
    });
  }
  for (auto& t : workers) t.join();
  merger.join();

  REQUIRE(got.size() == kIntervals);
  for (uint32_t k = 0; k < kIntervals; ++k) {
    const Seen& s = got[(base + k) * 1000];
    INFO("interval " << k);
    CHECK(s.end - s.start == 1000);
    CHECK(s.flows == uint64_t{kWorkers} * kPerInterval);
    CHECK(s.packets == uint64_t{kWorkers} * kPerInterval);
    CHECK(s.bytes == uint64_t{kPerInterval} * (100 + 101 + 102 + 103));
    CHECK(s.rows == 1000);
    CHECK_FALSE(s.late);
  }
}

TEST_CASE("Free-running workers and merger: nothing is lost or counted twice", "[hub]") {
  // No pacing: the merger may be late, tables then span several intervals.
  constexpr uint32_t kWorkers = 3, kRecords = 200000;
  AggregationHub hub(cfg_arrival(1), kWorkers);
  Merger m(hub);
  std::atomic<uint32_t> done{0};
  uint64_t flows = 0, bytes = 0;
  bool spans_valid = true;
  std::thread merger([&] {
    for (;;) {
      bool finished = done.load(std::memory_order_acquire) == kWorkers;
      if (FlushBatch* b = m.collect_sealed()) {
        flows += b->totals.flows;
        bytes += b->totals.bytes;
        // Workers run at their own pace in fake time here, so batches of
        // different workers need not come in time order; each must still
        // cover a whole number of intervals.
        if (b->end_ms <= b->start_ms || (b->end_ms - b->start_ms) % 1000 != 0) spans_valid = false;
        m.release();
      } else if (finished) {
        break;
      } else {
        std::this_thread::yield();
      }
    }
  });
  std::vector<std::thread> workers;
  for (uint32_t wi = 0; wi < kWorkers; ++wi) {
    workers.emplace_back([&, wi] {
      WorkerAggregator& w = hub.worker(wi);
      for (uint32_t i = 0; i < kRecords; ++i) {
        int64_t now = 1700000000000 + i / 10;  // 20 s of fake time
        w.add(rec(i % 5000, 1, 7, now, now), at(now));
        if (i % 100 == 0) w.tick(now);
      }
      done.fetch_add(1, std::memory_order_release);
    });
  }
  for (auto& t : workers) t.join();
  merger.join();
  // Workers are joined: what is still open comes out as partial batches.
  for (int stage = 0; stage < 2; ++stage) {
    if (FlushBatch* b = m.collect_open(stage)) {
      CHECK(b->partial);
      flows += b->totals.flows;
      bytes += b->totals.bytes;
      m.release();
    }
  }
  CHECK(flows == uint64_t{kWorkers} * kRecords);
  CHECK(bytes == uint64_t{kWorkers} * kRecords * 7);
  CHECK(spans_valid);
}

TEST_CASE("Tables grow between seals and come back refitted: every row and record kept",
          "[hub]") {
  // Key counts that swing from interval to interval make the workers' tables
  // grow (incrementally, while they fill) and the flusher refit them (shrink
  // or keep, off the workers) before handing them back; with threads, so the
  // sanitizers see every hand-over of a table and its arrays.
  constexpr uint32_t kWorkers = 2, kIntervals = 12, kPerInterval = 40000;
  constexpr uint32_t kKeys[] = {30000, 50, 35000, 20, 9000, 40000};
  AggregateConfig cfg = cfg_arrival(1);
  cfg.max_entries = 100000;  // tables start with room for 4096 keys
  AggregationHub hub(cfg, kWorkers);
  Merger m(hub);
  std::atomic<uint32_t> done{0};
  uint64_t flows = 0, bytes = 0, most_rows = 0, batches = 0;
  std::thread merger([&] {
    for (;;) {
      bool finished = done.load(std::memory_order_acquire) == kWorkers;
      if (FlushBatch* b = m.collect_sealed()) {
        flows += b->totals.flows;
        bytes += b->totals.bytes;
        most_rows = std::max<uint64_t>(most_rows, b->rows.size());
        ++batches;
        m.release();
      } else if (finished) {
        break;
      } else {
        std::this_thread::yield();
      }
    }
  });
  std::vector<std::thread> workers;
  for (uint32_t wi = 0; wi < kWorkers; ++wi) {
    workers.emplace_back([&, wi] {
      WorkerAggregator& w = hub.worker(wi);
      FlowRecord batch[30];
      for (uint32_t iv = 0; iv < kIntervals; ++iv) {
        const int64_t t0 = 1700000000000 + int64_t{iv} * 1000;
        const uint32_t keys = kKeys[iv % std::size(kKeys)];
        for (uint32_t i = 0; i < kPerInterval; i += 30) {
          const int64_t now = t0 + i * 900 / kPerInterval;
          for (uint32_t j = 0; j < 30; ++j)
            batch[j] = rec((i + j) % keys, 1, 3, now, now);
          w.add_batch(batch, 30, at(now));
          if (i % 3000 == 0) w.tick(now);
        }
        w.tick(t0 + 1000);  // seals interval iv
      }
      done.fetch_add(1, std::memory_order_release);
    });
  }
  for (auto& t : workers) t.join();
  merger.join();
  for (int stage = 0; stage < 2; ++stage) {
    if (FlushBatch* b = m.collect_open(stage)) {
      flows += b->totals.flows;
      bytes += b->totals.bytes;
      m.release();
    }
  }
  const uint64_t per_interval = (kPerInterval + 29) / 30 * 30;  // whole batches of 30
  const uint64_t records = uint64_t{kWorkers} * kIntervals * per_interval;
  CHECK(flows == records);
  CHECK(bytes == records * 3);
  CHECK(batches >= 2);
  // Several intervals may share a batch when the merger is late, but no
  // batch holds more keys than the intervals it spans together.
  CHECK(most_rows <= 30000 + 50 + 35000 + 20 + 9000 + 40000);
  CHECK(most_rows >= 9000);
}

TEST_CASE("Late flush: the active table spans the next interval, counted", "[hub]") {
  // "If not (the previous flush is still running), keep aggregating into the
  //  active table (it then spans two intervals; the rows say so via their
  //  start/end), count a late flush"
  AggregationHub hub(cfg_arrival(), 1);
  Merger m(hub);
  WorkerAggregator& w = hub.worker(0);
  w.tick(kT0);
  w.add(rec(1, 1, 100, 0, 0), at(kT0 + 5));
  w.tick(kT0 + kMin + 10);  // seals interval 0
  FlushBatch* slow = m.collect_sealed();  // ... and this flush takes long
  REQUIRE(slow != nullptr);
  CHECK(slow->totals.bytes == 100);

  w.add(rec(1, 1, 10, 0, 0), at(kT0 + kMin + 20));      // interval 1
  w.tick(kT0 + 2 * kMin + 10);                          // 1 due, no standby
  CHECK(w.counters().deferred_seals.load() == 1);
  CHECK(hub.sealed_ready() == 0);
  w.add(rec(1, 1, 20, 0, 0), at(kT0 + 2 * kMin + 30));  // interval 2, same table
  m.release();                                          // the slow flush ends
  w.tick(kT0 + 2 * kMin + 500);                         // not due yet: 2 is open
  CHECK(hub.sealed_ready() == 0);
  w.add(rec(1, 1, 40, 0, 0), at(kT0 + 2 * kMin + 600));
  w.tick(kT0 + 3 * kMin);                               // seals [1, 2]
  Seen s = take(m);
  CHECK(s.late);
  CHECK(s.start == kT0 + kMin);
  CHECK(s.end == kT0 + 3 * kMin);
  CHECK(s.bytes == 10 + 20 + 40);
  CHECK(s.rows == 1);

  // Back on time: the next table covers interval 3 only.
  w.add(rec(1, 1, 80, 0, 0), at(kT0 + 3 * kMin + 1));
  w.tick(kT0 + 4 * kMin);
  Seen n = take(m);
  CHECK_FALSE(n.late);
  CHECK(n.start == kT0 + 3 * kMin);
  CHECK(n.end == kT0 + 4 * kMin);
  CHECK(n.bytes == 80);
}

TEST_CASE("A late flush also extends the span when records of the next interval arrive first",
          "[hub]") {
  AggregationHub hub(cfg_arrival(), 1);
  Merger m(hub);
  WorkerAggregator& w = hub.worker(0);
  w.tick(kT0);
  w.tick(kT0 + kMin);  // seals interval 0 (empty)
  REQUIRE(m.collect_sealed() != nullptr);  // held by the "flusher"
  // Interval 2's record arrives before the tick that would find 1 due.
  w.add(rec(1, 1, 5, 0, 0), at(kT0 + 2 * kMin + 1));
  CHECK(w.counters().deferred_seals.load() == 1);
  m.release();
  w.tick(kT0 + 2 * kMin + 2);  // [1, 2] is not due until the end of 2
  CHECK(hub.sealed_ready() == 0);
  w.tick(kT0 + 3 * kMin);
  Seen s = take(m);
  CHECK(s.late);
  CHECK(s.start == kT0 + kMin);
  CHECK(s.end == kT0 + 3 * kMin);
  CHECK(s.bytes == 5);
}

TEST_CASE("flow_end mode: grace period, late and future records", "[hub]") {
  // "a record belongs to the interval containing its end/start time; seal
  //  interval I at end(I) + aggregate.grace; during the grace period a record
  //  of I+1 goes to the standby table; a record older than the open interval
  //  goes to the oldest open interval and is counted late_records; one far in
  //  the future goes to the newest and is counted."
  AggregateConfig cfg = cfg_arrival();
  cfg.time = TimeMode::kFlowEnd;
  cfg.grace_s = 5;
  AggregationHub hub(cfg, 1);
  Merger m(hub);
  WorkerAggregator& w = hub.worker(0);
  w.tick(kT0 + 10000);
  w.add(rec(1, 1, 1, kT0 + 1000, kT0 + 2000), at(kT0 + 10000));            // I0
  w.tick(kT0 + kMin + 2000);                                               // grace
  w.add(rec(1, 1, 2, kT0 + kMin + 100, kT0 + kMin + 1000), at(kT0 + kMin + 2000));  // I1
  w.add(rec(1, 1, 4, kT0 + 50000, kT0 + 59000), at(kT0 + kMin + 3000));    // I0, in grace
  w.tick(kT0 + kMin + 4999);
  CHECK(hub.sealed_ready() == 0);
  w.tick(kT0 + kMin + 5000);  // end(I0) + grace
  REQUIRE(hub.sealed_ready() == 1);
  Seen i0 = take(m);
  CHECK(i0.start == kT0);
  CHECK(i0.end == kT0 + kMin);
  CHECK(i0.bytes == 1 + 4);
  CHECK(i0.late_records == 0);

  w.add(rec(1, 1, 8, kT0 + 1000, kT0 + 30000), at(kT0 + kMin + 6000));     // I0 again: late
  w.add(rec(1, 1, 16, kT0, kT0 + 10 * kMin), at(kT0 + kMin + 7000));       // I10: future
  CHECK(w.counters().late_records.load() == 1);
  CHECK(w.counters().future_records.load() == 1);
  w.tick(kT0 + 2 * kMin + 5000);
  Seen i1 = take(m);
  CHECK(i1.start == kT0 + kMin);
  CHECK(i1.end == kT0 + 2 * kMin);
  CHECK(i1.bytes == 2 + 8 + 16);
  CHECK(i1.late_records == 1);
  CHECK(i1.future_records == 1);
  // Record times are kept: first/last of the late record reach back.
  CHECK_FALSE(i1.late);
}

TEST_CASE("flow_start mode uses the start time", "[hub]") {
  AggregateConfig cfg = cfg_arrival();
  cfg.time = TimeMode::kFlowStart;
  cfg.grace_s = 0;
  AggregationHub hub(cfg, 1);
  Merger m(hub);
  WorkerAggregator& w = hub.worker(0);
  w.tick(kT0 + 100);
  w.add(rec(1, 1, 1, kT0 + 50, kT0 + kMin + 10), at(kT0 + 200));  // starts in I0
  w.add(rec(1, 1, 2, kT0 + kMin + 5, kT0 + kMin + 9), at(kT0 + 300));  // starts in I1: standby
  w.tick(kT0 + kMin);
  Seen i0 = take(m);
  CHECK(i0.bytes == 1);
  CHECK(w.counters().future_records.load() == 0);
  w.tick(kT0 + 2 * kMin);
  CHECK(take(m).bytes == 2);
}

TEST_CASE("An idle gap is covered by the next table, not by empty flushes", "[hub]") {
  AggregationHub hub(cfg_arrival(), 1);
  Merger m(hub);
  WorkerAggregator& w = hub.worker(0);
  w.tick(kT0);
  w.tick(kT0 + kMin);
  take(m);
  // The clock steps 10 minutes ahead (or ticks stopped): one seal, not ten.
  w.tick(kT0 + 11 * kMin + 1);
  Seen gap = take(m);
  CHECK(gap.start == kT0 + kMin);
  CHECK(gap.end == kT0 + 11 * kMin);
  CHECK_FALSE(gap.late);
  w.add(rec(1, 1, 3, 0, 0), at(kT0 + 11 * kMin + 2));
  w.tick(kT0 + 12 * kMin);
  Seen next = take(m);
  CHECK(next.start == kT0 + 11 * kMin);
  CHECK(next.end == kT0 + 12 * kMin);
  CHECK(next.bytes == 3);
}

TEST_CASE("Shutdown: open tables come out as partial batches", "[hub]") {
  // "Shutdown: the final partial interval is flushed and marked partial."
  AggregateConfig cfg = cfg_arrival();
  cfg.time = TimeMode::kFlowEnd;
  cfg.grace_s = 5;
  AggregationHub hub(cfg, 2);
  Merger m(hub);
  hub.worker(0).tick(kT0 + kMin + 1000);  // in the grace of I0
  hub.worker(1).tick(kT0 + kMin + 1000);
  hub.worker(0).add(rec(1, 1, 1, kT0, kT0 + 5), at(kT0 + kMin + 1000));            // I0
  hub.worker(1).add(rec(2, 1, 2, kT0, kT0 + 6), at(kT0 + kMin + 1000));            // I0
  hub.worker(1).add(rec(3, 1, 4, kT0, kT0 + kMin + 7), at(kT0 + kMin + 1000));     // I1
  CHECK(m.collect_sealed() == nullptr);
  FlushBatch* a = m.collect_open(0);
  REQUIRE(a != nullptr);
  CHECK(a->partial);
  CHECK(a->start_ms == kT0);
  CHECK(a->end_ms == kT0 + kMin);
  CHECK(a->totals.bytes == 3);
  CHECK(a->rows.size() == 2);
  m.release();
  FlushBatch* b = m.collect_open(1);
  REQUIRE(b != nullptr);
  CHECK(b->partial);
  CHECK(b->start_ms == kT0 + kMin);
  CHECK(b->totals.bytes == 4);
  m.release();
}

TEST_CASE("Full worker tables and a full merge table end in one counted overflow row", "[hub]") {
  AggregateConfig cfg = cfg_arrival();
  cfg.max_entries = 16;
  AggregationHub hub(cfg, 2);
  Merger m(hub);
  uint64_t bytes = 0;
  for (uint32_t wi = 0; wi < 2; ++wi) {
    WorkerAggregator& w = hub.worker(wi);
    w.tick(kT0);
    // 20 distinct keys per worker, disjoint between workers: 4 overflow in
    // each worker table, and 16 + 16 rows cannot fit the 16-entry merge table.
    for (uint32_t k = 0; k < 20; ++k) {
      w.add(rec(wi * 100 + k, 1, k + 1, kT0, kT0), at(kT0 + 1));
      bytes += k + 1;
    }
    CHECK(w.counters().overflow_records.load() == 4);
    w.tick(kT0 + kMin);
  }
  FlushBatch* b = m.collect_sealed();
  REQUIRE(b != nullptr);
  CHECK(b->totals.bytes == bytes);
  CHECK(b->totals.flows == 40);
  CHECK(b->overflow_records == 8);
  CHECK(b->merge_overflow_rows == 16);
  REQUIRE(b->rows.size() == 17);
  CHECK(b->rows.back().overflow);
  CHECK(b->rows.back().c->flows == 8 + 16);
  for (size_t i = 0; i + 1 < b->rows.size(); ++i) CHECK_FALSE(b->rows[i].overflow);
  CHECK(m.merge_table().capacity() == AggTable(2, 16).capacity());
  m.release();
}

TEST_CASE("add_batch gives the same result as add", "[hub]") {
  AggregationHub a(cfg_arrival(), 1), b(cfg_arrival(), 1);
  Merger ma(a), mb(b);
  std::vector<FlowRecord> pdu;
  for (uint32_t i = 0; i < 30; ++i)
    pdu.push_back(rec(i % 7, i, i * 10, kT0 + i, kT0 + i * 2, 3));
  for (int rep = 0; rep < 3; ++rep) {
    a.worker(0).add_batch(pdu.data(), pdu.size(), at(kT0 + 10));
    for (const auto& r : pdu) b.worker(0).add(r, at(kT0 + 10));
  }
  a.worker(0).tick(kT0 + kMin);
  b.worker(0).tick(kT0 + kMin);
  FlushBatch* x = ma.collect_sealed();
  FlushBatch* y = mb.collect_sealed();
  REQUIRE(x->rows.size() == 7);
  REQUIRE(y->rows.size() == 7);
  for (size_t i = 0; i < 7; ++i) {
    CHECK(std::memcmp(x->rows[i].key, y->rows[i].key, 16) == 0);
    CHECK(x->rows[i].c->bytes == y->rows[i].c->bytes);
    CHECK(x->rows[i].c->first_ms == y->rows[i].c->first_ms);
    CHECK(x->rows[i].c->last_ms == y->rows[i].c->last_ms);
  }
  CHECK(x->totals.packets == y->totals.packets);
  CHECK(x->totals.packets == 3u * 3 * (29 * 30 / 2));
}

TEST_CASE("Hub rejects an invalid configuration at start-up", "[hub]") {
  AggregateConfig c = cfg_arrival();
  c.key = {"bogus"};
  CHECK_THROWS_AS(AggregationHub(c, 1), std::invalid_argument);
  CHECK_THROWS_AS(AggregationHub(cfg_arrival(), 0), std::invalid_argument);
}

// Issue 26: 2^62 bytes x an announced rate of 4294967295 once wrapped. The
// renormalized product saturates (reason "renormalize"), and a sum of two
// saturated records in a worker's table is counted when it is sealed (reason
// "sum"); the batch's rows and totals hold 2^64 - 1.
TEST_CASE("Renormalization and sums saturate at 2^64 - 1 and are counted", "[hub]") {
  AggregationHub hub(cfg_arrival(), 1);
  Merger m(hub);
  WorkerAggregator& w = hub.worker(0);
  const uint64_t max = ~uint64_t{0};
  w.tick(kT0 + 1000);
  FlowRecord big = rec(1, 1, 0, 0, 0, 4294967295u);
  big.bytes = uint64_t{1} << 62;
  w.add(big, at(kT0 + 1000));
  CHECK(w.counters().saturated_renormalize.load() == 1);  // bytes; packets fit
  w.add(big, at(kT0 + 2000));
  CHECK(w.counters().saturated_renormalize.load() == 2);
  w.tick(kT0 + kMin + 50);
  CHECK(w.counters().saturated_sum.load() == 1);  // the second add's bytes
  Seen s = take(m);
  CHECK(s.bytes == max);
  CHECK(s.packets == 2 * uint64_t{4294967295u});
  CHECK(hub.merge_saturated_sum().load() == 0);  // one worker: nothing merged
}
