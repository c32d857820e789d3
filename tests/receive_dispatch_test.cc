// The reactor's hand-off logic (Dispatcher) without sockets: routing, order,
// allow-list, the queue-full policy and buffer returns, on fake datagrams.
#include <catch2/catch.hpp>

#include <time.h>

#include <array>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "receive/dispatch.h"

using namespace ringflow;

namespace {

// Fake receive buffers: buffer i holds a 24-byte header whose bytes 0..3 are
// i and bytes 20..21 the engine.
struct Buffers {
  std::vector<std::array<uint8_t, 24>> b;
  explicit Buffers(size_t n) : b(n) {}
  DatagramRef ref(uint16_t id, const IpAddr& from, uint8_t engine) {
    std::memset(b[id].data(), 0, 24);
    uint32_t v = id;
    std::memcpy(b[id].data(), &v, 4);
    b[id][20] = engine;
    DatagramRef d;
    d.data = b[id].data();
    d.len = 24;
    d.buf_id = id;
    d.exporter = from;
    d.exporter_port = 2055;
    return d;
  }
};

std::vector<DatagramRef> drain(Handoff& h, uint32_t w) {
  std::vector<DatagramRef> out(4096);
  size_t n = h.queue(w).try_dequeue_bulk(out.data(), out.size());
  out.resize(n);
  return out;
}

}  // namespace

TEST_CASE("each stream goes to route_datagram's worker, in offer order", "[receive]") {
  // Spec: "All datagrams of one exporter stream go to the same worker, so
  // sequence tracking sees them in order."
  ReceiveConfig cfg;
  Handoff h(4, 2, 1024, 1024);
  ReactorCounters c;
  Dispatcher d(cfg, 1, 64, h, c);
  d.attach();
  Buffers bufs(256);
  const IpAddr a = IpAddr::from_v4(0x0a000001), b = *IpAddr::parse("2001:db8::7");
  uint16_t id = 0;
  const int64_t t0 = wall_ns();
  for (int round = 0; round < 4; ++round) {
    d.begin_batch();
    for (int i = 0; i < 60; ++i, ++id) d.offer(bufs.ref(id, i % 3 ? a : b, static_cast<uint8_t>(i % 5)));
    d.flush();
    CHECK(d.dropped_count() == 0);
  }
  const int64_t t1 = wall_ns();
  CHECK(c.handed_off.load() == 240);
  size_t total = 0;
  for (uint32_t w = 0; w < 4; ++w) {
    auto got = drain(h, w);
    total += got.size();
    uint16_t last = 0;
    bool first = true;
    for (const DatagramRef& r : got) {
      CHECK(route_datagram(r, 4) == w);
      CHECK(r.reactor == 1);
      CHECK(r.recv_ns >= t0);
      CHECK(r.recv_ns <= t1);
      uint32_t v;
      std::memcpy(&v, r.data, 4);
      CHECK(v == r.buf_id);  // the ref points at its own buffer
      if (!first) CHECK(r.buf_id > last);  // FIFO per worker = per stream
      last = r.buf_id;
      first = false;
    }
  }
  CHECK(total == 240);
}

TEST_CASE("the allow-list rejects, counts and frees in the same flush", "[receive]") {
  ReceiveConfig cfg;
  cfg.allow = {*Cidr::parse("10.0.0.0/8"), *Cidr::parse("2001:db8::/32")};
  Handoff h(2, 1, 1024, 1024);
  ReactorCounters c;
  Dispatcher d(cfg, 0, 16, h, c);
  d.attach();
  Buffers bufs(16);
  d.begin_batch();
  d.offer(bufs.ref(0, IpAddr::from_v4(0x0a010203), 0));     // 10.1.2.3: in
  d.offer(bufs.ref(1, IpAddr::from_v4(0xc0000201), 0));     // 192.0.2.1: out
  d.offer(bufs.ref(2, *IpAddr::parse("2001:db8::1"), 0));   // in
  d.offer(bufs.ref(3, *IpAddr::parse("2001:db9::1"), 0));   // out
  d.offer(bufs.ref(4, IpAddr::from_v4(0x0b000001), 0));     // 11.0.0.1: out
  d.flush();
  CHECK(c.not_allowed.load() == 3);
  CHECK(c.handed_off.load() == 2);
  REQUIRE(d.dropped_count() == 3);
  CHECK(std::vector<uint16_t>(d.dropped(), d.dropped() + 3) == std::vector<uint16_t>{1, 3, 4});
}

