// The recvmmsg receive backend, used when io_uring cannot be (seccomp,
// kernel.io_uring_disabled, old kernels) or when receive.backend = "recvmmsg".
// Same contract as the io_uring backend (src/receive/reactor.h).
//
// Buffers: one slab of receive.ring_entries buffers of receive.buffer_size
// bytes and a LIFO free list of their ids (the most recently returned buffer
// is the most likely to still be in cache). Each round, for every socket,
// one recvmmsg(MSG_DONTWAIT | MSG_TRUNC) fills up to receive.batch free
// buffers; MSG_TRUNC makes the kernel report the full length of an
// oversized datagram (and flag it) so it is counted, never silently cut.
// When no socket had data the reactor sleeps in poll() on the sockets and
// the stop() eventfd; when the free list is empty it waits 1 ms at a time
// for workers to return buffers.
//
// Shutdown (reactor.h): while draining the poll wakes every 10 ms to update
// quiet(); after stop() the sockets are sealed and read until a recvmmsg
// with free buffers finds every socket empty.
//
// Thread safety: see Reactor.
#pragma once

#include <poll.h>
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

namespace ringflow {

class RecvmmsgReactor final : public Reactor {
 public:
  // nullptr + *error when memory or the eventfd cannot be had.
  static std::unique_ptr<RecvmmsgReactor> create(const ReceiveConfig& cfg, uint32_t index,
                                                 std::vector<UdpSocket> sockets,
                                                 Handoff& handoff, ReactorCounters& counters,
                                                 std::string* error);

  void run() override;
  void stop() override;
  void begin_drain() override;
  const char* backend() const override { return "recvmmsg"; }

 private:
  // One SO_RXQ_OVFL control message per datagram slot, aligned for cmsghdr.
  struct alignas(cmsghdr) Control {
    unsigned char bytes[CMSG_SPACE(sizeof(uint32_t))];
  };

  RecvmmsgReactor(const ReceiveConfig& cfg, uint32_t index, std::vector<UdpSocket> sockets,
                  Handoff& handoff, ReactorCounters& counters);

  uint8_t* buffer(uint16_t bid) const {
    return static_cast<uint8_t*>(slab_.get()) + size_t{bid} * stride_;
  }
  void take_returns();
  bool receive(uint32_t socket);  // one recvmmsg; true if it got datagrams
  void sleep(int timeout_ms, bool watch_sockets);
  void empty_sockets();           // after stop(): seal, then take what is queued

  Mapping slab_;  // ring_entries * stride_ bytes
  uint32_t stride_ = 0;
  std::vector<uint16_t> free_;  // stack of free buffer ids; free_[0, nfree_)
  uint32_t nfree_ = 0;
  UniqueFd wake_;  // eventfd written by stop()

  // recvmmsg arguments, one slot per datagram of a batch.
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_storage> names_;
  std::vector<Control> control_;
  std::vector<uint16_t> slot_buf_;  // buffer id lent to each slot
  std::vector<pollfd> pfds_;        // [0] = wake_, then the sockets
  int64_t last_proc_ns_ = 0;
  uint32_t errors_logged_ = 0;
};

}  // namespace ringflow
