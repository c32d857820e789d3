// Transparent forwarding's header (src/forward/transparent.h): the IPv4 + UDP
// header the reactor writes in front of a forwarded datagram carries the
// exporter's address and port as source and the target's as destination,
// the lengths of the payload, protocol UDP, and leaves the fields the kernel
// fills in (IP id and checksum) at 0; an IPv6 exporter or target, or a
// datagram too long for IPv4, gets no header.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "forward/transparent.h"

using namespace ringflow;

namespace {
uint16_t at16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t at32(const uint8_t* p) { return uint32_t(at16(p)) << 16 | at16(p + 2); }
}  // namespace

TEST_CASE("transparent header: exporter as source, target as destination", "[forward]") {
  uint8_t h[transparent::kHeaderSize];
  std::memset(h, 0xee, sizeof h);
  const IpAddr exporter = *IpAddr::parse("10.201.0.10");
  const Endpoint target = *Endpoint::parse("10.201.0.3:2055");
  REQUIRE(transparent::write_header(h, exporter, 57356, target, 1400));
  CHECK(h[0] == 0x45);                    // IPv4, 20-byte header
  CHECK(at16(h + 2) == 1400 + 28);        // total length
  CHECK(at16(h + 4) == 0);                // id: the kernel's
  CHECK(at16(h + 6) == 0x4000);           // don't fragment
  CHECK(h[8] == 64);                      // TTL
  CHECK(h[9] == 17);                      // UDP
  CHECK(at16(h + 10) == 0);               // checksum: the kernel's
  CHECK(at32(h + 12) == 0x0ac9000a);      // 10.201.0.10
  CHECK(at32(h + 16) == 0x0ac90003);      // 10.201.0.3
  CHECK(at16(h + 20) == 57356);           // the exporter's port
  CHECK(at16(h + 22) == 2055);
  CHECK(at16(h + 24) == 1400 + 8);        // UDP length
  CHECK(at16(h + 26) == 0);               // no UDP checksum (IPv4 allows it)
}

TEST_CASE("transparent header: IPv6 or oversize gets none", "[forward]") {
  uint8_t h[transparent::kHeaderSize];
  const IpAddr v4 = *IpAddr::parse("192.0.2.1");
  const IpAddr v6 = *IpAddr::parse("2001:db8::1");
  const Endpoint t4 = *Endpoint::parse("192.0.2.2:2055");
  const Endpoint t6 = *Endpoint::parse("[2001:db8::2]:2055");
  CHECK_FALSE(transparent::write_header(h, v6, 1, t4, 100));
  CHECK_FALSE(transparent::write_header(h, v4, 1, t6, 100));
  CHECK_FALSE(transparent::write_header(h, v4, 1, t4, 65535 - 28 + 1));
  CHECK(transparent::write_header(h, v4, 1, t4, 65535 - 28));
}
