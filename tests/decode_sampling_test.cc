// Sampling: "top 2 bits of sampling_interval = mode, low 14 bits = interval.
// Config: renormalize packets and bytes by the interval (on by default, as
// nfdump does), a default interval for exporters that send 0, and
// per-exporter overrides (address -> interval)."
#include <catch2/catch.hpp>

#include "decode/sampling.h"

namespace ringflow {
namespace {

const IpAddr kA = IpAddr::from_v4(0xC0000201);
const IpAddr kB = IpAddr::from_v4(0xC0000202);
const IpAddr kC = *IpAddr::parse("2001:db8::1");

v5::Header sampled(uint16_t raw) {
  v5::Header h;
  h.sampling_raw = raw;
  return h;
}

}  // namespace

TEST_CASE("sampling: mode bits are not part of the interval", "[decode][sampling]") {
  SamplingPolicy p{DecodeConfig{}};
  CHECK(p.renormalize());                                      // on by default
  CHECK(p.multiplier(kA, sampled(100)) == 100);                // mode 0
  CHECK(p.multiplier(kA, sampled(0x4000 | 100)) == 100);       // mode 1, deterministic
  CHECK(p.multiplier(kA, sampled(0x8000 | 100)) == 100);       // mode 2, random
  CHECK(p.multiplier(kA, sampled(0xC000 | 0x3FFF)) == 16383);  // mode 3, largest interval
  CHECK(sampled(0x8000 | 100).sampling_mode() == 2);
}

TEST_CASE("sampling: interval 0 takes the default", "[decode][sampling]") {
  SECTION("default default is 1") {
    SamplingPolicy p{DecodeConfig{}};
    CHECK(p.multiplier(kA, sampled(0)) == 1);
    CHECK(p.multiplier(kA, sampled(0x4000)) == 1);  // mode set, interval 0
  }
  SECTION("configured default") {
    DecodeConfig c;
    c.default_sampling = 64;
    SamplingPolicy p(c);
    CHECK(p.multiplier(kA, sampled(0)) == 64);
    CHECK(p.multiplier(kA, sampled(0x8000)) == 64);
    CHECK(p.multiplier(kA, sampled(10)) == 10);  // the header wins over the default
  }
  SECTION("a nonsensical default still yields >= 1") {
    DecodeConfig c;
    c.default_sampling = 0;
    CHECK(SamplingPolicy(c).multiplier(kA, sampled(0)) == 1);
  }
}

TEST_CASE("sampling: per-exporter override wins", "[decode][sampling]") {
  DecodeConfig c;
  c.default_sampling = 8;
  c.sampling_overrides = {{kB, 1000}, {kC, 50}, {kA, 2}, {kB, 999}};  // later kB wins
  SamplingPolicy p(c);
  CHECK(p.overrides() == 3);
  CHECK(p.multiplier(kA, sampled(0)) == 2);
  CHECK(p.multiplier(kA, sampled(512)) == 2);  // over the header too
  CHECK(p.multiplier(kB, sampled(0x4000 | 3)) == 999);
  CHECK(p.multiplier(kC, sampled(0)) == 50);
  const IpAddr other = IpAddr::from_v4(0xC0000203);
  CHECK(p.multiplier(other, sampled(0)) == 8);
  CHECK(p.multiplier(other, sampled(5)) == 5);
  // 192.0.2.1 over IPv6 (not v4-mapped) is a different exporter.
  CHECK(p.multiplier(*IpAddr::parse("::c000:201"), sampled(0)) == 8);
}

TEST_CASE("sampling: renormalize off gives 1, interval still known", "[decode][sampling]") {
  DecodeConfig c;
  c.renormalize = false;
  c.default_sampling = 8;
  c.sampling_overrides = {{kA, 20}};
  SamplingPolicy p(c);
  CHECK(p.multiplier(kA, sampled(100)) == 1);
  CHECK(p.multiplier(kB, sampled(100)) == 1);
  CHECK(p.interval(kA, sampled(100)) == 20);
  CHECK(p.interval(kB, sampled(100)) == 100);
  CHECK(p.interval(kB, sampled(0)) == 8);
}

TEST_CASE("sampling: renormalization arithmetic does not overflow", "[decode][sampling]") {
  // The largest dOctets times the largest 14-bit interval needs 46 bits.
  CHECK(renormalized(0xFFFFFFFFu, 16383) == 70364449193985ull);
  CHECK(renormalized(0xFFFFFFFFu, 16383) / 16383 == 0xFFFFFFFFu);
  CHECK(renormalized(1000, 1) == 1000);
  SamplingPolicy p{DecodeConfig{}};
  v5::Header h = sampled(0xFFFF);  // mode 3, interval 16383
  CHECK(renormalized(0xFFFFFFFFu, p.multiplier(kA, h)) == uint64_t{0xFFFFFFFF} * 16383);
}

}  // namespace ringflow

namespace ringflow {

// Issue 26: an announced rate of 4294967295 multiplied 2^62 bytes past 2^64.
// Rates above decode.max_sampling_rate are taken as unknown (and counted by
// the worker); the default bound is in the schema and docs/config.md.
TEST_CASE("sampling: rates above decode.max_sampling_rate are not believed", "[decode][sampling]") {
  bool too_high = true;
  CHECK(believed_rate(0, 1048576, &too_high) == 0);
  CHECK_FALSE(too_high);
  CHECK(believed_rate(1000, 1048576, &too_high) == 1000);
  CHECK_FALSE(too_high);
  CHECK(believed_rate(1048576, 1048576, &too_high) == 1048576);
  CHECK_FALSE(too_high);
  CHECK(believed_rate(1048577, 1048576, &too_high) == 0);
  CHECK(too_high);
  CHECK(believed_rate(4294967295u, 1048576, &too_high) == 0);
  CHECK(too_high);
  CHECK(DecodeConfig{}.max_sampling_rate == 1048576);
}

}  // namespace ringflow
