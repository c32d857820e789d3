// The receive path end to end on real loopback sockets, for both backends:
// sockets -> Reactor -> Handoff queues -> a fake worker that records what it
// got and gives the buffers back. Every load loop is bounded in count and
// time. Where the kernel refuses io_uring, a case with an io_uring variant
// reports itself skipped (tests/support/skip.h), which fails a CI run.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "receive/handoff.h"
#include "receive/reactor.h"
#include "receive/udp_socket.h"
#include "support/skip.h"

using namespace ringflow;
using namespace std::chrono_literals;

namespace {

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

const char* name_of(Backend b) { return b == Backend::kIoUring ? "io_uring" : "recvmmsg"; }

// "" when the io_uring variants can run here, else why not.
const std::string& io_uring_unusable() {
  static const std::string why = [] {
    std::string w;
    return probe_io_uring(&w) ? std::string() : w;
  }();
  return why;
}

// Test payload: a v5-sized header whose bytes 0..3 carry the stream id and
// 4..7 the sequence number (little endian), 20..21 engine type/id (where a v5
// header has them); the rest is filler.
std::vector<uint8_t> payload(uint32_t stream, uint32_t seq, uint8_t engine = 0, size_t len = 72) {
  std::vector<uint8_t> p(len, 0xAB);
  if (len >= 8) {
    std::memcpy(p.data(), &stream, 4);
    std::memcpy(p.data() + 4, &seq, 4);
  }
  if (len >= 22) {
    p[20] = engine;
    p[21] = static_cast<uint8_t>(engine * 7);
  }
  return p;
}

// A UDP socket on loopback (an "exporter").
class Sender {
 public:
  explicit Sender(bool v6) : v6_(v6) {
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *a;
    }
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0);
    len = sizeof ss;
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
    IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), &port_);
  }
  ~Sender() { ::close(fd_); }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void send(const Endpoint& to, const std::vector<uint8_t>& bytes) {
    sockaddr_storage ss;
    Endpoint dst = to;
    if (dst.any_v6) {  // [::] listener: aim at the loopback of our family
      dst.any_v6 = false;
      dst.addr = v6_ ? *IpAddr::parse("::1") : IpAddr::from_v4(0x7f000001);
    }
    socklen_t len = dst.to_sockaddr(&ss);
    REQUIRE(::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
            static_cast<ssize_t>(bytes.size()));
  }
  uint16_t port() const { return port_; }

 private:
  bool v6_;
  int fd_ = -1;
  uint16_t port_ = 0;
};

struct Got {
  uint32_t stream = 0, seq = 0;
  uint8_t engine = 0, reactor = 0, socket = 0;
  uint16_t port = 0;
  uint32_t len = 0;
  IpAddr exporter;
  int64_t recv_ns = 0;
  uint32_t worker = 0;
};

// Stands in for the decode workers: one thread per queue, dequeues in bulk,
// records each datagram, returns the buffers to their reactors in bulk.
class FakeWorkers {
 public:
  explicit FakeWorkers(Handoff& h) : h_(h), got_(h.workers()) {
    for (uint32_t w = 0; w < h.workers(); ++w) threads_.emplace_back([this, w] { loop(w); });
  }
  ~FakeWorkers() { quit(); }
  FakeWorkers(const FakeWorkers&) = delete;
  FakeWorkers& operator=(const FakeWorkers&) = delete;

  // pause(true) returns once every worker is parked, so nothing is dequeued
  // after it (a worker may be inside a timed dequeue when it is called).
  void pause(bool p) {
    paused_.store(p);
    if (p) {
      while (parked_.load() != threads_.size()) std::this_thread::sleep_for(100us);
    }
  }
  void slow(std::chrono::microseconds per_datagram) { slow_us_.store(per_datagram.count()); }
  void quit() {
    quit_.store(true);
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  uint64_t total() const { return total_.load(); }
  uint64_t failed_returns() const { return failed_returns_.load(); }
  std::vector<Got> all() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Got> out;
    for (const auto& g : got_) out.insert(out.end(), g.begin(), g.end());
    return out;
  }
  std::vector<Got> of(uint32_t w) const {
    std::lock_guard<std::mutex> lock(mu_);
    return got_[w];
  }

