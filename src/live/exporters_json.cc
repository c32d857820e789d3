#include "live/exporters_json.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <tuple>

#include "decode/decode_plan.h"
#include "decode/wire_formats.h"
#include "live/exporter_quirks.h"
#include "wire/ie.h"

namespace ringflow {
namespace {

// The registry's row of a stream's format id (src/decode/wire_formats.h).
const WireFormat& format_row(FormatId id) {
  const WireFormat* f = format_by_id(id);
  return f ? *f : kWireFormats[kFormatV5];  // streams only exist for decoded formats
}
WireDecoder decoder_of(FormatId id) { return format_row(id).decoder; }
// The version field's value as the format sends it (5 for sFlow v5 too).
uint32_t wire_version_of(FormatId id) { return format_row(id).version; }

// A JSON text built in place: keys and scalars, commas where needed.
class Json {
 public:
  explicit Json(std::string* s) : s_(s) {}
  Json& open(char c) {
    sep();
    s_->push_back(c);
    first_ = true;
    return *this;
  }
  Json& close(char c) {
    s_->push_back(c);
    first_ = false;
    return *this;
  }
  Json& key(std::string_view k) {
    sep();
    str_raw(k);
    s_->push_back(':');
    first_ = true;  // the value follows without a comma
    return *this;
  }
  Json& str(std::string_view v) {
    sep();
    str_raw(v);
    return *this;
  }
  Json& num(uint64_t v) { return fmt("%" PRIu64, v); }
  Json& num(int64_t v) { return fmt("%" PRId64, v); }
  Json& num(uint32_t v) { return fmt("%u", v); }
  Json& num(double v) { return fmt("%.6g", v); }
  Json& boolean(bool v) { return fmt("%s", v ? "true" : "false"); }
  Json& null() {
    sep();
    s_->append("null");
    return *this;
  }

 private:
  void sep() {
    if (!first_) s_->push_back(',');
    first_ = false;
  }
  Json& fmt(const char* f, auto v) {
    sep();
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, f, v);
    s_->append(buf, static_cast<size_t>(std::clamp(n, 0, int{sizeof buf} - 1)));
    return *this;
  }
  void str_raw(std::string_view v) {
    s_->push_back('"');
    for (char c : v) {
      if (c == '"' || c == '\\') {
        s_->push_back('\\');
        s_->push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        s_->append(buf);
      } else {
        s_->push_back(c);
      }
    }
    s_->push_back('"');
  }
  std::string* s_;
  bool first_ = true;
};

// The template's records' rate source, and the rate when one applies to
// all of them (0: per record, per sampler or unknown).
SamplingSource template_source(const ExporterSnapshot& snap, const ExporterStream& s,
                               const SnapshotTemplate& t) {
  if (s.override_rate) return {"override", s.override_rate};
  if (t.has_rate) return {"in_record", 0};
  if (t.has_sampler_id && s.has_rates && s.rates.n > 0)
    return {"options_by_sampler_id", s.rates.n == 1 ? s.rates.rates[0] : 0};
  if (const uint32_t r = s.has_rates ? s.rates.rate_without_id() : 0) return {"options", r};
  if (t.has_sampler_id || (s.has_rates && s.rates.n > 1)) return {"unknown", 0};
  return {"default", snap.default_sampling};
}

std::string field_name(const SnapshotField& f, bool v9) {
  char buf[48];
  if (v9 && f.scope) {
    static constexpr const char* kScopes[] = {"",          "system", "interface",
                                              "line_card", "cache",  "template"};
    if (f.id >= 1 && f.id <= 5) return std::string("scope:") + kScopes[f.id];
    std::snprintf(buf, sizeof buf, "scope:%u", f.id);
    return buf;
  }
  if (f.pen == 0 || f.pen == kReversePen) {
    if (const ie::Info* i = ie::find(f.id)) {
      if (f.pen == 0) return std::string(i->name);
      std::string n = "reverse";
      n += static_cast<char>(i->name[0] - ('a' - 'A'));
      n.append(i->name.substr(1));
      return n;
    }
  }
  if (f.pen)
    std::snprintf(buf, sizeof buf, "%u/%u", f.pen, f.id);
  else
    std::snprintf(buf, sizeof buf, "ie%u", f.id);
  return buf;
}

void quirk_ids(Json& j, const std::vector<Quirk>& q) {
  j.open('[');
  for (const Quirk& x : q) j.str(x.id);
  j.close(']');
}

// f(const InterfaceNameRow&) for each name the stream's reactor learnt
// from its options data.
// The rows are sorted by (exporter, domain, format, ifIndex): a binary
// search finds the stream's first, so a list of many streams stays cheap.
template <class F>
void for_each_interface(const ExporterSnapshot& snap, const StreamStats& st, F&& f) {
  if (!snap.if_names) return;
  const auto& rows = snap.if_names->rows;
  auto key = [](const InterfaceNameRow& r) {
    return std::tie(r.exporter.bytes, r.domain, r.format);
  };
  const InterfaceNameRow probe{st.exporter, st.domain, st.format, 0, {}, {}};
  auto it = std::lower_bound(
      rows.begin(), rows.end(), probe,
      [&](const InterfaceNameRow& a, const InterfaceNameRow& b) { return key(a) < key(b); });
  for (; it != rows.end() && key(*it) == key(probe); ++it) f(*it);
}
size_t interface_count(const ExporterSnapshot& snap, const StreamStats& st) {
  size_t n = 0;
  for_each_interface(snap, st, [&](const InterfaceNameRow&) { ++n; });
  return n;
}

void row(Json& j, const ExporterSnapshot& snap, const ExporterStream& s) {
  const StreamStats& st = s.stats;
  const SamplingSource src = sampling_source(snap, s);
  const std::vector<Quirk> q = detect_quirks(snap, s);
  j.open('{');
  j.key("id").str(exporter_id(st));
  j.key("exporter").str(st.exporter.str());
  j.key("version").num(wire_version_of(st.format));
  j.key("format").str(format_name(st.format));
  j.key("domain").num(st.domain);
  j.key("first_seen_ms").num(st.first_seen_ms);
  j.key("last_seen_ms").num(st.last_seen_ms);
  j.key("datagrams").num(st.datagrams);
  j.key("flows").num(st.flows);
  j.key("lost").num(st.lost_flows);
  j.key("lost_unit").str(st.lost_unit_is_datagrams() ? "datagrams" : "flows");
  j.key("loss_ratio").num(loss_ratio(st));
  j.key("resets").num(st.resets);
  j.key("sampling_rate").num(src.rate);
  j.key("sampling_source").str(src.source);
  j.key("clock_offset_ms");
  if (st.has_clock)
    j.num(st.clock_offset_ms);
  else
    j.null();
  j.key("templates").num(s.ntemplates);
  j.key("interface_names").num(uint64_t{interface_count(snap, st)});
  j.key("quirks");
  quirk_ids(j, q);
  j.close('}');
}



template <class F>
void for_each_stream(const ExporterSnapshots& snaps, F&& f) {
  for (const auto& snap : snaps)
    if (snap)
      for (const ExporterStream& s : snap->streams) f(*snap, s);
}

}  // namespace

