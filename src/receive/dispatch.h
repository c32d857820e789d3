// The reactor's side of the hand-off, shared by both receive backends: the
// allow-list check, routing to a worker, the per-worker bulk enqueue, and
// taking back the buffers workers have finished with.
//
// Per batch: begin_batch() stamps the receive time once; offer() takes each
// datagram (already counted in `datagrams`/`bytes` by the backend); flush()
// enqueues them with one try_enqueue_bulk per worker and leaves the ids of the
// buffers it could not hand off (not_allowed, queue_full) in dropped(), which
// the backend recycles at once. Each datagram offered ends in exactly one of
// handed_off, not_allowed, queue_full.
//
// Ordering: flush() groups the batch per worker with a stable counting sort,
// and each reactor is a single explicit producer per queue (FIFO), so the
// datagrams of one exporter stream reach their worker in arrival order. When
// a queue fills mid-group the rest of that group is dropped, never a datagram
// in the middle, so the worker sees a gap (the sequence tracker counts it),
// not a reordering.
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

#include "receive/handoff.h"

namespace ringflow {

class Dispatcher {
 public:
  // REQUIRES: max_batch >= 1 (most datagrams offered between two flushes);
  // reactor < handoff.reactors().
  Dispatcher(const ReceiveConfig& cfg, uint32_t reactor, uint32_t max_batch, Handoff& handoff,
             ReactorCounters& counters);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Creates the producer tokens (one per worker queue) and the consumer token
  // of the return queue. Call once, on the reactor thread, before the rest.
  void attach();

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

  // Moves up to `max` returned buffer ids from the return queue into `out`.
  size_t take_returns(uint16_t* out, size_t max);

  uint32_t reactor() const { return reactor_; }

 private:
  bool allowed(const IpAddr& a) const;

  const uint32_t reactor_;
  const uint32_t workers_;
  const uint32_t max_batch_;
  Handoff& handoff_;
  ReactorCounters& counters_;
  std::vector<Cidr> allow_;  // empty = everyone

  int64_t batch_ns_ = 0;
  std::vector<DatagramRef> pending_;  // offered, in arrival order (size max_batch)
  std::vector<uint32_t> target_;      // worker of pending_[i]
  size_t npending_ = 0;
  std::vector<DatagramRef> grouped_;  // pending_ sorted by worker, stable
  std::vector<uint32_t> start_;       // workers + 1 offsets into grouped_
  std::vector<uint16_t> dropped_;     // size max_batch
  size_t ndropped_ = 0;

  std::vector<moodycamel::ProducerToken> producers_;   // one per worker queue
  std::unique_ptr<moodycamel::ConsumerToken> returns_;  // of handoff.returns(reactor)
};

}  // namespace ringflow
