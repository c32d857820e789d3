// Counters of the ordered stage (src/decode/sessions.h): datagrams by version
// and reject reason, sets dropped by reason, template events and problems,
// options records, held data. One block per reactor thread, its only writer;
// the metrics thread and the stats line read them (relaxed loads). See
// docs/metrics.md for the metric of each.
//
// Thread safety: Counter::add/set from the owning reactor; load from any.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <ringflow/stats.h>

#include "decode/template_record.h"
#include "decode/wire_formats.h"

namespace ringflow {

// One data set (not the whole datagram) could not be used.
enum class SetDrop : uint8_t {
  kTooShort,     // shorter than one record of its template (and not empty)
  kVarOverflow,  // a variable-length field runs past the set (the records before it are kept)
  kTooManySets,  // more than kMaxDataSets data sets in one datagram
  kReservedId,   // set id 2..255 (v9) or 0, 1, 4..255 (IPFIX): not defined, skipped
  kNoTemplate,   // no template and not held (decode.held_bytes = 0, or see HoldDrop)
};
inline constexpr size_t kSetDrops = 5;
constexpr std::string_view set_drop_name(SetDrop d) {
  switch (d) {
    case SetDrop::kTooShort: return "too_short";
    case SetDrop::kVarOverflow: return "var_overflow";
    case SetDrop::kTooManySets: return "too_many_sets";
    case SetDrop::kReservedId: return "reserved_id";
    case SetDrop::kNoTemplate: return "no_template";
  }
  return "unknown";
}

// A template record was ignored: its problems (TemplateProblem, from
// src/decode/template_record.h), or a bound.
inline constexpr size_t kTemplateLimitStream = kTemplateProblems;      // decode.max_templates_per_stream
inline constexpr size_t kTemplateLimitTotal = kTemplateProblems + 1;   // decode.max_templates
inline constexpr size_t kTemplateRejectSlots = kTemplateProblems + 2;
inline constexpr std::string_view template_reject_name(size_t slot) {
  if (slot == kTemplateLimitStream) return "stream_limit";
  if (slot == kTemplateLimitTotal) return "total_limit";
  return template_problem_name(static_cast<TemplateProblem>(slot));
}

// Held data (data sets that arrived before their template) that could not be
// held.
enum class HoldDrop : uint8_t {
  kStreamLimit,  // the stream already holds decode.held_bytes_per_stream
  kPoolFull,     // every held-data slot of the reactor is in use (decode.held_bytes)
};
inline constexpr size_t kHoldDrops = 2;
constexpr std::string_view hold_drop_name(HoldDrop d) {
  return d == HoldDrop::kStreamLimit ? "stream_limit" : "pool_full";
}

// sFlow (enterprise, format) pairs the decoder skips, by kind: a bounded set
// of labels. The first kSflowUnknownSlots distinct pairs a reactor meets get a
// slot each; later ones are summed in `other`. A slot's key is written once,
// before its count, by the reactor; readers load the key first (0 = unused).
struct SflowUnknownCounters {
  static constexpr size_t kSlots = 16;
  // key = (kind + 1) << 32 | enterprise << 12 | format (never 0)
  static constexpr uint64_t key_of(uint8_t kind, uint32_t enterprise, uint32_t format) {
    return uint64_t{kind + 1u} << 32 | uint64_t{enterprise & 0xFFFFF} << 12 | (format & 0xFFF);
  }
  std::array<std::atomic<uint64_t>, kSlots> keys{};
  std::array<Counter, kSlots> counts;
  Counter other;