TEST_CASE("a full queue keeps the head of the batch and drops the tail", "[receive]") {
  // Spec: "if a worker's queue is full, the datagram is dropped and counted."
  ReceiveConfig cfg;
  Handoff h(1, 1, 256, 4096);
  ReactorCounters c;
  Dispatcher d(cfg, 0, 100, h, c);
  d.attach();
  Buffers bufs(4096);
  const IpAddr a = IpAddr::from_v4(0x0a000001);
  uint16_t id = 0;
  std::vector<uint16_t> dropped;
  for (int round = 0; round < 20; ++round) {
    d.begin_batch();
    for (int i = 0; i < 100; ++i, ++id) d.offer(bufs.ref(id, a, 0));
    d.flush();
    dropped.insert(dropped.end(), d.dropped(), d.dropped() + d.dropped_count());
  }
  CHECK(c.queue_full.load() > 0);
  CHECK(c.handed_off.load() + c.queue_full.load() == 2000);
  CHECK(dropped.size() == c.queue_full.load());
  // The per-worker split names the worker whose queue was full.
  CHECK(c.queue_full_by_worker[0].load() == c.queue_full.load());
  CHECK(c.queue_full_by_worker[1].load() == 0);
  auto got = drain(h, 0);
  CHECK(got.size() == c.handed_off.load());
  // Together, queued and dropped are every buffer exactly once, and what was
  // queued is a prefix: nothing after the first drop was enqueued.
  std::vector<bool> seen(2000, false);
  for (const auto& r : got) seen[r.buf_id] = true;
  for (uint16_t b : dropped) {
    CHECK_FALSE(seen[b]);
    seen[b] = true;
  }
  for (bool s : seen) CHECK(s);
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].buf_id == i);
  // Room again after draining: the next batch goes through whole.
  d.begin_batch();
  for (int i = 0; i < 50; ++i) d.offer(bufs.ref(static_cast<uint16_t>(2000 + i), a, 0));
  d.flush();
  CHECK(d.dropped_count() == 0);
}

TEST_CASE("take_returns collects what workers gave back", "[receive]") {
  ReceiveConfig cfg;
  Handoff h(2, 1, 256, 1024);
  ReactorCounters c;
  Dispatcher d(cfg, 0, 16, h, c);
  d.attach();
  std::vector<std::thread> workers;
  std::atomic<int> enqueued{0};
  for (uint16_t w = 0; w < 2; ++w) {
    workers.emplace_back([&h, &enqueued, w] {
      moodycamel::ProducerToken tok(h.returns(0));
      std::vector<uint16_t> ids;
      for (uint16_t i = 0; i < 500; ++i) ids.push_back(static_cast<uint16_t>(w * 500 + i));
      if (h.returns(0).try_enqueue_bulk(tok, ids.data(), ids.size())) enqueued.fetch_add(1);
    });
  }
  for (auto& t : workers) t.join();
  REQUIRE(enqueued.load() == 2);
  std::vector<uint16_t> out(1024);
  std::vector<bool> seen(1000, false);
  size_t total = 0, n;
  while ((n = d.take_returns(out.data(), 100)) > 0) {
    CHECK(n <= 100);
    for (size_t i = 0; i < n; ++i) {
      CHECK_FALSE(seen[out[i]]);
      seen[out[i]] = true;
    }
    total += n;
  }
  CHECK(total == 1000);
}
