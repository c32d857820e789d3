#include "decode/decode_metrics.h"

#include <algorithm>
#include <iterator>
#include <span>
#include <string>
#include <string_view>

#include "decode/decode_plan.h"
#include "metrics/family.h"

namespace ringflow {

static_assert(std::tuple_size_v<decltype(WorkerSample::section_records)> == kSectionReasons);
namespace {

using WorkerFamily = Family<WorkerSample>;

constexpr WorkerFamily kWorkerFamilies[] = {
    {"ringflow_decode_datagrams_total", kCounter,
     "Datagrams the worker took from its queue (late ones included).",
     [](const WorkerSample& s) { return s.datagrams; }},
    {"ringflow_decode_late_datagrams_total", kCounter,
     "Held v9/IPFIX data sets the worker decoded once their template had arrived.",
     [](const WorkerSample& s) { return s.late_datagrams; }},
    {"ringflow_decode_pdus_total", kCounter, "NetFlow v5 PDUs decoded.",
     [](const WorkerSample& s) { return s.pdus; }},
    {"ringflow_decode_flows_total", kCounter, "Flow records decoded, every version.",
     [](const WorkerSample& s) { return s.flows; }},
    {"ringflow_decode_late_flows_total", kCounter,
     "Flow records of held data sets, decoded after their template arrived.",
     [](const WorkerSample& s) { return s.late_flows; }},
    {"ringflow_decode_future_records_total", kCounter,
     "Records ending later than now + decode.future_tolerance (kept, counted).",
     [](const WorkerSample& s) { return s.future_records; }},
    {"ringflow_decode_inverted_records_total", kCounter,
     "Records whose first time is after their last (kept, counted).",
     [](const WorkerSample& s) { return s.inverted_records; }},
    {"ringflow_decode_time_unknown_records_total", kCounter,
     "Records without a usable time (no time element, or IPFIX uptimes before the exporter "
     "sent systemInitTimeMilliseconds): start and end are the export time.",
     [](const WorkerSample& s) { return s.time_unknown_records; }},
    {"ringflow_decode_unknown_sampling_records_total", kCounter,
     "Records whose sampling rate is unknown (a sampler id never announced in options data, or "
     "several announced and none named): renormalized by decode.default_sampling.",
     [](const WorkerSample& s) { return s.unknown_sampling_records; }},
    {"ringflow_decode_sampling_rate_too_high_records_total", kCounter,
     "Records whose announced sampling rate exceeds decode.max_sampling_rate: taken as unknown "
     "and renormalized by decode.default_sampling.",
     [](const WorkerSample& s) { return s.sampling_rate_too_high_records; }},
    {"ringflow_decode_biflow_records_total", kCounter,
     "Forward records of IPFIX biflows (RFC 5103 reverse counters) decoded; each direction with "
     "packets or bytes is a record of its own.",
     [](const WorkerSample& s) { return s.biflow_records; }},
    {"ringflow_decode_biflow_reverse_records_total", kCounter,
     "Reverse-direction records emitted from IPFIX biflow records (addresses, ports and "
     "interfaces swapped, the reverse counters).",
     [](const WorkerSample& s) { return s.biflow_reverse_records; }},
    {"ringflow_decode_biflow_empty_directions_total", kCounter,
     "Directions of IPFIX biflow records with neither packets nor bytes (a flow seen one way "
     "only): no record is made for them.",
     [](const WorkerSample& s) { return s.biflow_empty_directions; }},
    {"ringflow_decode_undecoded_volume_records_total", kCounter,
     "Records of templates that carry octet or packet counters under an enterprise number "
     "ringflow does not decode: traffic in those fields is not counted.",
     [](const WorkerSample& s) { return s.unknown_counter_records; }},
    {"ringflow_decode_stage_dropped_records_total", kCounter,
     "Decoded records a record stage (src/pipeline/record_stage.h) dropped before aggregation: "
     "counted in ringflow_decode_flows_total, not aggregated.",
     [](const WorkerSample& s) { return s.stage_dropped_records; }},
    {"ringflow_decode_sflow_cut_headers_total", kCounter,
     "sFlow raw packet headers cut inside the fields they carry: the record keeps the fields "
     "before the cut (its key may lack ports or addresses).",
     [](const WorkerSample& s) { return s.sflow_cut_headers; }},
};

// The stage-wide families: the workers' flows by version (summed) and the
// ordered stage's counters (summed over reactors), in scrape order. A decode
// metric is one entry here (or in kWorkerFamilies, per worker).
struct DecodeRow {
  std::span<const WorkerSample> workers;
  const SessionSample& s;
};
using DecodeFamily = SeriesFamily<DecodeRow>;

std::string_view version_value(size_t i, size_t) { return format_slot_label(i); }
std::string_view name_of(std::span<const std::string_view> names, size_t i) { return names[i]; }
constexpr std::string_view kTemplateKinds[] = {"data", "options"};
constexpr std::string_view kTemplateEvents[] = {"added", "refreshed", "redefined", "withdrawn",
                                                "expired"};
constexpr std::string_view kHeldOutcomes[] = {"held", "released", "expired"};

constexpr DecodeFamily kDecodeFamilies[] = {
    {.name = "ringflow_decode_flows_by_version_total", .type = kCounter,
     .help = "Flow records decoded, by export version (summed over workers).",
     .value = [](const DecodeRow& r, size_t v) {
       uint64_t n = 0;
       for (const WorkerSample& x : r.workers) n += x.flows_by_version[v];
       return n;
     },
     .series = kDecodedFormats,  // not "other": workers see only accepted formats
     .label_names = {"version"}, .label_value = version_value},
    {.name = "ringflow_decode_packet_section_records_total", .type = kCounter,
     .help = "v9/IPFIX records whose packet section (IE 315/313/316, v9 104) did not parse to "
             "its end, by reason (summed over workers): the record keeps the fields reached.",
     .value = [](const DecodeRow& r, size_t i) {
       uint64_t n = 0;
       for (const WorkerSample& x : r.workers) n += x.section_records[i];
       return n;
     },
     .series = kSectionReasons, .label_names = {"reason"},
     .label_value = [](size_t i, size_t) { return std::string_view(section_reason_name(i)); }},
    {.name = "ringflow_decode_received_total", .type = kCounter,
     .help = "Datagrams the ordered stage examined, by the version in their header.",
     .value = [](const DecodeRow& r, size_t v) { return r.s.datagrams[v]; },
     .series = kFormatSlots, .label_names = {"version"}, .label_value = version_value},
    {.name = "ringflow_decode_consumed_total", .type = kCounter,
     .help = "Accepted datagrams with nothing for a worker: templates or options only, or every "
             "data set held for its template.",
     .value = [](const DecodeRow& r, size_t) { return r.s.consumed; }},
    // Series i = version slot * kRejectReasons + reason; reason 0 (accepted)
    // is not a rejection, and other versions than v5 only once they occur.
    {.name = "ringflow_decode_rejected_total", .type = kCounter,
     .help = "Datagrams rejected whole, by version and reason (nothing in them was used).",
     .value = [](const DecodeRow& r, size_t i) {
       return r.s.rejects[i / kRejectReasons][i % kRejectReasons];
     },
     .series = kFormatSlots * kRejectReasons, .label_names = {"version", "reason"},
     .label_value = [](size_t i, size_t k) {
       return k == 0 ? format_slot_label(i / kRejectReasons)
                     : reject_reason_name(static_cast<Reject>(i % kRejectReasons));
     },
     .present = [](const DecodeRow& r, size_t i) {
       return i % kRejectReasons != 0 &&
              (i / kRejectReasons == 0 || r.s.rejects[i / kRejectReasons][i % kRejectReasons] != 0);
     }},
    {.name = "ringflow_decode_trailing_accepted_total", .type = kCounter,
     .help = "v5 datagrams with trailing bytes accepted (decode.accept_trailing).",
     .value = [](const DecodeRow& r, size_t) { return r.s.v5_trailing; }},
    {.name = "ringflow_decode_sets_dropped_total", .type = kCounter,
     .help = "v9/IPFIX sets dropped while the rest of their datagram was used, by reason.",
     .value = [](const DecodeRow& r, size_t i) { return r.s.set_drops[i]; },
     .series = kSetDrops, .label_names = {"reason"},
     .label_value = [](size_t i, size_t) { return set_drop_name(static_cast<SetDrop>(i)); }},
    {.name = "ringflow_decode_data_sets_total", .type = kCounter,
     .help = "v9/IPFIX data sets given to workers (held ones included when released).",
     .value = [](const DecodeRow& r, size_t) { return r.s.data_sets; }},
    {.name = "ringflow_decode_v9_count_mismatch_total", .type = kCounter,
     .help = "v9 datagrams whose header count differs from the records found (accepted).",
     .value = [](const DecodeRow& r, size_t) { return r.s.v9_count_mismatch; }},
    {.name = "ringflow_decode_v9_zero_tail_total", .type = kCounter,
     .help = "v9 datagrams padded with zero bytes after their last set (accepted).",
     .value = [](const DecodeRow& r, size_t) { return r.s.v9_zero_tail; }},
    {.name = "ringflow_templates_active", .type = kGauge,
     .help = "v9/IPFIX templates installed, by kind.",
     .value = [](const DecodeRow& r, size_t i) {
       return i == 0 ? r.s.templates_active - r.s.options_templates_active
                     : r.s.options_templates_active;
     },
     .series = std::size(kTemplateKinds), .label_names = {"kind"},
     .label_value = [](size_t i, size_t) { return name_of(kTemplateKinds, i); }},
    {.name = "ringflow_templates_total", .type = kCounter,
     .help = "Template events: added, refreshed (same bytes again), redefined (same id, new "
             "layout), withdrawn (IPFIX), expired (decode.template_timeout, or with their stream).",
     .value = [](const DecodeRow& r, size_t i) {
       const uint64_t v[] = {r.s.templates_added, r.s.templates_refreshed, r.s.templates_redefined,
                             r.s.templates_withdrawn, r.s.templates_expired};
       return v[i];
     },
     .series = std::size(kTemplateEvents), .label_names = {"event"},
     .label_value = [](size_t i, size_t) { return name_of(kTemplateEvents, i); }},
    {.name = "ringflow_templates_biflow_total", .type = kCounter,
     .help = "IPFIX templates installed (added or redefined) with RFC 5103 reverse counters: "
             "their records are decoded in both directions.",
     .value = [](const DecodeRow& r, size_t) { return r.s.templates_biflow; }},
    {.name = "ringflow_templates_undecoded_volume_total", .type = kCounter,
     .help = "IPFIX templates installed (added or redefined) with octet or packet counters under "
             "an enterprise number ringflow does not decode.",
     .value = [](const DecodeRow& r, size_t) { return r.s.templates_unknown_counters; }},
    {.name = "ringflow_templates_rejected_total", .type = kCounter,
     .help = "Template records ignored, by reason (malformed, or a bound of decode.max_templates*).",
     .value = [](const DecodeRow& r, size_t i) { return r.s.template_rejects[i]; },
     .series = kTemplateRejectSlots, .label_names = {"reason"},
     .label_value = [](size_t i, size_t) { return template_reject_name(i); },
     .first = 1},  // slot 0: no problem
    {.name = "ringflow_options_records_total", .type = kCounter,
     .help = "v9/IPFIX options data records read (sampling rates, system init time, ...).",
     .value = [](const DecodeRow& r, size_t) { return r.s.options_records; }},
    {.name = "ringflow_sampler_updates_total", .type = kCounter,
     .help = "Changes of a stream's announced sampling rates.",
     .value = [](const DecodeRow& r, size_t) { return r.s.sampler_updates; }},
    {.name = "ringflow_samplers_full_total", .type = kCounter,
     .help = "Options records naming a sampler beyond the 16 a stream keeps (ignored).",
     .value = [](const DecodeRow& r, size_t) { return r.s.samplers_full; }},
    {.name = "ringflow_decode_interface_names_total", .type = kCounter,
     .help = "Interface names and descriptions from v9/IPFIX options data (interfaceName 82, "
             "interfaceDescription 83): learned (a new ifIndex of a stream), changed, and "
             "truncated (a string cut to the length kept).",
     .value = [](const DecodeRow& r, size_t i) { return r.s.if_names[i]; },
     .series = kIfNameEvents, .label_names = {"event"},
     .label_value = [](size_t i, size_t) { return if_name_event_name(i); }},
    {.name = "ringflow_decode_interface_names_dropped_total", .type = kCounter,
     .help = "Options records with an interface name or description that were not kept, by "
             "reason: no_index (no ifIndex element), zero_index, not_text (not UTF-8, or a "
             "control character), empty, full (decode.max_interface_names).",
     .value = [](const DecodeRow& r, size_t i) { return r.s.if_name_drops[i]; },
     .series = kIfNameDrops, .label_names = {"reason"},
     .label_value = [](size_t i, size_t) { return if_name_drop_name(i); }},
    {.name = "ringflow_decode_interface_names", .type = kGauge,
     .help = "Interface names kept now, (stream, ifIndex) pairs summed over reactors.",
     .value = [](const DecodeRow& r, size_t) { return r.s.if_names_active; }},
    {.name = "ringflow_held_sets_total", .type = kCounter,
     .help = "v9/IPFIX data sets that arrived before their template: held, released (decoded "
             "late) or expired (no template within decode.held_timeout, or their stream expired).",
     .value = [](const DecodeRow& r, size_t i) {
       const uint64_t v[] = {r.s.held_sets, r.s.held_released, r.s.held_expired};
       return v[i];
     },
     .series = std::size(kHeldOutcomes), .label_names = {"outcome"},
     .label_value = [](size_t i, size_t) { return name_of(kHeldOutcomes, i); }},
    {.name = "ringflow_held_expired_bytes_total", .type = kCounter,
     .help = "Bytes of the expired held data sets.",
     .value = [](const DecodeRow& r, size_t) { return r.s.held_expired_bytes; }},
    {.name = "ringflow_held_dropped_total", .type = kCounter,
     .help = "Data sets without a template that could not be held, by reason (lost, counted).",
     .value = [](const DecodeRow& r, size_t i) { return r.s.hold_drops[i]; },
     .series = kHoldDrops, .label_names = {"reason"},
     .label_value = [](size_t i, size_t) { return hold_drop_name(static_cast<HoldDrop>(i)); }},
    {.name = "ringflow_held_bytes", .type = kGauge,
     .help = "Bytes of data sets held for their template now.",
     .value = [](const DecodeRow& r, size_t) { return r.s.held_bytes; }},
};

using StreamFamily = Family<StreamStats>;

constexpr StreamFamily kStreamFamilies[] = {
    {"ringflow_stream_datagrams_total", kCounter,
     "v5 PDUs / v9 and IPFIX datagrams received on the stream (duplicates included).",
     [](const StreamStats& s) { return s.datagrams; }},
    {"ringflow_stream_flows_total", kCounter, "Flow records received on the stream.",
     [](const StreamStats& s) { return s.flows; }},
    {"ringflow_stream_lost_flows", kGauge,
     "v5 and IPFIX streams: estimated flows lost in transit: forward sequence gaps minus flows "
     "that late datagrams filled in. A gauge: a late datagram lowers it.",
     [](const StreamStats& s) { return s.lost_flows; }},
    {"ringflow_stream_gaps_total", kCounter, "Forward jumps of the sequence number.",
     [](const StreamStats& s) { return s.gaps; }},
    {"ringflow_stream_reordered_total", kCounter,
     "Late datagrams that filled (part of) an earlier gap.",
     [](const StreamStats& s) { return s.reordered; }},
    {"ringflow_stream_late_flows_total", kCounter,
     "Sequence units (flows; v9: datagrams) delivered by reordered datagrams.",
     [](const StreamStats& s) { return s.late_flows; }},
    {"ringflow_stream_duplicates_total", kCounter,
     "Datagrams behind the expected sequence that filled no gap (duplicates).",
     [](const StreamStats& s) { return s.duplicates; }},
    {"ringflow_stream_resets_total", kCounter, "Exporter restarts and sequence resynchronisations.",
     [](const StreamStats& s) { return s.resets; }},
    {"ringflow_stream_resyncs_total", kCounter,
     "IPFIX messages after one whose record count was unknown (a set without its template): "
     "the sequence was taken as it came, no loss counted.",
     [](const StreamStats& s) { return s.resyncs; }},
    {"ringflow_stream_sampling_interval", kGauge,
     "Sampling interval: v5 effective (override, header or default); v9/IPFIX the rate the "
     "stream announced without a sampler id (or its only sampler's), 1 when none. >= 1.",
     [](const StreamStats& s) { return uint64_t{s.sampling_interval}; }},
};

bool same_stream(const StreamStats& a, const StreamStats& b) {
  return a.exporter == b.exporter && a.format == b.format && a.domain == b.domain;
}

// A stream is routed to one worker, so each appears once; should a stream
// ever show up in two workers' snapshots (a routing change), merge it rather
// than emit a duplicate series, which would make Prometheus reject the
// whole scrape.
void merge_duplicates(std::vector<StreamStats>* streams) {
  auto key_less = [](const StreamStats& a, const StreamStats& b) {
    if (a.exporter != b.exporter) return a.exporter < b.exporter;
    if (a.format != b.format) return a.format < b.format;
    return a.domain < b.domain;
  };
  std::sort(streams->begin(), streams->end(), key_less);
  size_t out = 0;
  for (size_t i = 0; i < streams->size(); ++i) {
    StreamStats& s = (*streams)[i];
    if (out > 0 && same_stream((*streams)[out - 1], s)) {
      StreamStats& m = (*streams)[out - 1];
      m.datagrams += s.datagrams;
      m.flows += s.flows;
      m.lost_flows += s.lost_flows;
      m.gaps += s.gaps;
      m.reordered += s.reordered;
      m.late_flows += s.late_flows;
      m.duplicates += s.duplicates;
      m.resets += s.resets;
      m.quirks |= s.quirks;
      if (s.last_seen_ms > m.last_seen_ms) {
        m.last_seen_ms = s.last_seen_ms;
        m.sampling_interval = s.sampling_interval;
      }
      continue;
    }
    if (out != i) (*streams)[out] = s;
    ++out;
  }
  streams->resize(out);
}

}  // namespace

std::vector<WorkerSample> read_workers(
    const std::vector<std::unique_ptr<WorkerCounters>>& workers) {
  std::vector<WorkerSample> out;
  out.reserve(workers.size());
  for (const auto& p : workers) {
    const WorkerCounters& c = *p;
    WorkerSample v{c.datagrams.load(),        c.late_datagrams.load(),
                   c.pdus.load(),             c.flows.load(),
                   c.late_flows.load(),       c.future_records.load(),
                   c.inverted_records.load(), c.time_unknown_records.load(),
                   c.unknown_sampling_records.load(), c.sampling_rate_too_high_records.load(),
                   c.biflow_records.load(), c.biflow_reverse_records.load(),
                   c.biflow_empty_directions.load(), c.unknown_counter_records.load(),
                   c.stage_dropped_records.load(), c.sflow_cut_headers.load(), {}, {}};
    for (size_t i = 0; i < kDecodedFormats; ++i) v.flows_by_version[i] = c.flows_by_version[i].load();
    for (size_t i = 0; i < v.section_records.size(); ++i)
      v.section_records[i] = c.section_records[i].load();
    out.push_back(v);
  }
  return out;
}

SessionSample read_sessions(const std::vector<std::unique_ptr<SessionCounters>>& sessions) {
  SessionSample s;
  for (const auto& p : sessions) {
    const SessionCounters& c = *p;
    for (size_t v = 0; v < kFormatSlots; ++v) {
      s.datagrams[v] += c.datagrams[v].load();
      for (size_t r = 0; r < kRejectReasons; ++r) s.rejects[v][r] += c.rejects[v][r].load();
    }
    s.handed_off += c.handed_off.load();
    s.consumed += c.consumed.load();
    s.v5_trailing += c.v5_trailing.load();
    for (size_t i = 0; i < kSetDrops; ++i) s.set_drops[i] += c.set_drops[i].load();
    s.data_sets += c.data_sets.load();
    s.data_records += c.data_records.load();
    s.v9_count_mismatch += c.v9_count_mismatch.load();
    s.v9_zero_tail += c.v9_zero_tail.load();
    s.templates_added += c.templates_added.load();
    s.templates_refreshed += c.templates_refreshed.load();
    s.templates_redefined += c.templates_redefined.load();
    s.templates_withdrawn += c.templates_withdrawn.load();
    s.templates_expired += c.templates_expired.load();
    for (size_t i = 0; i < kTemplateRejectSlots; ++i) s.template_rejects[i] += c.template_rejects[i].load();
    s.templates_active += c.templates_active.load();
    s.templates_unknown_counters += c.templates_unknown_counters.load();
    s.templates_biflow += c.templates_biflow.load();
    s.options_templates_active += c.options_templates_active.load();
    s.options_records += c.options_records.load();
    s.sampler_updates += c.sampler_updates.load();
    s.samplers_full += c.samplers_full.load();
    for (size_t i = 0; i < kIfNameEvents; ++i) s.if_names[i] += c.if_names[i].load();
    for (size_t i = 0; i < kIfNameDrops; ++i) s.if_name_drops[i] += c.if_name_drops[i].load();
    s.if_names_active += c.if_names_active.load();
    s.held_sets += c.held_sets.load();
    s.held_released += c.held_released.load();
    s.held_expired += c.held_expired.load();
    s.held_expired_bytes += c.held_expired_bytes.load();
    s.held_bytes += c.held_bytes.load();
    for (size_t i = 0; i < kHoldDrops; ++i) s.hold_drops[i] += c.hold_drops[i].load();
    s.sflow_flow_samples += c.sflow_flow_samples.load();
    s.sflow_counter_samples += c.sflow_counter_samples.load();
    s.sflow_samples_lost += c.sflow_samples_lost.load();
    s.sflow_samples_late += c.sflow_samples_late.load();
    s.sflow_source_resets += c.sflow_source_resets.load();
    s.sflow_sources_full += c.sflow_sources_full.load();
    s.sflow_sample_pool += c.sflow_sample_pool.load();
    s.sflow_drops += c.sflow_drops.load();
    s.sflow_trailing += c.sflow_trailing.load();
    s.sflow_unknown_other += c.sflow_unknown.other.load();
    for (size_t i = 0; i < s.sflow_if_samples.size(); ++i)
      s.sflow_if_samples[i] += c.sflow_if_samples[i].load();
    s.sflow_if_in_octets += c.sflow_if_in_octets.load();
    s.sflow_if_out_octets += c.sflow_if_out_octets.load();
    s.sflow_if_in_packets += c.sflow_if_in_packets.load();
    s.sflow_if_out_packets += c.sflow_if_out_packets.load();
    s.sflow_if_in_discards += c.sflow_if_in_discards.load();
    s.sflow_if_in_errors += c.sflow_if_in_errors.load();
    s.sflow_if_out_discards += c.sflow_if_out_discards.load();
    s.sflow_if_out_errors += c.sflow_if_out_errors.load();
    s.sflow_if_flow_in_bytes += c.sflow_if_flow_in_bytes.load();
    s.sflow_if_flow_out_bytes += c.sflow_if_flow_out_bytes.load();
    for (size_t i = 0; i < SflowUnknownCounters::kSlots; ++i) {
      const uint64_t k = c.sflow_unknown.keys[i].load(std::memory_order_acquire);
      if (k == 0) break;
      const uint64_t n = c.sflow_unknown.counts[i].load();
      auto it = std::find_if(s.sflow_unknown.begin(), s.sflow_unknown.end(),
                             [k](const auto& e) { return e.first == k; });
      if (it == s.sflow_unknown.end()) s.sflow_unknown.emplace_back(k, n);
      else it->second += n;
    }
  }
  std::sort(s.sflow_unknown.begin(), s.sflow_unknown.end());
  return s;
}

namespace {

void write_sflow_metrics(PromWriter& w, const SessionSample& s) {
  struct Total {
    const char* name;
    const char* help;
    uint64_t v;
  };
  const Total totals[] = {
      {"ringflow_sflow_flow_samples_total", "sFlow flow samples in accepted datagrams.",
       s.sflow_flow_samples},
      {"ringflow_sflow_polled_samples_total",
       "sFlow counter samples (polled interface counters) in accepted datagrams.",
       s.sflow_counter_samples},
      {"ringflow_sflow_samples_lost_total",
       "sFlow flow samples missing from a source's sample sequence (lost in transit with their "
       "datagram, or never exported), summed over every agent and source.",
       s.sflow_samples_lost},
      {"ringflow_sflow_samples_late_total",
       "sFlow flow samples behind their source's sequence (reordered or duplicated).",
       s.sflow_samples_late},
      {"ringflow_sflow_source_resets_total",
       "sFlow sources whose sample sequence restarted (agent restart): no loss, no delta counted.",
       s.sflow_source_resets},
      {"ringflow_sflow_sources_full_total",
       "sFlow flow samples of a source past the 32 tracked per agent stream: not "
       "sequence-checked.",
       s.sflow_sources_full},
      {"ringflow_sflow_sample_pool_total",
       "Packets the sFlow sources saw (sum of their sample_pool deltas), over every agent.",
       s.sflow_sample_pool},
      {"ringflow_sflow_drops_total",
       "Samples the sFlow agents dropped for lack of resources (sum of their drops deltas), "
       "over every agent.",
       s.sflow_drops},
      {"ringflow_sflow_trailing_total",
       "sFlow datagrams accepted with bytes after their declared samples.", s.sflow_trailing},
  };
  for (const Total& t : totals) {
    w.family(t.name, kCounter, t.help);
    w.sample(t.v);
  }
  w.family("ringflow_sflow_unknown_total", kCounter,
           "sFlow samples and records of an (enterprise, format) ringflow does not read, skipped "
           "by their length. At most 16 label sets per reactor; the rest under kind=\"other\".");
  static constexpr const char* kKinds[] = {"sample", "flow_record", "counter_record"};
  for (const auto& [k, n] : s.sflow_unknown) {
    const size_t kind = static_cast<size_t>(k >> 32) - 1;
    const std::string ent = std::to_string(k >> 12 & 0xFFFFF), fmt = std::to_string(k & 0xFFF);
    const Label labels[] = {{"kind", kind < 3 ? kKinds[kind] : "other"},
                            {"enterprise", ent},
                            {"format", fmt}};
    w.sample(labels, n);
  }
  const Label other[] = {{"kind", "other"}, {"enterprise", ""}, {"format", ""}};
  w.sample(other, s.sflow_unknown_other);

  // Interface counters: one series per result and direction, whatever the
  // number of agents and interfaces (bounded cardinality).
  w.family("ringflow_sflow_if_samples_total", kCounter,
           "sFlow generic interface counter records by what the ordered stage made of them "
           "(delta: in order, deltas counted; the others give no delta).");
  static constexpr const char* kIfResults[] = {"baseline", "delta",   "duplicate", "late",
                                               "restart",  "reset",   "table_full"};
  static_assert(std::size(kIfResults) == std::tuple_size_v<decltype(s.sflow_if_samples)>);
  for (size_t i = 0; i < std::size(kIfResults); ++i) {
    const Label l[] = {{"result", kIfResults[i]}};
    w.sample(l, s.sflow_if_samples[i]);
  }
  struct Dir {
    const char* name;
    const char* help;
    uint64_t in, out;
  };
  const Dir dirs[] = {
      {"ringflow_sflow_if_octets_total",
       "Octets the sFlow agents' interfaces counted (ifIn/OutOctets deltas), over every "
       "interface.",
       s.sflow_if_in_octets, s.sflow_if_out_octets},
      {"ringflow_sflow_if_packets_total",
       "Packets the sFlow agents' interfaces counted (unicast + multicast + broadcast deltas).",
       s.sflow_if_in_packets, s.sflow_if_out_packets},
      {"ringflow_sflow_if_discards_total", "ifIn/OutDiscards deltas of the sFlow interfaces.",
       s.sflow_if_in_discards, s.sflow_if_out_discards},
      {"ringflow_sflow_if_errors_total", "ifIn/OutErrors deltas of the sFlow interfaces.",
       s.sflow_if_in_errors, s.sflow_if_out_errors},
      {"ringflow_sflow_if_flow_bytes_total",
       "Bytes estimated from the flow samples (length x rate) whose input (in) or output (out) "
       "is an interface with counters, over the same periods as "
       "ringflow_sflow_if_octets_total: their ratio is the coverage.",
       s.sflow_if_flow_in_bytes, s.sflow_if_flow_out_bytes},
  };
  for (const Dir& d : dirs) {
    w.family(d.name, kCounter, d.help);
    const Label in[] = {{"direction", "in"}}, out[] = {{"direction", "out"}};
    w.sample(in, d.in);
    w.sample(out, d.out);
  }
}

}  // namespace

void write_decode_metrics(PromWriter& w, const std::vector<WorkerSample>& wv,
                          const SessionSample& s) {
  write_indexed_families(w, kWorkerFamilies, "worker", wv.size(),
                         [&wv](size_t i) -> const WorkerSample& { return wv[i]; });
  write_series_families(w, kDecodeFamilies, DecodeRow{wv, s});
  write_sflow_metrics(w, s);
}

void StreamMetrics::write(PromWriter& w, std::vector<StreamStats>* streams,
                          const SequenceTrackerStats& ts, size_t cap, int64_t now_ms) {
  merge_duplicates(streams);
  const size_t tracked = streams->size();
  uint64_t lost_all = 0;
  for (const StreamStats& s : *streams) lost_all += s.lost_flows;
  if (tracked > cap) {
    ++cap_exceeded_;
    // Keep the busiest streams; ties by key, so the choice is stable.
    std::stable_sort(
        streams->begin(), streams->end(),
        [](const StreamStats& a, const StreamStats& b) { return a.datagrams > b.datagrams; });
    streams->resize(cap);
  }
  w.family("ringflow_streams_tracked", kGauge,
           "Exporter streams (exporter, version, domain) the reactors track.");
  w.sample(static_cast<uint64_t>(tracked));
  w.family("ringflow_streams_exported", kGauge,
           "Exporter streams exported as ringflow_stream_* series (at most metrics.max_streams).");
  w.sample(static_cast<uint64_t>(streams->size()));
  w.family("ringflow_streams_cap_exceeded_total", kCounter,
           "Scrapes that left streams out because more than metrics.max_streams were tracked.");
  w.sample(cap_exceeded_);
  w.family("ringflow_streams_capacity", kGauge,
           "Exporter streams the reactors can track (decode.max_streams per reactor).");
  w.sample(ts.capacity);
  w.family("ringflow_streams_created_total", kCounter, "Exporter streams ever inserted.");
  w.sample(ts.streams_created);
  w.family("ringflow_streams_expired_total", kCounter,
           "Exporter streams forgotten after decode.stream_idle_timeout of silence (or "
           "decode.full_table_idle_timeout while the table was full).");
  w.sample(ts.streams_expired);
  w.family("ringflow_streams_evicted_total", kCounter,
           "Of the expired streams, those forgotten only because the table was full "
           "(decode.full_table_idle_timeout).");
  w.sample(ts.streams_evicted);
  w.family("ringflow_streams_table_full_total", kCounter,
           "Datagrams of a new stream that found the table full (v5: decoded, not tracked; "
           "v9/IPFIX: rejected, stream_table_full).");
  w.sample(ts.table_full);
  w.family("ringflow_streams_lost_flows", kGauge,
           "Estimated flows lost in transit, summed over every tracked stream (exported or not).");
  w.sample(lost_all);

  const std::vector<StreamStats>& ss = *streams;
  std::vector<std::string> addrs;
  std::vector<std::string_view> versions;  // the registry's labels: 5, 9, 10, sflow
  std::vector<IndexLabel> domains;
  addrs.reserve(ss.size());
  versions.reserve(ss.size());
  domains.reserve(ss.size());
  for (const StreamStats& s : ss) {
    addrs.push_back(s.exporter.str());
    versions.push_back(format_slot_label(id_slot(s.format)));
    domains.emplace_back(s.domain);
  }
  for (const StreamFamily& f : kStreamFamilies) {
    w.family(f.name, f.type, f.help);
    for (size_t i = 0; i < ss.size(); ++i) {
      // Loss is in datagrams for v9 (its sequence counts datagrams): its own family.
      if (std::string_view(f.name) == "ringflow_stream_lost_flows" && ss[i].lost_unit_is_datagrams())
        continue;
      const Label labels[] = {
          {"exporter", addrs[i]}, {"version", versions[i]}, {"domain", domains[i].sv()}};
      w.sample(labels, f.value(ss[i]));
    }
  }
  w.family("ringflow_stream_lost_datagrams", kGauge,
           "v9 and sFlow streams: estimated export datagrams lost in transit (their sequence "
           "numbers count datagrams): forward gaps minus what late datagrams filled in.");
  for (size_t i = 0; i < ss.size(); ++i) {
    if (!ss[i].lost_unit_is_datagrams()) continue;
    const Label labels[] = {
        {"exporter", addrs[i]}, {"version", versions[i]}, {"domain", domains[i].sv()}};
    w.sample(labels, ss[i].lost_flows);
  }
  // Exporter quirks detected and compensated (src/decode/sequence_tracker.h):
  // one series per stream and quirk, for the streams that have one.
  w.family("ringflow_stream_quirk", kGauge,
           "1 for each exporter behaviour ringflow detected on the stream and compensates: "
           "ipfix_sequence_includes_current (IPFIX sequence numbers that already count the "
           "message's own records, as softflowd sends them; read as sequence - records).");
  for (size_t i = 0; i < ss.size(); ++i) {
    if (!(ss[i].quirks & kStreamQuirkSequenceIncludesCurrent)) continue;
    const Label labels[] = {{"exporter", addrs[i]},
                            {"version", versions[i]},
                            {"domain", domains[i].sv()},
                            {"quirk", stream_quirk_name(kStreamQuirkSequenceIncludesCurrent)}};
    w.sample(labels, uint64_t{1});
  }
  // The age depends on now, so it is not in the constexpr table.
  w.family("ringflow_stream_last_datagram_age_seconds", kGauge,
           "Seconds since the stream's latest datagram.");
  for (size_t i = 0; i < ss.size(); ++i) {
    const Label labels[] = {
        {"exporter", addrs[i]}, {"version", versions[i]}, {"domain", domains[i].sv()}};
    w.sample(labels,
             static_cast<double>(std::max<int64_t>(0, now_ms - ss[i].last_seen_ms)) / 1000.0);
  }
}

}  // namespace ringflow
