// End to end, in one process: real sockets on loopback -> reactors -> queues
// -> workers -> aggregation -> flusher -> a capturing sink, for both receive
// backends. Checks the accounting invariant of docs/architecture.md:
//   reactor.datagrams = handed_off + oversize + not_allowed + queue_full
//   handed_off = decoded + sum(rejects)
// and that every decoded flow reaches the sink, also when the collector is
// stopped while datagrams are still queued.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aggregate/flush_batch.h"
#include "gen/v5_encoder.h"
#include "pipeline/collector.h"
#include "sink/sink.h"

using namespace ringflow;

namespace {

struct Captured {
  std::mutex mu;
  uint64_t flows = 0, packets = 0, bytes = 0, batches = 0, partial_batches = 0;
  void reset() {
    std::lock_guard<std::mutex> l(mu);
    flows = packets = bytes = batches = partial_batches = 0;
  }
};
Captured g_captured;

class CaptureSink : public Sink {
 public:
  const std::string& name() const override { return name_; }
  bool write(const FlushBatch& b) override {
    std::lock_guard<std::mutex> l(g_captured.mu);
    g_captured.flows += b.totals.flows;
    g_captured.packets += b.totals.packets;
    g_captured.bytes += b.totals.bytes;
    ++g_captured.batches;
    if (b.partial) ++g_captured.partial_batches;
    return true;
  }

