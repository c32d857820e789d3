// Longest-prefix match (src/enrich/lpm.h, networks.h) against a reference
// built another way: a one-bit-per-level binary trie (the textbook definition
// of longest prefix match), itself checked against a linear scan of every
// prefix on a sample. 100 k random prefixes and 1 M lookups per family and
// IPv4 layout in Release; a tenth of that under ASan/TSan (detected by the
// compilers' __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__), which run the same
// code ten times slower.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "enrich/interner.h"
#include "enrich/lpm.h"
#include "enrich/networks.h"

using namespace ringflow;
using namespace ringflow::enrich;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr size_t kScale = 10;
#else
constexpr size_t kScale = 1;
#endif
constexpr size_t kPrefixes = 100'000 / kScale;
constexpr size_t kLookups = 1'000'000 / kScale;

template <class U>
constexpr unsigned kBits = sizeof(U) * 8;

template <class U>
U mask_of(unsigned len) {
  return len == 0 ? U{0} : static_cast<U>(~U{0} << (kBits<U> - len));
}

// Binary trie, one bit per level; a later insert of the same prefix
// overwrites (the same "last one wins" the tables promise).
template <class U>
class TrieRef {
 public:
  TrieRef() { nodes_.push_back({}); }
  void insert(U net, unsigned len, uint32_t value) {
    uint32_t n = 0;
    for (unsigned i = 0; i < len; ++i) {
      const unsigned bit = static_cast<unsigned>(net >> (kBits<U> - 1 - i)) & 1;
      if (nodes_[n].child[bit] == 0) {
        nodes_[n].child[bit] = static_cast<uint32_t>(nodes_.size());
        nodes_.push_back({});
      }
      n = nodes_[n].child[bit];
    }
    nodes_[n].value = value;
  }
  uint32_t lookup(U addr) const {
    uint32_t n = 0, best = nodes_[0].value;
    for (unsigned i = 0; i < kBits<U>; ++i) {
      n = nodes_[n].child[static_cast<unsigned>(addr >> (kBits<U> - 1 - i)) & 1];
      if (n == 0) break;
      if (nodes_[n].value) best = nodes_[n].value;
    }
    return best;
  }

 private:
  struct Node {
    uint32_t child[2] = {0, 0};
    uint32_t value = 0;
  };
  std::vector<Node> nodes_;
};

// Linear scan: the longest prefix containing addr, the last given on a tie.
template <class P, class U>
uint32_t scan(const std::vector<P>& ps, U addr) {
  int best_len = -1;
  uint32_t best = 0;
  for (const P& p : ps) {
    const U m = mask_of<U>(p.len);
    if ((addr & m) == (p.net & m) && static_cast<int>(p.len) >= best_len) {
      best_len = p.len;
      best = p.value;
    }
  }
  return best;
}

template <class U>
U random_u(std::mt19937_64& rng) {
  if constexpr (sizeof(U) == 4) {
    return static_cast<U>(rng());
  } else {
    return static_cast<U>(U{rng()} << 64 | rng());
  }
}

// Lengths: a fifth uniform over 1..bits (many short, overlapping and
// duplicate prefixes; /0 is in the edge cases), the rest where real tables are (IPv4 /16../32, IPv6
// /16../64), with host routes (/32, /128) among them.
template <class P, class U>
std::vector<P> random_prefixes(std::mt19937_64& rng, size_t n) {
  std::vector<P> out;
  out.reserve(n);
  const unsigned bits = kBits<U>;
  for (size_t i = 0; i < n; ++i) {
    unsigned len;
    const unsigned pick = rng() % 10;
    if (pick < 2) {
      len = rng() % (bits + 1);
    } else if (pick == 2) {
      len = bits;
    } else {
      len = 16 + rng() % (bits == 32 ? 17 : 49);
    }
    P p;
    p.net = random_u<U>(rng);
    // Prefixes shorter than /16 only in the lower half of the space: it is
    // covered whole, the upper half only in patches, so that lookups find
    // both answers (an upper-half /1 would leave no address unmatched).
    if (len < 16) {
      len = std::max(len, 1u);
      p.net &= ~(U{1} << (bits - 1));
    }
    p.net &= mask_of<U>(len);
    p.len = static_cast<uint8_t>(len);
    p.value = static_cast<uint32_t>(i + 1);
    out.push_back(p);
  }
  // Some exact duplicates, with other values (the later must win).
  for (size_t i = 0; i < n / 100; ++i) {
    P p = out[rng() % out.size()];
    p.value = static_cast<uint32_t>(out.size() + 1);
    out.push_back(p);
  }
  return out;
}

