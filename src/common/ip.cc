#include <ringflow/ip.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdio>

namespace ringflow {
namespace {

constexpr uint8_t kV4Prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool parse_port(std::string_view s, uint16_t* out) {
  if (s.empty()) return false;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

IpAddr IpAddr::from_v4(uint32_t host_order) {
  IpAddr a;
  std::memcpy(a.bytes.data(), kV4Prefix, 12);
  a.bytes[12] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[13] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[14] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[15] = static_cast<uint8_t>(host_order);
  return a;
}

IpAddr IpAddr::from_v6(const uint8_t b[16]) {
  IpAddr a;
  std::memcpy(a.bytes.data(), b, 16);
  return a;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) return from_v4(ntohl(v4.s_addr));
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) == 1) return from_v6(v6.s6_addr);
  return std::nullopt;
}

IpAddr IpAddr::from_sockaddr(const sockaddr* sa, uint16_t* port) {
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    if (port) *port = ntohs(in->sin_port);
    return from_v4(ntohl(in->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (port) *port = ntohs(in6->sin6_port);
    return from_v6(in6->sin6_addr.s6_addr);
  }
  if (port) *port = 0;
  return IpAddr{};
}

bool IpAddr::is_v4() const { return std::memcmp(bytes.data(), kV4Prefix, 12) == 0; }

uint32_t IpAddr::v4() const {
  return uint32_t{bytes[12]} << 24 | uint32_t{bytes[13]} << 16 | uint32_t{bytes[14]} << 8 |
         bytes[15];
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  unsigned max = addr->is_v4() ? 32 : 128;
  unsigned len = max;
  if (slash != std::string_view::npos) {
    auto s = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), len);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || len > max)
      return std::nullopt;
  }
  Cidr c;
  c.prefix_len = static_cast<uint8_t>(addr->is_v4() ? len + 96 : len);
  c.net = *addr;
  // Clear host bits so contains() can compare whole bytes.
  for (unsigned i = 0; i < 16; ++i) {
    unsigned bit = i * 8;
    if (bit >= c.prefix_len) {
      c.net.bytes[i] = 0;
    } else if (bit + 8 > c.prefix_len) {
      c.net.bytes[i] &= static_cast<uint8_t>(0xFF00 >> (c.prefix_len - bit));
    }
  }
  return c;
}

bool Cidr::contains(const IpAddr& a) const {
  unsigned full = prefix_len / 8;
  if (std::memcmp(a.bytes.data(), net.bytes.data(), full) != 0) return false;
  unsigned rest = prefix_len % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF00 >> rest);
  return (a.bytes[full] & mask) == net.bytes[full];
}

std::string Cidr::str() const {
  bool v4 = net.is_v4() && prefix_len >= 96;
  std::string s = net.str();
  s += '/';
  s += std::to_string(v4 ? prefix_len - 96 : prefix_len);
  return s;
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  Endpoint e;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    auto addr = IpAddr::parse(text.substr(1, close - 1));
    if (!addr || !parse_port(text.substr(close + 2), &e.port)) return std::nullopt;
    e.addr = *addr;
    e.any_v6 = addr->bytes == IpAddr{}.bytes;
    return e;
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    // "port" or ":port": every address, dual-stack.
    auto p = colon == 0 ? text.substr(1) : text;
    if (!parse_port(p, &e.port)) return std::nullopt;
    e.any_v6 = true;
    return e;
  }
  if (text.find(':') != colon) return std::nullopt;  // bare IPv6 needs brackets
  auto addr = IpAddr::parse(text.substr(0, colon));
  if (!addr || !addr->is_v4() || !parse_port(text.substr(colon + 1), &e.port))
    return std::nullopt;
  e.addr = *addr;
  return e;
}

unsigned Endpoint::to_sockaddr(sockaddr_storage* out) const {
  std::memset(out, 0, sizeof *out);
  if (!any_v6 && addr.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(addr.v4());
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  if (!any_v6) std::memcpy(in6->sin6_addr.s6_addr, addr.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

std::string Endpoint::str() const {
  char buf[INET6_ADDRSTRLEN + 16];
  if (any_v6) {
    snprintf(buf, sizeof buf, "[::]:%u", port);
  } else if (addr.is_v4()) {
    snprintf(buf, sizeof buf, "%s:%u", addr.str().c_str(), port);
  } else {
    snprintf(buf, sizeof buf, "[%s]:%u", addr.str().c_str(), port);
  }
  return buf;
}

}  // namespace ringflow
