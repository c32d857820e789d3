// UringRing: owns one io_uring instance (its fd and the kernel-shared queue
// mappings); io_uring_queue_exit() on destruction. The one owner of a ring,
// for the reactor and for the start-up probe alike.
//
// Tear-down order matters: the kernel may write into provided-buffer memory
// until the ring is gone, so declare the ring AFTER the Mappings it reads
// into; members are destroyed in reverse, the ring first.
//
// Thread safety: a plain owner; init() and destruction on one thread. The
// io_uring itself is used as liburing allows (one submitter).
#pragma once

#include <liburing.h>

namespace ringflow {

class UringRing {
 public:
  UringRing() = default;
  ~UringRing() {
    if (ready_) io_uring_queue_exit(&ring_);
  }
  // Not movable: liburing hands out pointers into the struct.
  UringRing(const UringRing&) = delete;
  UringRing& operator=(const UringRing&) = delete;

  // Sets up the ring, trying the setup flags from the most to the least
  // efficient (the kernel answers EINVAL to flags it does not know; any other
  // error is final). for_other_thread: run() submits from another thread, so
  // a SINGLE_ISSUER ring is created disabled (IORING_SETUP_R_DISABLED) and
  // enabled there. Returns 0, or -errno of the last attempt.
  // REQUIRES: not yet initialised.
  int init(unsigned sq_entries, unsigned cq_entries, bool for_other_thread);

  io_uring* get() { return &ring_; }
  const io_uring* get() const { return &ring_; }
  bool ready() const { return ready_; }
  unsigned flags() const { return flags_; }  // the setup flags in use

 private:
  io_uring ring_{};
  bool ready_ = false;
  unsigned flags_ = 0;
};

}  // namespace ringflow
