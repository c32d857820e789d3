#include "pipeline/flow_print.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "decode/wire_formats.h"
#include "enrich/catalogue.h"
#include "enrich/names.h"
#include "sink/time_format.h"

namespace ringflow {
namespace {

bool is_zero(const IpAddr& a) { return a == IpAddr{}; }

// An address is IPv4 when v4-mapped; all zeros (no element, or "::") is
// IPv4 only in a record that is IPv4 everywhere else.
bool prints_v4(const IpAddr& a, bool v6_record) { return a.is_v4() || (is_zero(a) && !v6_record); }

// The address as the endpoint shows it, without port or brackets.
std::string address_text(const IpAddr& a, bool v6_record) {
  if (prints_v4(a, v6_record)) return a.is_v4() ? a.str() : "0.0.0.0";
  return a.str();
}

bool is_v6_record(const FlowRecord& r) {
  return r.ip_version == 6 || (!r.src.is_v4() && !is_zero(r.src)) ||
         (!r.dst.is_v4() && !is_zero(r.dst));
}

void format_endpoint(const IpAddr& a, uint16_t port, bool v6_record, char* buf, size_t cap) {
  if (prints_v4(a, v6_record)) {
    snprintf(buf, cap, "%s:%u", a.is_v4() ? a.str().c_str() : "0.0.0.0", port);
  } else {
    snprintf(buf, cap, "[%s]:%u", a.str().c_str(), port);
  }
}

unsigned long long times(uint64_t v, uint32_t m) {
  uint64_t out;
  if (__builtin_mul_overflow(v, uint64_t{m}, &out)) out = ~uint64_t{0};
  return out;
}

}  // namespace

size_t format_flow_line(const FlowRecord& r, const FlowContext& ctx, char* buf, size_t cap) {
  const bool v6_record = is_v6_record(r);
  char src[64], dst[64], start[kIsoMsLen + 1], end[kIsoMsLen + 1];
  // The registry's label: 5, 9, 10 (the version number as before), sflow.
  const std::string_view label = format_slot_label(id_slot(ctx.format));
  format_endpoint(r.src, r.src_port, v6_record, src, sizeof src);
  format_endpoint(r.dst, r.dst_port, v6_record, dst, sizeof dst);
  *format_iso_ms(r.start_ms, start) = '\0';  // the sinks' formatter (sink/time_format.h)
  *format_iso_ms(r.end_ms, end) = '\0';
  int len =
      snprintf(buf, cap, "%s -> %s proto %u packets %llu bytes %llu start %s end %s version %.*s",
               src, dst, r.protocol, times(r.packets, r.sampling), times(r.bytes, r.sampling),
               start, end, static_cast<int>(label.size()), label.data());
  if (len < 0 || static_cast<size_t>(len) >= cap) return 0;
  if (ctx.template_id != 0) {  // a templated format's record (template ids are >= 256)
    const int more =
        snprintf(buf + len, cap - static_cast<size_t>(len), " template %u", ctx.template_id);
    if (more < 0 || static_cast<size_t>(len + more) >= cap) return 0;
    len += more;
  }
  // Enriched (the enrich stage ran before this one and found something):
  // network names (at most 64 bytes each here), resolved AS with its
  // source, countries. Unknown values are left out, never made up.
  const unsigned ss = (r.as_sources >> kFlowSrcAsSourceShift) & 3u,
                 ds = (r.as_sources >> kFlowDstAsSourceShift) & 3u;
  if (ss || ds || r.enrich[kEnrichSrcNet] || r.enrich[kEnrichDstNet] ||
      r.enrich[kEnrichSrcCountry] || r.enrich[kEnrichDstCountry]) {
    auto add = [&](const char* fmt, auto... args) {
      const int more = snprintf(buf + len, cap - static_cast<size_t>(len), fmt, args...);
      if (more < 0 || static_cast<size_t>(len + more) >= cap) return false;
      len += more;
      return true;
    };
    for (int side = 0; side < 2; ++side) {
      const char* dir = side ? "dst" : "src";
      const std::string_view net =
          enrich::names().str(enrich::net_tuple(r.enrich[side ? kEnrichDstNet : kEnrichSrcNet]).name);
      const std::string_view role =
          enrich::names().str(enrich::net_tuple(r.enrich[side ? kEnrichDstNet : kEnrichSrcNet]).role);
      const unsigned src = side ? ds : ss;
      const uint16_t cc = r.enrich[side ? kEnrichDstCountry : kEnrichSrcCountry];
      if (!net.empty() && !add(" %s_net \"%.*s\"", dir, static_cast<int>(std::min<size_t>(net.size(), 64)), net.data()))
        return 0;
      if (!role.empty() && !add(" %s_net_role \"%.*s\"", dir, static_cast<int>(std::min<size_t>(role.size(), 64)), role.data()))
        return 0;
      if (src && !add(" %s_as %u (%s)", dir, side ? r.dst_as : r.src_as, kAsSourceNames[src].data()))
        return 0;
      if (cc && !add(" %s_country %c%c", dir, static_cast<char>(cc & 0xFF), static_cast<char>(cc >> 8)))
        return 0;
    }
  }
  // The exporter catalogue (the catalogue stage ran before this one): the
  // exporter's and interfaces' names, when it knows them.
  if (ctx.catalogue) {
    const enrich::ExporterEntry& e = *ctx.catalogue;
    const std::pair<const char*, uint32_t> names[] = {
        {"exporter_name", e.name},
        {"in_if_name", e.iface(r.input).name},
        {"out_if_name", e.iface(r.output).name}};
    for (const auto& [label, id] : names) {
      const std::string_view v = enrich::names().str(id);
      if (v.empty()) continue;
      const int more = snprintf(buf + len, cap - static_cast<size_t>(len), " %s \"%.*s\"", label,
                                static_cast<int>(std::min<size_t>(v.size(), 64)), v.data());
      if (more < 0 || static_cast<size_t>(len + more) >= cap) return 0;
      len += more;
    }
  }
  if (static_cast<size_t>(len) + 1 >= cap) return 0;
  buf[len++] = '\n';
  buf[len] = '\0';
  return static_cast<size_t>(len);
}

size_t format_flow_json(const FlowRecord& r, const FlowContext& ctx, char* buf, size_t cap) {
  const bool v6_record = is_v6_record(r);
  // The registry's label, as the text form prints it: a number for NetFlow
  // and IPFIX (5, 9, 10), a string for a format named otherwise ("sflow").
  const std::string_view label = format_slot_label(id_slot(ctx.format));
  const bool numeric = !label.empty() && label.find_first_not_of("0123456789") == std::string_view::npos;
  const char* quote = numeric ? "" : "\"";
  char start[kIsoMsLen + 1], end[kIsoMsLen + 1];
  *format_iso_ms(r.start_ms, start) = '\0';
  *format_iso_ms(r.end_ms, end) = '\0';
  int len = snprintf(buf, cap,
                     "{\"src\":\"%s\",\"src_port\":%u,\"dst\":\"%s\",\"dst_port\":%u,\"proto\":%u,"
                     "\"packets\":%llu,\"bytes\":%llu,\"start\":\"%s\",\"end\":\"%s\",\"version\":%s%.*s%s",
                     address_text(r.src, v6_record).c_str(), r.src_port,
                     address_text(r.dst, v6_record).c_str(), r.dst_port, r.protocol,
                     times(r.packets, r.sampling), times(r.bytes, r.sampling), start, end, quote,
                     static_cast<int>(label.size()), label.data(), quote);
  if (len < 0 || static_cast<size_t>(len) >= cap) return 0;
  if (ctx.template_id != 0) {
    const int more =
        snprintf(buf + len, cap - static_cast<size_t>(len), ",\"template\":%u", ctx.template_id);
    if (more < 0 || static_cast<size_t>(len + more) >= cap) return 0;
    len += more;
  }
  if (static_cast<size_t>(len) + 2 >= cap) return 0;
  buf[len++] = '}';
  buf[len++] = '\n';
  buf[len] = '\0';
  return static_cast<size_t>(len);
}

size_t FlowPrintStage::run(FlowRecord* records, size_t n, const FlowContext& ctx) {
  char line[1024];
  for (size_t i = 0; i < n; ++i) {
    const size_t len = json_ ? format_flow_json(records[i], ctx, line, sizeof line)
                             : format_flow_line(records[i], ctx, line, sizeof line);
    if (len > 0) fwrite(line, 1, len, out_);
  }
  return n;
}

}  // namespace ringflow
