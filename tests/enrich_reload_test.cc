// EpochHolder (src/enrich/epoch_holder.h): reader threads look up
// continuously while a writer swaps in new versions of a Networks table.
// Every batch of lookups made under one guard must come from exactly one
// whole version: the version number carried in every row (asn = version)
// is the same for the whole batch, and each answer equals that version's
// reference answer (even and odd versions hold different prefix sets, so a
// half-swapped structure would show). Each version retired is freed once
// the readers are out, and the loop is bounded: the writer does N swaps,
// each after every reader has finished a batch on the previous version
// (or a deadline), then stops the readers.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "enrich/epoch_holder.h"
#include "enrich/networks.h"

using namespace ringflow;
using namespace ringflow::enrich;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kScale = 4;
#else
constexpr int kScale = 1;
#endif

struct Version {
  uint32_t number;
  std::unique_ptr<Networks> table;
  inline static std::atomic<int> destroyed{0};
  ~Version() { destroyed.fetch_add(1); }
};

struct PrefixSet {
  std::vector<Cidr> prefixes;
};

// Even versions: every prefix; odd versions: every third one left out.
bool in_version(size_t i, uint32_t version) { return version % 2 == 0 || i % 3 != 0; }

std::unique_ptr<const Version> make_version(const std::vector<Cidr>& ps, uint32_t number,
                                            Lpm4::Layout layout) {
  NetworksBuilder b;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (!in_version(i, number)) continue;
    NetAttrs a;
    a.asn = number;
    a.tenant = static_cast<uint32_t>(i + 1);  // which prefix matched
    b.add(ps[i], a);
  }
  auto v = std::make_unique<Version>();
  v->number = number;
  v->table = b.build(layout);
  return v;
}

void run(Lpm4::Layout layout, int swaps, size_t n_prefixes) {
  std::mt19937_64 rng(5);
  std::vector<Cidr> ps;
  for (size_t i = 0; i < n_prefixes; ++i) {
    Cidr c;
    if (i % 2) {
      c = *Cidr::parse(IpAddr::from_v4(static_cast<uint32_t>(rng())).str() + "/32");
      c.prefix_len = static_cast<uint8_t>(96 + 8 + rng() % 25);
    } else {
      uint8_t b[16];
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      b[0] = 0x20;
      c.net = IpAddr::from_v6(b);
      c.prefix_len = static_cast<uint8_t>(16 + rng() % 113);
    }
    // Clear host bits.
    c = *Cidr::parse(c.str().substr(0, c.str().find('/')) + "/" +
                     std::to_string(c.net.is_v4() ? c.prefix_len - 96 : c.prefix_len));
    ps.push_back(c);
  }
  // Lookup addresses: inside prefixes, and their expected tenant per parity.
  std::vector<IpAddr> addrs;
  for (size_t i = 0; i < 4096; ++i) {
    IpAddr a = ps[rng() % ps.size()].net;
    a.bytes[15] ^= static_cast<uint8_t>(rng() & 1);
    addrs.push_back(a);
  }
  const auto ref_even = make_version(ps, 0, Lpm4::Layout::kRanges);
  const auto ref_odd = make_version(ps, 1, Lpm4::Layout::kRanges);
  std::vector<uint32_t> want[2];
  for (const auto& a : addrs) {
    for (int p = 0; p < 2; ++p) {
      const NetAttrs* r = (p ? ref_odd : ref_even)->table->lookup(a);
      want[p].push_back(r ? r->tenant : 0);
    }
  }

  Version::destroyed = 0;
  {
    EpochHolder<Version> holder(make_version(ps, 0, layout));
    constexpr int kReaders = 2;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> batches[kReaders];
    std::atomic<uint64_t> bad{0}, mixed{0}, lookups{0};
    std::atomic<uint32_t> max_seen[kReaders];
    for (int i = 0; i < kReaders; ++i) {
      batches[i] = 0;
      max_seen[i] = 0;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::vector<std::thread> readers;
    for (int r = 0; r < kReaders; ++r) {
      readers.emplace_back([&, r] {
        auto reader = holder.reader();
        size_t k = static_cast<size_t>(r) * 977;
        while (!stop.load(std::memory_order_relaxed) &&
               std::chrono::steady_clock::now() < deadline) {
          auto g = reader.enter();
          const Version* v = g.get();
          const uint32_t p = v->number % 2;
          for (int j = 0; j < 256; ++j, ++k) {
            const size_t i = k % addrs.size();
            const NetAttrs* row = v->table->lookup(addrs[i]);
            const uint32_t tenant = row ? row->tenant : 0;
            if (row && row->asn != v->number) mixed.fetch_add(1, std::memory_order_relaxed);
            if (tenant != want[p][i]) bad.fetch_add(1, std::memory_order_relaxed);
          }
          lookups.fetch_add(256, std::memory_order_relaxed);
          max_seen[r].store(v->number, std::memory_order_relaxed);
          batches[r].fetch_add(1, std::memory_order_release);
        }
      });
    }
    int published = 0;
    for (int s = 1; s <= swaps && std::chrono::steady_clock::now() < deadline; ++s) {
      holder.publish(make_version(ps, static_cast<uint32_t>(s), layout));
      ++published;
      // Wait until each reader has finished a batch that began after the swap.
      uint64_t seen[kReaders];
      for (int r = 0; r < kReaders; ++r) seen[r] = batches[r].load(std::memory_order_acquire);
      for (int r = 0; r < kReaders; ++r) {
        while (batches[r].load(std::memory_order_acquire) < seen[r] + 2 &&
               std::chrono::steady_clock::now() < deadline) {
          std::this_thread::yield();
        }
      }
    }
    stop = true;
    for (auto& t : readers) t.join();
    REQUIRE(published == swaps);  // not cut short by the deadline
    CHECK(mixed.load() == 0);
    CHECK(bad.load() == 0);
    for (int r = 0; r < kReaders; ++r) CHECK(max_seen[r].load() == static_cast<uint32_t>(swaps));
    INFO("lookups " << lookups.load());
    CHECK(lookups.load() > 0);
    // Out of every guard: every retired version can be and is freed.
    CHECK(holder.reclaim() == 0);
    CHECK(holder.publishes() == static_cast<uint64_t>(swaps));
    CHECK(holder.freed() == static_cast<uint64_t>(swaps));
    CHECK(Version::destroyed.load() == swaps);
  }
  CHECK(Version::destroyed.load() == swaps + 1);  // the current one, with the holder
}

}  // namespace