  void add(uint8_t kind, uint32_t enterprise, uint32_t format) {  // the reactor only
    const uint64_t k = key_of(kind, enterprise, format);
    for (size_t i = 0; i < kSlots; ++i) {
      const uint64_t have = keys[i].load(std::memory_order_relaxed);
      if (have == k) {
        counts[i].add();
        return;
      }
      if (have == 0) {
        keys[i].store(k, std::memory_order_release);
        counts[i].add();
        return;
      }
    }
    other.add();
  }
};

// Interface names from options data (src/decode/interface_names.h).
enum class IfNameEvent : uint8_t { kLearned, kChanged, kTruncated };
inline constexpr size_t kIfNameEvents = 3;
constexpr std::string_view if_name_event_name(size_t i) {
  constexpr std::string_view kNames[kIfNameEvents] = {"learned", "changed", "truncated"};
  return i < kIfNameEvents ? kNames[i] : "unknown";
}
enum class IfNameDrop : uint8_t { kNoIndex, kZeroIndex, kNotText, kEmpty, kFull };
inline constexpr size_t kIfNameDrops = 5;
constexpr std::string_view if_name_drop_name(size_t i) {
  constexpr std::string_view kNames[kIfNameDrops] = {"no_index", "zero_index", "not_text",
                                                     "empty", "full"};
  return i < kIfNameDrops ? kNames[i] : "unknown";
}

struct alignas(64) SessionCounters {
  std::array<Counter, kFormatSlots> datagrams;  // taken by the ordered stage, by format slot
  // rejects[format slot][Reject] (src/decode/wire_formats.h)
  std::array<std::array<Counter, kRejectReasons>, kFormatSlots> rejects;
  Counter handed_off;  // datagrams with work for a worker (v5, or v9/IPFIX with data sets)
  Counter consumed;    // accepted, nothing for a worker (templates/options only, or all held)
  Counter v5_trailing; // v5 datagrams accepted with trailing bytes (decode.accept_trailing)

  std::array<Counter, kSetDrops> set_drops;
  Counter data_sets;         // data sets handed to workers
  Counter data_records;      // their records (as counted here)
  Counter v9_count_mismatch; // v9 header count differs from the records found (not rejected)
  Counter v9_zero_tail;      // v9 datagrams ending in zero bytes after the last set (accepted)

  // templates
  Counter templates_added, templates_refreshed, templates_redefined, templates_withdrawn,
      templates_expired;
  std::array<Counter, kTemplateRejectSlots> template_rejects;
  Counter templates_unknown_counters;  // templates installed with counter elements not decoded
  Counter templates_biflow;           // templates installed with RFC 5103 reverse counters
  Counter templates_active;          // gauge: data + options templates installed
  Counter options_templates_active;  // gauge: of which options templates

  // options data
  Counter options_records;
  Counter sampler_updates;   // a stream's sampling rates changed
  Counter samplers_full;     // an options record named a sampler beyond SamplerSet::kMaxSamplers
  std::array<Counter, kIfNameEvents> if_names;     // interface names: by IfNameEvent
  std::array<Counter, kIfNameDrops> if_name_drops;  // interface records dropped, by IfNameDrop
  Counter if_names_active;                          // gauge: (stream, ifIndex) names kept

  // held data
  Counter held_sets;         // data sets held for want of a template
  Counter held_released;     // held sets decoded once their template arrived
  Counter held_expired;      // held sets forgotten after decode.held_timeout, or with their stream
  Counter held_expired_bytes;
  std::array<Counter, kHoldDrops> hold_drops;
  Counter held_bytes;        // gauge: bytes held now

  // sFlow (src/decode/sflow_sources.h)
  Counter sflow_flow_samples;      // flow samples in accepted datagrams
  Counter sflow_counter_samples;   // counter samples in accepted datagrams
  Counter sflow_samples_lost;      // gaps in a source's flow-sample sequence
  Counter sflow_samples_late;      // flow samples behind their source's sequence
  Counter sflow_source_resets;     // a source's sequence restarted (agent restart)
  Counter sflow_sources_full;      // flow samples of a source over SflowSources::kPerStream
  Counter sflow_sample_pool;       // sum of sample_pool deltas (packets the sources saw)
  Counter sflow_drops;             // sum of drops deltas (samples the agents dropped)
  Counter sflow_trailing;          // accepted datagrams with bytes after their samples
  SflowUnknownCounters sflow_unknown;
  // sFlow interface counters (src/decode/sflow_if_table.h): counter samples
  // by SflowIfTable::Seen, and the sums of the deltas (kDelta only) with the
  // flow-estimated bytes of the same periods.
  Counter sflow_if_samples[7];
  Counter sflow_if_in_octets, sflow_if_out_octets, sflow_if_in_packets, sflow_if_out_packets;
  Counter sflow_if_in_discards, sflow_if_in_errors, sflow_if_out_discards, sflow_if_out_errors;
  Counter sflow_if_flow_in_bytes, sflow_if_flow_out_bytes;

  // streams
  Counter stream_quota_refusals;  // datagrams of a new stream over decode.max_streams_per_address
};

}  // namespace ringflow
