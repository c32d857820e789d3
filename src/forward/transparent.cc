#include "forward/transparent.h"

#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace ringflow::transparent {

bool has_cap_net_raw() {
  __user_cap_header_struct head{};
  head.version = _LINUX_CAPABILITY_VERSION_3;
  head.pid = 0;  // the calling thread
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capget, &head, data) != 0) return false;
  return (data[CAP_NET_RAW / 32].effective >> (CAP_NET_RAW % 32)) & 1u;
}

int open_socket(const Endpoint& target, std::string* error) {
  if (!target.addr.is_v4()) {
    *error = "an IPv4 target (transparent forwarding sends IPv4 only), found " + target.str();
    return -1;
  }
  const int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) {
    *error = std::string("a raw socket (socket(AF_INET, SOCK_RAW, IPPROTO_RAW)): ") +
             std::strerror(errno);
    return -1;
  }
  sockaddr_storage sa;
  const unsigned salen = target.to_sockaddr(&sa);
  reinterpret_cast<sockaddr_in*>(&sa)->sin_port = 0;  // raw: no port
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), salen) != 0) {
    *error = "connect to " + target.str() + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

namespace {
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
}  // namespace

bool write_header(uint8_t* out, const IpAddr& src, uint16_t sport, const Endpoint& dst,
                  size_t payload_len) {
  if (!src.is_v4() || !dst.addr.is_v4() || payload_len + kHeaderSize > 65535) return false;
  const uint16_t total = static_cast<uint16_t>(payload_len + kHeaderSize);
  std::memset(out, 0, kHeaderSize);
  out[0] = 0x45;  // version 4, header length 5 words
  put16(out + 2, total);
  put16(out + 6, 0x4000);  // don't fragment
  out[8] = 64;              // TTL
  out[9] = IPPROTO_UDP;
  // out[10..11] checksum, out[4..5] id: 0, filled in by the kernel.
  put32(out + 12, src.v4());
  put32(out + 16, dst.addr.v4());
  put16(out + 20, sport);
  put16(out + 22, dst.port);
  put16(out + 24, static_cast<uint16_t>(payload_len + 8));
  // out[26..27]: UDP checksum 0 = none (RFC 768, IPv4).
  return true;
}

}  // namespace ringflow::transparent