TEST_CASE("Swaps under load: each batch sees one whole version (ranges layout)", "[reload]") {
  run(Lpm4::Layout::kRanges, 60 / kScale, 4000);
}

TEST_CASE("Swaps under load: each batch sees one whole version (DIR-24-8)", "[reload]") {
  run(Lpm4::Layout::kDir24_8, 5 - kScale / 2, 4000);
}

TEST_CASE("A retired version waits for the reader still inside its guard", "[reload]") {
  Version::destroyed = 0;
  EpochHolder<Version> holder;
  auto v0 = std::make_unique<Version>();
  v0->number = 0;
  holder.publish(std::move(v0));
  auto reader = holder.reader();
  REQUIRE(reader);
  {
    auto g = reader.enter();
    REQUIRE(g->number == 0);
    auto v1 = std::make_unique<Version>();
    v1->number = 1;
    holder.publish(std::move(v1));
    CHECK(holder.reclaim() == 1);  // the guard still holds version 0
    CHECK(Version::destroyed.load() == 0);
    CHECK(g->number == 0);  // and it is still readable
    // A second reader entering now gets version 1.
    auto reader2 = holder.reader();
    auto g2 = reader2.enter();
    CHECK(g2->number == 1);
  }
  CHECK(holder.reclaim() == 0);
  CHECK(Version::destroyed.load() == 1);
  auto g = reader.enter();
  CHECK(g->number == 1);
}

TEST_CASE("Reader slots are bounded and reused", "[reload]") {
  EpochHolder<Version> holder;
  std::vector<EpochHolder<Version>::Reader> rs;
  for (size_t i = 0; i < EpochHolder<Version>::kMaxReaders; ++i) {
    rs.push_back(holder.reader());
    REQUIRE(rs.back());
  }
  CHECK_FALSE(holder.reader());
  rs.pop_back();
  CHECK(holder.reader());
  auto g = rs.front().enter();
  CHECK(g.get() == nullptr);  // nothing published yet
}
