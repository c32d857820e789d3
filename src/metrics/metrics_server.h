// MetricsServer: the HTTP listener of `metrics.listen`. GET /metrics calls a
// render function with a fresh PromWriter (src/metrics/prom_writer.h) and
// returns the exposition text; further read-only pages are added as routes
// (path -> handler producing a body and its content type), so that the web
// view (issue 24) shares the listener and its limits. Unknown paths are 404,
// methods other than GET and HEAD 405. What ringflow renders is in
// src/pipeline/metrics_export.h and docs/metrics.md.
//
// The HTTP side is GNU libmicrohttpd (Debian libmicrohttpd-dev), kept out of
// this header. It replaced cpp-httplib 0.11, which queued every accepted
// connection for one request thread, so that one client dripping a header
// line every 1.5 s, or 200 half-open connections, kept every scrape waiting
// (issue 26 item 8; docs/metrics.md, "The HTTP server").
//
// Thread contract:
//   - one event-loop thread (libmicrohttpd's internal polling thread on
//     epoll), or `threads` of them (its thread pool); each
//     multiplexes all of its connections with non-blocking I/O, so a slow or
//     silent client costs a slot, never the others' time;
//   - handlers (the render function, the routes) run on those threads, at
//     most `threads` at a time; they must read per-thread counters with
//     relaxed loads and published snapshots only, never take a lock a
//     hot-path thread waits for, and must not call stop();
//   - start(), stop() and the accessors may be called from any thread.
//
// Bounds (MetricsServerOptions): at most max_connections open connections
// and max_connections_per_ip from one address; a connection past either is
// closed at once after accept() (refused, counted by reason). A connection
// idle for connection_timeout_s is closed. A request whose line and headers
// exceed max_request_bytes is answered 431/414 and closed. With auth
// enabled (src/metrics/http_auth.h), a request without valid credentials is
// answered 401 with WWW-Authenticate, before its method or path is looked at,
// and counted (auth_failures_total). The collector
// lowers max_connections further so that the sinks keep a reserve of file
// descriptors (src/common/fd_limit.h).
//
// Binding: exactly the configured address, by a socket this class creates
// (SO_REUSEADDR only: SO_REUSEPORT would let a second collector share the
// port and answer half the scrapes), handed to libmicrohttpd, which owns and
// closes it from then on.
//
// Shutdown: stop() closes the listening socket and every connection and
// joins the threads; it waits only for a handler that is running.
//
// The server appends families of its own after the render output (prefix
// defaults to "ringflow_metrics_"): scrapes_total, render_seconds,
// format_errors_total, connections_open, connections_max,
// connections_refused_total{reason}.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ringflow/ip.h>

#include "metrics/http_auth.h"
#include "metrics/prom_writer.h"

namespace ringflow {

struct HttpRequest {
  std::string path;    // without the query string
  std::string method;  // "GET" or "HEAD" (others never reach a handler)
  // The query string's arguments in order, percent-decoded ("?a" has value "").
  std::vector<std::pair<std::string, std::string>> args;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers{};  // added to the reply
};

struct HttpRoute {
  std::string path;  // exact match, e.g. "/api/v1/exporters"
  std::function<HttpResponse(const HttpRequest&)> handler;
  bool prefix = false;  // match every path starting with `path` (e.g. "/api/v1/exporters/")
};

struct MetricsServerOptions {
  uint32_t threads = 1;                   // event-loop threads, >= 1
  uint32_t max_connections = 64;          // open connections; more are refused
  uint32_t max_connections_per_ip = 16;   // from one client address; 0 = no limit of its own
  uint32_t connection_timeout_s = 10;     // idle connection closed after this, >= 1
  uint32_t max_request_bytes = 16384;     // request line + headers, >= 4096
  std::string prefix = "ringflow_metrics_";  // of the server's own families
  std::vector<HttpRoute> routes;          // served beside /metrics
  HttpAuth auth;                          // who may read (every path, /metrics too)
};

class MetricsServer {
 public:
  using Render = std::function<void(PromWriter& out)>;

  // Binds `listen` ("host:port", "[v6]:port"; port 0 = any free port) and
  // starts serving. nullptr and *error (naming the address and the cause) when
  // the address does not parse or cannot be bound.
  static std::unique_ptr<MetricsServer> start(std::string_view listen, Render render,
                                              std::string* error,
                                              MetricsServerOptions options = {});
  ~MetricsServer();  // stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Stops listening, closes every connection, joins the threads. Idempotent.
  void stop();

  // The bound address (the port the kernel chose when asked for 0).
  const Endpoint& endpoint() const { return endpoint_; }
  // "http://127.0.0.1:9155/metrics"
  std::string url() const;

  uint64_t scrapes() const { return scrapes_.load(std::memory_order_relaxed); }
  uint64_t format_errors() const { return format_errors_.load(std::memory_order_relaxed); }
  // Connections accepted and not yet closed.
  uint64_t connections_open() const { return open_.load(std::memory_order_relaxed); }
  uint64_t refused_max_connections() const { return refused_cap_.load(std::memory_order_relaxed); }
  uint64_t refused_per_ip() const { return refused_ip_.load(std::memory_order_relaxed); }
  uint64_t auth_failures() const { return auth_failures_.load(std::memory_order_relaxed); }
  const MetricsServerOptions& options() const { return options_; }

 private:
  struct Impl;
  friend struct Impl;
  MetricsServer(Render render, MetricsServerOptions options);
  HttpResponse metrics_page();
  HttpResponse route(const HttpRequest& request);

  Render render_;
  MetricsServerOptions options_;
  Endpoint endpoint_;
  std::unique_ptr<Impl> impl_;  // the libmicrohttpd daemon and the per-address table
  std::atomic<uint64_t> scrapes_{0};
  std::atomic<uint64_t> format_errors_{0};
  std::atomic<uint64_t> open_{0};
  std::atomic<uint64_t> refused_cap_{0};
  std::atomic<uint64_t> refused_ip_{0};
  std::atomic<uint64_t> auth_failures_{0};
  std::atomic<bool> logged_format_error_{false};
  std::atomic<bool> logged_refusal_{false};
};

}  // namespace ringflow
