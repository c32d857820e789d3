#include "live/exporter_quirks.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "wire/ie.h"

namespace ringflow {
namespace {

std::string format(const char* fmt, auto... args) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(buf, static_cast<size_t>(std::clamp(n, 0, int{sizeof buf} - 1)));
}

bool has_field(const ExporterSnapshot& snap, const SnapshotTemplate& t, uint16_t id) {
  for (uint32_t i = 0; i < t.nfields; ++i) {
    const SnapshotField& f = snap.fields[t.first_field + i];
    if (f.pen == 0 && f.id == id && !f.scope) return true;
  }
  return false;
}

// "43 s", "12 min", "3.5 h"
std::string duration(double s) {
  if (s < 120) return format("%.0f s", s);
  if (s < 7200) return format("%.0f min", s / 60);
  return format("%.1f h", s / 3600);
}

}  // namespace

double loss_ratio(const StreamStats& s) {
  const uint64_t got = s.lost_unit_is_datagrams() ? s.datagrams : s.flows;
  const uint64_t all = got + s.lost_flows;
  return all == 0 ? 0.0 : static_cast<double>(s.lost_flows) / static_cast<double>(all);
}

std::vector<Quirk> detect_quirks(const ExporterSnapshot& snap, const ExporterStream& s,
                                 const QuirkThresholds& t) {
  std::vector<Quirk> out;
  const StreamStats& st = s.stats;

  if (st.has_clock &&
      std::fabs(static_cast<double>(st.clock_offset_ms)) > t.clock_offset_s * 1000) {
    const double off = static_cast<double>(st.clock_offset_ms) / 1000.0;
    out.push_back({"clock_offset", "warning",
                   format("The export clock is %.0f s %s ours: sync the exporter with NTP, since "
                          "flow times taken from its clock are off by as much.",
                          std::fabs(off), off < 0 ? "behind" : "ahead of"),
                   0});
  }

  // The stream's active span (first to latest datagram: stable once the
  // exporter stops); the rate is taken over at least a minute, so that a
  // young stream's first few redefinitions do not read as thousands an hour.
  const double age_s =
      std::max(1.0, static_cast<double>(st.last_seen_ms - st.first_seen_ms) / 1000.0);
  const double life_s = std::max(60.0, age_s);
  for (uint32_t i = 0; i < s.ntemplates; ++i) {
    const SnapshotTemplate& tpl = snap.templates[s.first_template + i];
    if (tpl.redefinitions >= t.min_redefinitions &&
        tpl.redefinitions * 3600.0 / life_s > t.redefinitions_per_hour) {
      out.push_back(
          {"template_redefined_often", "warning",
           format("Template %u was redefined %u times in %s: records sent under the old layout "
                  "in between are misread or dropped, so give each exporter process its own "
                  "source id / observation domain or fix the exporter's template ids.",
                  tpl.id, tpl.redefinitions, duration(age_s).c_str()),
           tpl.id});
    }
  }

  if (s.has_rates && s.rates.n > 0 && s.rates.default_rate == 0 && s.override_rate == 0) {
    for (uint32_t i = 0; i < s.ntemplates; ++i) {
      const SnapshotTemplate& tpl = snap.templates[s.first_template + i];
      if (tpl.options || tpl.has_rate || tpl.has_sampler_id) continue;
      std::string rates;
      for (uint32_t k = 0; k < s.rates.n; ++k)
        rates += format("%s1:%u (sampler %u)", k ? ", " : "", s.rates.rates[k], s.rates.ids[k]);
      out.push_back(
          {"sampler_id_missing", "warning",
           s.rates.n == 1
               ? format("Option records announce sampling %s, but data records of template %u "
                        "carry no sampler id: ringflow assumes that only sampler's rate, so "
                        "set decode.sampling_overrides for this exporter if it samples "
                        "differently.",
                        rates.c_str(), tpl.id)
               : format("Option records announce sampling %s, but data records of template %u "
                        "carry no sampler id, so their rate is unknown and they are not "
                        "renormalized: export the sampler id in the data template or set "
                        "decode.sampling_overrides for this exporter.",
                        rates.c_str(), tpl.id),
           tpl.id});
    }
  }

  for (uint32_t i = 0; i < s.ntemplates; ++i) {
    const SnapshotTemplate& tpl = snap.templates[s.first_template + i];
    if (tpl.options) continue;
    const bool nsel =
        has_field(snap, tpl, ie::kInitiatorOctets) || has_field(snap, tpl, ie::kResponderOctets);
    const bool plain = has_field(snap, tpl, ie::kOctetDeltaCount) ||
                       has_field(snap, tpl, ie::kOctetTotalCount) ||
                       has_field(snap, tpl, ie::kPostOctetDeltaCount);
    if (nsel && !plain) {
      out.push_back({"nsel_octets", "info",
                     format("Template %u sends bytes only as initiator/responder octets (NSEL): "
                            "ringflow counts their sum as the flow's bytes, reported when a "
                            "connection ends, so expect bytes in bursts at teardown rather than "
                            "per interval.",
                            tpl.id),
                     tpl.id});
      break;
    }
  }

  if (st.resets > 0) {
    out.push_back({"exporter_restarts", "warning",
                   format("The sequence was reset %" PRIu64 " time%s (exporter restarts): "
                          "templates and rates are learned again after each, so check the "
                          "exporter's uptime and logs, or whether two exporters share this "
                          "address and domain.",
                          st.resets, st.resets == 1 ? "" : "s"),
                   0});
  }

  const double loss = loss_ratio(st);
  if (st.lost_flows > 0 && loss > t.loss_ratio) {
    out.push_back(
        {"high_loss", "warning",
         format("%.1f %% of its %s (%" PRIu64 ") were lost between exporter and collector, by "
                "sequence: check the path (policers, ACLs, MTU) and the exporter's export rate "
                "limit; the collector's own drops are on the Overview page.",
                loss * 100, st.lost_unit_is_datagrams() ? "export datagrams" : "flows",
                st.lost_flows),
         0});
  }

  if (s.held.expired > 0 || s.held.refused > 0) {
    out.push_back({"held_data_expired", "warning",
                   format("%" PRIu64 " data sets were lost waiting for their template (expired "
                          "%" PRIu64 ", over the bound %" PRIu64 "): make the exporter send "
                          "templates more often than decode.held_timeout.",
                          s.held.expired + s.held.refused, s.held.expired, s.held.refused),
                   0});
  }
  return out;
}

}  // namespace ringflow
