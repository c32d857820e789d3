// MetricsServer: the HTTP endpoint Prometheus scrapes. GET /metrics calls a
// render function with a fresh PromWriter (src/metrics/prom_writer.h) and
// returns the exposition text; every other path is 404. The HTTP side is
// cpp-httplib (Debian's libcpp-httplib-dev), kept out of this header so that
// only metrics_server.cc depends on how that library was built. What ringflow
// renders is in src/pipeline/metrics_export.h and docs/metrics.md.
//
// Why it cannot slow the pipeline: the server runs on its own threads (one
// accept thread, `threads` request threads), and the render function is
// expected to read per-thread counters with relaxed loads and published
// snapshots only, never to take a lock a hot-path thread waits for.
//
// Bounds and shutdown: one request per connection (keep-alive off), read and
// write timeouts of io_timeout_ms, and a connection that sends nothing is
// closed after io_timeout_ms rounded up to whole seconds (httplib's unit), so
// stop() returns within about that even with a client that never spoke.
//
// Binding: exactly the configured address (SO_REUSEADDR only; httplib's
// default SO_REUSEPORT would let a second collector share the port and
// answer half the scrapes).
//
// The server appends three families of its own after the render output:
//   <prefix>scrapes_total, <prefix>render_seconds, <prefix>format_errors_total
// (prefix defaults to "ringflow_metrics_").
//
// Thread safety: start() from any thread; the render function is called on
// a request thread, at most `threads` at a time (1 by default: scrapes are
// serialized). stop() and the accessors from any thread; stop() must not be
// called from the render function.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <ringflow/ip.h>

#include "metrics/prom_writer.h"

namespace ringflow {

struct MetricsServerOptions {
  uint32_t threads = 1;          // request threads, >= 1
  uint32_t io_timeout_ms = 2000; // per-connection read/write timeout
  std::string prefix = "ringflow_metrics_";  // of the server's own families
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

  // Stops accepting, waits for requests in progress, joins every thread.
  // Idempotent.
  void stop();

  // The bound address (the port the kernel chose when asked for 0).
  const Endpoint& endpoint() const { return endpoint_; }
  // "http://127.0.0.1:9155/metrics"
  std::string url() const;

  uint64_t scrapes() const { return scrapes_.load(std::memory_order_relaxed); }
  uint64_t format_errors() const { return format_errors_.load(std::memory_order_relaxed); }

 private:
  struct Impl;
  MetricsServer(Render render, MetricsServerOptions options);
  void handle(std::string* body, int* status);

  Render render_;
  MetricsServerOptions options_;
  Endpoint endpoint_;
  std::unique_ptr<Impl> impl_;  // the httplib::Server
  std::thread thread_;          // runs the accept loop; joinable until stop()
  std::atomic<uint64_t> scrapes_{0};
  std::atomic<uint64_t> format_errors_{0};
  std::atomic<uint64_t> render_ns_last_{0};
  std::atomic<bool> logged_format_error_{false};
};

}  // namespace ringflow
