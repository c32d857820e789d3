#include "receive/udp_socket.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <utility>

#include "common/log.h"
#include "common/unique_file.h"

namespace ringflow {
namespace {

std::string errno_message(const Endpoint& at, const char* what, int err) {
  return at.str() + ": " + what + ": " + std::strerror(err);
}

bool is_v6(const Endpoint& e) { return e.any_v6 || !e.addr.is_v4(); }

Endpoint endpoint_of(int fd, const Endpoint& asked) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  Endpoint e = asked;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    uint16_t port = 0;
    IpAddr a = IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), &port);
    e.port = port;
    if (!asked.any_v6) e.addr = a;
  }
  return e;
}

// The socket's kernel counters (SO_MEMINFO: sk_drops, rmem_alloc, ...).
bool meminfo(int fd, uint32_t* drops, uint32_t* rmem) {
  uint32_t mem[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof mem;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
      len < sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1))
    return false;
  if (drops) *drops = mem[SK_MEMINFO_DROPS];
  if (rmem) *rmem = mem[SK_MEMINFO_RMEM_ALLOC];
  return true;
}

// The options every receive socket gets, bound here or inherited: the
// receive buffer and SO_RXQ_OVFL (see the header). *got = SO_RCVBUF after.
bool receive_options(int fd, const Endpoint& at, const SocketOptions& opt, uint64_t* got,
                     std::string* error) {
  const int one = 1;
  // The kernel doubles the value and keeps it in an int: clamp so a 2 GiB
  // request does not wrap negative.
  const int want = static_cast<int>(std::min<uint64_t>(opt.receive_buffer, INT_MAX / 2));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want) != 0) {
    *error = errno_message(at, "setsockopt(SO_RCVBUF)", errno);
    return false;
  }
  int have = 0;
  socklen_t have_len = sizeof have;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &have, &have_len) == 0) *got = have;
  if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0) {
    *error = errno_message(at, "setsockopt(SO_RXQ_OVFL)", errno);
    return false;
  }
  return true;
}

}  // namespace

bool UdpSocket::open(const Endpoint& at, const SocketOptions& opt, UdpSocket* out,
                     std::string* error) {
  const bool v6 = is_v6(at);
  UdpSocket s;
  s.fd_.reset(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.fd_.valid()) {
    *error = errno_message(at, "socket", errno);
    return false;
  }
  const int one = 1, zero = 0;
  if (opt.reuse_port && setsockopt(s.fd_.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    *error = errno_message(at, "setsockopt(SO_REUSEPORT)", errno);
    return false;
  }
  if (!receive_options(s.fd_.get(), at, opt, &s.receive_buffer_, error)) return false;
  if (at.any_v6 && setsockopt(s.fd_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) {
    *error = errno_message(at, "setsockopt(IPV6_V6ONLY=0)", errno);
    return false;
  }
  sockaddr_storage ss;
  socklen_t len = at.to_sockaddr(&ss);
  if (::bind(s.fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    *error = errno_message(at, "bind", errno);
    return false;
  }
  s.endpoint_ = endpoint_of(s.fd_.get(), at);
  struct stat st;
  if (fstat(s.fd_.get(), &st) == 0) s.inode_ = st.st_ino;
  *out = std::move(s);
  return true;
}

bool UdpSocket::adopt(int fd, const SocketOptions& opt, UdpSocket* out, std::string* error) {
  Endpoint at;
  const std::string name = "fd " + std::to_string(fd);
  auto fail = [&](const char* what) {
    *error = name + ": " + what + ": " + std::strerror(errno);
    return false;
  };
  int type = 0, family = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return fail("getsockopt(SO_TYPE)");
  len = sizeof family;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) != 0) return fail("getsockopt(SO_DOMAIN)");
  if (type != SOCK_DGRAM || (family != AF_INET && family != AF_INET6)) {
    *error = name + ": not a UDP socket (a receive socket must be ListenDatagram=)";
    return false;
  }
  sockaddr_storage ss{};
  len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return fail("getsockname");
  uint16_t port = 0;
  at.addr = IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), &port);
  at.port = port;
  if (family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr)) at.any_v6 = true;
  }
  if (port == 0) {
    *error = name + ": not bound (no port)";
    return false;
  }
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return fail("fcntl(O_NONBLOCK)");
  const int fdflags = fcntl(fd, F_GETFD);
  if (fdflags < 0 || fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC) != 0) return fail("fcntl(FD_CLOEXEC)");
  UdpSocket s;
  if (!receive_options(fd, at, opt, &s.receive_buffer_, error)) return false;
  // A filter left by a sealing instance would drop everything: remove it
  // (ENOENT: there was none).
  int dummy = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof dummy) != 0 && errno != ENOENT)
    return fail("setsockopt(SO_DETACH_FILTER)");
  s.fd_.reset(fd);
  s.endpoint_ = at;
  s.inherited_ = true;
  struct stat st;
  if (fstat(fd, &st) == 0) s.inode_ = st.st_ino;
  uint32_t drops = 0;
  if (meminfo(fd, &drops, nullptr)) {
    s.drops_at_adopt_ = drops;
  } else {
    s.drops_at_adopt_ = s.kernel_drops();
  }
  *out = std::move(s);
  return true;
}