// Addresses: half random, half at or around a prefix (its first and last
// address, one either side, or a random host inside).
template <class P, class U>
std::vector<U> random_addresses(std::mt19937_64& rng, const std::vector<P>& ps, size_t n) {
  std::vector<U> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      out.push_back(random_u<U>(rng));
      continue;
    }
    const P& p = ps[rng() % ps.size()];
    const U host = static_cast<U>(~mask_of<U>(p.len));
    const U first = p.net, last = p.net | host;
    switch (rng() % 5) {
      case 0:
        out.push_back(first);
        break;
      case 1:
        out.push_back(last);
        break;
      case 2:
        out.push_back(static_cast<U>(first - 1));
        break;
      case 3:
        out.push_back(static_cast<U>(last + 1));
        break;
      default:
        out.push_back(first | (random_u<U>(rng) & host));
        break;
    }
  }
  return out;
}

template <class U>
std::string hex(U v) {
  std::string s;
  for (int i = kBits<U> / 4 - 1; i >= 0; --i) s += "0123456789abcdef"[(v >> (4 * i)) & 0xf];
  return s;
}

template <class Table, class P, class U>
void compare_with_reference(const Table& t, const std::vector<P>& ps, std::mt19937_64& rng) {
  TrieRef<U> ref;
  for (const P& p : ps) ref.insert(p.net, p.len, p.value);
  const auto addrs = random_addresses<P, U>(rng, ps, kLookups);
  // The reference itself, against the linear scan, on a sample.
  size_t ref_bad = 0;
  for (size_t i = 0; i < 2000 / kScale; ++i) ref_bad += ref.lookup(addrs[i]) != scan(ps, addrs[i]);
  REQUIRE(ref_bad == 0);
  size_t bad = 0, matched = 0;
  std::string first_bad;
  for (U a : addrs) {
    const uint32_t want = ref.lookup(a), got = t.lookup(a);
    matched += want != 0;
    if (want != got && bad++ == 0) {
      first_bad =
          "address 0x" + hex(a) + " want " + std::to_string(want) + " got " + std::to_string(got);
    }
  }
  INFO("first mismatch: " << first_bad);
  CHECK(bad == 0);
  // The lookups exercise both answers: most match something, some nothing.
  CHECK(matched > addrs.size() / 2);
  CHECK(matched < addrs.size());
}

}  // namespace

TEST_CASE("IPv4 LPM equals the reference over random prefixes, DIR-24-8 and ranges", "[lpm]") {
  std::mt19937_64 rng(42);
  const auto ps = random_prefixes<Prefix4, uint32_t>(rng, kPrefixes);
  for (auto layout : {Lpm4::Layout::kDir24_8, Lpm4::Layout::kRanges}) {
    Lpm4 t;
    size_t dups = 0;
    REQUIRE(t.build(ps, layout, &dups));
    CHECK(t.is_dir24_8() == (layout == Lpm4::Layout::kDir24_8));
    CHECK(dups >= kPrefixes / 100);  // at least the ones added on purpose
    std::mt19937_64 lookups(7);
    compare_with_reference<Lpm4, Prefix4, uint32_t>(t, ps, lookups);
  }
}