 private:
  void loop(uint32_t w) {
    auto& q = h_.queue(w);
    moodycamel::ConsumerToken ctok(q);
    std::vector<moodycamel::ProducerToken> rtok;
    for (uint32_t r = 0; r < h_.reactors(); ++r) rtok.emplace_back(h_.returns(r));
    std::vector<DatagramRef> batch(256);
    std::vector<std::vector<uint16_t>> ret(h_.reactors());
    while (!quit_.load()) {
      if (paused_.load()) {
        parked_.fetch_add(1);
        while (paused_.load() && !quit_.load()) std::this_thread::sleep_for(1ms);
        parked_.fetch_sub(1);
        continue;
      }
      size_t n = q.wait_dequeue_bulk_timed(ctok, batch.data(), batch.size(), 5000);
      for (size_t i = 0; i < n; ++i) {
        const DatagramRef& d = batch[i];
        h_.acquire(d.reactor, d.buf_id);  // as the real worker does (TSan only)
        Got g;
        if (d.len >= 8) {
          std::memcpy(&g.stream, d.data, 4);
          std::memcpy(&g.seq, d.data + 4, 4);
        }
        if (d.len >= 22) g.engine = d.data[20];
        g.reactor = d.reactor;
        g.socket = d.socket;
        g.port = d.exporter_port;
        g.len = d.len;
        g.exporter = d.exporter;
        g.recv_ns = d.recv_ns;
        g.worker = w;
        {
          std::lock_guard<std::mutex> lock(mu_);
          got_[w].push_back(g);
        }
        h_.release(d.reactor, d.buf_id);
        ret[d.reactor].push_back(d.buf_id);
        if (auto us = slow_us_.load()) std::this_thread::sleep_for(std::chrono::microseconds(us));
      }
      for (uint32_t r = 0; r < h_.reactors(); ++r) {
        if (ret[r].empty()) continue;
        // The return queue holds a whole ring per producer (see Handoff), so
        // this cannot fail; a failure would show up as a leaked buffer.
        if (!h_.returns(r).try_enqueue_bulk(rtok[r], ret[r].data(), ret[r].size()))
          failed_returns_.fetch_add(ret[r].size());
        ret[r].clear();
      }
      total_.fetch_add(n);
    }
  }

  Handoff& h_;
  mutable std::mutex mu_;
  std::vector<std::vector<Got>> got_;
  std::atomic<bool> paused_{false}, quit_{false};
  std::atomic<size_t> parked_{0};
  std::atomic<int64_t> slow_us_{0};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> failed_returns_{0};
  std::vector<std::thread> threads_;
};

struct Totals {
  uint64_t datagrams = 0, bytes = 0, handed_off = 0, oversize = 0, not_allowed = 0,
           queue_full = 0, enobufs = 0, cq_overflow = 0, rearms = 0, kernel_drops = 0;
  uint64_t outcomes() const { return handed_off + oversize + not_allowed + queue_full; }
};

// Sockets + handoff + reactors + fake workers, started with one backend.
class Rig {
 public:
  Rig(ReceiveConfig cfg, Backend backend) : cfg_(std::move(cfg)) {
    cfg_.backend = backend;
    if (cfg_.listen.empty()) cfg_.listen.push_back(*Endpoint::parse("127.0.0.1:0"));
    if (cfg_.workers == 0) cfg_.workers = 2;
    if (cfg_.reactors == 0) cfg_.reactors = 1;  // auto is the collector's to resolve
    std::vector<std::vector<UdpSocket>> sockets;
    std::string error;
    REQUIRE(open_sockets(cfg_, &sockets, &error));
    for (const auto& s : sockets[0]) endpoints_.push_back(s.endpoint());
    handoff_ = std::make_unique<Handoff>(cfg_.workers, cfg_.reactors, cfg_.queue_depth,
                                         cfg_.ring_entries);
    for (uint32_t r = 0; r < cfg_.reactors; ++r) {
      counters_.push_back(std::make_unique<ReactorCounters>());
      std::string why;
      auto reactor = make_reactor(cfg_, r, std::move(sockets[r]), *handoff_, *counters_[r], &why,
                                  &error);
      INFO(error);
      REQUIRE(reactor);
      REQUIRE(std::string(reactor->backend()) == name_of(backend));
      REQUIRE(why.empty());
      reactors_.push_back(std::move(reactor));
    }
    workers_ = std::make_unique<FakeWorkers>(*handoff_);
    for (auto& r : reactors_) threads_.emplace_back([p = r.get()] { p->run(); });
  }
  ~Rig() {
    stop();
    workers_.reset();  // workers first: they hold buffers of the reactors
  }

