// LiveView: the web view (issue 24) wired to a Collector: a LiveSampler
// (src/live/live_sampler.h) reading Collector::snapshot() once a second, and
// the read-only routes the metrics listener serves beside /metrics when
// metrics.web is true (docs/api.md):
//   GET /                   the Overview page (src/live/web/index.html)
//   GET /assets/...         dygraphs (Debian's libjs-dygraphs) and its licence
//   GET /api/v1/overview    JSON (src/live/overview_json.h)
//   GET /api/v1/top         JSON (src/live/top_json.h), from Collector::top()
//   GET /api/v1/exporters   one row per exporter stream, and
//   GET /api/v1/exporters/<id> one stream explained (src/live/exporters_json.h,
//                           from the reactors' published snapshots)
//   GET /api/v1/capture     the streams whose datagrams are kept, and
//   GET /api/v1/capture/<id>.pcap their last datagrams (src/live/capture_pcap.h),
//                           when capture_on() (metrics.capture_datagrams)
//
// Threads: the sampler's "rf-live" thread (its contract is in
// live_sampler.h); the routes run on the metrics server's threads. Neither
// touches a hot-path thread: both only load the per-thread counters.
//
// Lifetime: REQUIRES the Collector's stages are built and outlive this
// object; stop() (or the destructor) joins the sampler, after the server
// that calls routes() has stopped.
#pragma once

#include <memory>
#include <vector>

#include "live/live_sampler.h"
#include "metrics/metrics_server.h"

namespace ringflow {

class Collector;
class TopKeeper;

class LiveView {
 public:
  explicit LiveView(const Collector& collector);
  void start() { sampler_.start(); }
  void stop() { sampler_.stop(); }
  // The routes above; they reference this object.
  std::vector<HttpRoute> routes();

 private:
  const Collector& collector_;
  LiveSampler sampler_;
  const TopKeeper* top_;  // the collector's (null: no Top page)
};

// Collector::snapshot() as LiveTotals (wall and steady clocks filled in).
LiveTotals live_totals(const Collector& collector);

}  // namespace ringflow
