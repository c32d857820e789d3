// Per-socket kernel drop counts of one reactor, summed into
// ReactorCounters::kernel_drops.
//
// Two sources, both cumulative per socket: the SO_RXQ_OVFL control message
// the kernel attaches to each datagram received after a drop (free, but only
// as fresh as the last datagram), and /proc/net/udp{,6} (always fresh, but a
// parse of the whole table, so only when idle and at stop). A socket's value
// is the larger of the two, as either may lag the other. At stop the final
// count of each socket, read as it closes (UdpSocket::close_final), replaces
// both. A socket inherited from systemd counts from where it stood when it
// was taken (set_bases): drops before that belong to no run of ours.
//
// Thread safety: owned by the reactor thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <ringflow/stats.h>

#include "receive/udp_socket.h"

namespace ringflow {

class KernelDrops {
 public:
  explicit KernelDrops(size_t sockets) : cmsg_(sockets, 0), proc_(sockets, 0), base_(sockets, 0) {}

  // Each socket's counter when it was taken (UdpSocket::drops_at_adopt).
  void set_bases(const std::vector<UdpSocket>& sockets) {
    for (size_t s = 0; s < sockets.size() && s < base_.size(); ++s)
      base_[s] = sockets[s].drops_at_adopt();
    dirty_ = true;
  }
  // The socket's last count, read as it closed: final, whatever came before.
  void set_final(size_t socket, uint64_t drops) {
    cmsg_[socket] = 0;
    proc_[socket] = drops;
    dirty_ = true;
  }

  // From an SO_RXQ_OVFL control message (the kernel's 32-bit counter).
  void from_cmsg(size_t socket, uint32_t drops) {
    if (drops != cmsg_[socket]) {
      cmsg_[socket] = drops;
      dirty_ = true;
    }
  }
  // Reads /proc/net/udp{,6} for every socket. Slow: not per datagram.
  void refresh_from_proc(const std::vector<UdpSocket>& sockets) {
    for (size_t s = 0; s < sockets.size() && s < proc_.size(); ++s) {
      uint64_t d = sockets[s].kernel_drops();
      if (d != proc_[s]) {
        proc_[s] = d;
        dirty_ = true;
      }
    }
  }
  // Sets the counter to the sum over sockets when anything changed.
  void publish(Counter& counter) {
    if (!dirty_) return;
    uint64_t sum = 0;
    for (size_t s = 0; s < cmsg_.size(); ++s) {
      const uint64_t d = std::max<uint64_t>(cmsg_[s], proc_[s]);
      sum += d > base_[s] ? d - base_[s] : 0;
    }
    counter.set(sum);
    dirty_ = false;
  }

 private:
  std::vector<uint32_t> cmsg_;
  std::vector<uint64_t> proc_;
  std::vector<uint64_t> base_;
  bool dirty_ = false;
};

}  // namespace ringflow
