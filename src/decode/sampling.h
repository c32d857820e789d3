// Sampling: which multiplier turns a sampled v5 record's packets and bytes
// back into an estimate of the traffic it stands for.
//
// The v5 header's 16-bit sampling_interval field carries the sampling mode in
// its top 2 bits (0 none, 1 deterministic, 2 random, 3 reserved) and the
// interval N ("1 of N packets") in its low 14 bits. Like nfdump, we renormalize
// by N whatever the mode says: exporters set the mode inconsistently but the
// interval means the same thing in every mode.
//
// Effective interval, first rule that applies:
//   1. a per-exporter override (decode.sampling_overrides, address -> interval)
//      — for exporters known to lie or to send 0 while sampling;
//   2. the header's interval, when not 0;
//   3. decode.default_sampling (exporters that send 0).
// multiplier() is that interval when decode.renormalize is on (the default,
// as nfdump does) and 1 when it is off. Always >= 1.
//
// Lookup is a binary search over a sorted vector built at construction: no
// allocation and no hashing on the hot path; override lists are short.
//
// Thread safety: immutable after construction; any thread may call the const
// members concurrently.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/flow_record.h>
#include <ringflow/ip.h>

#include "decode/sampler_set.h"
#include "wire/v5.h"

namespace ringflow {

inline constexpr uint32_t kMaxSamplingInterval = 0x3FFF;  // 14 bits

class SamplingPolicy {
 public:
  // Overrides are copied and sorted; if an address appears twice the later
  // entry wins. Intervals are clamped to 1..16383 (config validation already
  // rejects others; clamping keeps the ">= 1" promise regardless).
  explicit SamplingPolicy(const DecodeConfig& cfg);

  // The effective sampling interval (rules above), whether or not
  // renormalization is on. >= 1.
  uint32_t interval(const IpAddr& exporter, const v5::Header& h) const;

  // What to multiply packets and bytes by: interval() if renormalize, else 1.
  uint32_t multiplier(const IpAddr& exporter, const v5::Header& h) const {
    return renormalize_ ? interval(exporter, h) : 1;
  }

  // The per-exporter override of decode.sampling_overrides, 0 when none.
  uint32_t override_for(const IpAddr& exporter) const;
  // decode.default_sampling: the interval assumed when an exporter says none.
  uint32_t default_interval() const { return default_interval_; }

  bool renormalize() const { return renormalize_; }
  size_t overrides() const { return overrides_.size(); }

 private:
  bool renormalize_;
  uint32_t default_interval_;
  std::vector<std::pair<IpAddr, uint32_t>> overrides_;  // sorted by address, unique
};

// decode.max_sampling_rate: an announced rate above max is not believed and
// is taken as unknown (0); *too_high says so (the caller counts it). A rate
// of 0 (none announced) stays 0.
inline constexpr uint32_t believed_rate(uint32_t rate, uint32_t max, bool* too_high) {
  *too_high = rate > max;
  return *too_high ? 0 : rate;
}

// The sampling rate of each decoded record (FlowRecord::sampling), first rule
// that applies (docs/config.md):
//   1. decode.sampling_override for the exporter;
//   2. v5: the header's interval; v9/IPFIX: the rate inside the record
//      (samplingInterval 34 and kin, kFlowHasRate), else the rate its
//      exporter stream announced in options records for the record's
//      sampler/selector id, else the stream's rate announced without an id
//      (or its only one);
//   3. decode.default_sampling (unsampled exporters). A record that names a
//      sampler its stream never announced, or comes from a stream with
//      several samplers without naming one, is counted as unknown.
// A rate from rule 2 above decode.max_sampling_rate is not believed: rule 3
// applies and the record is counted as too high. The record then holds the
// multiplier: that rate when decode.renormalize is on, else 1.
// The worker's RecordReader applies it to every chunk
// (src/decode/record_reader.h).
class RecordSampling {
 public:
  explicit RecordSampling(const DecodeConfig& cfg)
      : policy_(cfg), max_rate_(cfg.max_sampling_rate) {}

  // r[0..n): records of one chunk, from `exporter`; v5: the PDU's header
  // (nullptr for v9/IPFIX); set: the stream's announced rates (may be null).
  // Adds the records counted unknown / too high to *unknown / *too_high.
  void resolve(FlowRecord* r, size_t n, const SamplerSet* set, const IpAddr& exporter,
               const v5::Header* v5, uint16_t* unknown, uint16_t* too_high) const;

  const SamplingPolicy& policy() const { return policy_; }

 private:
  SamplingPolicy policy_;
  uint32_t max_rate_;  // decode.max_sampling_rate
};

// Renormalized counter: exact in 64 bits (2^32-1 * 16383 < 2^46), so no
// overflow for any v5 dPkts/dOctets and any 14-bit interval.
inline constexpr uint64_t renormalized(uint32_t value, uint32_t multiplier) {
  return uint64_t{value} * multiplier;
}

}  // namespace ringflow
