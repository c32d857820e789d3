// The generator's random numbers: xoshiro256** seeded through splitmix64.
//
// Why not <random>: std::mt19937_64 + distributions are slow per call and
// their output for a given seed is not specified across standard libraries
// (distributions), while ringflow-gen promises identical datagrams for a given
// --seed on every build. xoshiro256** is a few instructions per 64-bit draw.
//
// Thread safety: none; each exporter stream owns its own Rng.
#pragma once

#include <cstdint>

namespace ringflow::gen {

// splitmix64: turns any 64-bit seed (including 0) into well-mixed state.
inline uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// splitmix64's output function on its own: a good 64-bit mix of x. Used as a
// counter-based generator (mix64(base + i * odd)) where draws must not form
// one serial dependency chain.
inline uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Derives an independent seed for sub-stream `stream` of `seed` (exporter i,
// the key set, ...), so each stream's output does not depend on how many
// others exist or on which thread runs it.
inline uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ull);
  splitmix64(&s);
  return splitmix64(&s);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 1) {
    uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(&s);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n) by multiply-shift (Lemire); the bias for n < 2^32 is
  // below 2^-32, irrelevant for traffic modelling. REQUIRES: n >= 1.
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(((next() >> 32) * n) >> 32); }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // True with probability p (p <= 0 never, p >= 1 always).
  bool chance(double p) { return p > 0 && uniform() < p; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace ringflow::gen
