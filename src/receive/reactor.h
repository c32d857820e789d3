// A reactor: one thread that takes datagrams from its sockets in batches and
// hands them to the workers (see docs/architecture.md, "receive").
//
// Two backends implement the same interface:
//   - io_uring (src/receive/uring_reactor.*): one multishot recvmsg per
//     socket on a provided-buffer ring; one io_uring_enter per batch.
//   - recvmmsg (src/receive/recvmmsg_reactor.*): poll + recvmmsg on a buffer
//     slab with a free list; the fallback when io_uring cannot be used.
// make_reactor() picks one per receive.backend; with "auto" it probes
// io_uring for every feature we rely on and falls back with the reason.
//
// Accounting (ReactorCounters, single writer = the reactor thread): every
// datagram taken from the kernel is counted in `datagrams` and ends in exactly
// one of handed_off, oversize, not_allowed, queue_full; the buffer of the
// last three is recycled at once. Kernel drops (SO_RXQ_OVFL, or
// /proc/net/udp when idle and at stop) are set() as the sum over the sockets.
//
// Buffers: the reactor owns ring_entries buffers of receive.buffer_size bytes.
// A DatagramRef points into one of them; the worker gives it back through
// Handoff::returns(reactor). While every buffer is out (ring dry) the reactor
// waits at most 1 ms at a time so that returned buffers are recycled soon;
// otherwise it sleeps until traffic, stop(), or a 100 ms housekeeping tick.
//
// Life cycle: make_reactor() (any thread) -> run() on the reactor's own
// thread, once -> [begin_drain(), then poll quiet()] -> stop() from any
// thread -> run() returns -> destroy.
// REQUIRES: the Reactor (which owns the buffer memory) outlives every
// DatagramRef it produced: destroy it only after the workers are done.
//
// Shutdown without losing what the kernel holds (the collector's stop(); see
// docs/config.md, receive.drain_timeout). The kernel queues datagrams for a
// socket for as long as it is open, so "drain" has to end somewhere:
//   1. begin_drain(): the reactor keeps receiving as usual and reports
//      quiet() once no datagram arrived for kDrainQuietMs and none waits in
//      its sockets. The caller waits for every reactor to be quiet, or for
//      its own deadline.
//   2. stop(): the reactor seals its sockets (UdpSocket::seal: the kernel
//      drops and counts whatever arrives from then on), takes every datagram
//      they still hold — waiting for workers to return buffers when its
//      buffers are all out — for at most max(1 s, receive.drain_timeout),
//      hands off or counts each one, then closes each socket reading its
//      final kernel drop count (UdpSocket::close_final: disconnected first,
//      so nothing is dropped after that read) and returns. Anything still
//      queued at that bound is logged, not counted.
// So when run() has returned: every datagram that reached the sockets before
// the seal was handed off or counted, and every one after it, up to the
// close, is in kernel_drops; later ones were refused (port unreachable).
// A socket inherited from systemd (UdpSocket::inherited) is neither sealed
// nor emptied: the reactor stops reading it and closes its descriptor, and
// what it holds stays queued for the next instance.
//
// Thread safety: run() on one thread; stop(), begin_drain(), quiet(),
// backend() and buffers_home() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/stats.h>

#include "receive/dispatch.h"
#include "receive/handoff.h"
#include "receive/kernel_drops.h"
#include "receive/udp_socket.h"

namespace ringflow {

// How long the sockets must stay empty before a draining reactor is quiet().
constexpr int64_t kDrainQuietMs = 200;

// The drain state shared by the backends: requested from any thread,
// observed by the reactor thread once per loop turn.
class DrainWatch {
 public:
  void request() { requested_.store(true, std::memory_order_release); }
  bool requested() const { return requested_.load(std::memory_order_acquire); }
  bool quiet() const { return quiet_.load(std::memory_order_acquire); }
  // monotonic_ns() of the last observe(), 0 before the first: quiet() is the
  // verdict of a turn at that time or later (tests wait on it, not sleep).
  int64_t observed_ns() const { return observed_ns_.load(std::memory_order_acquire); }

  // Reactor thread, each loop turn while requested(). busy: the turn took a
  // datagram, or could not look (every buffer out, a request not armed).
  // Quiet once kDrainQuietMs passed without a busy turn and a peek finds
  // every socket empty (the peek catches data the kernel holds back, e.g.
  // for io_uring's deferred task work).
  void observe(bool busy, int64_t now_ns, const std::vector<UdpSocket>& sockets) {
    if (!watching_) {
      watching_ = true;
      last_busy_ns_ = now_ns;
    }
    if (!busy && now_ns - last_busy_ns_ >= kDrainQuietMs * 1000000) {
      bool empty = true;
      for (const UdpSocket& s : sockets) empty = empty && (s.inherited() || !s.pending());
      if (empty) {
        quiet_.store(true, std::memory_order_release);
        observed_ns_.store(now_ns, std::memory_order_release);
        return;
      }
      busy = true;
    }
    if (busy) {
      last_busy_ns_ = now_ns;
      quiet_.store(false, std::memory_order_release);
    }
    observed_ns_.store(now_ns, std::memory_order_release);
  }