  void stop() {
    for (auto& r : reactors_) r->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  const Endpoint& at(size_t address = 0) const { return endpoints_[address]; }
  FakeWorkers& workers() { return *workers_; }
  Reactor& reactor(uint32_t r) { return *reactors_[r]; }
  const ReactorCounters& counters(uint32_t r) const { return *counters_[r]; }
  const ReceiveConfig& cfg() const { return cfg_; }

  Totals totals() const {
    Totals t;
    for (const auto& c : counters_) {
      t.datagrams += c->datagrams.load();
      t.bytes += c->bytes.load();
      t.handed_off += c->handed_off.load();
      t.oversize += c->oversize.load();
      t.not_allowed += c->not_allowed.load();
      t.queue_full += c->queue_full.load();
      t.enobufs += c->enobufs.load();
      t.cq_overflow += c->cq_overflow.load();
      t.rearms += c->rearms.load();
      t.kernel_drops += c->kernel_drops.load();
    }
    return t;
  }
  bool all_buffers_home() const {
    for (const auto& r : reactors_)
      if (r->buffers_home() != cfg_.ring_entries) return false;
    return true;
  }

 private:
  ReceiveConfig cfg_;
  std::vector<Endpoint> endpoints_;
  std::unique_ptr<Handoff> handoff_;
  std::vector<std::unique_ptr<ReactorCounters>> counters_;
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::unique_ptr<FakeWorkers> workers_;
  std::vector<std::thread> threads_;
};

// The kernel's view of the IPv4 sockets bound to 127.0.0.1:`port`, summed
// from /proc/net/udp: bytes queued (rx_queue) and datagrams dropped.
struct ProcUdp {
  uint64_t rx_queue = 0, drops = 0;
  bool bound = false;  // a socket is bound to the port
};
ProcUdp proc_udp(uint16_t port) {
  std::ifstream f("/proc/net/udp");
  std::string line;
  std::getline(f, line);
  char want[16];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  ProcUdp p;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string sl, local, remote, st, queues, field, last;
    in >> sl >> local >> remote >> st >> queues;
    if (local != want) continue;
    p.bound = true;
    p.rx_queue += std::stoull(queues.substr(queues.find(':') + 1), nullptr, 16);
    while (in >> field) last = field;
    p.drops += std::stoull(last);
  }
  return p;
}

// Sends `count` datagrams of `stream` in bursts, waiting after each burst
// until the reactors have taken them, so that no socket buffer overflows.
void send_paced(Rig& rig, Sender& s, const Endpoint& to, uint32_t stream, uint32_t count,
                uint8_t engine = 0, size_t len = 72) {
  const uint64_t base = rig.totals().datagrams;
  for (uint32_t i = 0; i < count; ++i) {
    s.send(to, payload(stream, i, engine, len));
    if ((i + 1) % 256 == 0)
      REQUIRE(wait_until([&] { return rig.totals().datagrams >= base + i + 1; }));
  }
  REQUIRE(wait_until([&] { return rig.totals().datagrams >= base + count; }));
}

// The reactor counts a datagram when it takes it and its outcome after the
// batch's enqueue, so a worker can see a datagram before handed_off does.
// Returns the totals once every datagram taken has its outcome counted.
Totals settled(const Rig& rig) {
  Totals t;
  wait_until([&] {
    t = rig.totals();
    return t.outcomes() == t.datagrams;
  });
  return t;
}

#define FOR_EACH_BACKEND()                                                         \
  const Backend backend = GENERATE(Backend::kIoUring, Backend::kRecvmmsg);         \
  INFO("backend: " << name_of(backend));                                           \
  if (backend == Backend::kIoUring && !io_uring_unusable().empty())                \
  RF_SKIP("io_uring unusable here, so this case's io_uring variant cannot run: "  \
          << io_uring_unusable())

}  // namespace

