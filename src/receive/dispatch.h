// The reactor's side of the hand-off, shared by both receive backends: the
// allow-list check, the ordered stage (Admission, src/receive/admission.h),
// routing to a worker, the per-worker bulk enqueue, and taking back the
// buffers workers have finished with.
//
// Per batch: begin_batch() stamps the receive time once; offer() takes each
// datagram (already counted in `datagrams`/`bytes` by the backend) and runs
// the admission on it; flush() enqueues the admitted ones with one
// try_enqueue_bulk per worker, then the admission's own ready datagrams
// (held data whose template arrived), and leaves the ids of the receive
// buffers it did not hand off in dropped(), which the backend recycles at
// once. Each datagram offered ends in exactly one of handed_off, consumed,
// rejected, not_allowed, queue_full.
//
// Routing (receive.spread): "datagram" gives each admitted datagram to the
// next worker in turn, so that one exporter's stream uses every worker;
// "stream" keeps each exporter stream on one worker (route_datagram), so that
// a worker's table holds only its streams' keys. Order between workers does
// not matter: the ordered stage has already done, in arrival order,
// everything that needs it. When a queue fills mid-batch the tail of that
// worker's share is dropped and counted (queue_full, per worker).
//
// Buffers: the dispatcher calls Admission::release() for every admitted
// datagram that leaves it without reaching a worker and for every id a
// worker returns, and gives the backend only receive-buffer ids (below
// ring_entries) to recycle; ids beyond belong to the admission.
//
// Never allocates, locks or blocks after attach(): every array is sized at
// construction and the moodycamel queues are only used through try_*.
//
// Thread safety: one Dispatcher per reactor; attach() and everything after
// it on the reactor thread only (the producer/consumer tokens belong to it).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/stats.h>

#include "receive/admission.h"
#include "receive/handoff.h"

namespace ringflow {

class Dispatcher {
 public:
  // REQUIRES: max_batch >= 1 (most datagrams offered between two flushes);
  // reactor < handoff.reactors(). admission may be null (every allowed
  // datagram is handed off: tests of the receive stage alone); else it must
  // outlive the dispatcher.
  Dispatcher(const ReceiveConfig& cfg, uint32_t reactor, uint32_t max_batch, Handoff& handoff,
             ReactorCounters& counters, Admission* admission = nullptr);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Creates the producer tokens (one per worker queue) and the consumer token
  // of the return queue. Call once, on the reactor thread, before the rest.
  void attach();
  // Sets the admission (see the constructor); before attach().
  void set_admission(Admission* a) { admission_ = a; }

  // Reads CLOCK_REALTIME once for the datagrams offered until the next call.
  void begin_batch();
  // Takes one received datagram; d.reactor, d.recv_ns are filled in here.
  // REQUIRES: fewer than max_batch datagrams offered since the last flush().
  void offer(DatagramRef d);
  // Enqueues everything offered; afterwards dropped() lists the buffers that
  // were not handed off, valid until the next offer()/flush().
  void flush();
  const uint16_t* dropped() const { return dropped_.data(); }
  size_t dropped_count() const { return ndropped_; }

  // Takes up to `max` returned buffer ids from the return queue, releases
  // them with the admission, and writes the receive-buffer ids among them to
  // `out` for the backend to recycle. Returns how many it wrote; 0 only when
  // the queue was empty.
  size_t take_returns(uint16_t* out, size_t max);

  // Housekeeping of the admission (call at least every 100 ms).
  void tick(int64_t now_ms) {
    if (admission_) admission_->tick(now_ms);
  }

  uint32_t reactor() const { return reactor_; }

 private:
  bool allowed(const IpAddr& a) const;
  uint32_t route(const DatagramRef& d) {
    if (by_stream_) return route_datagram(d, workers_);
    const uint32_t w = next_worker_;
    next_worker_ = next_worker_ + 1 == workers_ ? 0 : next_worker_ + 1;
    return w;
  }
  // Enqueues items[0..n) to the workers targets[i] (grouped, stable); the
  // ones that do not fit are released and, when `late` is false, their
  // buffers listed in dropped_. Returns how many were handed off.
  size_t enqueue(const DatagramRef* items, const uint32_t* targets, size_t n, bool late);

  // pending_ targets beyond the workers: buffers to recycle at flush().
  uint32_t not_allowed_target() const { return workers_; }
  uint32_t done_target() const { return workers_ + 1; }

  const uint32_t reactor_;
  const uint32_t workers_;
  const uint32_t max_batch_;
  const uint32_t ring_entries_;
  Handoff& handoff_;
  ReactorCounters& counters_;
  Admission* admission_;
  std::vector<Cidr> allow_;  // empty = everyone
  const bool by_stream_;
  uint32_t next_worker_ = 0;

  int64_t batch_ns_ = 0;
  std::vector<DatagramRef> pending_;  // offered, in arrival order (size max_batch)
  std::vector<uint32_t> target_;      // worker of pending_[i]
  size_t npending_ = 0;
  std::vector<DatagramRef> grouped_;  // pending_ sorted by worker, stable
  std::vector<uint32_t> start_;       // workers + 1 offsets into grouped_
  std::vector<uint16_t> dropped_;     // size max_batch
  size_t ndropped_ = 0;
  std::vector<DatagramRef> late_;     // the admission's ready datagrams (size max_batch)
  std::vector<uint32_t> late_target_;

  std::vector<moodycamel::ProducerToken> producers_;   // one per worker queue
  std::unique_ptr<moodycamel::ConsumerToken> returns_;  // of handoff.returns(reactor)
};

}  // namespace ringflow
