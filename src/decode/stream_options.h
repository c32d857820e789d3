// StreamOptions: what v9/IPFIX options data records told the ordered stage
// about each stream: its sampling rates (a SamplerSet, by sampler id and
// without one) and its IPFIX system init time (systemInitTimeMilliseconds,
// which data records' flowStart/EndSysUpTime are relative to); and hands
// each record's interface table strings (interfaceName / Description) to
// the InterfaceNames it was given (src/decode/interface_names.h).
//
// Owns: one entry per stream index, fixed at construction, and each
// stream's current SamplerSet (one reference, src/decode/plan_refs.h). A
// set is immutable once published: a change of rates publishes a new one
// (one allocation per change, never in steady state) and drops the old
// one's reference, so a datagram handed off earlier keeps the rates that
// applied when it arrived (it pins the set it points at).
//
// Called by: the reactor thread only (its Sessions): apply_set() for each
// options data set, at() for each datagram.
//
// Bad input, counted in SessionCounters: an options data set shorter than a
// record, set_drops[too_short]; a variable-length field past the set,
// set_drops[var_overflow] (the records before it are used); a sampler id
// beyond SamplerSet::kMaxSamplers, samplers_full (that rate is ignored). It
// also counts options_records and sampler_updates (a stream's rates
// changed, or restored from the state file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "decode/decode_plan.h"
#include "decode/interface_names.h"
#include "decode/sampler_set.h"
#include "decode/session_counters.h"

namespace ringflow {

struct StreamOptionsEntry {
  const SamplerSet* sampling = nullptr;  // current rates; nullptr = none announced
  int64_t init_ms = 0;                   // IPFIX system init time
  bool has_init = false;
};

class StreamOptions {
 public:
  // streams: the stream indexes in use are [0, streams). names: where
  // interface names go (nullptr: not learnt); it must outlive this.
  StreamOptions(uint32_t streams, SessionCounters& counters, InterfaceNames* names = nullptr);
  ~StreamOptions();
  StreamOptions(const StreamOptions&) = delete;
  StreamOptions& operator=(const StreamOptions&) = delete;

  const StreamOptionsEntry& at(uint32_t stream) const { return entries_[stream]; }
  size_t size() const { return entries_.size(); }

  // The options data set body [body, body + len) of `stream`, decoded with
  // options template `plan`: init time and rates updated record by record;
  // *records counts the records read.
  void apply_set(uint32_t stream, const DecodePlan& plan, const uint8_t* body, size_t len,
                 uint32_t* records);
  // From the state file: the stream's init time, and its rates unless
  // `rates` announces none.
  void restore(uint32_t stream, bool has_init, int64_t init_ms, const SamplerSet& rates);
  // The stream is gone: its rates and init time are forgotten.
  void forget(uint32_t stream);

 private:
  void publish(StreamOptionsEntry& e, const SamplerSet& rates);

  SessionCounters& counters_;
  InterfaceNames* names_;
  std::vector<StreamOptionsEntry> entries_;
};

}  // namespace ringflow
