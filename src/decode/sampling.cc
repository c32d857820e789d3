#include "decode/sampling.h"

#include <algorithm>

namespace ringflow {
namespace {
uint32_t clamp_interval(uint32_t v) { return std::clamp<uint32_t>(v, 1, kMaxSamplingInterval); }
}  // namespace

SamplingPolicy::SamplingPolicy(const DecodeConfig& cfg)
    : renormalize_(cfg.renormalize), default_interval_(clamp_interval(cfg.default_sampling)) {
  overrides_.reserve(cfg.sampling_overrides.size());
  for (const SamplingOverride& o : cfg.sampling_overrides)
    overrides_.emplace_back(o.exporter, clamp_interval(o.interval));
  // Stable sort keeps config order among equal addresses; then keep the last
  // of each run so that a later entry overrides an earlier one.
  std::stable_sort(overrides_.begin(), overrides_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t w = 0;
  for (size_t i = 0; i < overrides_.size(); ++i) {
    if (i + 1 < overrides_.size() && overrides_[i + 1].first == overrides_[i].first) continue;
    overrides_[w++] = overrides_[i];
  }
  overrides_.resize(w);
}

uint32_t SamplingPolicy::override_for(const IpAddr& exporter) const {
  if (overrides_.empty()) return 0;
  auto it = std::lower_bound(overrides_.begin(), overrides_.end(), exporter,
                             [](const auto& e, const IpAddr& a) { return e.first < a; });
  return it != overrides_.end() && it->first == exporter ? it->second : 0;
}

uint32_t SamplingPolicy::interval(const IpAddr& exporter, const v5::Header& h) const {
  if (uint32_t o = override_for(exporter)) return o;
  uint32_t n = h.sampling_interval();
  return n != 0 ? n : default_interval_;
}

}  // namespace ringflow