TEST_CASE("IPv6 LPM equals the reference over random prefixes", "[lpm]") {
  std::mt19937_64 rng(43);
  const auto ps = random_prefixes<Prefix6, uint128>(rng, kPrefixes);
  Lpm6 t;
  size_t dups = 0;
  t.build(ps, &dups);
  CHECK(dups >= kPrefixes / 100);
  std::mt19937_64 lookups(8);
  compare_with_reference<Lpm6, Prefix6, uint128>(t, ps, lookups);
}

TEST_CASE("IPv6 LPM with prefixes crowded into one /16 (a bucket of many ranges)", "[lpm]") {
  // Real tables sit in a few /16s (2001::/16, 2a00::/16...): the index
  // then leaves a long binary search within one bucket.
  std::mt19937_64 rng(44);
  auto ps = random_prefixes<Prefix6, uint128>(rng, kPrefixes / 4);
  for (auto& p : ps) {
    if (p.len < 16) p.len = 16;
    p.net = (uint128{0x2001} << 112) | (p.net & ~mask_of<uint128>(16));
    p.net &= mask_of<uint128>(p.len);
  }
  Lpm6 t;
  t.build(ps);
  std::mt19937_64 lookups(9);
  TrieRef<uint128> ref;
  for (const auto& p : ps) ref.insert(p.net, p.len, p.value);
  auto addrs = random_addresses<Prefix6, uint128>(lookups, ps, kLookups / 4);
  size_t bad = 0;
  for (auto a : addrs) bad += ref.lookup(a) != t.lookup(a);
  CHECK(bad == 0);
}

TEST_CASE("Edge cases: empty, /0, host routes, the ends of the space", "[lpm]") {
  for (auto layout : {Lpm4::Layout::kDir24_8, Lpm4::Layout::kRanges}) {
    Lpm4 empty;
    REQUIRE(empty.build({}, layout));
    CHECK(empty.lookup(0) == 0);
    CHECK(empty.lookup(0xffffffff) == 0);

    Lpm4 t;
    REQUIRE(t.build({{0, 0, 1},             // 0.0.0.0/0
                     {0, 32, 2},            // 0.0.0.0/32
                     {0xffffffff, 32, 3},   // 255.255.255.255/32
                     {0x0a000000, 8, 4},    // 10.0.0.0/8
                     {0x0a010000, 16, 5},   // 10.1.0.0/16
                     {0x0a010200, 24, 6},   // 10.1.2.0/24
                     {0x0a010280, 25, 7},   // 10.1.2.128/25
                     {0x0a0102ff, 32, 8}},  // 10.1.2.255/32
                    layout));
    CHECK(t.lookup(0) == 2);
    CHECK(t.lookup(1) == 1);
    CHECK(t.lookup(0xfffffffe) == 1);
    CHECK(t.lookup(0xffffffff) == 3);
    CHECK(t.lookup(0x09ffffff) == 1);
    CHECK(t.lookup(0x0a000000) == 4);
    CHECK(t.lookup(0x0a00ffff) == 4);
    CHECK(t.lookup(0x0a010000) == 5);
    CHECK(t.lookup(0x0a0101ff) == 5);
    CHECK(t.lookup(0x0a010200) == 6);
    CHECK(t.lookup(0x0a01027f) == 6);
    CHECK(t.lookup(0x0a010280) == 7);
    CHECK(t.lookup(0x0a0102fe) == 7);
    CHECK(t.lookup(0x0a0102ff) == 8);
    CHECK(t.lookup(0x0a010300) == 5);
    CHECK(t.lookup(0x0a020000) == 4);
    CHECK(t.lookup(0x0b000000) == 1);
  }
  Lpm6 e6;
  e6.build({});
  CHECK(e6.lookup(0) == 0);
  CHECK(e6.lookup(~uint128{0}) == 0);
  Lpm6 t6;
  const uint128 db8 = uint128{0x20010db8} << 96;
  t6.build({{0, 0, 1}, {0, 128, 2}, {~uint128{0}, 128, 3}, {db8, 32, 4}, {db8 | 1, 128, 5}});
  CHECK(t6.lookup(0) == 2);
  CHECK(t6.lookup(1) == 1);
  CHECK(t6.lookup(~uint128{0}) == 3);
  CHECK(t6.lookup(~uint128{0} - 1) == 1);
  CHECK(t6.lookup(db8) == 4);
  CHECK(t6.lookup(db8 | 1) == 5);
  CHECK(t6.lookup(db8 | 2) == 4);
  CHECK(t6.lookup(db8 - 1) == 1);
  CHECK(t6.lookup(db8 | ~mask_of<uint128>(32)) == 4);
  CHECK(t6.lookup((db8 | ~mask_of<uint128>(32)) + 1) == 1);
}

