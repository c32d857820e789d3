// What a scrape of the web view costs at 1 M keys per interval and 1,000
// exporter streams (issue 24 item 2: "a scrape of any page or API endpoint
// takes < 5 ms at 1 M keys"). Prints figures; asserts no threshold.
//
// The fill is a real collector's: a Collector (src/pipeline/collector.h) with
// the web view on, capture rings on (metrics.capture_datagrams) and the
// default 5-tuple key, fed over loopback by ringflow-gen's runner in-process,
// per interval:
//   - 500 IPFIX exporters (127.0.0.1 + i) announcing samplers 100 and 1000 by
//     options records, their export clock 43 s behind;
//   - 400 NetFlow v9 exporters with samplers but no sampler id in the data
//     records, template 256 redefined every 40 datagrams, 1 % loss;
//   - 100 NetFlow v5 exporters with header sampling 1:512;
// every run drawing uniformly from --keys distinct 5-tuples (1 M), enough
// records that the interval holds about that many keys (the Top API's
// "distinct" is printed). So the Exporters page has 1,000 streams with
// templates, samplers and quirks, the Top page --intervals intervals of
// about 1 M keys each, and the Capture page 1,000 rings.
// The Overview's rings are then filled to a full hour at 1 s resolution
// (aggregate.interval = 1 is the largest ring: 301 + 3601 samples) by
// LiveSampler::sample_now() on a sampler of the bench's own.
//
// Timed, for every path the metrics listener serves (every route of
// LiveView::routes(), /metrics, the static pages; Top for every projection
// at 1 and at every kept interval with the largest limit; three exporter
// pages; one pcap): --requests calls each
//   - "direct": the route's handler called on this thread (what the
//     listener's thread spends rendering), wall and thread CPU time;
//   - "http": one keep-alive HTTP/1.1 connection to a MetricsServer
//     (libmicrohttpd, as the collector runs it) on loopback serving the same
//     routes, from the request's first byte sent to the response's last byte
//     read.
// Median and p99 in ms, the body size, and "MISS" where the p99 of either
// is 5 ms or more.
//
// Usage: live_view_bench [--keys N] [--intervals N] [--requests N]
//                        [--records-per-interval N] [--only SUBSTRING]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/unique_fd.h"
#include "gen/runner.h"
#include "gen/traffic.h"
#include "gen/v5_encoder.h"
#include "live/exporters_json.h"
#include "live/live_sampler.h"
#include "live/overview_json.h"
#include "live/top_k.h"
#include "metrics/metrics_server.h"
#include "pipeline/collector.h"
#include "pipeline/live_view.h"
#include "pipeline/metrics_export.h"

using namespace ringflow;

