// Rendezvous (highest random weight) hashing: which target of a balance-mode
// forward (src/forward/forwarder.h) takes an exporter stream. Each target has
// a fixed 64-bit seed (from its index and address); a stream's score at a
// target is a mix of (stream hash, seed), and the stream goes to the live
// target with the highest score. Removing (or killing) a target moves only
// the streams whose highest score was there, each to its second choice; the
// others stay (tests/forward_rendezvous_test.cc checks it over many keys).
//
// Cost: one 64-bit mix per target per datagram (targets are few: a config
// list). Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringflow {

inline uint64_t hrw_mix(uint64_t x) {
  // splitmix64's finaliser: every input bit moves every output bit.
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

// The target of `stream` among targets [0, n) with seeds seeds[i], skipping
// those with live[i] false; n (no live target) when there is none.
// live may be null (all live).
template <class LiveFn>
inline size_t hrw_pick(uint64_t stream, const uint64_t* seeds, size_t n, LiveFn&& live) {
  size_t best = n;
  uint64_t best_score = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!live(i)) continue;
    const uint64_t s = hrw_mix(stream ^ seeds[i]);
    if (best == n || s > best_score) {
      best = i;
      best_score = s;
    }
  }
  return best;
}

inline size_t hrw_pick(uint64_t stream, const uint64_t* seeds, size_t n) {
  return hrw_pick(stream, seeds, n, [](size_t) { return true; });
}

}  // namespace ringflow
