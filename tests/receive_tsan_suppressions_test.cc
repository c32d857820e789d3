// Each ThreadSanitizer suppression in tests/tsan.supp (the file
// scripts/test.sh --tsan runs every test with) hides exactly the race report
// it claims, and a race of ours beside the queue is still reported.
//
// Registered only in a TSan build (RINGFLOW_SANITIZE=thread; see
// receive_tsan_suppressions_test_SANITIZE in tests/CMakeLists.txt): in any
// other build there is no TSan to ask, and a skip would fail CI.
//
// How: the visible test case runs this executable again, once per scenario
// (the hidden [.] cases below), with TSAN_OPTIONS of its own, not the suite's:
//  - with no suppressions, a scenario of kind kHidden must print a data race
//    report, and the top frame of one of its two accesses must be named by a
//    suppression of tests/tsan.supp;
//  - with tests/tsan.supp, the same scenario must print no report and TSan
//    must say which suppression it used (print_suppressions=1);
//  - the control scenario (kind kStillReported) races on our own memory
//    inside a queue frame that is not the top one: a suppression that matches
//    any frame (race:, the old form) would hide it; tests/tsan.supp must not.
// Every suppression must be race_top: with a literal function name (no
// '*'), and every one must be matched by a scenario here: a suppression
// without a scenario, or a scenario whose report no longer appears (a newer
// moodycamel, a compiler that models fences), fails this test.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "receive/dispatch.h"
#include "receive/handoff.h"
#include "support/skip.h"

using namespace ringflow;

namespace {

using Clock = std::chrono::steady_clock;

// Spins until `flag` holds `want` (relaxed: a wait that gives TSan no
// happens-before edge, so that only the queue's own synchronisation orders
// the two threads, as in the collector). False after 20 s.
bool spin_until(const std::atomic<int>& flag, int want) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (flag.load(std::memory_order_relaxed) != want) {
    if (Clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Fake receive buffers: buffer i holds i in its first two bytes.
struct Buffers {
  std::vector<std::array<uint8_t, 8>> b;
  explicit Buffers(size_t n) : b(n) {}
  DatagramRef ref(uint16_t id) {
    std::memcpy(b[id].data(), &id, 2);
    DatagramRef d;
    d.data = b[id].data();
    d.len = 8;
    d.buf_id = id;
    d.exporter = IpAddr::from_v4(0x7f000001);
    d.exporter_port = 2055;
    return d;
  }
};

// What a scenario run printed and how it ended.
struct Run {
  std::string out;  // stdout and stderr
  int status = -1;  // exit status, or -1 if it did not exit
};

Run run_scenario(const std::string& tag, const std::string& tsan_options) {
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(n > 0);
  exe[n] = '\0';
  const std::string cmd =
      "env TSAN_OPTIONS='" + tsan_options + "' '" + exe + "' '" + tag + "' 2>&1";
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char chunk[4096];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof chunk, p)) > 0) r.out.append(chunk, got);
  const int st = pclose(p);
  if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
  return r;
}

// The "#0" frames of the race reports in `out`: the top frame of each access.
std::vector<std::string> top_frames(const std::string& out) {
  std::vector<std::string> tops;
  size_t at = 0;
  while ((at = out.find("\n    #0 ", at)) != std::string::npos) {
    at += 8;
    tops.push_back(out.substr(at, out.find('\n', at) - at));
  }
  return tops;
}

struct Suppression {
  std::string type, pattern, line;
};

std::vector<Suppression> read_suppressions(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<Suppression> s;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    REQUIRE(colon != std::string::npos);
    s.push_back({line.substr(0, colon), line.substr(colon + 1), line});
  }
  return s;
}

enum class Kind { kHidden, kStillReported };
struct Scenario {
  const char* tag;
  Kind kind;
  const char* what;
};
constexpr Scenario kScenarios[] = {
    {"[tsan_scenario_block_reuse]", Kind::kHidden,
     "the dispatcher refills a queue block that a worker has just emptied"},
    {"[tsan_scenario_control]", Kind::kStillReported,
     "a thread reads a worker's batch while the queue's dequeue writes it"},
};

