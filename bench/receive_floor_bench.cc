// The receive floor: the least work a collector can do with a datagram. One
// thread, one socket, blocking recvmmsg(MSG_WAITFORONE) in batches, and per
// datagram only a count (plus the v5 header's record count, two bytes read
// with a bounded load). What this loop receives on a box is what the kernel
// can deliver to one user-space thread there; scripts/bench.sh runs it next
// to ringflow, nfcapd and nfacctd to put their delivered rates in scale.
//
// It is not a microbenchmark (it takes no run count and times nothing): it
// runs until SIGINT/SIGTERM and then prints one line on stdout,
//   floor: datagrams N records R bytes B kernel_drops D rcvbuf S
// where kernel_drops is the socket's drop counter (/proc/net/udp) and rcvbuf
// the effective SO_RCVBUF (the kernel's doubled value). The socket is opened
// with ringflow's UdpSocket (src/receive/udp_socket.h), so it gets the very
// same options as the collector's: SO_RCVBUFFORCE to --rcvbuf, SO_RXQ_OVFL.
//
// Usage: receive_floor_bench --listen HOST:PORT [--rcvbuf BYTES] [--batch N]
//
// Thread safety: single-threaded; the signal handler only sets a flag.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <ringflow/ip.h>

#include "receive/udp_socket.h"

using namespace ringflow;

namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

constexpr size_t kBufSize = 2048;  // receive.buffer_size's default: a full v5 PDU is 1464

int usage() {
  std::fprintf(stderr,
               "usage: receive_floor_bench --listen HOST:PORT [--rcvbuf BYTES] [--batch N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen;
  uint64_t rcvbuf = 32ull << 20;
  unsigned batch = 64;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--listen") {
      listen = argv[++i];
    } else if (a == "--rcvbuf") {
      rcvbuf = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--batch") {
      batch = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      return usage();
    }
  }
  auto at = Endpoint::parse(listen);
  if (!at || batch < 1 || batch > 1024 || rcvbuf < 65536) return usage();

  SocketOptions opts;
  opts.receive_buffer = rcvbuf;
  UdpSocket sock;
  std::string error;
  if (!UdpSocket::open(*at, opts, &sock, &error)) {
    std::fprintf(stderr, "receive_floor_bench: %s\n", error.c_str());
    return 1;
  }
  // UdpSocket is non-blocking (the reactors poll); the floor blocks in the
  // kernel instead, which costs no CPU while idle. The receive timeout bounds
  // the wait for a stop signal that lands between the flag test and the call.
  int fl = fcntl(sock.fd(), F_GETFL);
  fcntl(sock.fd(), F_SETFL, fl & ~O_NONBLOCK);
  timeval tv{0, 100000};
  setsockopt(sock.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  // No SA_RESTART: a signal must interrupt recvmmsg.
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::vector<uint8_t> slab(size_t{batch} * kBufSize);
  std::vector<iovec> iov(batch);
  std::vector<mmsghdr> msgs(batch);
  for (unsigned i = 0; i < batch; ++i) {
    iov[i].iov_base = slab.data() + size_t{i} * kBufSize;
    iov[i].iov_len = kBufSize;
    std::memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  uint64_t datagrams = 0, records = 0, bytes = 0, errors = 0;
  while (!g_stop) {
    int n = recvmmsg(sock.fd(), msgs.data(), batch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) ++errors;
      continue;
    }
    for (int i = 0; i < n; ++i) {
      const uint32_t len = msgs[i].msg_len;
      const uint8_t* p = slab.data() + size_t(i) * kBufSize;
      bytes += len;
      // v5 header: count at bytes 2..3, big-endian.
      if (len >= 4) records += uint32_t{p[2]} << 8 | p[3];
    }
    datagrams += static_cast<uint64_t>(n);
  }
  std::printf("floor: datagrams %llu records %llu bytes %llu kernel_drops %llu rcvbuf %llu "
              "errors %llu\n",
              static_cast<unsigned long long>(datagrams), static_cast<unsigned long long>(records),
              static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(sock.kernel_drops()),
              static_cast<unsigned long long>(sock.receive_buffer()),
              static_cast<unsigned long long>(errors));
  return 0;
}
