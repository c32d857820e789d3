// The forwarder's sends (src/forward/forwarder.cc, Forwarder::drain): a run
// of datagrams of one length queued for a target goes as UDP GSO messages
// (UDP_SEGMENT, at most Forwarder::kGsoSegments datagrams each, the last of a
// run may be shorter), and the target receives exactly the datagrams queued,
// byte for byte and in order, each counted sent once.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <cstring>
#include <vector>

#include "common/unique_fd.h"
#include "forward/forwarder.h"

using namespace ringflow;

namespace {

// A NetFlow v5 datagram of `count` records (24 + 48 x count bytes), its
// flow_sequence = seq so that each one is told apart.
std::vector<uint8_t> v5(uint16_t count, uint32_t seq) {
  std::vector<uint8_t> d(24 + 48 * size_t{count}, 0);
  d[1] = 5;
  d[3] = static_cast<uint8_t>(count);
  for (int i = 0; i < 4; ++i) d[16 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
  for (size_t i = 24; i < d.size(); ++i) d[i] = static_cast<uint8_t>(seq * 31 + i);
  return d;
}

void nap_ms(long ms) {
  timespec ts{0, ms * 1000000};
  nanosleep(&ts, nullptr);
}

}  // namespace

TEST_CASE("a run of equal datagrams goes as UDP GSO messages and arrives intact",
          "[forward][gso]") {
  UniqueFd rx(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  REQUIRE(rx.get() >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(rx.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t salen = sizeof sa;
  REQUIRE(getsockname(rx.get(), reinterpret_cast<sockaddr*>(&sa), &salen) == 0);

  ForwardConfig cfg;
  cfg.name = "gso";
  cfg.queue = 256;
  cfg.targets.push_back(*Endpoint::parse("127.0.0.1:" + std::to_string(ntohs(sa.sin_port))));
  std::string error;
  auto f = Forwarder::create(cfg, 1, 2048, &error);
  REQUIRE(f);
  Forwarder::Target& t = *f->targets()[0];
  REQUIRE(t.gso_max >= 1400);  // loopback's MTU holds any datagram; UDP GSO since Linux 4.18

  // 150 of 120 bytes then one of 72 (a shorter last one may end a run),
  // queued before the thread starts: one drain step finds all 151.
  constexpr uint32_t kFull = 150;
  std::vector<std::vector<uint8_t>> sent;
  for (uint32_t i = 0; i < kFull; ++i) sent.push_back(v5(2, i));
  sent.push_back(v5(1, kFull));
  const IpAddr exporter = Endpoint::parse("127.0.0.9:2055")->addr;
  for (const auto& d : sent) f->offer(0, d.data(), d.size(), exporter, 2055);
  REQUIRE(f->selected() == sent.size());

  f->start();
  for (int i = 0; i < 500 && t.sent.load() < sent.size(); ++i) nap_ms(10);
  f->stop();
  CHECK(t.sent.load() == sent.size());
  CHECK(t.send_error.load() == 0);
  // 151 = 64 + 64 + 23 (the last run ends with the shorter datagram).
  CHECK(t.gso_messages.load() == 3);

  std::vector<uint8_t> buf(4096);
  size_t got = 0;
  for (int tries = 0; got < sent.size() && tries < 500;) {
    const ssize_t n = recv(rx.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      ++tries;
      nap_ms(10);
      continue;
    }
    INFO("datagram " << got);
    REQUIRE(static_cast<size_t>(n) == sent[got].size());
    CHECK(std::memcmp(buf.data(), sent[got].data(), static_cast<size_t>(n)) == 0);
    ++got;
  }
  CHECK(got == sent.size());
  CHECK(recv(rx.get(), buf.data(), buf.size(), MSG_DONTWAIT) < 0);  // nothing more
}
