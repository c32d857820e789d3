// Sessions::publish_exporters: the Exporters page's snapshot
// (src/decode/exporter_snapshot.h), built on the reactor's once-a-second
// tick from the ordered stage's pieces. Kept apart from sessions.cc, whose
// per-datagram path it does not touch.
#include <algorithm>
#include <utility>

#include "decode/sessions.h"
#include "decode/template_record.h"

namespace ringflow {

void Sessions::publish_exporters(int64_t now_ms) {
  ExporterSnapshot* snap = exporters_.begin();
  if (snap == nullptr) return;  // every buffer held by a reader: next tick
  snap->published_ms = now_ms;
  snap->default_sampling = sampling_policy_.default_interval();
  snap->renormalize = sampling_policy_.renormalize();
  snap->if_names = if_names_latest_;

  // Stream index -> its place in snap->streams (or none).
  const uint32_t cap = streams_.capacity();
  for (uint32_t i = 0; i < cap; ++i) {
    if (!streams_.tracker().live(i)) continue;
    if (snap->streams.size() == ExporterSnapshot::kMaxStreams) {
      ++snap->streams_omitted;
      continue;
    }
    ExporterStream& e = snap->streams.emplace_back();
    e.stats = streams_.stream(i);
    e.templates = templates_.history(i);
    const StreamOptionsEntry& o = options_.at(i);
    if (o.sampling) {
      e.rates = *o.sampling;
      e.rates.refs = 0;
      e.has_rates = o.sampling->default_rate != 0 || o.sampling->n != 0;
    }
    e.has_init = o.has_init;
    e.init_ms = o.init_ms;
    e.override_rate = sampling_policy_.override_for(e.stats.exporter);
    e.held = held_.stream_stats(i);
    e.first_template = i;  // the stream's index, until the templates below
  }

  // Templates, grouped by stream and ordered by id: one pass over the
  // template table into (stream's place, id) order. Scratch space per
  // reactor thread, kept between ticks.
  thread_local std::vector<uint32_t> place;  // stream index -> place in snap->streams + 1
  thread_local std::vector<std::pair<uint64_t, const TemplateEntry*>> order;
  place.assign(cap, 0);
  for (uint32_t p = 0; p < snap->streams.size(); ++p)
    place[snap->streams[p].first_template] = p + 1;
  order.clear();
  templates_.for_each([&](const TemplateEntry& t) {
    if (t.stream < cap && place[t.stream] != 0)
      order.emplace_back(uint64_t{place[t.stream] - 1} << 16 | t.id, &t);
  });
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (ExporterStream& e : snap->streams) e.first_template = 0;
  uint32_t prev = UINT32_MAX;
  for (const auto& [key, tp] : order) {
    const uint32_t p = static_cast<uint32_t>(key >> 16);
    ExporterStream& e = snap->streams[p];
    if (p != prev) {
      e.first_template = static_cast<uint32_t>(snap->templates.size());
      prev = p;
    }
    if (e.ntemplates == ExporterSnapshot::kMaxTemplatesPerStream) {
      e.templates_cut = true;
      continue;
    }
    const TemplateEntry& t = *tp;
    const DecodePlan& plan = *t.plan;
    SnapshotTemplate& st = snap->templates.emplace_back();
    st.id = t.id;
    st.options = plan.options;
    st.has_rate = plan.has_rate;
    st.has_sampler_id = plan.has_sampler_id;
    st.redefinitions = t.redefinitions;
    st.first_ms = t.first_ms;
    st.last_ms = t.last_ms;
    st.first_field = static_cast<uint32_t>(snap->fields.size());
    TemplateRecordView view;
    TemplateProblem problem;
    if (read_template_record(plan.version, plan.options, plan.raw.data(), plan.raw.size(), &view,
                             &problem, templates_.v9_variable_length()) == SetWalk::kRecord &&
        problem == TemplateProblem::kNone) {
      st.field_count = view.field_count;
      for_each_template_field(plan.version, view, [&](const TemplateField& f) {
        if (st.nfields == ExporterSnapshot::kMaxFieldsPerTemplate) {
          st.fields_cut = true;
          return;
        }
        SnapshotField& sf = snap->fields.emplace_back();
        sf.id = f.id;
        sf.length = f.length;
        sf.pen = f.pen;
        sf.scope = f.scope;
        ++st.nfields;
      });
    }
    ++e.ntemplates;
  }
  address_rejects_.copy_to(snap);
  exporters_.publish();
}

}  // namespace ringflow