TEST_CASE("Duplicate prefixes: the last one given wins, and they are counted", "[lpm]") {
  for (auto layout : {Lpm4::Layout::kDir24_8, Lpm4::Layout::kRanges}) {
    Lpm4 t;
    size_t dups = 0;
    // Host bits beyond the length are ignored: 10.9.9.9/8 is 10.0.0.0/8.
    REQUIRE(t.build({{0x0a000000, 8, 1}, {0x0a010000, 16, 2}, {0x0a090909, 8, 3}}, layout, &dups));
    CHECK(dups == 1);
    CHECK(t.lookup(0x0a000001) == 3);
    CHECK(t.lookup(0x0a010001) == 2);
  }
  Lpm6 t6;
  size_t dups = 0;
  t6.build({{uint128{1} << 127, 1, 1}, {uint128{1} << 127, 1, 2}, {uint128{1} << 127, 1, 3}},
           &dups);
  CHECK(dups == 2);
  CHECK(t6.lookup(~uint128{0}) == 3);
  CHECK(t6.lookup(0) == 0);
}

TEST_CASE("Networks: families kept apart, attributes by longest match", "[lpm]") {
  Interner strings;
  NetworksBuilder b;
  auto cidr = [](const char* s) {
    auto c = Cidr::parse(s);
    REQUIRE(c);
    return *c;
  };
  NetAttrs world{*strings.intern("world6"), 0, 0, 0, 0, 0};
  NetAttrs dc{
      *strings.intern("dc"), *strings.intern("datacenter"), *strings.intern("par1"), 0, 0, 64500};
  NetAttrs host{*strings.intern("gw"), 0, 0, 0, 0, 0};
  REQUIRE(b.add(cidr("::/0"), world));
  REQUIRE(b.add(cidr("10.0.0.0/8"), dc));
  REQUIRE(b.add(cidr("10.0.0.1"), host));
  REQUIRE(b.add(cidr("2001:db8::/32"), dc));
  REQUIRE(b.add(cidr("192.0.2.0/24"), host));
  auto n = b.build();
  REQUIRE(n);
  CHECK(n->v4_prefixes() == 3);
  CHECK(n->v6_prefixes() == 2);
  auto at = [&](const char* a) { return n->lookup(*IpAddr::parse(a)); };
  REQUIRE(at("10.1.2.3"));
  CHECK(*at("10.1.2.3") == dc);
  CHECK(strings.str(at("10.1.2.3")->site) == "par1");
  CHECK(*at("10.0.0.1") == host);
  CHECK(*at("192.0.2.77") == host);
  CHECK(at("11.0.0.1") == nullptr);  // ::/0 is IPv6 only
  CHECK(*at("2001:db8::1") == dc);
  CHECK(*at("2002::1") == world);
  CHECK(strings.str(at("2002::1")->name) == "world6");
  INFO("memory " << n->memory_bytes());
  CHECK(n->memory_bytes() < 2 << 20);  // small tables stay small (no 64 MiB first level)
}