namespace {

double thread_cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
double now_ms() { return monotonic_ns() / 1e6; }

struct Options {
  uint32_t keys = 1000000;
  uint32_t intervals = 2;
  uint32_t requests = 200;
  uint64_t records = 0;  // per interval; 0 = 4.6 x keys (99 % of uniform keys drawn)
  std::string only;
};

// One generator run (in-process runner, as ringflow-gen's main calls it).
bool send(const gen::GenConfig& cfg, const gen::TrafficModel& model) {
  std::atomic<bool> stop{false};
  gen::RunResult r = gen::run_generator(cfg, model, &stop);
  if (!r.ok) std::fprintf(stderr, "live_view_bench: generator: %s\n", r.error.c_str());
  return r.ok;
}

// The feed of one interval: 1,000 streams, `records` records in all.
bool feed(const Endpoint& target, const Options& o, const gen::TrafficModel& model, uint64_t seed) {
  auto base = [&](gen::Protocol p, uint32_t exporters, uint64_t share) {
    gen::GenConfig c = gen::default_config();
    c.target = target;
    c.exporter_mode = gen::ExporterMode::kAddr;
    c.protocol = p;
    c.exporters = exporters;
    c.keys = o.keys;
    c.zipf = 0;
    c.seed = seed;
    c.records = 30;
    c.count = std::max<uint64_t>(exporters, share / c.records);
    c.quiet = true;
    c.progress = false;
    return c;
  };
  const uint64_t all = o.records ? o.records : o.keys * 46 / 10;
  gen::GenConfig ipfix = base(gen::Protocol::kIpfix, 500, all / 2);
  ipfix.sampler_rates = {100, 1000};
  ipfix.clock_offset_s = -43;
  gen::GenConfig v9 = base(gen::Protocol::kV9, 400, all * 4 / 10);
  v9.sampler_rates = {100, 1000};
  v9.no_sampler_id = true;
  v9.redefine_every = 40;
  v9.loss = 0.01;
  gen::GenConfig v5 = base(gen::Protocol::kV5, 100, all / 10);
  v5.sampling_raw = v5::make_sampling(1, 512);
  for (const gen::GenConfig* c : {&ipfix, &v9, &v5}) {
    const std::string bad = gen::validate(*c);
    if (!bad.empty()) {
      std::fprintf(stderr, "live_view_bench: generator config: %s\n", bad.c_str());
      return false;
    }
    if (!send(*c, model)) return false;
  }
  return true;
}

// A minimal HTTP/1.1 client on one keep-alive connection.
class Client {
 public:
  bool connect_to(const Endpoint& at) {
    at_ = at;
    sockaddr_storage sa;
    const socklen_t len = at.to_sockaddr(&sa);
    fd_ = UniqueFd(::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd_.valid() && ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&sa), len) == 0;
  }
  // GET path; the body's size, or -1 on a broken answer. status set.
  // Reconnects once when the server closed the idle connection (after
  // metrics.connection_timeout, e.g. while the direct calls ran).
  long get(const std::string& path, int* status) {
    const long n = get_once(path, status);
    if (n >= 0 || !connect_to(at_)) return n;
    return get_once(path, status);
  }

 private:
  long get_once(const std::string& path, int* status) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n";
    if (::send(fd_.get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return -1;
    buf_.clear();
    size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
      if (!fill()) return -1;
      head_end = buf_.find("\r\n\r\n");
    }
    *status = std::atoi(buf_.c_str() + 9);
    size_t length = 0;
    for (size_t at = 0; at < head_end;) {
      const size_t eol = buf_.find("\r\n", at);
      if (strncasecmp(buf_.c_str() + at, "content-length:", 15) == 0)
        length = std::strtoull(buf_.c_str() + at + 15, nullptr, 10);
      at = eol + 2;
    }
    while (buf_.size() < head_end + 4 + length)
      if (!fill()) return -1;
    return static_cast<long>(length);
  }
  bool fill() {
    char chunk[65536];
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  Endpoint at_;
  UniqueFd fd_;
  std::string buf_;
};

struct Stat {
  double median = 0, p99 = 0;
};
Stat stat(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return {};
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)]};
}