TEST_CASE("N datagrams in, N accounted, payload and metadata intact", "[receive]") {
  // Spec: "Every datagram taken from the kernel is counted in `datagrams` and
  // ends in exactly one of handed_off, oversize, not_allowed, queue_full."
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.workers = 3;
  Rig rig(cfg, backend);
  Sender a(false), b(false);
  const uint32_t n = 3000;
  const int64_t t0 = wall_ns();
  send_paced(rig, a, rig.at(), 1, n);
  send_paced(rig, b, rig.at(), 2, n, 3, 500);
  REQUIRE(wait_until([&] { return rig.workers().total() == 2 * n; }));
  const int64_t t1 = wall_ns();

  Totals t = settled(rig);
  CHECK(t.datagrams == 2 * n);
  CHECK(t.handed_off == 2 * n);
  CHECK(t.outcomes() == t.datagrams);
  CHECK(t.bytes == uint64_t{n} * 72 + uint64_t{n} * 500);
  CHECK(t.kernel_drops == 0);
  CHECK(t.cq_overflow == 0);

  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (const Got& g : rig.workers().all()) {
    seen.insert({g.stream, g.seq});
    CHECK(g.exporter == IpAddr::from_v4(0x7f000001));
    CHECK(g.port == (g.stream == 1 ? a.port() : b.port()));
    CHECK(g.len == (g.stream == 1 ? 72u : 500u));
    CHECK(g.recv_ns >= t0);
    CHECK(g.recv_ns <= t1);
    CHECK(g.reactor == 0);
    CHECK(g.socket == 0);
  }
  CHECK(seen.size() == 2 * n);  // each (stream, seq) exactly once
  // Every buffer comes back once the workers have released them.
  CHECK(wait_until([&] { return rig.all_buffers_home(); }));
}

TEST_CASE("a datagram larger than buffer_size is counted as oversize and the next still arrives",
          "[receive]") {
  // Spec: "MSG_TRUNC so an oversized datagram is detected and counted, never
  // silently cut."
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.buffer_size = 1464;
  Rig rig(cfg, backend);
  Sender s(false);
  s.send(rig.at(), payload(7, 0, 0, 1465));  // one byte too many
  s.send(rig.at(), payload(7, 1, 0, 1464));  // exactly fits
  s.send(rig.at(), payload(7, 2, 0, 9000));
  s.send(rig.at(), payload(7, 3, 0, 100));
  REQUIRE(wait_until([&] { return rig.workers().total() == 2; }));
  REQUIRE(wait_until([&] { return rig.totals().datagrams == 4; }));
  Totals t = settled(rig);
  CHECK(t.oversize == 2);
  CHECK(t.handed_off == 2);
  CHECK(t.bytes == 1465u + 1464u + 9000u + 100u);
  auto got = rig.workers().all();
  REQUIRE(got.size() == 2);
  std::map<uint32_t, uint32_t> len_by_seq;
  for (const Got& g : got) len_by_seq[g.seq] = g.len;
  CHECK(len_by_seq == std::map<uint32_t, uint32_t>{{1, 1464}, {3, 100}});
  CHECK(wait_until([&] { return rig.all_buffers_home(); }));
}

TEST_CASE("an IPv6 listener on [::1] receives and reports the IPv6 exporter", "[receive]") {
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.listen = {*Endpoint::parse("[::1]:0")};
  Rig rig(cfg, backend);
  Sender s(true);
  send_paced(rig, s, rig.at(), 9, 500);
  REQUIRE(wait_until([&] { return rig.workers().total() == 500; }));
  CHECK(settled(rig).handed_off == 500);
  for (const Got& g : rig.workers().all()) {
    CHECK(g.exporter == *IpAddr::parse("::1"));
    CHECK(g.port == s.port());
  }
}

TEST_CASE("a dual-stack [::] listener receives IPv4 exporters as v4 addresses", "[receive]") {
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.listen = {*Endpoint::parse("[::]:0")};
  Rig rig(cfg, backend);
  Sender v4(false), v6(true);
  send_paced(rig, v4, rig.at(), 1, 100);
  send_paced(rig, v6, rig.at(), 2, 100);
  REQUIRE(wait_until([&] { return rig.workers().total() == 200; }));
  for (const Got& g : rig.workers().all()) {
    if (g.stream == 1) {
      CHECK(g.exporter.is_v4());
      CHECK(g.exporter == IpAddr::from_v4(0x7f000001));
    } else {
      CHECK(g.exporter == *IpAddr::parse("::1"));
    }
  }
}

