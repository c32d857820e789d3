#include "gen/truth.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <numeric>
#include <tuple>

#include "common/unique_file.h"

namespace ringflow::gen {
namespace {

// Column order of the stream TSV (after exporter, port, engine_type,
// engine_id, sampling_mode, sampling_interval).
struct Col {
  const char* name;
  uint64_t StreamTruth::*field;
};
constexpr Col kCounters[] = {
    {"generated", &StreamTruth::generated},
    {"datagrams", &StreamTruth::datagrams},
    {"flows", &StreamTruth::flows},
    {"packets", &StreamTruth::packets},
    {"bytes", &StreamTruth::bytes},
    {"lost_datagrams", &StreamTruth::lost_datagrams},
    {"lost_flows", &StreamTruth::lost_flows},
    {"duplicates", &StreamTruth::duplicates},
    {"reordered", &StreamTruth::reordered},
    {"resets", &StreamTruth::resets},
    {"uptime_wraps", &StreamTruth::uptime_wraps},
    {"prewrap_records", &StreamTruth::prewrap_records},
    {"send_errors", &StreamTruth::send_errors},
    {"send_error_flows", &StreamTruth::send_error_flows},
    {"template_datagrams", &StreamTruth::template_datagrams},
    {"templates_sent", &StreamTruth::templates_sent},
    {"options_records", &StreamTruth::options_records},
    {"records_v4", &StreamTruth::records_v4},
    {"records_v6", &StreamTruth::records_v6},
    {"records_before_template", &StreamTruth::records_before_template},
    {"sets_before_template", &StreamTruth::sets_before_template},
    {"redefinitions", &StreamTruth::redefinitions},
    {"withdrawals", &StreamTruth::withdrawals},
    {"packets_scaled", &StreamTruth::packets_scaled},
    {"bytes_scaled", &StreamTruth::bytes_scaled},
    {"counter_datagrams", &StreamTruth::counter_datagrams},
    {"counter_samples", &StreamTruth::counter_samples},
    {"cut_headers", &StreamTruth::cut_headers},
    {"agent_drops", &StreamTruth::agent_drops},
};

void add_u64(std::string* s, uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  s->append(buf, p);
}

bool to_u64(std::string_view s, uint64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = line.find(sep, start);
    out.push_back(line.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string v4_str(uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return buf;
}

}  // namespace

StreamTruth total_of(const std::vector<StreamTruth>& streams) {
  StreamTruth t;
  for (const auto& s : streams) {
    for (const auto& c : kCounters) t.*c.field += s.*c.field;
    for (size_t i = 0; i < kMalformedClasses; ++i) t.malformed[i] += s.malformed[i];
  }
  return t;
}

std::string format_truth(const std::vector<StreamTruth>& streams) {
  std::string s =
      "exporter\tport\tengine_type\tengine_id\tsampling_mode\tsampling_interval\tversion\tdomain"
      "\tlayout\tsamplers\tprotocol\tagent";
  for (const auto& c : kCounters) (s += '\t') += c.name;
  s += "\tfirst_seq\tnext_seq\tmalformed";
  for (size_t i = 0; i < kMalformedClasses; ++i)
    (s += "\tmalformed_") += malformed_name(static_cast<MalformedClass>(i));
  s += "\tinterface_names\n";
  auto row = [&](const StreamTruth& t, bool total) {
    if (total) {
      s += "total\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-";
    } else {
      s += t.exporter.str();
      for (uint64_t v : {uint64_t{t.port}, uint64_t{t.engine_type}, uint64_t{t.engine_id},
                         uint64_t{t.sampling_raw} >> 14, uint64_t{t.sampling_raw} & 0x3FFFu,
                         uint64_t{t.version}, uint64_t{t.domain}}) {
        s += '\t';
        add_u64(&s, v);
      }
      s += t.layout ? "\tB\t" : "\tA\t";
      s += t.samplers.empty() ? "-" : t.samplers;
      s += '\t';
      s += t.protocol == Protocol::kSflow ? "sflow"
           : t.version == 9              ? "v9"
           : t.version == 10             ? "ipfix"
                                         : "v5";
      s += '\t';
      s += t.protocol == Protocol::kSflow ? t.agent.str() : "-";
    }
    for (const auto& c : kCounters) {
      s += '\t';
      add_u64(&s, t.*c.field);
    }
    if (total || !t.started) {
      s += "\t-\t-";
    } else {
      s += '\t';
      add_u64(&s, t.first_seq);
      s += '\t';
      add_u64(&s, t.next_seq);
    }
    s += '\t';
    add_u64(&s, t.malformed_total());
    for (auto v : t.malformed) {
      s += '\t';
      add_u64(&s, v);
    }
    s += '\t';
    s += total || t.interface_names.empty() ? "-" : t.interface_names;
    s += '\n';
  };
  for (const auto& t : streams) row(t, false);
  row(total_of(streams), true);
  return s;
}

bool parse_truth(std::string_view text, std::vector<StreamTruth>* out, std::string* error) {
  out->clear();
  auto lines = split(text, '\n');
  if (lines.empty() || lines[0].empty()) {
    *error = "empty truth file";
    return false;
  }
  auto header = split(lines[0], '\t');
  std::map<std::string_view, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  for (const char* need : {"exporter", "port", "engine_type", "engine_id", "sampling_mode",
                           "sampling_interval", "first_seq", "next_seq"}) {
    if (!col.count(need)) {
      *error = std::string("truth file: missing column ") + need;
      return false;
    }
  }
  for (size_t ln = 1; ln < lines.size(); ++ln) {
    if (lines[ln].empty()) continue;
    auto f = split(lines[ln], '\t');
    if (f.size() != header.size()) {
      *error = "truth file line " + std::to_string(ln + 1) + ": expected " +
               std::to_string(header.size()) + " columns, found " + std::to_string(f.size());
      return false;
    }
    if (f[0] == "total") continue;
    StreamTruth t;
    auto addr = IpAddr::parse(f[col["exporter"]]);
    uint64_t port, et, ei, mode, interval;
    if (!addr || !to_u64(f[col["port"]], &port) || !to_u64(f[col["engine_type"]], &et) ||
        !to_u64(f[col["engine_id"]], &ei) || !to_u64(f[col["sampling_mode"]], &mode) ||
        !to_u64(f[col["sampling_interval"]], &interval)) {
      *error = "truth file line " + std::to_string(ln + 1) + ": bad stream identity";
      return false;
    }
    t.exporter = *addr;
    t.port = static_cast<uint16_t>(port);
    t.engine_type = static_cast<uint8_t>(et);
    t.engine_id = static_cast<uint8_t>(ei);
    t.sampling_raw = static_cast<uint16_t>(mode << 14 | interval);
    if (auto it = col.find("version"); it != col.end()) {
      uint64_t v = 0, d = 0;
      if (!to_u64(f[it->second], &v) || !to_u64(f[col["domain"]], &d)) {
        *error = "truth file line " + std::to_string(ln + 1) + ": bad version or domain";
        return false;
      }
      t.version = static_cast<uint8_t>(v);
      t.domain = static_cast<uint32_t>(d);
    }
    if (auto it = col.find("layout"); it != col.end()) t.layout = f[it->second] == "B";
    if (auto it = col.find("protocol"); it != col.end() && f[it->second] == "sflow")
      t.protocol = Protocol::kSflow;
    if (auto it = col.find("agent"); it != col.end() && f[it->second] != "-") {
      auto a = IpAddr::parse(f[it->second]);
      if (!a) {
        *error = "truth file line " + std::to_string(ln + 1) + ": bad agent";
        return false;
      }
      t.agent = *a;
    }
    if (auto it = col.find("samplers"); it != col.end() && f[it->second] != "-")
      t.samplers = std::string(f[it->second]);
    for (const auto& c : kCounters) {
      auto it = col.find(c.name);
      if (it != col.end() && !to_u64(f[it->second], &(t.*c.field))) {
        *error = "truth file line " + std::to_string(ln + 1) + ": bad " + c.name;
        return false;
      }
    }
    for (size_t i = 0; i < kMalformedClasses; ++i) {
      std::string name = "malformed_" + std::string(malformed_name(static_cast<MalformedClass>(i)));
      auto it = col.find(name);
      if (it != col.end() && !to_u64(f[it->second], &t.malformed[i])) {
        *error = "truth file line " + std::to_string(ln + 1) + ": bad " + name;
        return false;
      }
    }
    uint64_t fs, ns;
    if (f[col["first_seq"]] != "-") {
      if (!to_u64(f[col["first_seq"]], &fs) || !to_u64(f[col["next_seq"]], &ns)) {
        *error = "truth file line " + std::to_string(ln + 1) + ": bad sequence";
        return false;
      }
      t.started = true;
      t.first_seq = static_cast<uint32_t>(fs);
      t.next_seq = static_cast<uint32_t>(ns);
    }
    out->push_back(t);
  }
  return true;
}

std::string format_keys(const TrafficModel& model, const KeyTotals& totals,
                        const std::vector<uint32_t>* rates, bool icmpv6) {
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < totals.size() && i < model.size(); ++i)
    if (totals[i].flows > 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const FlowKey &x = model.key(a), &y = model.key(b);
    return std::tie(x.v6, x.src, x.dst, x.sport, x.dport, x.proto) <
           std::tie(y.v6, y.src, y.dst, y.sport, y.dport, y.proto);
  });
  std::string s = rates ? "src\tdst\tsport\tdport\tproto\tflows\tpackets\tbytes\tsampling\n"
                        : "src\tdst\tsport\tdport\tproto\tflows\tpackets\tbytes\n";
  s.reserve(s.size() + order.size() * 64);
  for (uint32_t i : order) {
    const FlowKey& k = model.key(i);
    if (k.v6) {
      s += model.src_addr(i).str();
      s += '\t';
      s += model.dst_addr(i).str();
    } else {
      s += v4_str(k.src);
      s += '\t';
      s += v4_str(k.dst);
    }
    const uint64_t proto = (icmpv6 && k.v6 && k.proto == 1) ? 58 : k.proto;
    for (uint64_t v : {uint64_t{k.sport}, uint64_t{k.dport}, proto, totals[i].flows,
                       totals[i].packets, totals[i].bytes}) {
      s += '\t';
      add_u64(&s, v);
    }
    if (rates) {
      s += '\t';
      add_u64(&s, i < rates->size() ? (*rates)[i] : 1);
    }
    s += '\n';
  }
  return s;
}

bool write_file(const std::string& path, std::string_view text, std::string* error) {
  UniqueFile owned;  // empty for "-": stdout is not ours to close
  if (path != "-") {
    owned.reset(std::fopen(path.c_str(), "w"));
    if (!owned) {
      *error = path + ": cannot open for writing: " + std::strerror(errno);
      return false;
    }
  }
  FILE* f = owned ? owned.get() : stdout;
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (owned ? close_file(owned) : std::fflush(f) == 0) && ok;
  if (!ok) *error = path + ": write failed: " + std::strerror(errno);
  return ok;
}

}  // namespace ringflow::gen
