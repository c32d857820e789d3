#include "decode/decode_metrics.h"

#include <algorithm>
#include <string>

#include "metrics/family.h"

namespace ringflow {
namespace {

using WorkerFamily = Family<WorkerSample>;

constexpr WorkerFamily kWorkerFamilies[] = {
    {"ringflow_decode_datagrams_total", kCounter, "Datagrams the worker took from its queue.",
     [](const WorkerSample& s) { return s.datagrams; }},
    {"ringflow_decode_accepted_total", kCounter, "Datagrams that decoded (one or more v5 PDUs).",
     [](const WorkerSample& s) { return s.decoded; }},
    {"ringflow_decode_pdus_total", kCounter, "NetFlow v5 PDUs decoded.",
     [](const WorkerSample& s) { return s.pdus; }},
    {"ringflow_decode_flows_total", kCounter, "Flow records decoded.",
     [](const WorkerSample& s) { return s.flows; }},
    {"ringflow_decode_trailing_accepted_total", kCounter,
     "Datagrams with trailing bytes accepted (decode.accept_trailing).",
     [](const WorkerSample& s) { return s.trailing_accepted; }},
    {"ringflow_decode_future_records_total", kCounter,
     "Records ending later than now + decode.future_tolerance (kept, counted).",
     [](const WorkerSample& s) { return s.future_records; }},
    {"ringflow_decode_inverted_records_total", kCounter,
     "Records whose first time is after their last (kept, counted).",
     [](const WorkerSample& s) { return s.inverted_records; }},
};

using StreamFamily = Family<StreamStats>;

constexpr StreamFamily kStreamFamilies[] = {
    {"ringflow_stream_datagrams_total", kCounter,
     "v5 PDUs received on the stream (duplicates included).",
     [](const StreamStats& s) { return s.datagrams; }},
    {"ringflow_stream_flows_total", kCounter, "Flow records received on the stream.",
     [](const StreamStats& s) { return s.flows; }},
    {"ringflow_stream_lost_flows", kGauge,
     "Estimated flows lost in transit: forward sequence gaps minus flows that late "
     "datagrams filled in. A gauge: a late datagram lowers it.",
     [](const StreamStats& s) { return s.lost_flows; }},
    {"ringflow_stream_gaps_total", kCounter, "Forward jumps of flow_sequence.",
     [](const StreamStats& s) { return s.gaps; }},
    {"ringflow_stream_reordered_total", kCounter,
     "Late datagrams that filled (part of) an earlier gap.",
     [](const StreamStats& s) { return s.reordered; }},
    {"ringflow_stream_late_flows_total", kCounter, "Flows delivered by reordered datagrams.",
     [](const StreamStats& s) { return s.late_flows; }},
    {"ringflow_stream_duplicates_total", kCounter,
     "Datagrams behind the expected sequence that filled no gap (duplicates).",
     [](const StreamStats& s) { return s.duplicates; }},
    {"ringflow_stream_resets_total", kCounter, "Exporter restarts and sequence resynchronisations.",
     [](const StreamStats& s) { return s.resets; }},
    {"ringflow_stream_sampling_interval", kGauge,
     "Effective sampling interval (override, header or default), >= 1.",
     [](const StreamStats& s) { return uint64_t{s.sampling_interval}; }},
};

bool same_stream(const StreamStats& a, const StreamStats& b) {
  return a.exporter == b.exporter && a.engine_type == b.engine_type && a.engine_id == b.engine_id;
}

// A stream is routed to one worker, so each appears once; should a stream
// ever show up in two workers' snapshots (a routing change), merge it rather
// than emit a duplicate series, which would make Prometheus reject the
// whole scrape.
void merge_duplicates(std::vector<StreamStats>* streams) {
  auto key_less = [](const StreamStats& a, const StreamStats& b) {
    if (a.exporter != b.exporter) return a.exporter < b.exporter;
    if (a.engine_type != b.engine_type) return a.engine_type < b.engine_type;
    return a.engine_id < b.engine_id;
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
    WorkerSample v{c.datagrams.load(),
                   c.decoded.load(),
                   c.pdus.load(),
                   c.trailing_accepted.load(),
                   c.flows.load(),
                   c.future_records.load(),
                   c.inverted_records.load(),
                   {}};
    for (size_t i = 0; i < kRejectReasons; ++i) v.rejects[i] = c.rejects[i].load();
    out.push_back(v);
  }
  return out;
}

void write_decode_metrics(PromWriter& w, const std::vector<WorkerSample>& wv) {
  write_indexed_families(w, kWorkerFamilies, "worker", wv.size(),
                         [&wv](size_t i) -> const WorkerSample& { return wv[i]; });
  w.family("ringflow_decode_rejected_total", kCounter,
           "Datagrams rejected by the decoder, by reason (summed over workers).");
  for (size_t r = 1; r < kRejectReasons; ++r) {
    uint64_t n = 0;
    for (const WorkerSample& v : wv) n += v.rejects[r];
    w.sample({{"reason", reject_reason_name(static_cast<Reject>(r))}}, n);
  }
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
           "Exporter streams (exporter, engine_type, engine_id) the workers track.");
  w.sample(static_cast<uint64_t>(tracked));
  w.family("ringflow_streams_exported", kGauge,
           "Exporter streams exported as ringflow_stream_* series (at most metrics.max_streams).");
  w.sample(static_cast<uint64_t>(streams->size()));
  w.family("ringflow_streams_cap_exceeded_total", kCounter,
           "Scrapes that left streams out because more than metrics.max_streams were tracked.");
  w.sample(cap_exceeded_);
  w.family("ringflow_streams_capacity", kGauge,
           "Exporter streams the workers can track (decode.max_streams per worker).");
  w.sample(ts.capacity);
  w.family("ringflow_streams_created_total", kCounter, "Exporter streams ever inserted.");
  w.sample(ts.streams_created);
  w.family("ringflow_streams_expired_total", kCounter,
           "Exporter streams forgotten after decode.stream_idle_timeout of silence.");
  w.sample(ts.streams_expired);
  w.family("ringflow_streams_table_full_total", kCounter,
           "Datagrams of a new stream that found the tracking table full (decoded, not tracked).");
  w.sample(ts.table_full);
  w.family("ringflow_streams_lost_flows", kGauge,
           "Estimated flows lost in transit, summed over every tracked stream (exported or not).");
  w.sample(lost_all);