 private:
  std::atomic<bool> requested_{false};
  std::atomic<bool> quiet_{false};
  std::atomic<int64_t> observed_ns_{0};
  bool watching_ = false;     // reactor thread only
  int64_t last_busy_ns_ = 0;  // reactor thread only
};

class Reactor {
 public:
  virtual ~Reactor();
  // Receives until stop(); then seals the sockets, takes what they hold,
  // hands it off and returns (see "Shutdown" above).
  virtual void run() = 0;
  // Thread-safe and prompt: wakes a blocked run(). Idempotent.
  virtual void stop() = 0;
  // Shutdown step 1 (see above): keep receiving, watch for quiet. Idempotent.
  virtual void begin_drain() = 0;
  // After begin_drain(): no datagram for kDrainQuietMs and the sockets empty.
  // May turn false again when a datagram arrives.
  bool quiet() const { return drain_.quiet(); }
  // When quiet() was last brought up to date (monotonic_ns(); 0: not yet).
  int64_t drain_observed_ns() const { return drain_.observed_ns(); }
  virtual const char* backend() const = 0;  // "io_uring" or "recvmmsg"
  // Buffers the reactor holds (in its ring or free list), i.e. not with a
  // worker or in flight. Refreshed once per loop iteration (relaxed), exact
  // after run() returned; ring_entries means nothing leaked.
  uint32_t buffers_home() const { return home_.load(std::memory_order_relaxed); }

  // The ordered stage run on every datagram (src/receive/admission.h); none
  // = every allowed datagram is handed off. Call before run(); `a` must
  // outlive the reactor's run().
  void set_admission(Admission* a) { dispatch_.set_admission(a); }

 protected:
  // What every backend has: its configuration and index, its sockets (a
  // backend that sets up before taking them moves them in later), its
  // counters, the dispatcher that routes to the workers and the kernel drop
  // counts of nsockets sockets.
  Reactor(const ReceiveConfig& cfg, uint32_t index, size_t nsockets, Handoff& handoff,
          ReactorCounters& counters);

  const ReceiveConfig cfg_;
  const uint32_t index_;
  std::vector<UdpSocket> sockets_;
  ReactorCounters& counters_;
  Dispatcher dispatch_;
  KernelDrops drops_;

  // Shutdown step 2, on the reactor thread: seals every socket (a failure is
  // logged: arrivals then keep coming until the emptying bound).
  void seal_sockets();
  // Shutdown, last step, on the reactor thread: closes every socket, taking
  // its final drop count, and publishes kernel_drops.
  void close_sockets();
  // True when every socket is inherited (nothing to seal or empty).
  bool all_inherited() const;
  // How long a backend keeps emptying sealed sockets: max(1 s, drain_timeout).
  int64_t empty_bound_ns() const;
  void log_left_in_sockets() const;  // the emptying bound was reached

  std::atomic<bool> stop_{false};   // set by stop(), read by run()
  std::atomic<uint32_t> home_{0};   // buffers_home(), stored by run()
  DrainWatch drain_;                // begin_drain() -> run() -> quiet()
};

// Chooses the backend per cfg.backend ("auto": probe io_uring with the
// features we need, fall back to recvmmsg and put the reason in *why).
// Errors (e.g. io_uring forced but unavailable, out of memory) -> nullptr and
// *error. The sockets move into the reactor.
// REQUIRES: index < handoff.reactors(), !sockets.empty(), sockets.size() <= 255.
std::unique_ptr<Reactor> make_reactor(const ReceiveConfig& cfg, uint32_t index,
                                      std::vector<UdpSocket> sockets, Handoff& handoff,
                                      ReactorCounters& counters, std::string* why,
                                      std::string* error);

// Checks that io_uring offers what the io_uring backend needs (ring setup,
// provided-buffer rings, multishot recvmsg): true, or false with the reason in
// *why (e.g. "io_uring_setup: Operation not permitted (Docker's default
// seccomp profile or kernel.io_uring_disabled)"). Creates a throwaway ring and
// a loopback socket; takes about a millisecond.
bool probe_io_uring(std::string* why);

}  // namespace ringflow