 private:
  std::string name_ = "capture";
};

// The "text" sink type is replaced by the capturing sink in this binary.
void install_capture_sink() {
  static bool once = [] {
    register_sink_factory(SinkType::kText, [](const SinkConfig&, const OutputConfig&,
                                              std::string*) -> std::unique_ptr<Sink> {
      return std::make_unique<CaptureSink>();
    });
    return true;
  }();
  (void)once;
}

Config test_config(Backend backend, uint32_t workers) {
  Config c;
  c.receive.listen = {*Endpoint::parse("127.0.0.1:0")};
  c.receive.backend = backend;
  c.receive.workers = workers;
  c.aggregate.interval_s = 1;
  SinkConfig s;
  s.type = SinkType::kText;
  c.output.sinks = {s};
  c.metrics.listen = "";
  c.log.stats_interval_s = 0;
  return c;
}

class Sender {
 public:
  explicit Sender(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(port);
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Sender() { close(fd_); }
  void send(const uint8_t* p, size_t n) {
    REQUIRE(sendto(fd_, p, n, 0, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_) ==
            static_cast<ssize_t>(n));
  }

 private:
  int fd_;
  sockaddr_in addr_{};
};

// The kernel's drop count ("drops", the last column of /proc/net/udp) summed
// over every IPv4 socket bound to 127.0.0.1:`port`: read here, not taken from
// the collector, so that the test does not grade the collector's own count.
uint64_t proc_udp_drops(uint16_t port) {
  std::ifstream f("/proc/net/udp");
  std::string line;
  std::getline(f, line);  // header
  char want[16];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  uint64_t drops = 0;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string sl, local, field;
    in >> sl >> local;
    if (local != want) continue;
    std::string last;
    while (in >> field) last = field;
    drops += std::stoull(last);
  }
  return drops;
}

// A valid datagram with `n` records; sequence advances by n per call.
size_t make_valid(uint8_t* buf, size_t cap, uint32_t* seq, uint16_t n, uint32_t salt) {
  v5::Header h;
  h.version = 5;
  h.sys_uptime_ms = 100000;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  h.unix_secs = static_cast<uint32_t>(ts.tv_sec);
  h.unix_nsecs = static_cast<uint32_t>(ts.tv_nsec);
  h.flow_sequence = *seq;
  *seq += n;
  v5::Record r[v5::kMaxRecords];
  for (uint16_t i = 0; i < n; ++i) {
    r[i].src_addr = 0x0A000000 | (salt * 31 + i);
    r[i].dst_addr = 0xC0000200 | i;
    r[i].src_port = static_cast<uint16_t>(1000 + i);
    r[i].dst_port = 443;
    r[i].protocol = 6;
    r[i].packets = 3;
    r[i].octets = 1500;
    r[i].first_raw = 90000;
    r[i].last_raw = 99000;
  }
  return v5::encode_v5(h, r, n, buf, cap);
}

bool wait_for(const std::function<bool()>& cond, int ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

void check_invariant(const StatsSnapshot& s) {
  // Every datagram taken from the kernel ends in exactly one counter: the
  // ordered stage on the reactor accepts (hands off or consumes) or rejects
  // it, unless receive dropped it first.
  CHECK(s.datagrams ==
        s.handed_off + s.consumed + s.rejected() + s.oversize + s.not_allowed + s.queue_full);
  CHECK(s.decoded == s.handed_off + s.consumed + s.queue_full);
  // Workers decode what was handed off, and the held data sets released late.
  CHECK(s.worker_datagrams == s.handed_off + s.late_handed_off);
}

}  // namespace

TEST_CASE("a known mix is accounted for exactly, on both backends", "[e2e][pipeline]") {
  install_capture_sink();
  for (Backend backend : {Backend::kIoUring, Backend::kRecvmmsg}) {
    DYNAMIC_SECTION("backend " << (backend == Backend::kIoUring ? "io_uring" : "recvmmsg")) {
      g_captured.reset();
      Collector collector(test_config(backend, 2), RunOptions{});
      std::string error;
      REQUIRE(collector.start(&error));
      REQUIRE(collector.backends().at(0) ==
              std::string(backend == Backend::kIoUring ? "io_uring" : "recvmmsg"));
      Sender tx(collector.bound().at(0).port);

      uint8_t buf[4096];
      uint32_t seq = 0;
      const int kValid = 200;
      for (int i = 0; i < kValid; ++i) {
        size_t n = make_valid(buf, sizeof buf, &seq, 30, static_cast<uint32_t>(i));
        tx.send(buf, n);
      }
      // One datagram of each malformed class.
      size_t n = make_valid(buf, sizeof buf, &seq, 2, 7);
      tx.send(buf, 10);                               // too_short
      v5::patch_v5_version(buf, sizeof buf, 7);
      tx.send(buf, n);                                // bad_version (5, 9 and 10 are decoded)
      n = make_valid(buf, sizeof buf, &seq, 2, 8);
      v5::patch_v5_count(buf, sizeof buf, 0);
      tx.send(buf, n);                                // count_zero
      n = make_valid(buf, sizeof buf, &seq, 30, 9);
      v5::patch_v5_count(buf, sizeof buf, 31);
      std::memset(buf + n, 0, 48);
      tx.send(buf, n + 48);                           // count_too_large
      n = make_valid(buf, sizeof buf, &seq, 2, 10);
      tx.send(buf, n - 1);                            // truncated
      n = make_valid(buf, sizeof buf, &seq, 2, 11);
      std::memset(buf + n, 0xAB, 5);
      tx.send(buf, n + 5);                            // trailing_bytes
      const uint64_t kSent = kValid + 6;

      REQUIRE(wait_for(
          [&] {
            const StatsSnapshot x = collector.snapshot();
            return x.datagrams >= kSent && x.worker_datagrams >= x.handed_off;
          },
          10000));
      collector.stop();
      StatsSnapshot s = collector.snapshot();
      check_invariant(s);
      CHECK(s.kernel_drops == 0);
      CHECK(s.datagrams == kSent);
      CHECK(s.decoded == static_cast<uint64_t>(kValid));
      CHECK(s.flows == kValid * 30u);
      CHECK(s.rejects[static_cast<size_t>(Reject::kTooShort)] == 1);
      CHECK(s.rejects[static_cast<size_t>(Reject::kBadVersion)] == 1);
      CHECK(s.rejects[static_cast<size_t>(Reject::kCountZero)] == 1);
      CHECK(s.rejects[static_cast<size_t>(Reject::kCountTooLarge)] == 1);
      CHECK(s.rejects[static_cast<size_t>(Reject::kTruncated)] == 1);
      CHECK(s.rejects[static_cast<size_t>(Reject::kTrailingBytes)] == 1);

      std::lock_guard<std::mutex> l(g_captured.mu);
      CHECK(g_captured.flows == kValid * 30u);
      CHECK(g_captured.packets == kValid * 30u * 3u);
      CHECK(g_captured.bytes == kValid * 30u * 1500u);
      CHECK(g_captured.partial_batches == 1);  // the final flush, and only it
    }
  }
}

TEST_CASE("stopping while datagrams are queued loses none that were received",
          "[e2e][pipeline]") {
  install_capture_sink();
  for (Backend backend : {Backend::kIoUring, Backend::kRecvmmsg}) {
    DYNAMIC_SECTION("backend " << (backend == Backend::kIoUring ? "io_uring" : "recvmmsg")) {
      g_captured.reset();
      Collector collector(test_config(backend, 1), RunOptions{});
      std::string error;
      REQUIRE(collector.start(&error));
      const uint16_t port = collector.bound().at(0).port;
      Sender tx(port);
      uint8_t buf[2048];
      uint32_t seq = 0;
      // A burst far faster than one worker drains, then stop at once:
      // the queues and the kernel buffer are not empty when stop() begins.
      constexpr uint64_t kSent = 20000;
      for (uint64_t i = 0; i < kSent; ++i) {
        size_t n = make_valid(buf, sizeof buf, &seq, 30, static_cast<uint32_t>(i % 1000));
        tx.send(buf, n);
      }
      // Loopback delivers (or drops, counted) within sendto: every datagram
      // is in the socket buffer or in the kernel's drop count now, and no
      // more can be dropped, since nothing more is sent. Read before stop(),
      // which closes the sockets and with them their /proc/net/udp lines.
      const uint64_t kernel_dropped = proc_udp_drops(port);
      collector.stop();
      StatsSnapshot s = collector.snapshot();
      check_invariant(s);
      INFO("sent " << kSent << ", the kernel dropped " << kernel_dropped << ", the collector took "
                   << s.datagrams << " and counted " << s.kernel_drops << " kernel drops");
      CHECK(kernel_dropped < kSent / 2);  // most of the burst reached the socket
      CHECK(s.datagrams == kSent - kernel_dropped);
      CHECK(s.kernel_drops == kernel_dropped);
      CHECK(s.rejected() == 0);
      // Every one taken from the kernel was decoded, aggregated and flushed.
      CHECK(s.decoded == s.datagrams);
      CHECK(s.flows == s.datagrams * 30);
      std::lock_guard<std::mutex> l(g_captured.mu);
      CHECK(g_captured.flows == (kSent - kernel_dropped) * 30);
      CHECK(g_captured.bytes == (kSent - kernel_dropped) * 30 * 1500);
    }
  }
}