TEST_CASE("two reactors share a port with SO_REUSEPORT and the sum is what was sent", "[receive]") {
  // Spec: "receive.reactors = N opens N sockets with SO_REUSEPORT per address."
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.reactors = 2;
  Rig rig(cfg, backend);
  // The kernel hashes each source port to one socket; add sources until both
  // reactors have had traffic (two sources hash alike with p = 1/2).
  std::vector<std::unique_ptr<Sender>> senders;
  uint32_t sent = 0;
  while (senders.size() < 40 &&
         (rig.counters(0).datagrams.load() == 0 || rig.counters(1).datagrams.load() == 0 ||
          senders.size() < 4)) {
    senders.push_back(std::make_unique<Sender>(false));
    send_paced(rig, *senders.back(), rig.at(), static_cast<uint32_t>(senders.size()), 200);
    sent += 200;
  }
  REQUIRE(wait_until([&] { return rig.workers().total() == sent; }));
  Totals t = settled(rig);
  CHECK(t.datagrams == sent);
  CHECK(t.handed_off == sent);
  CHECK(rig.counters(0).datagrams.load() > 0);
  CHECK(rig.counters(1).datagrams.load() > 0);
  // One exporter, one socket: all of a source's datagrams came via one reactor.
  std::map<uint32_t, std::set<uint8_t>> reactors_of_stream;
  for (const Got& g : rig.workers().all()) reactors_of_stream[g.stream].insert(g.reactor);
  CHECK(reactors_of_stream.size() == senders.size());
  for (const auto& [stream, rs] : reactors_of_stream) CHECK(rs.size() == 1);
  CHECK(wait_until([&] { return rig.all_buffers_home(); }));
}

TEST_CASE("exporters outside the allow-list are rejected and counted", "[receive]") {
  // Spec: "An optional exporter allow-list (CIDR list) rejects and counts
  // datagrams from anyone else." Also: several listen addresses per reactor.
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.listen = {*Endpoint::parse("127.0.0.1:0"), *Endpoint::parse("[::1]:0")};
  cfg.allow = {*Cidr::parse("10.0.0.0/8"), *Cidr::parse("::1/128")};
  Rig rig(cfg, backend);
  Sender v4(false), v6(true);
  send_paced(rig, v4, rig.at(0), 1, 300);
  send_paced(rig, v6, rig.at(1), 2, 200);
  REQUIRE(wait_until([&] { return rig.workers().total() == 200; }));
  Totals t = settled(rig);
  CHECK(t.datagrams == 500);
  CHECK(t.not_allowed == 300);
  CHECK(t.handed_off == 200);
  for (const Got& g : rig.workers().all()) {
    CHECK(g.stream == 2);
    CHECK(g.socket == 1);  // the [::1] socket is the reactor's second
  }
  // Rejected datagrams' buffers were recycled at once.
  CHECK(wait_until([&] { return rig.all_buffers_home(); }));
}

TEST_CASE("a full worker queue drops and counts, and after draining every buffer is back",
          "[receive]") {
  // Spec: "if a worker's queue is full, the datagram is dropped and counted."
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.workers = 1;
  cfg.queue_depth = 256;
  cfg.ring_entries = 2048;
  Rig rig(cfg, backend);
  rig.workers().pause(true);
  Sender s(false);
  const uint32_t n = 1500;  // more than the queue holds, fewer than the buffers
  send_paced(rig, s, rig.at(), 1, n);
  Totals t = settled(rig);
  CHECK(t.datagrams == n);
  CHECK(t.queue_full > 0);
  CHECK(t.handed_off + t.queue_full == n);
  // Dropped buffers went straight back; queued ones are still out.
  CHECK(wait_until([&] { return rig.reactor(0).buffers_home() == cfg.ring_entries - t.handed_off; }));
  rig.workers().pause(false);
  REQUIRE(wait_until([&] { return rig.workers().total() == t.handed_off; }));
  CHECK(wait_until([&] { return rig.all_buffers_home(); }));
  // The queue keeps the head of the stream and drops the tail: no reordering.
  auto got = rig.workers().all();
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i].seq > got[i - 1].seq);
}

