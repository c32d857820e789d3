// The hand-off between reactors (receive) and workers (decode + aggregate).
//
// Buffer ownership (zero copy): a reactor receives each datagram into one of
// its own buffers (the io_uring provided-buffer ring, or the recvmmsg slab)
// and passes a DatagramRef that *points into that buffer* to a worker. The
// worker owns the buffer from dequeue until it pushes the buffer id on the
// owning reactor's return queue, returns(d.reactor), in bulk with its own
// producer token; the reactor drains that queue and recycles the buffer
// (re-adds it to its ring). A buffer is therefore owned by exactly one thread
// at a time: kernel -> reactor -> worker -> reactor. See docs/architecture.md
// for why we chose this over copying the payload (measured by
// bench/receive_handoff_bench.cc: about 2x the datagrams per second).
//
// Routing (receive.spread, src/receive/dispatch.h): datagrams are spread over
// the workers one by one, or kept per exporter stream. Either is correct: the
// ordered stage on the reactor (src/receive/admission.h) has already done
// everything that needs a stream's datagrams in order.
//
// Bounds: worker queues are moodycamel queues created with a capacity and
// filled only with try_enqueue_bulk (explicit producer tokens), which never
// allocates; a full queue makes the reactor drop and count (queue_full).
//
// Thread safety: queue(w) has one consumer (worker w) and one explicit
// producer per reactor; returns(r) has one consumer (reactor r) and one
// explicit producer per worker. Tokens must be created by their thread.
#pragma once

// Under TSan with GCC 12, two accommodations for moodycamel, scoped to its
// headers:
//  - it recycles queue blocks with relaxed atomics plus fences, which TSan
//    cannot model, and reports the reuse as a race; the library exempts that
//    code (MOODYCAMEL_NO_TSAN) only if __has_feature(thread_sanitizer), which
//    GCC 12 lacks, so we answer that one question for it;
//  - GCC warns (-Wtsan, an error under RINGFLOW_WERROR) about the fences.
#if defined(__SANITIZE_THREAD__) && !defined(__clang__)
#include <atomic>
#include <cassert>
#include <chrono>
#include <memory>
#include <thread>
#include <type_traits>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#if !defined(__has_feature)
#define __has_feature(x) RINGFLOW_HAS_FEATURE_##x
#define RINGFLOW_HAS_FEATURE_thread_sanitizer 1
#define RINGFLOW_FAKE_HAS_FEATURE
#endif
#endif
#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/concurrentqueue.h>
#if defined(__SANITIZE_THREAD__) && !defined(__clang__)
#if defined(RINGFLOW_FAKE_HAS_FEATURE)
#undef __has_feature
#undef RINGFLOW_HAS_FEATURE_thread_sanitizer
#undef RINGFLOW_FAKE_HAS_FEATURE
#endif
#pragma GCC diagnostic pop
#endif

#include <cstdint>
#include <memory>
#include <vector>

#include <ringflow/ip.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define RINGFLOW_TSAN_ANNOTATE 1
#else
#define RINGFLOW_TSAN_ANNOTATE 0
#endif

namespace ringflow {

// One received datagram, as handed from a reactor to a worker.
struct DatagramRef {
  const uint8_t* data = nullptr;  // payload inside the reactor's buffer
  uint32_t len = 0;               // payload length (<= receive.buffer_size)
  uint16_t buf_id = 0;            // buffer to return to reactor `reactor`
  uint8_t reactor = 0;            // index of the owning reactor
  uint8_t socket = 0;             // index of the socket within the reactor
  uint16_t exporter_port = 0;
  IpAddr exporter;                // source address of the datagram
  uint32_t stream_key = 0;        // the exporter stream within its address, as the
                                  // admission's wire format gives it (0 = none)
  int64_t recv_ns = 0;            // CLOCK_REALTIME at receive (one reading per batch)
};

// The worker of a datagram's exporter stream (receive.spread = "stream"):
// a hash of the exporter address and d.stream_key, which the admission set
// from the datagram's wire format (src/decode/wire_formats.h: v5 engine
// type/id, v9 source_id, IPFIX observation domain). The receive stage reads
// nothing of the payload here.
inline uint32_t route_datagram(const DatagramRef& d, uint32_t workers) {
  uint64_t h = hash_addr(d.exporter);
  h ^= (uint64_t{d.stream_key} + 1) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return static_cast<uint32_t>(h % workers);
}

class Handoff {
 public:
  using WorkQueue = moodycamel::BlockingConcurrentQueue<DatagramRef>;
  // Blocking flavour for the returns too, although nobody blocks on it: its
  // semaphore gives the worker -> reactor hand-back a release/acquire pair
  // that ThreadSanitizer can see (the bulk enqueue itself is exempt from
  // TSan, above), so that a worker's last read of a buffer is ordered before
  // the kernel refills it. One extra atomic per bulk operation (measured in
  // bench/receive_handoff_bench.cc).
  using ReturnQueue = moodycamel::BlockingConcurrentQueue<uint16_t>;

