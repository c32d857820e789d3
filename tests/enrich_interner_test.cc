// Interner (src/enrich/interner.h): dense ids, id 0 the empty string,
// append-only, bounded; readers on other threads see every published id
// while the writer keeps adding.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "enrich/interner.h"

namespace {

// "s<i>" (snprintf: g++ 12 warns falsely, -Wrestrict, on "s" + std::to_string).
std::string s_name(uint32_t i) {
  char b[16];
  std::snprintf(b, sizeof b, "s%u", i);
  return b;
}

}  // namespace

using namespace ringflow::enrich;

TEST_CASE("Ids are dense, stable and give back their string", "[interner]") {
  Interner in;
  CHECK(in.size() == 1);
  CHECK(in.intern("") == kEmptyId);
  CHECK(in.str(kEmptyId).empty());
  const auto a = in.intern("customer");
  const auto b = in.intern("transit");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == 1);
  CHECK(*b == 2);
  CHECK(in.intern(std::string("cust") + "omer") == a);
  CHECK(in.find("transit") == b);
  CHECK_FALSE(in.find("peering"));
  CHECK(in.size() == 3);  // find() added nothing
  CHECK(in.str(*a) == "customer");
  CHECK(in.str(*b) == "transit");
  CHECK(in.str(99).empty());  // unknown: empty, never a made-up name
  // A long string (a block of its own) and UTF-8 survive byte for byte.
  const std::string big(40000, 'x');
  const auto c = in.intern(big);
  const auto d = in.intern("Télécom Ünïon, S.A.");
  CHECK(in.str(*c) == big);
  CHECK(in.str(*d) == "Télécom Ünïon, S.A.");
  CHECK(in.str(*a) == "customer");
  CHECK(in.memory_bytes() >= big.size());
}

TEST_CASE("A full interner refuses, and keeps what it has", "[interner]") {
  Interner in(4096, 16);  // 16 bytes of strings at most
  CHECK(in.intern("0123456789"));
  CHECK_FALSE(in.intern("abcdefghij"));  // 20 bytes > 16
  CHECK(in.intern("0123456789"));        // already there: no new bytes
  CHECK(in.intern("abc"));
  CHECK(in.size() == 3);
  Interner few(1, 1 << 20);  // one segment: 4096 ids
  for (int i = 1; i < 4096; ++i) REQUIRE(few.intern(std::to_string(i)));
  CHECK_FALSE(few.intern("one more"));
  CHECK(few.str(4095) == "4095");
}

TEST_CASE("Readers see every published id while the writer adds", "[interner]") {
  Interner in;
  constexpr uint32_t kStrings = 20000;  // several segments and blocks
  std::atomic<bool> done{false};
  std::atomic<uint64_t> bad{0}, checked{0};
  std::thread reader([&] {
    while (!done.load()) {
      const uint32_t n = in.size();
      for (uint32_t id = n > 64 ? n - 64 : 1; id < n; ++id) {
        // The writer adds "s<id-1>" as id <id>.
        if (in.str(id) != s_name(id - 1)) bad.fetch_add(1);
        checked.fetch_add(1);
      }
    }
  });
  for (uint32_t i = 0; i < kStrings; ++i) REQUIRE(in.intern(s_name(i)) == i + 1);
  done = true;
  reader.join();
  CHECK(bad.load() == 0);
  CHECK(in.size() == kStrings + 1);
  for (uint32_t i = 0; i < kStrings; i += 997) CHECK(in.str(i + 1) == s_name(i));
}