std::string exporter_id(const StreamStats& s) {
  // The registry's label ("5", "9", "10", "sflow"): sFlow v5 and NetFlow v5
  // share version 5, not their label.
  return s.exporter.str() + "-" + std::string(format_row(s.format).label) + "-" +
         std::to_string(s.domain);
}

std::string_view format_name(FormatId format) {
  const WireDecoder d = decoder_of(format);
  switch (d) {  // no default: -Wswitch names a new decoder here
    case WireDecoder::kV5:
      return "netflow_v5";
    case WireDecoder::kV9:
      return "netflow_v9";
    case WireDecoder::kIpfix:
      return "ipfix";
    case WireDecoder::kSflow:
      return "sflow";
  }
  return "unknown";
}

SamplingSource sampling_source(const ExporterSnapshot& snap, const ExporterStream& s) {
  if (s.override_rate) return {"override", s.override_rate};
  if (decoder_of(s.stats.format) == WireDecoder::kV5) {
    const uint32_t n = s.stats.sampling_raw & 0x3FFFu;
    if (n) return {"v5_header", n};
    return {"default", snap.default_sampling};
  }
  SamplingSource out;
  bool any = false;
  for (uint32_t i = 0; i < s.ntemplates; ++i) {
    const SnapshotTemplate& t = snap.templates[s.first_template + i];
    if (t.options) continue;
    const SamplingSource ts = template_source(snap, s, t);
    if (!any) {
      out = ts;
      any = true;
    } else if (ts.source != out.source || ts.rate != out.rate) {
      return {"mixed", 0};
    }
  }
  if (any) return out;
  if (const uint32_t r = s.has_rates ? s.rates.rate_without_id() : 0) return {"options", r};
  return {"default", snap.default_sampling};
}

