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

void RecordSampling::resolve(FlowRecord* r, size_t n, const SamplerSet* set,
                             const IpAddr& exporter, const v5::Header* v5, uint16_t* unknown_out,
                             uint16_t* too_high_out) const {
  if (v5) {
    const uint32_t mult = policy_.multiplier(exporter, *v5);
    for (size_t i = 0; i < n; ++i) r[i].sampling = mult;
    return;
  }
  const bool renormalize = policy_.renormalize();
  const uint32_t forced = policy_.override_for(exporter);
  const uint32_t without_id = set ? set->rate_without_id() : 0;
  const uint32_t max_rate = max_rate_;
  uint32_t unknown = 0, too_high = 0;
  for (size_t i = 0; i < n; ++i) {
    FlowRecord& f = r[i];
    uint32_t rate = forced;
    if (rate == 0 && (f.flags & kFlowHasRate)) rate = f.sampling;
    if (rate == 0 && (f.flags & kFlowHasSamplerId) && set) rate = set->rate_of(f.sampler_id);
    if (rate == 0) rate = without_id;
    bool above;
    rate = believed_rate(rate, max_rate, &above);
    if (above) {
      // Past decode.max_sampling_rate: not believed, taken as unknown.
      ++too_high;
      rate = policy_.default_interval();
    } else if (rate == 0) {
      // Unknown: a sampler named and never announced, or several announced
      // and none named. Unsampled exporters (nothing announced, no id) are not.
      unknown += ((f.flags & kFlowHasSamplerId) && f.sampler_id != 0) || (set && set->n > 1);
      rate = policy_.default_interval();
    }
    f.sampling = renormalize ? rate : 1;
  }
  *unknown_out = static_cast<uint16_t>(*unknown_out + unknown);
  *too_high_out = static_cast<uint16_t>(*too_high_out + too_high);
}

uint32_t SamplingPolicy::interval(const IpAddr& exporter, const v5::Header& h) const {
  if (uint32_t o = override_for(exporter)) return o;
  uint32_t n = h.sampling_interval();
  return n != 0 ? n : default_interval_;
}

}  // namespace ringflow