TEST_CASE("per-exporter order is preserved through the hand-off with several workers",
          "[receive]") {
  // Spec: "All datagrams of one exporter stream go to the same worker, so
  // sequence tracking sees them in order."
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.workers = 4;
  cfg.batch = 32;
  Rig rig(cfg, backend);
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < 6; ++i) senders.push_back(std::make_unique<Sender>(false));
  const uint32_t per_stream = 400;
  // Interleave streams (sender x engine) datagram by datagram.
  uint32_t sent = 0;
  for (uint32_t seq = 0; seq < per_stream; ++seq) {
    for (size_t i = 0; i < senders.size(); ++i)
      for (uint8_t engine = 0; engine < 2; ++engine) {
        senders[i]->send(rig.at(), payload(static_cast<uint32_t>(i), seq, engine));
        ++sent;
      }
    if (seq % 16 == 15) REQUIRE(wait_until([&] { return rig.totals().datagrams == sent; }));
  }
  REQUIRE(wait_until([&] { return rig.workers().total() == sent; }));
  CHECK(rig.totals().kernel_drops == 0);
  std::set<uint32_t> workers_used;
  std::map<std::pair<uint16_t, uint8_t>, uint32_t> worker_of;
  std::map<std::pair<uint16_t, uint8_t>, uint32_t> next_seq;
  for (uint32_t w = 0; w < cfg.workers; ++w) {
    for (const Got& g : rig.workers().of(w)) {
      auto key = std::make_pair(g.port, g.engine);
      auto [it, fresh] = worker_of.emplace(key, w);
      CHECK(it->second == w);  // one stream, one worker
      CHECK(g.seq == next_seq[key]);  // in order, nothing missing
      next_seq[key] = g.seq + 1;
      workers_used.insert(w);
    }
  }
  CHECK(worker_of.size() == senders.size() * 2);
  for (const auto& [key, next] : next_seq) CHECK(next == per_stream);
  CHECK(workers_used.size() > 1);  // 12 streams over 4 workers
}

TEST_CASE("stop() hands off everything already received", "[receive]") {
  // Spec: "run() receives until stop(); then seals the sockets, takes what
  // they hold, hands it off and returns".
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.workers = 2;
  Rig rig(cfg, backend);
  rig.workers().pause(true);
  Sender s(false);
  send_paced(rig, s, rig.at(), 1, 1000);
  // A burst still arriving while stop() lands.
  for (uint32_t i = 1000; i < 3000; ++i) s.send(rig.at(), payload(1, i));
  rig.stop();
  Totals t = settled(rig);
  // Everything sent reached the socket before the seal (loopback delivers
  // within sendto), so nothing is a kernel drop and everything was taken.
  CHECK(t.datagrams == 3000);
  CHECK(t.kernel_drops == 0);
  CHECK(t.outcomes() == t.datagrams);
  CHECK(t.queue_full == 0);
  CHECK(t.handed_off == t.datagrams);
  rig.workers().pause(false);
  CHECK(wait_until([&] { return rig.workers().total() == t.handed_off; }));
  // Nothing more is taken from the kernel after run() returned: run() closed
  // its sockets as its last step, after reading their final drop counts
  // (issue 26 item 9), so the port has no socket left to queue into, and a
  // datagram sent now is refused by the kernel, not received.
  CHECK_FALSE(proc_udp(rig.at().port).bound);
  s.send(rig.at(), payload(1, 99999));
  CHECK(rig.totals().datagrams == t.datagrams);
}

TEST_CASE("stop() takes what the socket buffer holds, also when every buffer is out",
          "[receive][shutdown]") {
  // Issue 16: "at SIGTERM, datagrams still in the kernel's socket buffer are
  // lost with the socket". A stalled worker holds the whole ring, so most of
  // the burst waits in the socket when stop() is called; stop() must wait for
  // buffers and take it all.
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.ring_entries = 64;
  cfg.batch = 16;
  cfg.workers = 1;
  Rig rig(cfg, backend);
  rig.workers().pause(true);
  Sender s(false);
  const uint32_t n = 1000;
  for (uint32_t i = 0; i < n; ++i) s.send(rig.at(), payload(1, i));
  REQUIRE(wait_until([&] { return rig.reactor(0).buffers_home() == 0; }));
  CHECK(rig.totals().datagrams == cfg.ring_entries);
  std::thread stopper([&] { rig.stop(); });
  rig.workers().pause(false);
  stopper.join();
  Totals t = settled(rig);
  CHECK(t.datagrams == n);
  CHECK(t.kernel_drops == 0);
  CHECK(t.handed_off == n);
  REQUIRE(wait_until([&] { return rig.workers().total() == n; }));
  auto got = rig.workers().all();
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].seq == i);
}

