// IP addresses, CIDR prefixes and socket endpoints as ringflow uses them.
//
// Every address is held as 16 bytes in network order: IPv4 as the v4-mapped
// IPv6 address ::ffff:a.b.c.d, so that exporters reached over IPv4 and IPv6
// share one type, one hash and one comparison. Values are plain data.
//
// Thread safety: value types; no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;
struct sockaddr_storage;

namespace ringflow {

struct IpAddr {
  std::array<uint8_t, 16> bytes{};  // network order; v4 is ::ffff:a.b.c.d

  static IpAddr from_v4(uint32_t host_order);
  static IpAddr from_v6(const uint8_t bytes16[16]);
  // Accepts dotted IPv4 or any IPv6 text form. nullopt when not an address.
  static std::optional<IpAddr> parse(std::string_view text);
  // From a kernel socket address (AF_INET or AF_INET6); port to *port if set.
  static IpAddr from_sockaddr(const sockaddr* sa, uint16_t* port = nullptr);

  bool is_v4() const;
  uint32_t v4() const;       // host order; REQUIRES: is_v4()
  std::string str() const;   // "192.0.2.1" or "2001:db8::1"

  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

// An address prefix ("10.0.0.0/8", "2001:db8::/32", or a bare address = /32
// or /128). IPv4 prefixes are stored on the v4-mapped form (prefix + 96).
struct Cidr {
  IpAddr net;
  uint8_t prefix_len = 0;  // 0..128 over the 16-byte form

  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddr& a) const;
  std::string str() const;
};

// "host:port", "[v6]:port" or ":port"/"port" (any address, IPv6 dual-stack).
struct Endpoint {
  IpAddr addr;
  uint16_t port = 0;
  bool any_v6 = false;  // listen on [::] (dual-stack)

  static std::optional<Endpoint> parse(std::string_view text);
  // Fills a sockaddr_in or sockaddr_in6; returns its length.
  unsigned to_sockaddr(sockaddr_storage* out) const;
  std::string str() const;
};

// 64-bit hash of an address; stable within a process (used for routing).
inline uint64_t hash_addr(const IpAddr& a) {
  uint64_t lo, hi;
  std::memcpy(&lo, a.bytes.data(), 8);
  std::memcpy(&hi, a.bytes.data() + 8, 8);
  uint64_t h = (lo ^ (hi * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

}  // namespace ringflow
