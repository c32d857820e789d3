// Reactor -> worker hand-off throughput, two threads, no sockets:
//
//  zero-copy  the design in src/receive/handoff.h: the "reactor" thread hands
//             DatagramRefs (pointers into its buffer slab) to the "worker" with
//             try_enqueue_bulk (64 per batch); the worker reads the payload and
//             gives the buffer ids back in bulk on the return queue, which the
//             reactor drains before its next batch.
//             A third line prices the return queue's semaphore (see
//             Handoff::ReturnQueue) against a plain ConcurrentQueue.
//  copy       the alternative: the payload is copied into the queue element
//             (a 1.5 KB struct), so no buffer has to come back.
//
// Both read every payload byte in the worker (as a decoder would). Figures are
// datagrams per second; compare the two within one run.
// Usage: receive_handoff_bench [runs]
// GCC 12 -O3 reports a false -Wstringop-overflow inside moodycamel's bulk
// enqueue when the element is large (the copy variant's 1.5 KB struct).
#pragma GCC diagnostic ignored "-Wstringop-overflow"

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "receive/handoff.h"

using namespace ringflow;

namespace {

constexpr uint32_t kRing = 4096;
constexpr uint32_t kBufSize = 2048;
constexpr uint32_t kDepth = 16384;
constexpr size_t kBatch = 64;

uint64_t touch(const uint8_t* p, uint32_t len) {
  uint64_t sum = 0;
  for (uint32_t i = 0; i + 8 <= len; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    sum += v;
  }
  return sum;
}

// ReturnQ: Handoff::ReturnQueue (blocking, what ships) or the plain
// moodycamel::ConcurrentQueue, to price the semaphore on the return path.
template <class ReturnQ>
uint64_t zero_copy(uint64_t n, uint32_t payload) {
  struct {
    Handoff::WorkQueue work{kDepth, 1, 0};
    ReturnQ ret{kRing, 2, 0};
    Handoff::WorkQueue& queue(uint32_t) { return work; }
    ReturnQ& returns(uint32_t) { return ret; }
  } h;
  std::vector<uint8_t> slab(size_t{kRing} * kBufSize, 0x5A);
  std::atomic<uint64_t> sink{0};

  std::thread worker([&] {
    auto& q = h.queue(0);
    moodycamel::ConsumerToken ctok(q);
    moodycamel::ProducerToken rtok(h.returns(0));
    std::vector<DatagramRef> batch(256);
    std::vector<uint16_t> ret(256);
    uint64_t sum = 0, got = 0;
    while (got < n) {
      size_t k = q.wait_dequeue_bulk_timed(ctok, batch.data(), batch.size(), 1000);
      for (size_t i = 0; i < k; ++i) {
        sum += touch(batch[i].data, batch[i].len);
        ret[i] = batch[i].buf_id;
      }
      if (k && !h.returns(0).try_enqueue_bulk(rtok, ret.data(), k)) std::abort();
      got += k;
    }
    sink.store(sum);
  });

  auto& q = h.queue(0);
  moodycamel::ProducerToken ptok(q);
  moodycamel::ConsumerToken rtok(h.returns(0));
  std::vector<uint16_t> free_ids(kRing);
  for (uint32_t i = 0; i < kRing; ++i) free_ids[i] = static_cast<uint16_t>(i);
  size_t nfree = kRing;
  std::vector<DatagramRef> batch(kBatch);
  uint64_t sent = 0;
  while (sent < n) {
    nfree += h.returns(0).try_dequeue_bulk(rtok, free_ids.data() + nfree, kRing - nfree);
    size_t k = std::min<uint64_t>({kBatch, nfree, n - sent});
    if (k == 0) {
      std::this_thread::yield();
      continue;
    }
    for (size_t i = 0; i < k; ++i) {
      uint16_t id = free_ids[--nfree];
      batch[i].data = slab.data() + size_t{id} * kBufSize;
      batch[i].len = payload;
      batch[i].buf_id = id;
    }
    if (q.try_enqueue_bulk(ptok, batch.data(), k)) {
      sent += k;
    } else {
      for (size_t i = 0; i < k; ++i) free_ids[nfree++] = batch[i].buf_id;
      std::this_thread::yield();
    }
  }
  worker.join();
  bench::do_not_optimize(sink.load());
  return n;
}

struct Copied {
  uint32_t len = 0;
  uint16_t exporter_port = 0;
  IpAddr exporter;
  int64_t recv_ns = 0;
  uint8_t data[1464];
};

uint64_t copy(uint64_t n, uint32_t payload) {
  moodycamel::BlockingConcurrentQueue<Copied> q(kDepth, 1, 0);
  std::vector<uint8_t> kernel_buf(size_t{kBatch} * kBufSize, 0x5A);
  std::atomic<uint64_t> sink{0};

  std::thread worker([&] {
    moodycamel::ConsumerToken ctok(q);
    std::vector<Copied> batch(256);
    uint64_t sum = 0, got = 0;
    while (got < n) {
      size_t k = q.wait_dequeue_bulk_timed(ctok, batch.data(), batch.size(), 1000);
      for (size_t i = 0; i < k; ++i) sum += touch(batch[i].data, batch[i].len);
      got += k;
    }
    sink.store(sum);
  });

  moodycamel::ProducerToken ptok(q);
  std::vector<Copied> batch(kBatch);
  uint64_t sent = 0;
  while (sent < n) {
    size_t k = std::min<uint64_t>(kBatch, n - sent);
    for (size_t i = 0; i < k; ++i) {
      batch[i].len = payload;
      std::memcpy(batch[i].data, kernel_buf.data() + i * kBufSize, payload);
    }
    if (q.try_enqueue_bulk(ptok, batch.data(), k)) {
      sent += k;
    } else {
      std::this_thread::yield();
    }
  }
  worker.join();
  bench::do_not_optimize(sink.load());
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = bench::runs_from_args(argc, argv, 5);
  const uint64_t n = runs == 1 ? 200000 : 2000000;
  for (uint32_t payload : {1464u, 312u}) {
    char name[64];
    std::snprintf(name, sizeof name, "handoff zero-copy, %u-byte datagrams", payload);
    bench::rate(name, runs, [&] { return zero_copy<Handoff::ReturnQueue>(n, payload); },
                "datagrams");
    std::snprintf(name, sizeof name, "handoff zero-copy, plain return queue, %u B", payload);
    bench::rate(name, runs,
                [&] { return zero_copy<moodycamel::ConcurrentQueue<uint16_t>>(n, payload); },
                "datagrams");
    std::snprintf(name, sizeof name, "handoff copy,      %u-byte datagrams", payload);
    bench::rate(name, runs, [&] { return copy(n, payload); }, "datagrams");
  }
  return 0;
}
