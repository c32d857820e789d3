#include "receive/uring_ring.h"

#include <cerrno>

namespace ringflow {

int UringRing::init(unsigned sq_entries, unsigned cq_entries, bool for_other_thread) {
  static constexpr unsigned kFlagSets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,  // 6.1+
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,   // 6.0+
      IORING_SETUP_COOP_TASKRUN,                                // 5.19+
      0,
  };
  int last = -EINVAL;
  for (unsigned f : kFlagSets) {
    io_uring_params p{};
    p.flags = f | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    // SINGLE_ISSUER binds the ring to the task that enables it: create it
    // disabled when run() will be on another thread.
    if (for_other_thread && (f & IORING_SETUP_SINGLE_ISSUER)) p.flags |= IORING_SETUP_R_DISABLED;
    p.cq_entries = cq_entries;
    int r = io_uring_queue_init_params(sq_entries, &ring_, &p);
    if (r == 0) {
      ready_ = true;
      flags_ = p.flags;
      return 0;
    }
    last = r;
    if (r != -EINVAL) break;
  }
  return last;
}

}  // namespace ringflow
