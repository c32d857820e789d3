#include "decode/template_store.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "decode/plan_refs.h"
#include "wire/ipfix.h"

namespace ringflow {
namespace {

size_t pow2_at_least(size_t v) {
  size_t p = 16;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

TemplateStore::TemplateStore(const DecodeConfig& cfg, uint32_t streams, SessionCounters& counters)
    : max_per_stream_(std::max<uint32_t>(cfg.max_templates_per_stream, 1)),
      v9_variable_length_(cfg.v9_variable_length),
      idle_ms_(int64_t{cfg.template_timeout_s} * 1000),
      counters_(counters),
      per_stream_(streams),
      history_(streams) {
  const uint32_t max_templates = std::max<uint32_t>(cfg.max_templates, 1);
  entries_.resize(max_templates);
  free_.reserve(max_templates);
  for (uint32_t i = max_templates; i-- > 0;) free_.push_back(i);
  slots_.assign(pow2_at_least(size_t{max_templates} * 2), kNil);
  mask_ = slots_.size() - 1;
}

TemplateStore::~TemplateStore() {
  for (TemplateEntry& e : entries_)
    if (e.plan) unpin(e.plan);
}

void TemplateStore::erase(size_t hole) {
  TemplateEntry& e = entries_[slots_[hole]];
  --per_stream_[e.stream];
  --used_;
  if (e.plan->options) --options_used_;
  unpin(e.plan);
  e.plan = nullptr;
  free_.push_back(slots_[hole]);
  // Backward-shift deletion: no tombstones.
  size_t j = hole;
  for (;;) {
    j = (j + 1) & mask_;
    if (slots_[j] == kNil) break;
    const TemplateEntry& x = entries_[slots_[j]];
    const size_t home = hash(x.stream, x.id) & mask_;
    if (((j - home) & mask_) >= ((j - hole) & mask_)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = kNil;
  counters_.templates_active.set(used_);
  counters_.options_templates_active.set(options_used_);
}

void TemplateStore::apply_set(WireVersion v, bool options, uint32_t stream, const uint8_t* body,
                              size_t len, int64_t now_ms, uint32_t* records,
                              TemplateListener& added) {
  size_t off = 0;
  while (off < len) {
    TemplateRecordView t;
    TemplateProblem problem;
    if (read_template_record(v, options, body + off, len - off, &t, &problem,
                             v9_variable_length_) == SetWalk::kEnd)
      break;
    if (problem != TemplateProblem::kNone) {
      counters_.template_rejects[static_cast<size_t>(problem)].add();
      // A record whose extent is known (bad id, too many fields, ...) can be
      // stepped over; a truncated one ends the set.
      if (problem == TemplateProblem::kTruncated || problem == TemplateProblem::kBadScope) break;
      off += t.raw_len;
      ++*records;
      continue;
    }
    off += t.raw_len;
    ++*records;
    if (t.withdrawal) {
      withdraw(stream, t);
    } else if (install(v, stream, t, now_ms) == Installed::kAdded) {
      added.template_added(stream, t.template_id);
    }
  }
}

TemplateStore::Installed TemplateStore::install(WireVersion v, uint32_t stream,
                                                const TemplateRecordView& t, int64_t now_ms) {
  bool found;
  const size_t pos = slot(stream, t.template_id, &found);
  if (found) {
    TemplateEntry& e = entries_[slots_[pos]];
    e.last_ms = now_ms;
    const DecodePlan& old = *e.plan;
    if (old.options == t.options && old.raw.size() == t.raw_len &&
        std::memcmp(old.raw.data(), t.raw, t.raw_len) == 0) {
      counters_.templates_refreshed.add();
      return Installed::kRefreshed;
    }
    // Redefinition: same id, new layout. Datagrams already handed out keep
    // the old plan until they come back.
    std::unique_ptr<DecodePlan> plan = compile_plan(v, t);
    plan->refs = 1;
    count_plan(*plan);
    if (old.options) --options_used_;
    if (plan->options) ++options_used_;
    unpin(e.plan);
    e.plan = plan.release();
    ++e.redefinitions;
    ++history_[stream].redefinitions;
    counters_.templates_redefined.add();
    counters_.options_templates_active.set(options_used_);
    return Installed::kRedefined;
  }
  if (per_stream_[stream] >= max_per_stream_) {
    counters_.template_rejects[kTemplateLimitStream].add();
    return Installed::kRefused;
  }
  if (free_.empty()) {
    counters_.template_rejects[kTemplateLimitTotal].add();
    return Installed::kRefused;
  }
  std::unique_ptr<DecodePlan> plan = compile_plan(v, t);
  plan->refs = 1;
  count_plan(*plan);
  const uint32_t idx = free_.back();
  free_.pop_back();
  TemplateEntry& e = entries_[idx];
  e.plan = plan.release();
  e.stream = stream;
  e.id = t.template_id;
  e.last_ms = now_ms;
  e.first_ms = now_ms;
  e.redefinitions = 0;
  ++history_[stream].added;
  slots_[pos] = idx;
  ++per_stream_[stream];
  ++used_;
  if (e.plan->options) ++options_used_;
  counters_.templates_added.add();
  counters_.templates_active.set(used_);
  counters_.options_templates_active.set(options_used_);
  return Installed::kAdded;
}

void TemplateStore::count_plan(const DecodePlan& plan) {
  if (plan.reverse) counters_.templates_biflow.add();
  if (plan.unknown_counter_fields) counters_.templates_unknown_counters.add();
}

template <class Pred>
size_t TemplateStore::erase_where(Pred&& pred) {
  size_t n = 0;
  for (size_t i = 0; i <= mask_;) {
    const uint32_t e = slots_[i];
    if (e != kNil && pred(entries_[e])) {
      erase(i);  // shifts a later entry into i: look at i again
      ++n;
      continue;
    }
    ++i;
  }
  return n;
}

void TemplateStore::withdraw(uint32_t stream, const TemplateRecordView& t) {
  const bool all = t.template_id == ipfix::kWithdrawAllTemplates ||
                   t.template_id == ipfix::kWithdrawAllOptionsTemplates;
  if (!all) {
    bool found;
    const size_t pos = slot(stream, t.template_id, &found);
    if (found && entries_[slots_[pos]].plan->options == t.options) {
      erase(pos);
      counters_.templates_withdrawn.add();
      ++history_[stream].withdrawals;
    }
    return;
  }
  // Every (options) template of the stream: walk the table (rare).
  const size_t n = erase_where(
      [&](const TemplateEntry& e) { return e.stream == stream && e.plan->options == t.options; });
  counters_.templates_withdrawn.add(n);
  history_[stream].withdrawals += n;
}

void TemplateStore::expire(int64_t now_ms) {
  counters_.templates_expired.add(
      erase_where([&](const TemplateEntry& e) { return now_ms - e.last_ms > idle_ms_; }));
}

void TemplateStore::forget_stream(uint32_t stream) {
  history_[stream] = StreamTemplateHistory{};
  if (per_stream_[stream] == 0) return;
  counters_.templates_expired.add(
      erase_where([&](const TemplateEntry& e) { return e.stream == stream; }));
}

}  // namespace ringflow
