// The io_uring receive backend: one multishot recvmsg per socket, all drawing
// from one provided-buffer ring (buffer group 0) of receive.ring_entries
// buffers. See src/receive/reactor.h for the contract shared by backends.
//
// Buffer layout (fixed by the kernel for multishot recvmsg with a provided
// buffer): io_uring_recvmsg_out (16 bytes) | name (kNameLen) | control
// (kControlLen) | payload (receive.buffer_size). The kernel reports the full
// datagram length in payloadlen and sets MSG_TRUNC when it did not fit, so an
// oversized datagram is detected and counted, never silently cut.
//
// Setup by hand, as liburing 2.4's io_uring_setup_buf_ring() does (Debian
// bookworm ships liburing 2.3, which lacks it): mmap the ring page-aligned,
// io_uring_register_buf_ring(), init the tail, add every buffer, one advance.
//
// Ring flags: SINGLE_ISSUER|DEFER_TASKRUN where the kernel accepts them
// (completions are posted only when the reactor enters the kernel, so a batch
// costs one io_uring_enter and no interrupts of the reactor's work), else
// SINGLE_ISSUER|COOP_TASKRUN, COOP_TASKRUN, none. With SINGLE_ISSUER the ring
// is created disabled (R_DISABLED) and enabled in run(), because the kernel
// binds the ring to the task that enables it and run() is on another thread.
//
// Completion queue: each data completion consumes one buffer, so at most
// ring_entries of them can be pending, plus one final completion per socket
// and the wake-up read; the CQ is sized above that so it cannot overflow
// (overflow is still checked and counted in cq_overflow).
//
// Shutdown (reactor.h): while draining the reactor wakes every 10 ms to
// update quiet(). After stop() it seals the sockets and keeps the multishot
// requests armed (re-arming as buffers come back) until a peek finds every
// socket empty; then it cancels them and hands off what they still deliver.
//
// Thread safety: see Reactor.
#pragma once

#include <liburing.h>
// liburing pulls in <linux/fs.h>, whose BLOCK_SIZE macro breaks moodycamel's
// ConcurrentQueueDefaultTraits::BLOCK_SIZE in any header included after it.
#undef BLOCK_SIZE
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/mapping.h"
#include "common/unique_fd.h"
#include "receive/dispatch.h"
#include "receive/kernel_drops.h"
#include "receive/reactor.h"
#include "receive/uring_ring.h"

namespace ringflow {

class UringReactor final : public Reactor {
 public:
  // Room for the source address: sockaddr_in6 (28 bytes) rounded up to 8 so
  // that the control message after it is aligned for cmsghdr.
  static constexpr uint32_t kNameLen = 32;
  // One SO_RXQ_OVFL message (a 32-bit counter).
  static constexpr uint32_t kControlLen = CMSG_SPACE(sizeof(uint32_t));
  static constexpr uint32_t kHeaderLen =
      sizeof(io_uring_recvmsg_out) + kNameLen + kControlLen;

  // Creates the ring (disabled if SINGLE_ISSUER), registers the buffer ring
  // and fills it, then takes the sockets. On failure returns nullptr with
  // *error and leaves *sockets untouched (so that "auto" can fall back).
  static std::unique_ptr<UringReactor> create(const ReceiveConfig& cfg, uint32_t index,
                                              std::vector<UdpSocket>* sockets, Handoff& handoff,
                                              ReactorCounters& counters, std::string* error);
  ~UringReactor() override;

  void run() override;
  void stop() override;
  void begin_drain() override;
  const char* backend() const override { return "io_uring"; }

  // The setup flags the kernel accepted (for logs and tests).
  unsigned ring_flags() const { return ring_.flags(); }

 private:
  UringReactor(const ReceiveConfig& cfg, uint32_t index, size_t nsockets, Handoff& handoff,
               ReactorCounters& counters);

  uint8_t* buffer(uint16_t bid) const {
    return static_cast<uint8_t*>(buffers_.get()) + size_t{bid} * stride_;
  }
  io_uring_sqe* get_sqe();
  void arm(uint32_t socket);
  void arm_wake();
  void recycle(uint16_t bid);   // stages bid for the next commit_buffers()
  void commit_buffers();        // one io_uring_buf_ring_advance for all staged
  void take_returns();
  void process_batch();         // peek a batch, process, one cq_advance
  void on_recv(const io_uring_cqe* cqe, uint32_t socket);
  void wait(int64_t timeout_ns);
  bool rearm(uint32_t min_buffers);  // arms the ended requests; true if all armed
  void empty_sockets();              // after stop(): seal, take what is queued
  void shutdown();

  // Declared after the mappings, so ring_ is torn down first: the kernel may
  // write into them until then (uring_ring.h).
  Mapping buffers_;   // ring_entries * stride_ bytes
  Mapping buf_ring_;  // the io_uring_buf_ring shared with the kernel
  UringRing ring_;
  bool ring_disabled_ = false;
  UniqueFd wake_;            // eventfd written by stop()
  uint64_t wake_value_ = 0;  // target of the wake-up read

  io_uring_buf_ring* br_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t stride_ = 0;
  uint32_t in_ring_ = 0;  // buffers the kernel may fill (added and not consumed)
  uint32_t staged_ = 0;   // added since the last advance, not yet visible
  uint32_t rearm_threshold_ = 1;
  msghdr msg_{};          // shape of every recvmsg (name and control sizes)
  std::vector<io_uring_cqe*> cqes_;  // peek batch
  std::vector<uint16_t> returns_;    // scratch for take_returns
  std::vector<uint8_t> armed_;       // per socket: multishot active
  int64_t last_proc_ns_ = 0;
  uint32_t errors_logged_ = 0;
  bool backoff_ = false;  // an unexpected error: wait 1 ms before re-arming
  bool got_data_ = false; // a datagram completion since the last drain check

};

}  // namespace ringflow
