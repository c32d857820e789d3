// The only file that includes httplib.h. Debian builds libcpp-httplib.so
// with OpenSSL, zlib and Brotli support (see cpp-httplib.pc), and those
// macros change the layout of httplib::Request and of the client classes, so
// this translation unit must see the same definitions as the library or the
// two disagree about the objects they share. They are set here rather than
// on the target so that nothing else in ringflow compiles against OpenSSL.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include "metrics/metrics_server.h"

#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/clock.h"
#include "common/log.h"

namespace ringflow {
namespace {


}  // namespace

struct MetricsServer::Impl {
  httplib::Server http;
};

MetricsServer::MetricsServer(Render render, MetricsServerOptions options)
    : render_(std::move(render)), options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

std::unique_ptr<MetricsServer> MetricsServer::start(std::string_view listen, Render render,
                                                    std::string* error,
                                                    MetricsServerOptions options) {
  auto at = Endpoint::parse(listen);
  if (!at) {
    *error = "metrics.listen \"" + std::string(listen) +
             "\": expected \"host:port\" or \"[v6]:port\"";
    return nullptr;
  }
  if (options.threads == 0) options.threads = 1;
  std::unique_ptr<MetricsServer> s(new MetricsServer(std::move(render), std::move(options)));
  httplib::Server& http = s->impl_->http;
  const uint32_t threads = s->options_.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_socket_options([](socket_t fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // One request per connection: no idle keep-alive connection can hold a
  // request thread (there is one) or delay stop(). A scrape every few
  // seconds does not need connection reuse.
  http.set_keep_alive_max_count(1);
  const time_t sec = s->options_.io_timeout_ms / 1000;
  const time_t usec = (s->options_.io_timeout_ms % 1000) * 1000;
  // httplib waits for a connection's first request with the keep-alive
  // timeout (whole seconds, default 5), not the read timeout: bound it too.
  http.set_keep_alive_timeout(std::max<time_t>(1, (s->options_.io_timeout_ms + 999) / 1000));
  http.set_read_timeout(sec, usec);
  http.set_write_timeout(sec, usec);
  http.set_payload_max_length(64 * 1024);  // a scrape request has no body

  MetricsServer* self = s.get();
  http.Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    std::string body;
    int status = 200;
    self->handle(&body, &status);
    res.status = status;
    res.body = std::move(body);  // (0.11 has no set_content(std::string&&))
    res.set_header("Content-Type", status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                                                 : "text/plain; charset=utf-8");
  });
  // httplib answers unregistered paths with 404 and an empty body; say so.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) res.set_content("not found: try /metrics\n", "text/plain");
  });

  std::string host = at->any_v6 ? "::" : at->addr.str();
  errno = 0;
  bool bound;
  if (at->port == 0) {
    int port = http.bind_to_any_port(host);
    bound = port > 0;
    if (bound) at->port = static_cast<uint16_t>(port);
  } else {
    bound = http.bind_to_port(host, at->port);
  }
  if (!bound) {
    // httplib reports only success; errno still holds the bind()/listen()
    // failure (close() after it succeeded and left errno alone).
    int e = errno;
    *error = "metrics.listen " + at->str() + ": cannot listen" +
             (e != 0 ? std::string(": ") + std::strerror(e) : std::string());
    return nullptr;
  }
  s->endpoint_ = *at;
  s->thread_ = std::thread([self] { self->impl_->http.listen_after_bind(); });
  pthread_setname_np(s->thread_.native_handle(), "rf-metrics");
  // httplib's stop() does nothing until listen_after_bind() has marked the
  // server running, so a stop() that came first would leave the accept loop
  // blocked for ever. Return only once it runs (microseconds, normally; the
  // bound only guards against a loop that ended before we looked).
  for (int i = 0; i < 50000 && !http.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  return s;
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::stop() {
  if (!thread_.joinable()) return;
  // stop() closes the listening socket; listen_after_bind() then shuts the
  // thread pool down, which waits for requests in progress (bounded by the
  // I/O timeouts) and joins the request threads.
  impl_->http.stop();
  thread_.join();
}

std::string MetricsServer::url() const { return "http://" + endpoint_.str() + "/metrics"; }

void MetricsServer::handle(std::string* body, int* status) {
  const uint64_t scrape = scrapes_.fetch_add(1, std::memory_order_relaxed) + 1;
  const int64_t t0 = monotonic_ns();
  PromWriter w;
  try {
    render_(w);
  } catch (const std::exception& e) {
    // Only an allocation failure can get here; the scrape fails, the
    // collector carries on.
    *status = 500;
    *body = std::string("render failed: ") + e.what() + "\n";
    return;
  }
  const uint64_t errors = w.errors().size();
  if (errors > 0) {
    format_errors_.fetch_add(errors, std::memory_order_relaxed);
    if (!logged_format_error_.exchange(true))
      RF_LOG_WARN("metrics: %zu series left out of the scrape (logged once): %s",
                  w.errors().size(), w.errors().front().c_str());
  }
  const int64_t render_ns = monotonic_ns() - t0;
  render_ns_last_.store(static_cast<uint64_t>(render_ns), std::memory_order_relaxed);

  const std::string& p = options_.prefix;
  w.family(p + "scrapes_total", MetricType::kCounter, "Scrapes of /metrics served, this one included.");
  w.sample(scrape);
  w.family(p + "render_seconds", MetricType::kGauge,
           "Time taken to render this scrape's metrics, seconds.");
  w.sample(static_cast<double>(render_ns) / 1e9);
  w.family(p + "format_errors_total", MetricType::kCounter,
           "Series left out of scrapes because they broke the exposition rules (a bug; see the log).");
  w.sample(format_errors_.load(std::memory_order_relaxed));
  *body = w.take();
}

}  // namespace ringflow
