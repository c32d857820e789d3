#include "decode/stream_options.h"

#include "decode/plan_refs.h"

namespace ringflow {

StreamOptions::StreamOptions(uint32_t streams, SessionCounters& counters, InterfaceNames* names)
    : counters_(counters), names_(names), entries_(streams) {}

StreamOptions::~StreamOptions() {
  for (StreamOptionsEntry& e : entries_)
    if (e.sampling) unpin(e.sampling);
}

void StreamOptions::publish(StreamOptionsEntry& e, const SamplerSet& rates) {
  auto* published = new SamplerSet(rates);
  published->refs = 1;
  if (e.sampling) unpin(e.sampling);
  e.sampling = published;
  counters_.sampler_updates.add();
}

void StreamOptions::apply_set(uint32_t stream, const DecodePlan& plan, const uint8_t* body,
                              size_t len, uint32_t* records) {
  StreamOptionsEntry& s = entries_[stream];
  size_t pos = 0;
  OptionsValues v;
  SetStatus st;
  while (decode_options_record(plan, body, len, &pos, &v, &st)) {
    ++*records;
    counters_.options_records.add();
    if (names_) names_->learn(stream, v);
    if (v.has_system_init) {
      s.init_ms = v.system_init_ms;
      s.has_init = true;
    }
    if (!v.sampling || v.rate == 0) continue;
    SamplerSet next = s.sampling ? *s.sampling : SamplerSet{};
    next.refs = 0;
    if (v.has_sampler_id) {
      uint32_t i = 0;
      while (i < next.n && next.ids[i] != v.sampler_id) ++i;
      if (i == next.n) {
        if (next.n == SamplerSet::kMaxSamplers) {
          counters_.samplers_full.add();
          continue;
        }
        ++next.n;
        next.ids[i] = v.sampler_id;
      }
      next.rates[i] = v.rate;
    } else {
      next.default_rate = v.rate;
    }
    if (s.sampling && s.sampling->same_rates(next)) continue;
    publish(s, next);
  }
  if (st == SetStatus::kTooShort)
    counters_.set_drops[static_cast<size_t>(SetDrop::kTooShort)].add();
  if (st == SetStatus::kVarOverflow)
    counters_.set_drops[static_cast<size_t>(SetDrop::kVarOverflow)].add();
}

void StreamOptions::restore(uint32_t stream, bool has_init, int64_t init_ms,
                            const SamplerSet& rates) {
  StreamOptionsEntry& s = entries_[stream];
  s.has_init = has_init;
  s.init_ms = init_ms;
  if (rates.n || rates.default_rate) {
    SamplerSet copy = rates;
    copy.refs = 0;
    publish(s, copy);
  }
}

void StreamOptions::forget(uint32_t stream) {
  StreamOptionsEntry& s = entries_[stream];
  if (s.sampling) unpin(s.sampling);
  s = StreamOptionsEntry{};
}

}  // namespace ringflow