  const std::vector<StreamStats>& ss = *streams;
  std::vector<std::string> addrs;
  std::vector<IndexLabel> types, ids;
  addrs.reserve(ss.size());
  types.reserve(ss.size());
  ids.reserve(ss.size());
  for (const StreamStats& s : ss) {
    addrs.push_back(s.exporter.str());
    types.emplace_back(s.engine_type);
    ids.emplace_back(s.engine_id);
  }
  for (const StreamFamily& f : kStreamFamilies) {
    w.family(f.name, f.type, f.help);
    for (size_t i = 0; i < ss.size(); ++i) {
      const Label labels[] = {
          {"exporter", addrs[i]}, {"engine_type", types[i].sv()}, {"engine_id", ids[i].sv()}};
      w.sample(labels, f.value(ss[i]));
    }
  }
  // The age depends on now, so it is not in the constexpr table.
  w.family("ringflow_stream_last_datagram_age_seconds", kGauge,
           "Seconds since the stream's latest datagram.");
  for (size_t i = 0; i < ss.size(); ++i) {
    const Label labels[] = {
        {"exporter", addrs[i]}, {"engine_type", types[i].sv()}, {"engine_id", ids[i].sv()}};
    w.sample(labels,
             static_cast<double>(std::max<int64_t>(0, now_ms - ss[i].last_seen_ms)) / 1000.0);
  }
}

}  // namespace ringflow
