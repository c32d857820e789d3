// SamplerSet: the sampling rates one exporter stream has announced in options
// records (v9 samplerId 48 with samplingInterval 34 or samplerRandomInterval
// 50; IPFIX selectorId 302 with 305/306 or 309/310 or 311), by sampler id,
// plus the rate announced without an id (v9 options scoped to the system:
// "this exporter samples 1 in N").
//
// Immutable once published: a stream's current set is replaced, never
// modified, when an options record changes a rate, because datagrams already
// handed to workers keep pointing at the set that applied when they arrived
// (src/decode/sessions.h pins it with `refs`, counted on the reactor thread).
//
// Thread safety: read-only after publication; refs belongs to the reactor.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringflow {

struct SamplerSet {
  static constexpr size_t kMaxSamplers = 16;

  uint32_t refs = 0;          // owner's (reactor thread) reference count
  uint32_t default_rate = 0;  // announced without a sampler id; 0 = none
  uint32_t n = 0;             // entries used
  uint32_t ids[kMaxSamplers] = {};
  uint32_t rates[kMaxSamplers] = {};

  // The rate of sampler `id`, 0 when not announced.
  uint32_t rate_of(uint32_t id) const {
    for (uint32_t i = 0; i < n; ++i)
      if (ids[i] == id) return rates[i];
    return 0;
  }
  // The rate to use for a record that names no sampler: the id-less rate, or
  // the only sampler's; 0 when it cannot be told.
  uint32_t rate_without_id() const {
    if (default_rate) return default_rate;
    return n == 1 ? rates[0] : 0;
  }
  bool same_rates(const SamplerSet& o) const {
    if (default_rate != o.default_rate || n != o.n) return false;
    for (uint32_t i = 0; i < n; ++i)
      if (ids[i] != o.ids[i] || rates[i] != o.rates[i]) return false;
    return true;
  }
};

}  // namespace ringflow
