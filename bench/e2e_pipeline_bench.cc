// The whole pipeline without sockets: flows per second from the hand-off
// queue to the sinks, with the real Handoff, Worker, AggregationHub, Flusher
// and CSV sink that the collector wires (src/pipeline/collector.cc), and a
// stand-in for the reactor in place of the kernel.
//
// The stand-in does what a reactor does apart from the system call: it takes
// buffer ids back from the return queue, copies the next datagram into the
// buffer (as the kernel copies into the provided-buffer ring; about the same
// bytes, so the same cache traffic), patches its flow_sequence so sequence
// tracking sees an in-order stream, routes it, and hands DatagramRefs to the
// workers in batches of 64 (receive.batch). So the figure is an upper bound
// on what ringflow can take on a box where the kernel costs nothing; the
// delivered rates of scripts/bench.sh are the same path plus the kernel.
//
// Input: pre-encoded full v5 datagrams (30 records, 1464 bytes) from 16
// exporter streams, drawn from K distinct 5-tuples (100 k or 1 M) with a skew
// (index = K * u^2: the busiest 1 % of keys get 10 % of the records), 5-tuple
// aggregation, interval 1 s (so the flusher merges and writes CSV files
// during the run, as it would in service), files in a temporary directory.
//
// Timed: from the first hand-off until every worker has aggregated every
// record, RUNS times on one pipeline after a first, separately reported,
// pass on cold tables (whose first touch page-faults: see the note in
// main). The final flush at stop is timed on its own.
// Cases: 1 worker with its own CPU; 1 worker with the stand-in and the
// flusher on the same CPU (CPU 0; the bench.sh setup: 1 reactor + 1 worker
// on one core); 2 workers (on this 2-CPU box, the three threads share two).
//
// Usage: e2e_pipeline_bench [RUNS [name-filter [DATAGRAMS-PER-RUN]]]
//        (default 5 runs, every case, 1 M datagrams)
// GCC 12 -O3 reports a false -Wstringop-overflow inside moodycamel's bulk
// enqueue (an atomic load "into a region of size 0"), as in worker.cc.
#pragma GCC diagnostic ignored "-Wstringop-overflow"

#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aggregate/hub.h"
#include "bench_util.h"
#include "common/clock.h"
#include "gen/v5_encoder.h"
#include "pipeline/flusher.h"
#include "pipeline/worker.h"
#include "receive/handoff.h"
#include "sink/sink.h"

using namespace ringflow;