namespace {
// Everything of GET /api/v1/exporters after the value of now_ms: a function
// of the snapshots only.
std::string exporters_tail(const ExporterSnapshots& snaps) {
  std::string out = ",";  // after now_ms's value
  Json j(&out);
  uint64_t omitted = 0;
  for (const auto& snap : snaps)
    if (snap) omitted += snap->streams_omitted;
  j.key("max_streams").num(uint64_t{ExporterSnapshot::kMaxStreams});
  j.key("streams_omitted").num(omitted);
  j.key("exporters").open('[');
  std::vector<std::pair<std::string, std::string>> rows;
  for_each_stream(snaps, [&](const ExporterSnapshot& snap, const ExporterStream& s) {
    std::string r;
    Json rj(&r);
    row(rj, snap, s);
    rows.emplace_back(exporter_id(s.stats), std::move(r));
  });
  std::sort(rows.begin(), rows.end());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) out.push_back(',');
    out += rows[i].second;
  }
  j.close(']');
  j.close('}');
  return out;
}

std::string with_now(int64_t now_ms, std::string_view tail) {
  std::string out;
  Json j(&out);
  j.open('{');
  j.key("now_ms").num(now_ms);
  out += tail;
  return out;
}
}  // namespace

std::string exporters_json(const ExporterSnapshots& snaps, int64_t now_ms) {
  return with_now(now_ms, exporters_tail(snaps));
}

std::string ExportersListCache::render(const ExporterSnapshots& snaps, int64_t now_ms) {
  std::vector<Key> key;
  key.reserve(snaps.size());
  for (const auto& snap : snaps)
    key.push_back(snap ? Key{snap.get(), snap->published_ms, snap->streams.size()} : Key{});
  std::lock_guard<std::mutex> lock(mu_);
  if (!(key == key_) || !built_) {
    tail_ = exporters_tail(snaps);
    key_ = std::move(key);
    built_ = true;
  }
  return with_now(now_ms, tail_);
}

