// The reactor's hand-off logic (Dispatcher) without sockets: routing, order,
// allow-list, the queue-full policy and buffer returns, on fake datagrams.
#include <catch2/catch.hpp>

#include <time.h>

#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "receive/admission.h"
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

TEST_CASE("spread = stream: each stream goes to route_datagram's worker, in offer order",
          "[receive]") {
  // receive.spread = "stream": every datagram of one exporter stream goes to
  // the same worker (fewer keys per worker table).
  ReceiveConfig cfg;
  cfg.spread = "stream";
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

// An Admission that hands every datagram off with the stream key a wire
// format would give it: here 1 + buf_id % 8 (eight streams of one address).
struct KeyingAdmission final : Admission {
  Verdict admit(DatagramRef& d, int64_t) override {
    d.stream_key = 1u + d.buf_id % 8u;
    return Verdict::kHandOff;
  }
  void release(uint16_t) override {}
  size_t take_ready(DatagramRef*, size_t) override { return 0; }
  void tick(int64_t) override {}
  uint32_t extra_buffers() const override { return 0; }
};

TEST_CASE("spread = stream: the route follows the admission's stream key, not the payload",
          "[receive]") {
  // Issue 21: route_datagram reads no NetFlow offsets; the streams of one
  // exporter address are told apart by the key its wire format gives.
  ReceiveConfig cfg;
  cfg.spread = "stream";
  Handoff h(4, 1, 1024, 1024);
  ReactorCounters c;
  KeyingAdmission adm;
  Dispatcher d(cfg, 0, 64, h, c, &adm);
  d.attach();
  Buffers bufs(64);
  const IpAddr a = IpAddr::from_v4(0x0a000001);
  d.begin_batch();
  // Same address, same payload bytes where a v5 engine would be.
  for (uint16_t id = 0; id < 64; ++id) d.offer(bufs.ref(id, a, 0));
  d.flush();
  std::map<uint32_t, uint32_t> worker_of_key;
  std::set<uint32_t> used;
  for (uint32_t w = 0; w < 4; ++w)
    for (const DatagramRef& r : drain(h, w)) {
      CHECK(r.stream_key == 1u + r.buf_id % 8u);
      CHECK(route_datagram(r, 4) == w);
      auto [it, fresh] = worker_of_key.emplace(r.stream_key, w);
      CHECK(it->second == w);  // one stream, one worker
      used.insert(w);
    }
  CHECK(worker_of_key.size() == 8);
  CHECK(used.size() > 1);  // eight streams of one address are not all on one worker
}

TEST_CASE("spread = datagram: one exporter's stream is spread evenly over every worker",
          "[receive]") {
  // Issue: "a single busy router can never use more than one worker" no more.
  ReceiveConfig cfg;
  Handoff h(3, 1, 1024, 1024);
  ReactorCounters c;
  Dispatcher d(cfg, 0, 64, h, c);
  d.attach();
  Buffers bufs(300);
  const IpAddr a = IpAddr::from_v4(0x0a000001);
  uint16_t id = 0;
  for (int round = 0; round < 5; ++round) {
    d.begin_batch();
    for (int i = 0; i < 60; ++i, ++id) d.offer(bufs.ref(id, a, 0));
    d.flush();
  }
  for (uint32_t w = 0; w < 3; ++w) {
    auto got = drain(h, w);
    CHECK(got.size() == 100);
    for (size_t i = 1; i < got.size(); ++i) CHECK(got[i].buf_id > got[i - 1].buf_id);
  }
}

namespace {

// An Admission that decides by the buffer id (id % 4: 0, 1 hand off, 2
// consumed, 3 rejected), records releases, and hands out datagrams of its own
// (ids from 1000) when asked.
struct FakeAdmission final : Admission {
  std::vector<uint16_t> released;
  std::vector<DatagramRef> ready;
  uint8_t own[8][24] = {};
  int ticks = 0;
  Verdict admit(DatagramRef& d, int64_t) override {
    switch (d.buf_id % 4) {
      case 2: return Verdict::kConsumed;
      case 3: return Verdict::kRejected;
      default: return Verdict::kHandOff;
    }
  }
  void release(uint16_t id) override { released.push_back(id); }
  size_t take_ready(DatagramRef* out, size_t max) override {
    size_t n = 0;
    while (n < max && !ready.empty()) {
      out[n++] = ready.back();
      ready.pop_back();
    }
    return n;
  }
  void tick(int64_t) override { ++ticks; }
  uint32_t extra_buffers() const override { return 8; }
};

}  // namespace

TEST_CASE("the admission decides: handed off, consumed or rejected, each counted once",
          "[receive]") {
  ReceiveConfig cfg;
  cfg.ring_entries = 64;
  Handoff h(2, 1, 1024, 64 + 8);
  ReactorCounters c;
  FakeAdmission adm;
  Dispatcher d(cfg, 0, 64, h, c, &adm);
  d.attach();
  Buffers bufs(64);
  d.begin_batch();
  for (uint16_t id = 0; id < 40; ++id) d.offer(bufs.ref(id, IpAddr::from_v4(0x0a000001), 0));
  // Two of the admission's own datagrams become ready (held data released).
  for (uint16_t k = 0; k < 2; ++k) {
    DatagramRef r;
    r.data = adm.own[k];
    r.len = 24;
    r.buf_id = static_cast<uint16_t>(64 + k);
    r.exporter = IpAddr::from_v4(0x0a000001);
    adm.ready.push_back(r);
  }
  d.flush();
  CHECK(c.handed_off.load() == 20);
  CHECK(c.consumed.load() == 10);
  CHECK(c.rejected.load() == 10);
  CHECK(c.late_handed_off.load() == 2);
  // Consumed and rejected buffers are recycled at once, without a release
  // (the admission pinned nothing for them).
  CHECK(d.dropped_count() == 20);
  CHECK(adm.released.empty());
  // The workers return everything; the admission hears of every id, the
  // backend gets only the ring's.
  auto w0 = drain(h, 0), w1 = drain(h, 1);
  CHECK(w0.size() + w1.size() == 22);
  moodycamel::ProducerToken tok(h.returns(0));
  for (const auto& v : {w0, w1})
    for (const DatagramRef& r : v) REQUIRE(h.returns(0).try_enqueue(tok, r.buf_id));
  std::vector<uint16_t> back(64);
  size_t got = 0, n;
  while ((n = d.take_returns(back.data() + got, back.size() - got)) > 0) got += n;
  CHECK(got == 20);
  for (size_t i = 0; i < got; ++i) CHECK(back[i] < 64);
  CHECK(adm.released.size() == 22);
  d.tick(0);
  CHECK(adm.ticks == 1);
}

TEST_CASE("an admitted datagram that meets a full queue is released and dropped", "[receive]") {
  ReceiveConfig cfg;
  cfg.ring_entries = 2048;
  Handoff h(1, 1, 256, 2048 + 8);
  ReactorCounters c;
  FakeAdmission adm;
  Dispatcher d(cfg, 0, 2048, h, c, &adm);
  d.attach();
  Buffers bufs(2048);
  d.begin_batch();
  uint64_t handed_off = 0;
  for (uint16_t id = 0; id < 2048; ++id) {
    if (id % 4 >= 2) continue;  // only ids the fake hands off
    d.offer(bufs.ref(id, IpAddr::from_v4(0x0a000001), 0));
    ++handed_off;
  }
  d.flush();
  CHECK(c.handed_off.load() + c.queue_full.load() == handed_off);
  CHECK(c.queue_full.load() > 0);
  CHECK(adm.released.size() == c.queue_full.load());
  CHECK(d.dropped_count() == c.queue_full.load());
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
