#include "pipeline/sflow_interfaces.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <utility>

#include "metrics/family.h"
#include "sink/clickhouse_schema.h"
#include "sink/time_format.h"

namespace ringflow {
namespace {

void add(SflowIfTable::Totals& a, const SflowIfTable::Totals& b) {
  a.in_octets += b.in_octets;
  a.out_octets += b.out_octets;
  a.in_packets += b.in_packets;
  a.out_packets += b.out_packets;
  a.in_discards += b.in_discards;
  a.in_errors += b.in_errors;
  a.out_discards += b.out_discards;
  a.out_errors += b.out_errors;
  a.flow_in_bytes += b.flow_in_bytes;
  a.flow_out_bytes += b.flow_out_bytes;
  a.if_speed = std::max(a.if_speed, b.if_speed);
}

// b - a, field by field; a total below the previous one means the interface
// was forgotten and entered again: its totals count from 0.
SflowIfTable::Totals minus(const SflowIfTable::Totals& b, const SflowIfTable::Totals& a) {
  const bool restarted = b.in_octets < a.in_octets || b.out_octets < a.out_octets ||
                         b.in_packets < a.in_packets || b.out_packets < a.out_packets ||
                         b.flow_in_bytes < a.flow_in_bytes || b.flow_out_bytes < a.flow_out_bytes ||
                         b.in_discards < a.in_discards || b.in_errors < a.in_errors ||
                         b.out_discards < a.out_discards || b.out_errors < a.out_errors;
  if (restarted) return b;
  SflowIfTable::Totals d;
  d.in_octets = b.in_octets - a.in_octets;
  d.out_octets = b.out_octets - a.out_octets;
  d.in_packets = b.in_packets - a.in_packets;
  d.out_packets = b.out_packets - a.out_packets;
  d.in_discards = b.in_discards - a.in_discards;
  d.in_errors = b.in_errors - a.in_errors;
  d.out_discards = b.out_discards - a.out_discards;
  d.out_errors = b.out_errors - a.out_errors;
  d.flow_in_bytes = b.flow_in_bytes - a.flow_in_bytes;
  d.flow_out_bytes = b.flow_out_bytes - a.flow_out_bytes;
  d.if_speed = b.if_speed;
  return d;
}

bool moved(const SflowIfTable::Totals& d) {
  return d.in_octets | d.out_octets | d.in_packets | d.out_packets | d.in_discards | d.in_errors |
         d.out_discards | d.out_errors | d.flow_in_bytes | d.flow_out_bytes;
}

// Coverage as text: flow bytes / octets with 6 decimals, "" when octets is 0.
std::string coverage(uint64_t flow, uint64_t octets) {
  if (octets == 0) return {};
  char b[32];
  std::snprintf(b, sizeof b, "%.6f", static_cast<double>(flow) / static_cast<double>(octets));
  return b;
}

}  // namespace

const char* const kSflowCountersColumns =
    "interval_start,interval_end,agent,sub_agent,if_index,if_speed,in_octets,out_octets,"
    "in_packets,out_packets,in_errors,out_errors,in_discards,out_discards,flow_in_bytes,"
    "flow_out_bytes,in_coverage,out_coverage";

void merge_sflow_interfaces(std::vector<SflowIfStat>* v) {
  std::sort(v->begin(), v->end(), [](const SflowIfStat& a, const SflowIfStat& b) {
    return std::tie(a.agent, a.sub_agent, a.if_index) < std::tie(b.agent, b.sub_agent, b.if_index);
  });
  size_t n = 0;
  for (size_t i = 0; i < v->size(); ++i) {
    SflowIfStat& s = (*v)[i];
    if (n > 0) {
      SflowIfStat& last = (*v)[n - 1];
      if (last.agent == s.agent && last.sub_agent == s.sub_agent && last.if_index == s.if_index) {
        add(last.totals, s.totals);
        continue;
      }
    }
    (*v)[n++] = s;
  }
  v->resize(n);
}

void write_sflow_interface_metrics(PromWriter& w, std::vector<SflowIfStat>* v, size_t cap) {
  merge_sflow_interfaces(v);
  const size_t tracked = v->size();
  std::stable_sort(v->begin(), v->end(), [](const SflowIfStat& a, const SflowIfStat& b) {
    return a.totals.in_octets + a.totals.out_octets > b.totals.in_octets + b.totals.out_octets;
  });
  SflowIfTable::Totals rest;
  const bool has_rest = v->size() > cap;
  for (size_t i = cap; i < v->size(); ++i) add(rest, (*v)[i].totals);
  if (has_rest) v->resize(cap);

  w.family("ringflow_sflow_interfaces_tracked", kGauge,
           "sFlow interfaces (agent, sub-agent, ifIndex) whose counters the reactors track.");
  w.sample(static_cast<uint64_t>(tracked));
  w.family("ringflow_sflow_interfaces_exported", kGauge,
           "sFlow interfaces exported as ringflow_sflow_interface_* series (at most "
           "metrics.max_sflow_interfaces; the rest under agent=\"other\").");
  w.sample(static_cast<uint64_t>(v->size()));

  struct Fam {
    const char* name;
    const char* help;
    uint64_t SflowIfTable::Totals::*in;
    uint64_t SflowIfTable::Totals::*out;
  };
  using T = SflowIfTable::Totals;
  static constexpr Fam kFams[] = {
      {"ringflow_sflow_interface_octets_total",
       "Octets an sFlow interface counted (ifIn/OutOctets deltas).", &T::in_octets, &T::out_octets},
      {"ringflow_sflow_interface_flow_bytes_total",
       "Bytes estimated from the flow samples whose input (in) or output (out) is this "
       "interface, over the same periods as ringflow_sflow_interface_octets_total.",
       &T::flow_in_bytes, &T::flow_out_bytes},
      {"ringflow_sflow_interface_packets_total",
       "Packets an sFlow interface counted (unicast + multicast + broadcast deltas).",
       &T::in_packets, &T::out_packets},
      {"ringflow_sflow_interface_errors_total", "ifIn/OutErrors deltas of an sFlow interface.",
       &T::in_errors, &T::out_errors},
      {"ringflow_sflow_interface_discards_total", "ifIn/OutDiscards deltas of an sFlow interface.",
       &T::in_discards, &T::out_discards},
  };
  for (const Fam& f : kFams) {
    w.family(f.name, kCounter, f.help);
    for (const SflowIfStat& s : *v) {
      const std::string agent = s.agent.str(), sub = std::to_string(s.sub_agent),
                        idx = std::to_string(s.if_index);
      w.sample({{"agent", agent}, {"sub_agent", sub}, {"if_index", idx}, {"direction", "in"}},
               s.totals.*f.in);
      w.sample({{"agent", agent}, {"sub_agent", sub}, {"if_index", idx}, {"direction", "out"}},
               s.totals.*f.out);
    }
    if (has_rest) {
      w.sample({{"agent", "other"}, {"sub_agent", ""}, {"if_index", "other"}, {"direction", "in"}},
               rest.*f.in);
      w.sample({{"agent", "other"}, {"sub_agent", ""}, {"if_index", "other"}, {"direction", "out"}},
               rest.*f.out);
    }
  }
}

SflowCountersOutput::SflowCountersOutput(std::string path, Format format, Reader read)
    : path_(std::move(path)), format_(format), read_(std::move(read)) {}

SflowCountersOutput::SflowCountersOutput(ChEndpoint endpoint, std::string database,
                                         std::string table, Reader read)
    : format_(Format::kClickHouse),
      read_(std::move(read)),
      ch_(std::make_unique<ChHttp>(std::move(endpoint))),
      database_(std::move(database)),
      table_(std::move(table)) {}

SflowCountersOutput::~SflowCountersOutput() = default;

// The columns follow kSflowCountersColumns; agent is the address as text, as
// in the CSV rows (an IPv4 agent as a.b.c.d).
bool SflowCountersOutput::create_table(std::string* error) {
  const std::string sql =
      "CREATE TABLE IF NOT EXISTS " + ch_qualified_table(database_, table_) +
      " (interval_start DateTime, interval_end DateTime,"
      " agent String, sub_agent UInt32, if_index UInt32, if_speed UInt64,"
      " in_octets UInt64, out_octets UInt64, in_packets UInt64, out_packets UInt64,"
      " in_errors UInt64, out_errors UInt64, in_discards UInt64, out_discards UInt64,"
      " flow_in_bytes UInt64, flow_out_bytes UInt64,"
      " in_coverage Nullable(Float64), out_coverage Nullable(Float64))"
      " ENGINE = MergeTree ORDER BY (agent, sub_agent, if_index, interval_start)";
  const ChResult r = ch_->query(sql);
  if (r.ok) {
    created_ = true;
    return true;
  }
  if (error) *error = database_ + "." + table_ + ": " + r.error;
  return r.transport;  // not answering: retried before the first INSERT
}

void SflowCountersOutput::insert_pending() {
  if (pending_.empty()) return;
  if (!created_) create_table(nullptr);  // a refused or unanswered CREATE: not yet
  if (!created_) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const ChResult r = ch_->insert(
      "INSERT INTO " + ch_qualified_table(database_, table_) + " FORMAT JSONEachRow",
      pending_);
  if (!r.ok) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  rows_.fetch_add(pending_rows_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  pending_rows_.store(0, std::memory_order_relaxed);
  pending_.clear();
}

bool SflowCountersOutput::open(std::string* error) {
  if (format_ == Format::kClickHouse) return create_table(error);
  f_.reset(std::fopen(path_.c_str(), "a"));
  if (!f_) {
    *error = path_ + ": " + std::strerror(errno);
    return false;
  }
  if (format_ == Format::kCsv && std::ftell(f_.get()) == 0) {
    std::fprintf(f_.get(), "%s\n", kSflowCountersColumns);
    std::fflush(f_.get());
  }
  return true;
}

size_t SflowCountersOutput::write_interval(int64_t start_ms, int64_t end_ms) {
  if (!f_ && format_ != Format::kClickHouse) return 0;
  now_.clear();
  read_(&now_);
  merge_sflow_interfaces(&now_);
  char start[kIsoMsLen + 1] = {}, end[kIsoMsLen + 1] = {};
  if (format_ == Format::kClickHouse) {
    // DateTime columns (the flow table's type; Debian's server has no
    // DateTime64): Unix seconds, which every release parses from a string.
    std::snprintf(start, sizeof start, "%lld", static_cast<long long>(start_ms / 1000));
    std::snprintf(end, sizeof end, "%lld", static_cast<long long>(end_ms / 1000));
  } else {
    format_iso_ms(start_ms, start);
    format_iso_ms(end_ms, end);
  }
  size_t n = 0;
  for (const SflowIfStat& s : now_) {
    const Key k{s.agent.bytes, s.sub_agent, s.if_index};
    auto [it, fresh] = prev_.try_emplace(k);
    const SflowIfTable::Totals d = fresh ? s.totals : minus(s.totals, it->second);
    it->second = s.totals;
    if (!moved(d)) continue;
    const std::string agent = s.agent.str();
    const std::string in_cov = coverage(d.flow_in_bytes, d.in_octets),
                      out_cov = coverage(d.flow_out_bytes, d.out_octets);
    int r;
    if (format_ == Format::kCsv) {
      r = std::fprintf(f_.get(),
                       "%s,%s,%s,%" PRIu32 ",%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                       ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                       ",%" PRIu64 ",%" PRIu64 ",%s,%s\n",
                       start, end, agent.c_str(), s.sub_agent, s.if_index, d.if_speed, d.in_octets,
                       d.out_octets, d.in_packets, d.out_packets, d.in_errors, d.out_errors,
                       d.in_discards, d.out_discards, d.flow_in_bytes, d.flow_out_bytes,
                       in_cov.c_str(), out_cov.c_str());
    } else {
      char line[1024];
      r = std::snprintf(
          line, sizeof line,
          "{\"interval_start\":\"%s\",\"interval_end\":\"%s\",\"agent\":\"%s\",\"sub_agent\":"
          "%" PRIu32 ",\"if_index\":%" PRIu32 ",\"if_speed\":%" PRIu64 ",\"in_octets\":%" PRIu64
          ",\"out_octets\":%" PRIu64 ",\"in_packets\":%" PRIu64 ",\"out_packets\":%" PRIu64
          ",\"in_errors\":%" PRIu64 ",\"out_errors\":%" PRIu64 ",\"in_discards\":%" PRIu64
          ",\"out_discards\":%" PRIu64 ",\"flow_in_bytes\":%" PRIu64 ",\"flow_out_bytes\":%" PRIu64
          ",\"in_coverage\":%s,\"out_coverage\":%s}\n",
          start, end, agent.c_str(), s.sub_agent, s.if_index, d.if_speed, d.in_octets, d.out_octets,
          d.in_packets, d.out_packets, d.in_errors, d.out_errors, d.in_discards, d.out_discards,
          d.flow_in_bytes, d.flow_out_bytes, in_cov.empty() ? "null" : in_cov.c_str(),
          out_cov.empty() ? "null" : out_cov.c_str());
      if (r > 0 && static_cast<size_t>(r) >= sizeof line) r = -1;
      if (r > 0 && format_ == Format::kClickHouse) {
        if (pending_.size() + static_cast<size_t>(r) > kMaxPendingBytes) {
          dropped_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        pending_.append(line, static_cast<size_t>(r));
        pending_rows_.fetch_add(1, std::memory_order_relaxed);
      } else if (r > 0 && std::fputs(line, f_.get()) < 0) {
        r = -1;
      }
    }
    if (r < 0) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    ++n;
  }
  if (format_ == Format::kClickHouse) {
    insert_pending();
    return n;
  }
  if (std::fflush(f_.get()) != 0) errors_.fetch_add(1, std::memory_order_relaxed);
  rows_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

}  // namespace ringflow
