// The collector's listening UDP sockets (receive.listen x receive.reactors).
//
// UdpSocket owns one bound, non-blocking datagram socket. open_sockets()
// opens receive.reactors sockets per listen address and returns them grouped
// by reactor: result[reactor][address]. With several reactors the sockets of
// one address share the port through SO_REUSEPORT, and the kernel spreads
// exporters over them by hashing the 4-tuple, so one exporter's datagrams
// always reach the same socket (and therefore the same reactor) in order.
//
// Options applied at open, and why:
//   - SO_RCVBUFFORCE (root/CAP_NET_ADMIN), else SO_RCVBUF, to receive.socket_buffer:
//     a busy router bursts faster than any thread is scheduled, and the socket
//     buffer is what absorbs the burst. When net.core.rmem_max caps the plain
//     SO_RCVBUF a warning names the sysctl to run.
//   - SO_REUSEPORT only when receive.reactors > 1: with a single reactor we
//     want bind() to fail loudly if another collector already holds the port
//     rather than silently split its traffic with it.
//   - SO_RXQ_OVFL: the kernel attaches the socket's drop counter to every
//     datagram received after a drop, so reactors see kernel drops for free.
//   - IPV6_V6ONLY=0 on [::] so one socket receives IPv4 and IPv6 exporters.
//
// At shutdown a reactor seal()s its sockets: a classic BPF filter that
// accepts nothing makes the kernel drop every datagram that arrives from then
// on and count it in the socket's drop counter (sk_drops: /proc/net/udp and
// SO_RXQ_OVFL), while what is already queued can still be read. Closing the
// socket instead would discard the queue and answer later datagrams with ICMP
// port unreachable, counted nowhere. Once the sealed queue is empty the
// reactor close_final()s each socket: it disconnects it from the exporters
// (connect() to its own address: no exporter's datagram matches it any more,
// the kernel answers port unreachable, as after a close), reads the final
// drop count, and closes it; so the count read is the last one the socket
// will ever have, and nothing is dropped after it uncounted.
//
// Socket activation (src/receive/socket_activation.h): adopt() takes a socket
// systemd opened and keeps open across restarts. Such a socket is never
// sealed nor disconnected (the filter would stay on it for the next
// instance): at stop the reactor just stops reading and closes its copy of
// the descriptor, and the kernel keeps queueing for the next instance. Its
// drop count is cumulative over the socket's life: kernel_drops() and
// drops_at_adopt() let the reactor count only this instance's drops.
//
// Thread safety: a UdpSocket is owned by one thread at a time (the reactor
// that receives on it); kernel_drops() reads /proc and may be called from any
// thread while the fd stays open.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/ip.h>

#include "common/unique_fd.h"

namespace ringflow {

struct SocketOptions {
  uint64_t receive_buffer = 32ull << 20;  // bytes asked for (the kernel doubles it for overhead)
  bool reuse_port = false;                // SO_REUSEPORT (set when several reactors share a port)
};

class UdpSocket {
 public:
  UdpSocket() = default;  // empty; move-only (fd_ is a UniqueFd)

  // Opens, configures and binds a socket on `at`. On failure returns false
  // and "ADDRESS: what failed: strerror" in *error; *out is left empty.
  static bool open(const Endpoint& at, const SocketOptions& options, UdpSocket* out,
                   std::string* error);
  // Takes fd, an inherited bound UDP socket (AF_INET or AF_INET6), and applies
  // the receive options (non-blocking, close-on-exec, SO_RCVBUF(FORCE),
  // SO_RXQ_OVFL; SO_REUSEPORT cannot be set on a bound socket and is not).
  // Removes a socket filter a previous instance may have left. On failure
  // returns false with "fd N: what failed: strerror" in *error; fd is then
  // still the caller's to close.
  static bool adopt(int fd, const SocketOptions& options, UdpSocket* out, std::string* error);

  bool valid() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  // The bound address, with the port the kernel chose when asked for port 0.
  const Endpoint& endpoint() const { return endpoint_; }
  // Effective receive buffer in bytes as the kernel reports it (SO_RCVBUF,
  // which includes the kernel's doubling for bookkeeping overhead).
  uint64_t receive_buffer() const { return receive_buffer_; }
  // The socket's drop counter from /proc/net/udp or /proc/net/udp6 (found by
  // socket inode); 0 when the socket is not listed. Slow (reads and parses
  // the whole table): for idle sockets and shutdown, never per datagram.
  uint64_t kernel_drops() const;
  // True when a datagram (even an empty one) waits in the receive queue.
  // One non-blocking MSG_PEEK: for shutdown, never per datagram.
  bool pending() const;
  // Stops the kernel from queueing datagrams: from now on each arriving one
  // is dropped and counted in kernel_drops(); the queue stays readable.
  // false + "ADDRESS: SO_ATTACH_FILTER: strerror" in *error on failure.
  bool seal(std::string* error);
  // Ends the socket (see the header comment) in two steps: disconnect() it
  // from every exporter (not an inherited socket: that one is systemd's),
  // then, once a datagram the kernel was delivering at that instant has
  // landed, close_final() reads its final drop counter (SO_MEMINFO, else
  // /proc), closes the descriptor and returns the counter.
  void disconnect();
  uint64_t close_final();
  // True for a socket taken with adopt() (systemd socket activation).
  bool inherited() const { return inherited_; }
  // The drop counter when adopt() took the socket (0 for open()).
  uint64_t drops_at_adopt() const { return drops_at_adopt_; }
  // Bytes queued in the receive buffer now (SO_MEMINFO rmem_alloc), 0 when unknown.
  uint64_t queued_bytes() const;

 private:
  UniqueFd fd_;          // empty when default-constructed or moved-from
  Endpoint endpoint_;
  ino_t inode_ = 0;      // socket inode, the key of /proc/net/udp{,6}
  uint64_t receive_buffer_ = 0;
  bool inherited_ = false;
  uint64_t drops_at_adopt_ = 0;
};

// Opens cfg.reactors sockets for every cfg.listen address; (*out)[r][a] is
// reactor r's socket for address a. When an address asks for port 0 the port
// the kernel picks for reactor 0 is reused for the others. On failure returns
// false with a message naming the address and errno ("127.0.0.1:2055: bind:
// Address already in use") and closes whatever it had opened.
// REQUIRES: cfg.reactors >= 1, !cfg.listen.empty().
bool open_sockets(const ReceiveConfig& cfg, std::vector<std::vector<UdpSocket>>* out,
                  std::string* error);

// Drop counter of the socket with this inode in /proc/net/udp (v6 = false)
// or /proc/net/udp6; false when not found. Exposed for tests.
bool proc_udp_drops(ino_t inode, bool v6, uint64_t* drops);

}  // namespace ringflow