uint64_t UdpSocket::queued_bytes() const {
  uint32_t rmem = 0;
  return fd_.valid() && meminfo(fd_.get(), nullptr, &rmem) ? rmem : 0;
}

void UdpSocket::disconnect() {
  if (!fd_.valid() || inherited_) return;
  // A connected UDP socket only matches datagrams from its peer, here
  // itself: from now on no exporter's datagram reaches it (so none is
  // dropped by it) and exporters get port unreachable, as after the close.
  // For a wildcard address the kernel connects to loopback.
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
      ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    RF_LOG_WARN("%s: cannot disconnect the socket before closing it (%s): datagrams arriving "
                "between the last drop count and the close are not counted",
                endpoint_.str().c_str(), std::strerror(errno));
  }
}

uint64_t UdpSocket::close_final() {
  if (!fd_.valid()) return 0;
  uint32_t drops32 = 0;
  const uint64_t drops = meminfo(fd_.get(), &drops32, nullptr) ? drops32 : kernel_drops();
  fd_.reset();
  return drops;
}

uint64_t UdpSocket::kernel_drops() const {
  uint64_t drops = 0;
  if (!fd_.valid()) return 0;
  proc_udp_drops(inode_, is_v6(endpoint_), &drops);
  return drops;
}

bool UdpSocket::pending() const {
  if (!fd_.valid()) return false;
  // MSG_TRUNC with a zero-length buffer: the datagram's length (>= 0) if
  // there is one, without taking it; -1/EAGAIN when the queue is empty.
  return ::recv(fd_.get(), nullptr, 0, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC) >= 0;
}

bool UdpSocket::seal(std::string* error) {
  sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};  // accept 0 bytes = drop
  sock_fprog prog{1, drop_all};
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    *error = errno_message(endpoint_, "SO_ATTACH_FILTER", errno);
    return false;
  }
  return true;
}

bool proc_udp_drops(ino_t inode, bool v6, uint64_t* drops) {
  UniqueFile f(std::fopen(v6 ? "/proc/net/udp6" : "/proc/net/udp", "re"));
  if (!f) return false;
  char line[512];
  bool found = false;
  // Header line first; then "sl local rem st tx:rx tr:when retr uid timeout
  // inode ref pointer drops". Fields after the inode are fixed in count.
  if (std::fgets(line, sizeof line, f.get())) {
    while (!found && std::fgets(line, sizeof line, f.get())) {
      unsigned long long ino = 0, d = 0;
      char ptr[32];
      int n = std::sscanf(line,
                          " %*u: %*s %*s %*x %*x:%*x %*x:%*x %*x %*u %*u %llu %*d %31s %llu",
                          &ino, ptr, &d);
      if (n == 3 && ino == static_cast<unsigned long long>(inode)) {
        *drops = d;
        found = true;
      }
    }
  }
  return found;
}

bool open_sockets(const ReceiveConfig& cfg, std::vector<std::vector<UdpSocket>>* out,
                  std::string* error) {
  // 0 (auto) is resolved by the collector; here it means one reactor.
  const uint32_t reactors = std::max<uint32_t>(1, cfg.reactors);
  std::vector<std::vector<UdpSocket>> result(reactors);
  for (auto& row : result) row.resize(cfg.listen.size());
  SocketOptions opt;
  opt.receive_buffer = cfg.socket_buffer;
  opt.reuse_port = reactors > 1;
  bool warned = false;
  for (size_t a = 0; a < cfg.listen.size(); ++a) {
    Endpoint at = cfg.listen[a];
    for (uint32_t r = 0; r < reactors; ++r) {
      UdpSocket& s = result[r][a];
      if (!UdpSocket::open(at, opt, &s, error)) return false;  // result's dtors close the rest
      // Port 0 asks the kernel for a port; the other reactors must share it.
      at.port = s.endpoint().port;
      // SO_RCVBUF reports twice what was granted; anything less means the
      // request was capped by net.core.rmem_max (SO_RCVBUFFORCE not allowed).
      const uint64_t want = std::min<uint64_t>(cfg.socket_buffer, INT_MAX / 2);
      if (!warned && s.receive_buffer() < 2 * want) {
        RF_LOG_WARN(
            "%s: receive buffer is %llu bytes, asked %llu: capped by net.core.rmem_max; "
            "run: sysctl -w net.core.rmem_max=%llu",
            s.endpoint().str().c_str(), static_cast<unsigned long long>(s.receive_buffer() / 2),
            static_cast<unsigned long long>(want), static_cast<unsigned long long>(want));
        warned = true;
      }
    }
  }
  *out = std::move(result);
  return true;
}

}  // namespace ringflow
