// ForwardAdmission (src/pipeline/forward_admission.h): a ringflow-
// encapsulated datagram is unwrapped only from receive.forwarded_from, and
// then reaches the ordered stage as the exporter's own (address, port,
// payload); from anyone else, or malformed, it is rejected and counted; a
// probe is consumed; a plain datagram passes unchanged; a node that only
// forwards consumes everything without running the ordered stage.
#include <catch2/catch.hpp>

#include <vector>

#include "forward/encapsulation.h"
#include "pipeline/forward_admission.h"

using namespace ringflow;

namespace {

// The ordered stage's stand-in: records what it was given.
struct Recorder final : Admission {
  std::vector<DatagramRef> seen;
  Verdict admit(DatagramRef& d, int64_t) override {
    seen.push_back(d);
    return Verdict::kHandOff;
  }
  void release(uint16_t) override {}
  size_t take_ready(DatagramRef*, size_t) override { return 0; }
  void tick(int64_t) override {}
  uint32_t extra_buffers() const override { return 0; }
};

DatagramRef ref(const std::vector<uint8_t>& b, const char* from, uint16_t port) {
  DatagramRef d;
  d.data = b.data();
  d.len = static_cast<uint32_t>(b.size());
  d.exporter = *IpAddr::parse(from);
  d.exporter_port = port;
  return d;
}

std::vector<uint8_t> wrapped(const char* exporter, uint16_t port, uint8_t flags,
                             std::vector<uint8_t> payload) {
  std::vector<uint8_t> b(encap::kHeaderSize);
  encap::write_header(b.data(), *IpAddr::parse(exporter), port, flags);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

}  // namespace

TEST_CASE("encapsulated datagrams: unwrapped from forwarded_from only", "[pipeline][forward]") {
  Recorder inner;
  EncapCounters c;
  const std::vector<Cidr> from = {*Cidr::parse("10.0.0.10/32")};
  ForwardAdmission a(0, &inner, nullptr, {}, from, c);
  const std::vector<uint8_t> payload = {0, 9, 0, 1, 2, 3, 4, 5};

  const auto w = wrapped("192.0.2.7", 40000, 0, payload);
  DatagramRef d = ref(w, "10.0.0.10", 5555);
  CHECK(a.admit(d, 0) == Admission::Verdict::kHandOff);
  REQUIRE(inner.seen.size() == 1);
  CHECK(inner.seen[0].exporter == *IpAddr::parse("192.0.2.7"));
  CHECK(inner.seen[0].exporter_port == 40000);
  CHECK(inner.seen[0].len == payload.size());
  CHECK(std::vector<uint8_t>(inner.seen[0].data, inner.seen[0].data + inner.seen[0].len) ==
        payload);
  CHECK(c.unwrapped.load() == 1);

  // From another sender: refused, the ordered stage never sees it.
  DatagramRef e = ref(w, "10.0.0.11", 5555);
  CHECK(a.admit(e, 0) == Admission::Verdict::kRejected);
  CHECK(c.refused.load() == 1);
  CHECK(inner.seen.size() == 1);

  // Malformed: cut header, unknown version, unknown flag.
  auto cut = w;
  cut.resize(10);
  DatagramRef f = ref(cut, "10.0.0.10", 1);
  CHECK(a.admit(f, 0) == Admission::Verdict::kRejected);
  auto v2 = w;
  v2[4] = 2;
  DatagramRef g = ref(v2, "10.0.0.10", 1);
  CHECK(a.admit(g, 0) == Admission::Verdict::kRejected);
  auto flag = w;
  flag[5] = 0x80;
  DatagramRef h = ref(flag, "10.0.0.10", 1);
  CHECK(a.admit(h, 0) == Admission::Verdict::kRejected);
  CHECK(c.invalid.load() == 3);

  // A probe: consumed.
  const auto p = wrapped("0.0.0.0", 0, encap::kFlagProbe, {});
  DatagramRef q = ref(p, "10.0.0.10", 1);
  CHECK(a.admit(q, 0) == Admission::Verdict::kConsumed);
  CHECK(c.probes.load() == 1);

  // A templates-only copy: unwrapped and counted as such.
  const auto t = wrapped("192.0.2.8", 1, encap::kFlagTemplatesOnly, payload);
  DatagramRef u = ref(t, "10.0.0.10", 1);
  CHECK(a.admit(u, 0) == Admission::Verdict::kHandOff);
  CHECK(c.copies.load() == 1);
  CHECK(inner.seen.back().exporter == *IpAddr::parse("192.0.2.8"));

  // A plain datagram passes unchanged, whoever sends it.
  DatagramRef plain = ref(payload, "198.51.100.1", 2055);
  CHECK(a.admit(plain, 0) == Admission::Verdict::kHandOff);
  CHECK(inner.seen.back().exporter == *IpAddr::parse("198.51.100.1"));
  CHECK(inner.seen.back().data == payload.data());
  CHECK(c.unwrapped.load() == 2);
}

TEST_CASE("no forwarded_from: every encapsulated datagram is refused", "[pipeline][forward]") {
  Recorder inner;
  EncapCounters c;
  ForwardAdmission a(0, &inner, nullptr, {}, {}, c);
  const auto w = wrapped("192.0.2.7", 1, 0, {0, 9});
  DatagramRef d = ref(w, "127.0.0.1", 1);
  CHECK(a.admit(d, 0) == Admission::Verdict::kRejected);
  CHECK(c.refused.load() == 1);
  CHECK(inner.seen.empty());
}

TEST_CASE("forward only: consumed without the ordered stage", "[pipeline][forward]") {
  EncapCounters c;
  ForwardAdmission a(0, nullptr, nullptr, {}, {}, c);
  const std::vector<uint8_t> payload = {0, 5, 0, 1};
  DatagramRef d = ref(payload, "192.0.2.1", 1);
  CHECK(a.admit(d, 0) == Admission::Verdict::kConsumed);
  CHECK(a.extra_buffers() == 0);
}
