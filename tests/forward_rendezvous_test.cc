// Rendezvous hashing for balance-mode forwarding (src/forward/rendezvous.h,
// Forwarder::pick): removing a target moves exactly the streams it owned,
// each to another target, and no other stream; adding one moves streams only
// to it; the share is even.
#include <catch2/catch.hpp>

#include <map>
#include <vector>

#include "forward/forwarder.h"
#include "forward/rendezvous.h"

using namespace ringflow;

namespace {

std::vector<uint64_t> seeds(size_t n) {
  std::vector<uint64_t> s;
  for (size_t i = 0; i < n; ++i) s.push_back(hrw_mix(0x1234 + i * 7919));
  return s;
}

uint64_t key(uint64_t i) { return hrw_mix(i * 0x9E3779B97F4A7C15ull + 1); }

}  // namespace

TEST_CASE("removing a target moves only its own streams", "[forward][hrw]") {
  constexpr size_t kTargets = 5, kKeys = 200000;
  const auto s = seeds(kTargets);
  std::vector<size_t> owner(kKeys);
  std::vector<size_t> share(kTargets);
  for (size_t k = 0; k < kKeys; ++k) ++share[owner[k] = hrw_pick(key(k), s.data(), kTargets)];
  // Even: each target within 5 % of a fifth.
  for (size_t t = 0; t < kTargets; ++t) {
    INFO("target " << t << " owns " << share[t]);
    CHECK(share[t] > kKeys / kTargets * 95 / 100);
    CHECK(share[t] < kKeys / kTargets * 105 / 100);
  }
  for (size_t gone = 0; gone < kTargets; ++gone) {
    size_t moved = 0, stayed_wrongly = 0, moved_wrongly = 0;
    for (size_t k = 0; k < kKeys; ++k) {
      const size_t now = hrw_pick(key(k), s.data(), kTargets, [&](size_t i) { return i != gone; });
      REQUIRE(now < kTargets);
      if (owner[k] == gone) {
        ++moved;
        stayed_wrongly += now == gone;
      } else {
        moved_wrongly += now != owner[k];
      }
    }
    INFO("target " << gone << " removed");
    CHECK(moved == share[gone]);
    CHECK(stayed_wrongly == 0);
    CHECK(moved_wrongly == 0);  // nobody else's stream moved
  }
}

TEST_CASE("adding a target moves streams only to it, about 1/(n+1) of them", "[forward][hrw]") {
  constexpr size_t kKeys = 100000;
  const auto s5 = seeds(5);
  const auto s4 = std::vector<uint64_t>(s5.begin(), s5.begin() + 4);
  size_t to_new = 0;
  for (size_t k = 0; k < kKeys; ++k) {
    const size_t before = hrw_pick(key(k), s4.data(), 4);
    const size_t after = hrw_pick(key(k), s5.data(), 5);
    if (after != before) {
      REQUIRE(after == 4);
      ++to_new;
    }
  }
  CHECK(to_new > kKeys / 5 * 95 / 100);
  CHECK(to_new < kKeys / 5 * 105 / 100);
}

TEST_CASE("Forwarder::pick skips a down target and takes its streams back when it is up",
          "[forward][hrw]") {
  ForwardConfig cfg;
  cfg.name = "t";
  cfg.mode = "balance";
  // Targets on loopback: the sockets are only connected, nothing is sent.
  for (const char* e : {"127.0.0.1:9", "127.0.0.2:9", "127.0.0.3:9"})
    cfg.targets.push_back(*Endpoint::parse(e));
  std::string error;
  auto f = Forwarder::create(cfg, 1, 2048, &error);
  REQUIRE(f);
  constexpr size_t kKeys = 30000;
  std::vector<size_t> owner(kKeys);
  for (size_t k = 0; k < kKeys; ++k) owner[k] = f->pick(key(k));
  f->targets()[1]->up.store(false);
  size_t moved = 0;
  for (size_t k = 0; k < kKeys; ++k) {
    const size_t now = f->pick(key(k));
    CHECK(now != 1);
    if (owner[k] != 1) {
      CHECK(now == owner[k]);
    } else {
      ++moved;
    }
  }
  CHECK(moved > kKeys / 4);
  f->targets()[1]->up.store(true);
  for (size_t k = 0; k < kKeys; ++k) CHECK(f->pick(key(k)) == owner[k]);
  // The seeds follow the addresses, not the order: another node listing the
  // same targets in another order picks the same target for each stream.
  ForwardConfig rev = cfg;
  std::swap(rev.targets[0], rev.targets[2]);
  auto g = Forwarder::create(rev, 1, 2048, &error);
  REQUIRE(g);
  for (size_t k = 0; k < 1000; ++k)
    CHECK(g->targets()[g->pick(key(k))]->label == f->targets()[owner[k]]->label);
}
