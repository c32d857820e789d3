#include "pipeline/live_view.h"

#include "common/clock.h"
#include "decode/capture_ring.h"
#include "live/capture_pcap.h"
#include "live/exporters_json.h"
#include "live/overview_json.h"
#include "live/top_json.h"
#include "live/web_assets.h"
#include "pipeline/collector.h"

namespace ringflow {

LiveTotals live_totals(const Collector& c) {
  const StatsSnapshot s = c.snapshot();
  LiveTotals t;
  t.wall_ms = wall_ms();
  t.mono_ms = monotonic_ns() / 1000000;
  t.datagrams = s.datagrams;
  t.bytes = s.bytes;
  t.accepted = s.decoded;
  t.flows = s.flows;
  t.kernel_drops = s.kernel_drops;
  t.oversize = s.oversize;
  t.not_allowed = s.not_allowed;
  t.queue_full = s.queue_full;
  t.late_queue_full = s.late_queue_full;
  t.rejects = s.rejects;
  return t;
}

LiveView::LiveView(const Collector& collector)
    : collector_(collector),
      sampler_(collector.config().aggregate.interval_s,
               [&collector] { return live_totals(collector); }),
      top_(collector.top()) {}

namespace {
// GET /api/v1/top: 400 with the parser's sentence for a bad parameter.
HttpResponse top_page(const TopKeeper& top, const HttpRequest& req) {
  HttpResponse resp;
  TopQuery q;
  std::string error;
  if (!parse_top_query(req.args, top, &q, &error)) {
    resp.status = 400;
    resp.content_type = "application/json";
    std::string msg;
    for (char c : error) {
      if (c == '"' || c == '\\') msg.push_back('\\');
      if (static_cast<unsigned char>(c) >= 0x20) msg.push_back(c);
    }
    resp.body = "{\"error\":\"" + msg + "\"}\n";
    return resp;
  }
  resp.content_type = "application/json";
  resp.body = top_json(top, q);
  return resp;
}
}  // namespace

std::vector<HttpRoute> LiveView::routes() {
  std::vector<HttpRoute> r;
  r.push_back({"/api/v1/overview", [this](const HttpRequest&) {
                 HttpResponse resp;
                 resp.content_type = "application/json";
                 resp.body = overview_json(sampler_);
                 return resp;
               }});
  if (top_) {
    r.push_back({"/api/v1/top", [t = top_](const HttpRequest& req) { return top_page(*t, req); }});
  }
  // The Exporters page (src/live/exporters_json.h): the reactors'
  // published snapshots, never their live tables.
  const Collector* c = &collector_;
  auto list = std::make_shared<ExportersListCache>();
  r.push_back({"/api/v1/exporters", [c, list](const HttpRequest&) {
                 ExporterSnapshots snaps;
                 c->exporter_snapshots(&snaps);
                 HttpResponse resp;
                 resp.content_type = "application/json";
                 resp.body = list->render(snaps, wall_ms());
                 return resp;
               }});
  r.push_back({"/api/v1/exporters/",
               [c](const HttpRequest& req) {
                 ExporterSnapshots snaps;
                 c->exporter_snapshots(&snaps);
                 HttpResponse resp;
                 resp.content_type = "application/json";
                 const std::string_view id =
                     std::string_view(req.path).substr(sizeof("/api/v1/exporters/") - 1);
                 if (!exporter_json(snaps, id, wall_ms(), &resp.body)) {
                   resp.status = 404;
                   resp.body = "{\"error\":\"no such exporter stream\"}";
                 }
                 return resp;
               },
               true});
  if (!collector_.captures().empty()) {
    // The Capture page (metrics.capture_datagrams): copies of the reactors'
    // rings, taken slot by slot (src/decode/capture_ring.h).
    std::vector<const CaptureRing*> rings;
    for (const auto& ring : collector_.captures()) rings.push_back(ring.get());
    r.push_back({"/api/v1/capture", [rings](const HttpRequest&) {
                   HttpResponse resp;
                   resp.content_type = "application/json";
                   resp.body = capture_json(rings, wall_ms());
                   return resp;
                 }});
    r.push_back({"/api/v1/capture/",
                 [rings, c](const HttpRequest& req) {
                   HttpResponse resp;
                   std::string_view name =
                       std::string_view(req.path).substr(sizeof("/api/v1/capture/") - 1);
                   std::vector<CapturedDatagram> kept;
                   if (!name.ends_with(".pcap") ||
                       !capture_find(rings, name.substr(0, name.size() - 5), &kept)) {
                     resp.status = 404;
                     resp.content_type = "application/json";
                     resp.body = "{\"error\":\"no datagrams captured for this stream: "
                                 "GET /api/v1/capture lists the streams\"}";
                     return resp;
                   }
                   resp.content_type = "application/vnd.tcpdump.pcap";
                   std::string file(name);
                   for (char& ch : file)
                     if (ch == ':') ch = '_';  // IPv6 addresses, for file systems that refuse ':'
                   resp.headers.emplace_back("Content-Disposition",
                                             "attachment; filename=\"ringflow-" + file + "\"");
                   resp.body = capture_pcap(kept, c->bound());
                   return resp;
                 },
                 true});
  }
  for (const WebAsset& a : web_assets()) {
    r.push_back({a.url, [a](const HttpRequest&) {
                   HttpResponse resp;
                   resp.content_type = a.content_type;
                   resp.body.assign(reinterpret_cast<const char*>(a.data), a.size);
                   return resp;
                 }});
  }
  return r;
}

}  // namespace ringflow