  // REQUIRES: workers >= 1, reactors >= 1. buffers: the most buffer ids a
  // reactor hands out (its ring plus its admission's extra buffers).
  Handoff(uint32_t workers, uint32_t reactors, uint32_t queue_depth, uint32_t buffers)
      : workers_(workers), reactors_(reactors) {
    for (uint32_t w = 0; w < workers; ++w)
      work_.push_back(std::make_unique<WorkQueue>(queue_depth, reactors, 0));
    // Each worker may hold every buffer of a reactor at once, so each producer
    // gets room for the whole ring: release never fails in steady state.
    for (uint32_t r = 0; r < reactors; ++r)
      returns_.push_back(std::make_unique<ReturnQueue>(buffers, workers + 1, 0));
  }
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  uint32_t workers() const { return workers_; }
  uint32_t reactors() const { return reactors_; }
  WorkQueue& queue(uint32_t worker) { return *work_[worker]; }
  ReturnQueue& returns(uint32_t reactor) { return *returns_[reactor]; }

  // Approximate depth of a worker's queue (for the metrics gauge).
  size_t depth(uint32_t worker) const { return work_[worker]->size_approx(); }

  // The ownership hand-over of buffer (reactor, buf_id), told to TSan: a
  // thread calls release() when it passes a buffer on (reactor -> worker on
  // enqueue, worker -> reactor on return) and the receiving thread calls
  // acquire() when it takes it (after dequeue, before touching the buffer).
  // The queues order this correctly, but moodycamel's consumers acquire with
  // a relaxed load + atomic_thread_fence, which TSan does not model, and a
  // consumer may take items whose producer's semaphore signal it has not
  // seen; without these, TSan reports the kernel's refill of a recycled
  // buffer as racing with the worker's earlier read. No code in other builds.
  void release(uint32_t reactor, uint16_t buf_id) {
#if RINGFLOW_TSAN_ANNOTATE
    __tsan_release(&tsan_keys_[reactor][buf_id]);
#else
    (void)reactor;
    (void)buf_id;
#endif
  }
  void acquire(uint32_t reactor, uint16_t buf_id) {
#if RINGFLOW_TSAN_ANNOTATE
    __tsan_acquire(&tsan_keys_[reactor][buf_id]);
#else
    (void)reactor;
    (void)buf_id;
#endif
  }

 private:
  uint32_t workers_, reactors_;
  std::vector<std::unique_ptr<WorkQueue>> work_;
  std::vector<std::unique_ptr<ReturnQueue>> returns_;
#if RINGFLOW_TSAN_ANNOTATE
  // One byte per possible buffer id and reactor: only its address matters
  // (TSan's synchronisation object for that buffer).
  std::vector<std::unique_ptr<char[]>> tsan_keys_ = make_tsan_keys(reactors_);
  static std::vector<std::unique_ptr<char[]>> make_tsan_keys(uint32_t n) {
    std::vector<std::unique_ptr<char[]>> k;
    for (uint32_t r = 0; r < n; ++r) k.push_back(std::make_unique<char[]>(65536));
    return k;
  }
#endif
};

}  // namespace ringflow