constexpr int kTsanExit = 66;  // TSan's exit code after a report (its default)

}  // namespace

TEST_CASE("each suppression in tests/tsan.supp hides exactly the race report it names",
          "[receive][tsan]") {
#if !defined(__SANITIZE_THREAD__)
  RF_SKIP("not a ThreadSanitizer build (RINGFLOW_SANITIZE=thread registers this test)");
#else
  const std::string supp_path = std::string(RINGFLOW_SOURCE_DIR) + "/tests/tsan.supp";
  const std::vector<Suppression> supps = read_suppressions(supp_path);
  REQUIRE(!supps.empty());
  for (const Suppression& s : supps) {
    INFO(s.line);
    // race: matches any frame of either stack, also our own code's frames
    // below a queue call; race_top: matches only the top frame.
    CHECK(s.type == "race_top");
    CHECK(s.pattern.find('*') == std::string::npos);
  }
  std::vector<int> used(supps.size(), 0);
  for (const Scenario& sc : kScenarios) {
    INFO("scenario " << sc.tag << ": " << sc.what);
    const Run bare = run_scenario(sc.tag, "halt_on_error=0");
    INFO("without suppressions it printed:\n" << bare.out);
    REQUIRE(bare.out.find("WARNING: ThreadSanitizer: data race") != std::string::npos);
    CHECK(bare.status == kTsanExit);
    // The scenario's own assertions passed, report or not.
    CHECK(bare.out.find("All tests passed") != std::string::npos);
    const std::vector<std::string> tops = top_frames(bare.out);
    REQUIRE(!tops.empty());

    const Run with =
        run_scenario(sc.tag, "halt_on_error=0 print_suppressions=1 suppressions=" + supp_path);
    INFO("with " << supp_path << " it printed:\n" << with.out);
    CHECK(with.out.find("All tests passed") != std::string::npos);
    if (sc.kind == Kind::kHidden) {
      // One suppression names a top frame of the report, and it is the one
      // TSan says it used.
      bool named = false;
      for (size_t i = 0; i < supps.size(); ++i) {
        bool here = false;
        for (const std::string& t : tops)
          here = here || t.find(supps[i].pattern) != std::string::npos;
        if (!here) continue;
        named = true;
        ++used[i];
        CHECK(with.out.find(" " + supps[i].line + "\n") != std::string::npos);
      }
      CHECK(named);
      CHECK(with.out.find("WARNING: ThreadSanitizer") == std::string::npos);
      CHECK(with.status == 0);
    } else {
      // A race of ours whose stack runs through the queue (so "race:" with
      // the queue's function would hide it) but whose top frames are not
      // the suppressed function: still reported.
      CHECK(bare.out.find("ExplicitProducer::dequeue_bulk") != std::string::npos);
      CHECK(with.out.find("WARNING: ThreadSanitizer: data race") != std::string::npos);
      CHECK(with.status == kTsanExit);
    }
  }
  for (size_t i = 0; i < supps.size(); ++i) {
    INFO(supps[i].line);
    CHECK(used[i] > 0);  // a suppression that no scenario needs goes
  }
#endif
}