namespace {

constexpr uint32_t kStreams = 16;
constexpr uint32_t kRing = 4096;       // receive.ring_entries default
constexpr uint32_t kBufSize = 2048;    // receive.buffer_size default
constexpr uint32_t kBatch = 64;        // receive.batch default
// Datagrams per run: 1 M (30 M flows, several 1-s intervals), or argv[3]
// (sanitizer builds run a few thousand).
uint64_t g_datagrams_per_run = 1'000'000;

struct Input {
  std::vector<uint8_t> bytes;  // datagrams back to back, v5::pdu_size(30) each
  uint32_t count = 0;          // datagrams
  uint32_t size = 0;           // bytes per datagram
};

Input make_input(uint32_t keys) {
  std::mt19937_64 rng(42);
  std::vector<v5::Record> table(keys);
  for (uint32_t i = 0; i < keys; ++i) {
    v5::Record& r = table[i];
    uint64_t x = rng();
    // Distinct by construction: i is spread over the source address.
    r.src_addr = 0x0A000000u | (i & 0xFFFFFF);
    r.dst_addr = static_cast<uint32_t>(x);
    r.src_port = static_cast<uint16_t>(x >> 32);
    r.dst_port = static_cast<uint16_t>(x >> 48);
    r.protocol = (x & 3) ? 6 : 17;
    r.packets = 1 + static_cast<uint32_t>(x % 50);
    r.octets = r.packets * 400;
  }
  Input in;
  // Enough distinct datagrams to touch (nearly) every key at least once.
  in.count = std::clamp<uint32_t>(keys / v5::kMaxRecords * 2, 8192, 65536);
  in.size = static_cast<uint32_t>(v5::pdu_size(v5::kMaxRecords));
  in.bytes.resize(size_t{in.count} * in.size);
  std::uniform_real_distribution<double> u(0, 1);
  const uint32_t now_s = static_cast<uint32_t>(wall_ns() / 1'000'000'000);
  v5::Record rec[v5::kMaxRecords];
  for (uint32_t d = 0; d < in.count; ++d) {
    v5::Header h;
    h.version = v5::kVersion;
    h.sys_uptime_ms = 3'600'000;
    h.unix_secs = now_s;
    h.engine_id = static_cast<uint8_t>(d % kStreams);
    for (auto& r : rec) {
      double v = u(rng);
      r = table[std::min<uint32_t>(keys - 1, static_cast<uint32_t>(keys * v * v))];
      r.first_raw = h.sys_uptime_ms - 2000;
      r.last_raw = h.sys_uptime_ms - 1000;
    }
    v5::encode_v5(h, rec, v5::kMaxRecords, in.bytes.data() + size_t{d} * in.size, in.size);
  }
  return in;
}

struct Case {
  const char* name;
  uint32_t keys;
  uint32_t workers;
  bool one_cpu;  // every thread of the pipeline on CPU 0
};

struct RunResult {
  double flush_s = 0;
  uint64_t rows = 0;
};

// The collector's wiring minus sockets and reactors: Handoff, Workers (one
// thread each), AggregationHub, Flusher with a CSV sink. feed() plays the
// reactor on the calling thread; stop() is the collector's ordered stop.
class Pipeline {
 public:
  Pipeline(const Case& c, const std::string& dir) : workers_(c.workers) {
    cfg_.receive.workers = c.workers;
    cfg_.aggregate.interval_s = 1;
    cfg_.output.directory = dir;
    SinkConfig csv;
    csv.type = SinkType::kCsv;
    csv.name = "csv";
    cfg_.output.sinks.push_back(csv);
    std::string error;
    auto sinks = make_sinks(cfg_.output, &error);
    if (sinks.empty()) {
      std::fprintf(stderr, "e2e_pipeline_bench: %s\n", error.c_str());
      std::exit(1);
    }
    handoff_ = std::make_unique<Handoff>(workers_, 1, cfg_.receive.queue_depth, kRing);
    hub_ = std::make_unique<AggregationHub>(cfg_.aggregate, workers_);
    for (uint32_t w = 0; w < workers_; ++w)
      counters_.push_back(std::make_unique<WorkerCounters>());
    flusher_ = std::make_unique<Flusher>(*hub_, std::move(sinks), [this] {
      StatsSnapshot s;
      for (auto& c : counters_) s.flows += c->flows.load();
      return s;
    });
    sessions_ = std::make_unique<Sessions>(cfg_.decode, kRing, kBufSize, session_counters_);
    for (uint32_t w = 0; w < workers_; ++w)
      workers_v_.push_back(std::make_unique<Worker>(w, cfg_, *handoff_,
                                                    std::vector<const Sessions*>{sessions_.get()},
                                                    hub_->worker(w), *counters_[w], RecordStageChain{}));
    slab_.resize(size_t{kRing} * kBufSize);
  }

  void start() {
    flusher_->start();
    for (uint32_t w = 0; w < workers_; ++w) threads_.emplace_back([this, w] { workers_v_[w]->run(); });
  }

  // The reactor stand-in: hands g_datagrams_per_run datagrams to the workers
  // and waits until they have aggregated them. Returns the flows handed off.
  // May be called repeatedly, from one thread (the reactor's state -- free
  // buffers, tokens, sequence numbers -- carries over).
  uint64_t feed(const Input& in) {
    if (ptok_.empty()) {
      for (uint32_t w = 0; w < workers_; ++w) ptok_.emplace_back(handoff_->queue(w));
      rtok_ = std::make_unique<moodycamel::ConsumerToken>(handoff_->returns(0));
      free_ids_.resize(kRing);
      for (uint32_t i = 0; i < kRing; ++i) free_ids_[i] = static_cast<uint16_t>(i);
      nfree_ = kRing;
      seq_.assign(kStreams, 0);
    }
    std::vector<uint16_t>& free_ids = free_ids_;
    uint32_t& nfree = nfree_;
    std::vector<uint32_t>& seq = seq_;
    uint32_t& next = next_;
    std::vector<std::vector<DatagramRef>> out(workers_, std::vector<DatagramRef>(kBatch));
    std::vector<IpAddr> exporters(kStreams);
    for (uint32_t s = 0; s < kStreams; ++s) exporters[s] = IpAddr::from_v4(0x7F000001u + s);

    uint64_t sent = 0, flows = 0;
    while (sent < g_datagrams_per_run) {
      const uint32_t got = static_cast<uint32_t>(
          handoff_->returns(0).try_dequeue_bulk(*rtok_, free_ids.data() + nfree, kRing - nfree));
      for (uint32_t i = 0; i < got; ++i) {
        handoff_->acquire(0, free_ids[nfree + i]);  // TSan only
        sessions_->release(free_ids[nfree + i]);
      }
      nfree += got;
      uint32_t n = static_cast<uint32_t>(
          std::min<uint64_t>({kBatch, nfree, g_datagrams_per_run - sent}));
      if (n == 0) {
        sched_yield();  // every buffer is with the workers (the one-CPU case needs the yield)
        continue;
      }
      std::vector<uint32_t> nout(workers_, 0);
      const int64_t now = wall_ns();
      for (uint32_t i = 0; i < n; ++i) {
        const uint16_t id = free_ids[--nfree];
        uint8_t* buf = slab_.data() + size_t{id} * kBufSize;
        const uint8_t* src = in.bytes.data() + size_t{next} * in.size;
        std::memcpy(buf, src, in.size);
        const uint32_t stream = next % kStreams;
        v5::patch_v5_sequence(buf, in.size, seq[stream]);
        seq[stream] += v5::kMaxRecords;
        next = next + 1 == in.count ? 0 : next + 1;
        DatagramRef d;
        d.data = buf;
        d.len = in.size;
        d.buf_id = id;
        d.exporter = exporters[stream];
        d.recv_ns = now;
        // The ordered stage, as the reactor runs it; then the next worker.
        if (sessions_->admit(buf, in.size, d.exporter, id, now / 1000000) != Admit::kHandOff) {
          std::fprintf(stderr, "e2e_pipeline_bench: the ordered stage refused a datagram\n");
          std::exit(1);
        }
        const uint32_t w = rr_;
        rr_ = rr_ + 1 == workers_ ? 0 : rr_ + 1;
        handoff_->release(0, id);  // TSan only: the buffer is passed on
        out[w][nout[w]++] = d;
      }
      for (uint32_t w = 0; w < workers_; ++w) {
        if (nout[w] == 0) continue;
        // Cannot fail: the queue (16384) is deeper than the ring (4096).
        if (!handoff_->queue(w).try_enqueue_bulk(ptok_[w], out[w].data(), nout[w])) {
          std::fprintf(stderr, "e2e_pipeline_bench: queue full\n");
          std::exit(1);
        }
      }
      sent += n;
      flows += uint64_t{n} * v5::kMaxRecords;
    }
    handed_off_ += flows;
    // Wait for the workers to aggregate every record.
    for (;;) {
      uint64_t done = 0;
      for (auto& c : counters_) done += c->flows.load();
      if (done >= handed_off_) break;
      sched_yield();
    }
    return flows;
  }

  // The collector's ordered stop; returns the final flush's duration.
  RunResult stop() {
    for (auto& w : workers_v_) w->request_drain();
    for (auto& t : threads_) t.join();
    auto t0 = std::chrono::steady_clock::now();
    flusher_->stop_and_flush_final();
    RunResult r;
    r.flush_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.rows = flusher_->counters().rows_flushed.load();
    return r;
  }

 private:
  uint32_t workers_;
  Config cfg_;
  std::unique_ptr<Handoff> handoff_;
  std::unique_ptr<AggregationHub> hub_;
  std::vector<std::unique_ptr<WorkerCounters>> counters_;
  std::unique_ptr<Flusher> flusher_;
  std::vector<std::unique_ptr<Worker>> workers_v_;
  SessionCounters session_counters_;
  std::unique_ptr<Sessions> sessions_;  // the reactor stand-in's ordered stage
  uint32_t rr_ = 0;
  std::vector<std::thread> threads_;
  std::vector<uint8_t> slab_;
  // Reactor stand-in state (the feeding thread's).
  std::vector<moodycamel::ProducerToken> ptok_;
  std::unique_ptr<moodycamel::ConsumerToken> rtok_;
  std::vector<uint16_t> free_ids_;
  uint32_t nfree_ = 0;
  std::vector<uint32_t> seq_;
  uint32_t next_ = 0;
  uint64_t handed_off_ = 0;
};

void set_affinity(const cpu_set_t& set) { sched_setaffinity(0, sizeof set, &set); }

}  // namespace

int main(int argc, char** argv) {
  const int runs = bench::runs_from_args(argc, argv, 5);
  const char* filter = argc > 2 ? argv[2] : "";
  if (argc > 3) g_datagrams_per_run = std::max(1ull, std::strtoull(argv[3], nullptr, 10));
  char tmpl[] = "/tmp/ringflow-e2e-bench.XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl;
  cpu_set_t all;
  sched_getaffinity(0, sizeof all, &all);
  cpu_set_t cpu0;
  CPU_ZERO(&cpu0);
  CPU_SET(0, &cpu0);

  const Case cases[] = {
      {"pipeline 100k keys, 1 worker", 100'000, 1, false},
      {"pipeline 100k keys, 1 worker, one CPU", 100'000, 1, true},
      {"pipeline 100k keys, 2 workers", 100'000, 2, false},
      {"pipeline 1M keys, 1 worker", 1'000'000, 1, false},
  };
  std::printf("e2e_pipeline_bench: %llu datagrams (30 records) per run, CSV sink, interval 1 s\n",
              static_cast<unsigned long long>(g_datagrams_per_run));
  uint32_t input_keys = 0;
  Input in;
  for (const Case& c : cases) {
    if (!std::strstr(c.name, filter)) continue;
    if (c.keys != input_keys) {
      in = make_input(c.keys);
      input_keys = c.keys;
    }
    // One pipeline per case, as in service: the first pass pays for the
    // first touch of the aggregation tables (page faults of their huge
    // pages) and is reported on its own; the timed runs follow on warm
    // tables. Threads inherit the creating thread's affinity: pin before
    // the pipeline starts them.
    if (c.one_cpu) set_affinity(cpu0);
    std::vector<double> rates, flush_s;
    double cold = 0;
    uint64_t rows = 0;
    {
      Pipeline p(c, dir);  // construction (table memory) is not timed
      p.start();
      for (int run = -1; run < runs; ++run) {
        auto t0 = std::chrono::steady_clock::now();
        const uint64_t flows = p.feed(in);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        (run < 0 ? cold : rates.emplace_back()) = s > 0 ? flows / s : 0;
      }
      RunResult r = p.stop();
      flush_s.push_back(r.flush_s);
      rows = r.rows;
    }
    set_affinity(all);
    bench::Summary sm = bench::summarize(rates);
    std::printf("%-44s median %12.0f flows/s  (min %.0f, max %.0f, %d runs; cold tables %.0f)\n",
                c.name, sm.median, sm.min, sm.max, runs, cold);
    bench::Summary fs = bench::summarize(flush_s);
    std::printf("  %-42s final flush %.3f s; %llu rows flushed in all\n", "", fs.median,
                static_cast<unsigned long long>(rows));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directory(dir);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