TEST_CASE("begin_drain(): quiet() once the sockets have been silent, not while data waits",
          "[receive][shutdown]") {
  FOR_EACH_BACKEND();
  ReceiveConfig cfg;
  cfg.ring_entries = 64;
  cfg.batch = 16;
  cfg.workers = 1;
  Rig rig(cfg, backend);
  Reactor& r = rig.reactor(0);
  CHECK_FALSE(r.quiet());  // not draining: never quiet
  r.begin_drain();
  REQUIRE(wait_until([&] { return r.quiet(); }));
  // A datagram makes it busy again, then quiet once the silence is long enough.
  Sender s(false);
  s.send(rig.at(), payload(1, 0));
  CHECK(wait_until([&] { return !r.quiet(); }));
  CHECK(wait_until([&] { return r.quiet(); }));
  CHECK(rig.totals().handed_off == 1);
  // Every buffer out and datagrams waiting in the socket: not quiet, however
  // long nothing new arrives (four times the quiet period here).
  rig.workers().pause(true);
  for (uint32_t i = 1; i <= 200; ++i) s.send(rig.at(), payload(1, i));
  REQUIRE(wait_until([&] { return r.buffers_home() == 0; }));
  // Wait for the reactor's own verdict from a turn at least four quiet
  // periods later (positive: a turn that happened), then read it.
  const int64_t later = monotonic_ns() + 4 * kDrainQuietMs * 1000000;
  REQUIRE(wait_until([&] { return r.drain_observed_ns() >= later; }));
  CHECK_FALSE(r.quiet());
  rig.workers().pause(false);
  CHECK(wait_until([&] { return r.quiet(); }));
  CHECK(rig.totals().handed_off == 201);
}

TEST_CASE("a dry buffer ring recovers and kernel drops explain whatever was lost", "[receive]") {
  // Spec: "-ENOBUFS (ring ran dry) is counted and recovered, not fatal" and
  // "While the ring is dry the reactor must keep draining returns and re-arm".
  FOR_EACH_BACKEND();
  SECTION("large socket buffer: nothing lost") {
    ReceiveConfig cfg;
    cfg.ring_entries = 64;
    cfg.batch = 16;
    cfg.workers = 1;
    Rig rig(cfg, backend);
    rig.workers().pause(true);
    Sender s(false);
    const uint32_t n = 1000;
    for (uint32_t i = 0; i < n; ++i) s.send(rig.at(), payload(1, i));
    REQUIRE(wait_until([&] { return rig.totals().datagrams == 64; }));
    // The reactor has seen its ring dry (it publishes buffers_home() on a
    // turn; io_uring also has the kernel's ENOBUFS for a datagram it could
    // not place), and the rest of the burst waits in the socket.
    REQUIRE(wait_until([&] { return rig.reactor(0).buffers_home() == 0; }));
    if (backend == Backend::kIoUring)
      REQUIRE(wait_until([&] { return rig.totals().enobufs > 0; }));
    CHECK(proc_udp(rig.at().port).rx_queue > 0);
    CHECK(rig.totals().datagrams == 64);  // every buffer is with the (stalled) worker
    rig.workers().slow(20us);
    rig.workers().pause(false);
    REQUIRE(wait_until([&] { return rig.workers().total() == n; }, 30s));
    Totals t = settled(rig);
    CHECK(t.datagrams == n);
    CHECK(t.handed_off == n);
    CHECK(t.kernel_drops == 0);
    if (backend == Backend::kIoUring) CHECK(t.rearms > 0);
    auto got = rig.workers().all();
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].seq == i);
    CHECK(wait_until([&] { return rig.all_buffers_home(); }));
  }
  SECTION("small socket buffer: datagrams + kernel drops == sent") {
    ReceiveConfig cfg;
    cfg.ring_entries = 64;
    cfg.batch = 16;
    cfg.workers = 1;
    cfg.socket_buffer = 64 << 10;
    Rig rig(cfg, backend);
    rig.workers().pause(true);
    Sender s(false);
    const uint32_t n = 3000;
    for (uint32_t i = 0; i < n; ++i) s.send(rig.at(), payload(1, i, 0, 200));
    // Loopback delivers or drops within sendto: the kernel has dropped some
    // already, and the stalled worker holds the whole ring.
    REQUIRE(proc_udp(rig.at().port).drops > 0);
    REQUIRE(wait_until([&] { return rig.reactor(0).buffers_home() == 0; }));
    rig.workers().pause(false);
    // Wait until the kernel shows the socket buffer empty and the workers
    // have everything the reactor took.
    REQUIRE(wait_until([&] {
      return proc_udp(rig.at().port).rx_queue == 0 &&
             rig.workers().total() == rig.totals().datagrams;
    }));
    // Datagrams queued after the drops carry the socket's drop count
    // (SO_RXQ_OVFL), which the reactor publishes as it takes them.
    for (uint32_t i = 0; i < 10; ++i) s.send(rig.at(), payload(2, i));
    CHECK(wait_until([&] {
      Totals t = settled(rig);
      return t.kernel_drops > 0 && t.datagrams + t.kernel_drops == n + 10;
    }, 3s));
    rig.stop();  // also refreshes the kernel drop counter from /proc
    Totals t = settled(rig);
    CHECK(t.kernel_drops > 0);
    CHECK(t.datagrams + t.kernel_drops == n + 10);
    CHECK(t.handed_off == t.datagrams);
  }
}

