// The decode stage's metrics (docs/metrics.md, "Decode", "Templates and held
// data" and "Exporter streams"): ringflow_decode_* per worker, from the
// workers' WorkerCounters; the ordered stage's (per version, per reason,
// templates, options, held data) summed over reactors, from their
// SessionCounters; ringflow_streams_* and the per-stream ringflow_stream_*
// families, from the sequence trackers' statistics.
//
// As in receive_metrics.h, reading is split from writing: read_workers() and
// read_sessions() take one snapshot each.
//
// Thread safety: the functions any thread (relaxed counters); a
// StreamMetrics object one scrape at a time (the caller serialises).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <ringflow/stats.h>
#include <ringflow/streams.h>

#include "decode/session_counters.h"
#include "metrics/prom_writer.h"

namespace ringflow {

// One worker's decode counters, read once per scrape.
struct WorkerSample {
  uint64_t datagrams, late_datagrams, pdus, flows, late_flows, future_records, inverted_records,
      time_unknown_records, unknown_sampling_records, sampling_rate_too_high_records,
      biflow_records, biflow_reverse_records, biflow_empty_directions, unknown_counter_records,
      stage_dropped_records, sflow_cut_headers;
  std::array<uint64_t, kMaxFormatSlots> flows_by_version;
  std::array<uint64_t, 3> section_records;  // WorkerCounters::section_records
};

std::vector<WorkerSample> read_workers(const std::vector<std::unique_ptr<WorkerCounters>>& workers);

// Every reactor's ordered-stage counters, summed, read once per scrape.
struct SessionSample {
  std::array<uint64_t, kFormatSlots> datagrams{};
  std::array<std::array<uint64_t, kRejectReasons>, kFormatSlots> rejects{};
  uint64_t handed_off = 0, consumed = 0, v5_trailing = 0;
  std::array<uint64_t, kSetDrops> set_drops{};
  uint64_t data_sets = 0, data_records = 0, v9_count_mismatch = 0, v9_zero_tail = 0;
  uint64_t templates_added = 0, templates_refreshed = 0, templates_redefined = 0,
           templates_withdrawn = 0, templates_expired = 0;
  std::array<uint64_t, kTemplateRejectSlots> template_rejects{};
  uint64_t templates_active = 0, options_templates_active = 0;
  uint64_t templates_unknown_counters = 0, templates_biflow = 0;
  uint64_t options_records = 0, sampler_updates = 0, samplers_full = 0;
  std::array<uint64_t, kIfNameEvents> if_names{};
  std::array<uint64_t, kIfNameDrops> if_name_drops{};
  uint64_t if_names_active = 0;
  uint64_t held_sets = 0, held_released = 0, held_expired = 0, held_expired_bytes = 0,
           held_bytes = 0;
  std::array<uint64_t, kHoldDrops> hold_drops{};
  uint64_t sflow_flow_samples = 0, sflow_counter_samples = 0, sflow_samples_lost = 0,
           sflow_samples_late = 0, sflow_source_resets = 0, sflow_sources_full = 0,
           sflow_sample_pool = 0, sflow_drops = 0, sflow_trailing = 0, sflow_unknown_other = 0;
  // sFlow interface counters (src/decode/sflow_if_table.h), by SflowIfTable::Seen.
  std::array<uint64_t, 7> sflow_if_samples{};
  uint64_t sflow_if_in_octets = 0, sflow_if_out_octets = 0, sflow_if_in_packets = 0,
           sflow_if_out_packets = 0, sflow_if_in_discards = 0, sflow_if_in_errors = 0,
           sflow_if_out_discards = 0, sflow_if_out_errors = 0, sflow_if_flow_in_bytes = 0,
           sflow_if_flow_out_bytes = 0;
  // (kind, enterprise, format) key -> count, merged over reactors, sorted by key.
  std::vector<std::pair<uint64_t, uint64_t>> sflow_unknown;
};

SessionSample read_sessions(const std::vector<std::unique_ptr<SessionCounters>>& sessions);

void write_decode_metrics(PromWriter& w, const std::vector<WorkerSample>& workers,
                          const SessionSample& sessions);

class StreamMetrics {
 public:
  // Writes the stream families. *streams (every worker's snapshot) is
  // consumed: merged by key, and cut to the max_streams busiest when more
  // are tracked (counted in cap_exceeded()). now_ms: wall clock, for ages.
  void write(PromWriter& w, std::vector<StreamStats>* streams, const SequenceTrackerStats& trackers,
             size_t max_streams, int64_t now_ms);

  // Scrapes so far at which more streams were tracked than max_streams.
  uint64_t cap_exceeded() const { return cap_exceeded_; }

 private:
  uint64_t cap_exceeded_ = 0;
};

}  // namespace ringflow