bool exporter_json(const ExporterSnapshots& snaps, std::string_view id, int64_t now_ms,
                   std::string* out) {
  const ExporterSnapshot* snap = nullptr;
  const ExporterStream* s = nullptr;
  for_each_stream(snaps, [&](const ExporterSnapshot& sn, const ExporterStream& x) {
    if (s == nullptr && exporter_id(x.stats) == id) {
      snap = &sn;
      s = &x;
    }
  });
  if (s == nullptr) return false;
  const StreamStats& st = s->stats;
  Json j(out);
  j.open('{');
  j.key("now_ms").num(now_ms);
  j.key("published_ms").num(snap->published_ms);
  j.key("id").str(exporter_id(st));
  j.key("exporter").str(st.exporter.str());
  j.key("version").num(wire_version_of(st.format));
  j.key("format").str(format_name(st.format));
  j.key("domain").num(st.domain);
  j.key("first_seen_ms").num(st.first_seen_ms);
  j.key("last_seen_ms").num(st.last_seen_ms);

  // Every stream of the same address: the versions (and domains) it sent.
  j.key("versions_seen").open('[');
  for_each_stream(snaps, [&](const ExporterSnapshot&, const ExporterStream& x) {
    if (!(x.stats.exporter == st.exporter)) return;
    j.open('{');
    j.key("id").str(exporter_id(x.stats));
    j.key("version").num(wire_version_of(x.stats.format));
    j.key("format").str(format_name(x.stats.format));
    j.key("domain").num(x.stats.domain);
    j.key("first_seen_ms").num(x.stats.first_seen_ms);
    j.key("last_seen_ms").num(x.stats.last_seen_ms);
    j.close('}');
  });
  j.close(']');

  j.key("sequence").open('{');
  j.key("datagrams").num(st.datagrams);
  j.key("flows").num(st.flows);
  j.key("lost").num(st.lost_flows);
  j.key("lost_unit").str(st.lost_unit_is_datagrams() ? "datagrams" : "flows");
  j.key("loss_ratio").num(loss_ratio(st));
  j.key("gaps").num(st.gaps);
  j.key("reordered").num(st.reordered);
  j.key("late").num(st.late_flows);
  j.key("duplicates").num(st.duplicates);
  j.key("resets").num(st.resets);
  j.key("resyncs").num(st.resyncs);
  j.key("next_sequence").num(st.next_sequence);
  j.key("compensated").open('[');
  if (st.quirks & kStreamQuirkSequenceIncludesCurrent)
    j.str(stream_quirk_name(kStreamQuirkSequenceIncludesCurrent));
  j.close(']');
  j.close('}');

  j.key("clock").open('{');
  j.key("offset_ms");
  if (st.has_clock)
    j.num(st.clock_offset_ms);
  else
    j.null();
  j.key("sys_uptime_ms").num(st.sys_uptime_ms);
  j.key("uptime_wraps").num(st.uptime_wraps);
  j.key("system_init_ms");
  if (s->has_init)
    j.num(s->init_ms);
  else
    j.null();
  j.close('}');

  const SamplingSource src = sampling_source(*snap, *s);
  j.key("sampling").open('{');
  j.key("rate").num(src.rate);
  j.key("source").str(src.source);
  j.key("override").num(s->override_rate);
  j.key("default").num(snap->default_sampling);
  j.key("renormalize").boolean(snap->renormalize);
  j.key("v5_header");
  if (decoder_of(st.format) == WireDecoder::kV5)
    j.num(uint32_t{st.sampling_raw});
  else
    j.null();
  j.key("samplers").open('[');
  if (s->has_rates) {
    if (s->rates.default_rate) {
      j.open('{');
      j.key("sampler_id").null();
      j.key("rate").num(s->rates.default_rate);
      j.key("source").str("options");
      j.close('}');
    }
    for (uint32_t k = 0; k < s->rates.n; ++k) {
      j.open('{');
      j.key("sampler_id").num(s->rates.ids[k]);
      j.key("rate").num(s->rates.rates[k]);
      j.key("source").str("options");
      j.close('}');
    }
  }
  j.close(']');
  j.key("rate_unknown_templates").open('[');
  for (uint32_t i = 0; i < s->ntemplates; ++i) {
    const SnapshotTemplate& t = snap->templates[s->first_template + i];
    if (!t.options && template_source(*snap, *s, t).source == "unknown") j.num(uint32_t{t.id});
  }
  j.close(']');
  j.close('}');

  j.key("templates").open('{');
  j.key("added").num(s->templates.added);
  j.key("redefinitions").num(s->templates.redefinitions);
  j.key("withdrawals").num(s->templates.withdrawals);
  j.key("cut").boolean(s->templates_cut);
  j.key("list").open('[');
  for (uint32_t i = 0; i < s->ntemplates; ++i) {
    const SnapshotTemplate& t = snap->templates[s->first_template + i];
    j.open('{');
    j.key("id").num(uint32_t{t.id});
    j.key("options").boolean(t.options);
    j.key("first_seen_ms").num(t.first_ms);
    j.key("last_seen_ms").num(t.last_ms);
    j.key("redefinitions").num(t.redefinitions);
    if (!t.options) {
      const SamplingSource ts = template_source(*snap, *s, t);
      j.key("sampling_source").str(ts.source);
      j.key("sampling_rate").num(ts.rate);
    }
    j.key("field_count").num(uint32_t{t.field_count});
    j.key("fields_cut").boolean(t.fields_cut);
    j.key("fields").open('[');
    for (uint32_t k = 0; k < t.nfields; ++k) {
      const SnapshotField& f = snap->fields[t.first_field + k];
      j.open('{');
      j.key("id").num(uint32_t{f.id});
      j.key("name").str(field_name(f, decoder_of(st.format) == WireDecoder::kV9));
      j.key("length").num(uint32_t{f.length});
      if (f.pen) j.key("pen").num(f.pen);
      if (f.scope) j.key("scope").boolean(true);
      j.close('}');
    }
    j.close(']');
    j.close('}');
  }
  j.close(']');
  j.close('}');

  j.key("held").open('{');
  j.key("held_sets").num(s->held.held);
  j.key("late_decoded").num(s->held.released);
  j.key("expired").num(s->held.expired);
  j.key("refused").num(s->held.refused);
  j.key("bytes_now").num(s->held.bytes);
  j.close('}');

  // Interface names and descriptions learnt from its options data.
  j.key("interfaces").open('[');
  for_each_interface(*snap, st, [&](const InterfaceNameRow& r) {
    j.open('{');
    j.key("index").num(r.if_index);
    j.key("name").str(r.name);
    j.key("description").str(r.description);
    j.close('}');
  });
  j.close(']');

  // Datagrams of this address rejected whole, by reason (over every reactor).
  j.key("rejects").open('{');
  uint64_t by_reason[kRejectReasons] = {};
  for (const auto& sn : snaps) {
    if (!sn) continue;
    for (const AddressRejects& a : sn->rejects)
      if (a.exporter == st.exporter)
        for (size_t r = 0; r < kRejectReasons; ++r) by_reason[r] += a.by_reason[r];
  }
  for (size_t r = 1; r < kRejectReasons; ++r)
    if (by_reason[r]) j.key(reject_reason_name(static_cast<Reject>(r))).num(by_reason[r]);
  j.close('}');

  j.key("quirks").open('[');
  for (const Quirk& q : detect_quirks(*snap, *s)) {
    j.open('{');
    j.key("id").str(q.id);
    j.key("severity").str(q.severity);
    j.key("message").str(q.message);
    if (q.template_id) j.key("template_id").num(q.template_id);
    j.close('}');
  }
  j.close(']');
  j.close('}');
  return true;
}

}  // namespace ringflow