namespace {

// Makes io_uring_setup fail with EPERM in the calling thread only, like
// Docker's default seccomp profile. false if seccomp is not available.
bool deny_io_uring_in_this_thread() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  // No SECCOMP_FILTER_FLAG_TSYNC: the filter applies to this thread only.
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

}  // namespace

TEST_CASE("auto falls back to recvmmsg when io_uring is denied, and says why", "[receive]") {
  // Spec: "if io_uring cannot be used (EPERM under Docker's default seccomp
  // ...), a recvmmsg reactor with the same interface takes over, and the log
  // says which backend runs and why."
  ReceiveConfig cfg;
  cfg.listen = {*Endpoint::parse("127.0.0.1:0")};
  cfg.workers = 1;
  Handoff handoff(1, 1, cfg.queue_depth, cfg.ring_entries);
  ReactorCounters counters;
  bool seccomp_ok = false;
  std::unique_ptr<Reactor> reactor;
  std::string why, forced_error;
  bool forced_null = false;
  Endpoint at;
  std::thread t([&] {
    if (!deny_io_uring_in_this_thread()) return;
    seccomp_ok = true;
    std::vector<std::vector<UdpSocket>> sockets;
    std::string error;
    if (!open_sockets(cfg, &sockets, &error)) return;
    at = sockets[0][0].endpoint();
    ReceiveConfig forced = cfg;
    forced.backend = Backend::kIoUring;
    std::vector<std::vector<UdpSocket>> other;
    forced.listen = {*Endpoint::parse("127.0.0.1:0")};
    if (open_sockets(forced, &other, &error)) {
      ReactorCounters c2;
      std::string w2;
      forced_null = make_reactor(forced, 0, std::move(other[0]), handoff, c2, &w2,
                                 &forced_error) == nullptr;
    }
    cfg.backend = Backend::kAuto;
    reactor = make_reactor(cfg, 0, std::move(sockets[0]), handoff, counters, &why, &error);
  });
  t.join();
  if (!seccomp_ok) RF_SKIP("seccomp filters unavailable here, so io_uring cannot be denied");
  CHECK(forced_null);
  CHECK_THAT(forced_error, Catch::Contains("io_uring") && Catch::Contains("not permitted"));
  REQUIRE(reactor);
  CHECK(std::string(reactor->backend()) == "recvmmsg");
  CHECK_THAT(why, Catch::Contains("Operation not permitted") && Catch::Contains("recvmmsg"));
  // The fallback really receives.
  FakeWorkers workers(handoff);
  std::thread rt([&] { reactor->run(); });
  Sender s(false);
  for (uint32_t i = 0; i < 50; ++i) s.send(at, payload(1, i));
  CHECK(wait_until([&] { return workers.total() == 50; }));
  reactor->stop();
  rt.join();
  workers.quit();
  CHECK(counters.handed_off.load() == 50);
}

TEST_CASE("auto picks io_uring exactly when the probe accepts it", "[receive]") {
  std::string reason;
  const bool usable = probe_io_uring(&reason);
  ReceiveConfig cfg;
  cfg.listen = {*Endpoint::parse("127.0.0.1:0")};
  std::vector<std::vector<UdpSocket>> sockets;
  std::string error, why;
  REQUIRE(open_sockets(cfg, &sockets, &error));
  Handoff handoff(1, 1, cfg.queue_depth, cfg.ring_entries);
  ReactorCounters counters;
  auto r = make_reactor(cfg, 0, std::move(sockets[0]), handoff, counters, &why, &error);
  REQUIRE(r);
  if (usable) {
    CHECK(std::string(r->backend()) == "io_uring");
    CHECK(why.empty());
  } else {
    CHECK(std::string(r->backend()) == "recvmmsg");
    CHECK_THAT(why, Catch::Contains(reason));
  }
}