// The report of tests/tsan.supp's one suppression, through the collector's
// own hand-off code: the reactor's Dispatcher enqueues, and a worker takes
// datagrams exactly as Worker::run does (wait_dequeue_bulk_timed with a
// consumer token, Handoff::acquire/release around each). The worker still
// holds its buffers (a slow worker: none returned) when the reactor, under
// overload, fills the queue again. moodycamel orders the worker's read of a
// slot before the reactor's reuse of it with a release fence
// (Block::set_many_empty) and an acquire fence (Block::is_empty), which
// TSan does not model, so it reports the reactor's slot write in
// ExplicitProducer::enqueue against the worker's read in dequeue_bulk.
// The threads take turns through relaxed atomics, which give TSan no
// ordering, as nothing outside the queue orders them in the collector.
TEST_CASE("scenario: the dispatcher refills a queue block that a worker has just emptied",
          "[.][tsan_scenario_block_reuse]") {
  constexpr uint32_t kOffer = 256;
  Handoff h(1, 1, 64, 1024);
  ReactorCounters c;
  ReceiveConfig cfg;
  Dispatcher d(cfg, 0, 2 * kOffer, h, c);
  d.attach();
  Buffers bufs(2 * kOffer);

  std::atomic<int> phase{0};
  std::atomic<int> first_round{0};  // datagrams the queue took in round 1
  std::vector<uint16_t> seen;       // payload ids the worker read, in order
  bool worker_timed_out = false;
  std::thread worker([&] {
    auto& q = h.queue(0);
    moodycamel::ConsumerToken ctok(q);
    std::vector<DatagramRef> batch(64);
    if (!spin_until(phase, 1)) {
      worker_timed_out = true;
      return;
    }
    const size_t want = static_cast<size_t>(first_round.load(std::memory_order_relaxed));
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (seen.size() < want && Clock::now() < deadline) {
      const size_t n = q.wait_dequeue_bulk_timed(ctok, batch.data(), batch.size(),
                                                 std::chrono::milliseconds(50));
      for (size_t i = 0; i < n; ++i) {
        h.acquire(batch[i].reactor, batch[i].buf_id);
        uint16_t id;
        std::memcpy(&id, batch[i].data, 2);
        seen.push_back(id);
        h.release(batch[i].reactor, batch[i].buf_id);
      }
    }
    worker_timed_out = seen.size() < want;
    phase.store(2, std::memory_order_relaxed);
  });

  // Round 1: more than the queue holds; the bulk enqueue fails as a whole and
  // the dispatcher hands off one by one until the queue is full.
  d.begin_batch();
  for (uint16_t id = 0; id < kOffer; ++id) d.offer(bufs.ref(id));
  d.flush();
  const uint64_t round1 = c.handed_off.load();
  first_round.store(static_cast<int>(round1), std::memory_order_relaxed);
  phase.store(1, std::memory_order_relaxed);
  const bool drained = spin_until(phase, 2);

  // Round 2, into the blocks the worker emptied.
  if (drained) {
    d.begin_batch();
    for (uint16_t id = kOffer; id < 2 * kOffer; ++id) d.offer(bufs.ref(id));
    d.flush();
  } else {
    phase.store(2, std::memory_order_relaxed);
  }
  worker.join();

  REQUIRE(drained);
  REQUIRE_FALSE(worker_timed_out);
  REQUIRE(round1 >= 64);  // the depth asked for
  REQUIRE(round1 < kOffer);
  REQUIRE(seen.size() == round1);
  for (size_t i = 0; i < seen.size(); ++i) REQUIRE(seen[i] == i);
  // Every block the worker emptied took datagrams again, as many as before.
  CHECK(c.handed_off.load() == 2 * round1);
  CHECK(c.queue_full.load() == 2 * (kOffer - round1));
}

// Control: our own race next to the queue. The worker's batch array is
// written by the queue (ExplicitProducer::dequeue_bulk, the top frame of that
// access) and read by another thread with nothing ordering the two: a real
// race, on memory of ours, whose report names a queue function.
TEST_CASE("scenario: a thread reads a worker's batch while the queue's dequeue writes it",
          "[.][tsan_scenario_control]") {
  Handoff h(1, 1, 64, 1024);
  ReactorCounters c;
  ReceiveConfig cfg;
  Dispatcher d(cfg, 0, 64, h, c);
  d.attach();
  Buffers bufs(8);
  d.begin_batch();
  for (uint16_t id = 0; id < 8; ++id) d.offer(bufs.ref(id));
  d.flush();
  REQUIRE(c.handed_off.load() == 8);

  std::vector<DatagramRef> batch(8);
  std::atomic<int> phase{0};
  size_t taken = 0;
  std::thread worker([&] {
    moodycamel::ConsumerToken ctok(h.queue(0));
    taken = h.queue(0).wait_dequeue_bulk_timed(ctok, batch.data(), batch.size(),
                                               std::chrono::seconds(5));
    phase.store(1, std::memory_order_relaxed);
  });
  const bool dequeued = spin_until(phase, 1);
  const uint16_t peeked = dequeued ? batch[7].buf_id : 0;  // the race
  worker.join();
  REQUIRE(dequeued);
  REQUIRE(taken == 8);
  CHECK(peeked == 7);
}