// Splits "/path?a=b&c=d" for a direct handler call (the values here need
// no percent-decoding).
HttpRequest request_of(const std::string& url) {
  HttpRequest r;
  r.method = "GET";
  const size_t q = url.find('?');
  r.path = url.substr(0, q);
  if (q == std::string::npos) return r;
  std::string rest = url.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string kv = rest.substr(0, amp);
    const size_t eq = kv.find('=');
    r.args.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--keys")
      o.keys = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
    else if (a == "--intervals")
      o.intervals = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    else if (a == "--requests")
      o.requests = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    else if (a == "--records-per-interval")
      o.records = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--only")
      o.only = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: live_view_bench [--keys N] [--intervals N] [--requests N] "
                   "[--records-per-interval N] [--only SUBSTRING]\n");
      return 2;
    }
  }
  o.requests = std::max<uint32_t>(o.requests, 1);

  // ---- the collector ----
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("live_view_bench." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const uint32_t interval_s = 8;
  const std::string toml =
      "sink = [{ type = \"csv\", name = \"csv\" }]\n[receive]\nlisten = "
      "[\"127.0.0.1:0\"]\nsocket_buffer = 536870912\n"
      "[aggregate]\ninterval = " +
      std::to_string(interval_s) +
      "\nmax_entries = 2000000\n"
      "[output]\ndirectory = \"" +
      dir.string() +
      "\"\n"
      "[metrics]\nlisten = \"127.0.0.1:0\"\ncapture_datagrams = 8\n"
      "capture_snaplen = 1500\ncapture_bytes = 16777216\n"
      "[log]\nstats_interval = 0\nlevel = \"warn\"\n";
  ConfigResult cr = load_config_string(toml, "live_view_bench");
  if (!cr.ok()) {
    std::fprintf(stderr, "live_view_bench: config: %s\n", cr.errors.front().str().c_str());
    return 1;
  }
  Collector collector(std::move(cr.config), RunOptions{});
  std::string error;
  if (!collector.start(&error)) {
    std::fprintf(stderr, "live_view_bench: collector: %s\n", error.c_str());
    return 1;
  }
  const TopKeeper* top = collector.top();
  if (!top) {
    std::fprintf(stderr, "live_view_bench: the collector keeps no Top data\n");
    return 1;
  }

  // ---- the fill: one feed per interval, each followed by its flush ----
  const gen::TrafficModel model(o.keys, 0, 1);
  const double t_fill = now_ms();
  for (uint32_t i = 0; i < o.intervals; ++i) {
    auto kept = [&] {
      auto s = top->snapshot();
      return s ? s->intervals.size() : size_t{0};
    };
    const size_t before = kept();
    if (!feed(collector.bound().front(), o, model, 1)) return 1;
    // Wait for the interval that holds this feed to be flushed (the feed may
    // straddle a boundary: then two are, and the count is still reached).
    const double deadline = now_ms() + (interval_s * 3 + 30) * 1e3;
    while (kept() < before + 1 && now_ms() < deadline) usleep(100000);
    std::fprintf(stderr, "live_view_bench: interval %u of %u flushed (%.1f s)\n", i + 1,
                 o.intervals, (now_ms() - t_fill) / 1e3);
  }
  if (auto s = top->snapshot()) {
    for (const auto& iv : s->intervals)
      std::fprintf(stderr, "live_view_bench: kept interval: %llu distinct keys, %llu flows\n",
                   static_cast<unsigned long long>(iv->sets.empty() ? 0 : iv->sets[0].distinct),
                   static_cast<unsigned long long>(iv->v[2]));
  }
  const StatsSnapshot st = collector.snapshot();
  std::fprintf(
      stderr, "live_view_bench: collector: %llu datagrams, %llu flows, %llu kernel drops\n",
      static_cast<unsigned long long>(st.datagrams), static_cast<unsigned long long>(st.flows),
      static_cast<unsigned long long>(st.kernel_drops));

  // ---- the routes, as the collector's listener has them ----
  LiveView view(collector);
  std::vector<HttpRoute> routes = view.routes();
  // The Overview with a full hour at 1 s resolution (the largest rings).
  LiveSampler full(1, [&collector, n = int64_t{0}]() mutable {
    LiveTotals t = live_totals(collector);
    t.mono_ms = (n++) * 1000;
    return t;
  });
  full.start();
  for (uint32_t i = 0; i < RateHistory::kHourSeconds + 1; ++i) full.sample_now();
  full.stop();
  for (HttpRoute& r : routes)
    if (r.path == "/api/v1/overview")
      r.handler = [&full](const HttpRequest&) {
        HttpResponse resp;
        resp.content_type = "application/json";
        resp.body = overview_json(full);
        return resp;
      };
  CollectorMetrics metrics(collector);
  MetricsServerOptions so;
  so.routes = routes;
  std::unique_ptr<MetricsServer> server = MetricsServer::start(
      "127.0.0.1:0", [&metrics](PromWriter& w) { metrics.write(w); }, &error, so);
  if (!server) {
    std::fprintf(stderr, "live_view_bench: server: %s\n", error.c_str());
    return 1;
  }

  // ---- the paths ----
  std::vector<std::string> paths = {"/metrics"};
  for (const HttpRoute& r : routes)
    if (!r.prefix) paths.push_back(r.path);
  const auto snap = top->snapshot();
  const uint32_t kept = snap ? static_cast<uint32_t>(snap->intervals.size()) : 1;
  for (const TopProjection& p : top->projections()) {
    if (!p.available) continue;
    for (uint32_t n : {1u, kept})
      paths.push_back("/api/v1/top?by=" + p.name + "&sort=bytes&intervals=" + std::to_string(n) +
                      "&limit=" + std::to_string(top->k()));
    if (kept == 1) paths.pop_back();
  }
  ExporterSnapshots snaps;
  collector.exporter_snapshots(&snaps);
  std::vector<std::string> ids;
  for (const auto& s : snaps)
    if (s)
      for (const ExporterStream& e : s->streams) ids.push_back(exporter_id(e.stats));
  std::sort(ids.begin(), ids.end());
  std::fprintf(stderr, "live_view_bench: %zu exporter streams published\n", ids.size());
  if (!ids.empty())
    for (size_t at : {size_t{0}, ids.size() / 2, ids.size() - 1})
      paths.push_back("/api/v1/exporters/" + ids[at]);
  if (!ids.empty()) paths.push_back("/api/v1/capture/" + ids[ids.size() / 2] + ".pcap");

  auto find_route = [&](const std::string& path) -> const HttpRoute* {
    for (const HttpRoute& r : routes)
      if (r.path == path || (r.prefix && path.starts_with(r.path))) return &r;
    return nullptr;
  };

  Client client;
  if (!client.connect_to(server->endpoint())) {
    std::fprintf(stderr, "live_view_bench: cannot connect to %s\n", server->url().c_str());
    return 1;
  }
  std::printf("live_view_bench: %u keys, %zu streams, %u Top intervals kept, %u requests each\n",
              o.keys, ids.size(), kept, o.requests);
  std::printf("%-64s %9s %8s %8s %8s %8s %8s\n", "path", "bytes", "dir.med", "dir.p99", "dir.cpu",
              "http.med", "http.p99");
  int misses = 0;
  for (const std::string& path : paths) {
    if (!o.only.empty() && path.find(o.only) == std::string::npos) continue;
    const HttpRequest req = request_of(path);
    std::vector<double> wall, cpu, http;
    size_t bytes = 0;
    int status = 0;
    for (uint32_t i = 0; i < o.requests; ++i) {
      const double w0 = now_ms(), c0 = thread_cpu_ms();
      HttpResponse resp;
      if (path == "/metrics") {
        PromWriter w;
        metrics.write(w);
        resp.body = w.take();
      } else if (const HttpRoute* r = find_route(req.path)) {
        resp = r->handler(req);
      }
      cpu.push_back(thread_cpu_ms() - c0);
      wall.push_back(now_ms() - w0);
      bytes = resp.body.size();
      status = resp.status;
    }
    for (uint32_t i = 0; i < o.requests; ++i) {
      int s = 0;
      const double t0 = now_ms();
      if (client.get(path, &s) < 0) {
        std::fprintf(stderr, "live_view_bench: %s: broken HTTP answer\n", path.c_str());
        return 1;
      }
      http.push_back(now_ms() - t0);
      if (s != status)
        std::fprintf(stderr, "live_view_bench: %s: HTTP %d, direct %d\n", path.c_str(), s, status);
    }
    const Stat d = stat(wall), c = stat(cpu), h = stat(http);
    const bool miss = d.p99 >= 5 || h.p99 >= 5;
    misses += miss;
    std::printf("%-64s %9zu %8.3f %8.3f %8.3f %8.3f %8.3f%s%s\n", path.c_str(), bytes, d.median,
                d.p99, c.median, h.median, h.p99, status == 200 ? "" : " (not 200)",
                miss ? "  MISS" : "");
  }
  std::printf("%d path(s) at or over 5 ms at p99\n", misses);
  server->stop();
  collector.stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
