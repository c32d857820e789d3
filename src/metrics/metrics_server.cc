// The only file that includes microhttpd.h.
#include "metrics/metrics_server.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "common/clock.h"
#include "common/log.h"
#include "common/unique_fd.h"

namespace ringflow {
namespace {

constexpr const char* kPromType = "text/plain; version=0.0.4; charset=utf-8";
constexpr int kListenBacklog = 128;

// Owns the libmicrohttpd daemon: MHD_stop_daemon closes the listening
// socket, every connection, and joins the daemon's threads.
struct DaemonStopper {
  void operator()(MHD_Daemon* d) const { MHD_stop_daemon(d); }
};
using UniqueDaemon = std::unique_ptr<MHD_Daemon, DaemonStopper>;

// Owns a response until it is queued (MHD keeps its own reference).
struct ResponseDestroyer {
  void operator()(MHD_Response* r) const { MHD_destroy_response(r); }
};
using UniqueResponse = std::unique_ptr<MHD_Response, ResponseDestroyer>;

void free_string(void* cls) { delete static_cast<std::string*>(cls); }

// libmicrohttpd's own messages (timeouts, refused connections, malformed
// requests): useful when debugging a client, noise otherwise.
void mhd_log(void*, const char* fmt, va_list ap) {
  char line[512];
  std::vsnprintf(line, sizeof line, fmt, ap);
  size_t n = std::strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  RF_LOG_DEBUG("metrics: libmicrohttpd: %s", line);
}

IpAddr client_address(const sockaddr* sa) {
  if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) return IpAddr{};
  return IpAddr::from_sockaddr(sa);
}

}  // namespace

struct MetricsServer::Impl {
  UniqueDaemon daemon;
  // Open connections per client address; the event-loop threads update it
  // (accept policy and connection notifications), off every hot path.
  std::mutex mu;
  std::map<IpAddr, uint32_t> per_ip;

  // Accept policy: called on the event-loop thread after accept(), before
  // the connection is set up. MHD_NO closes the socket at once.
  static MHD_Result accept_policy(void* cls, const sockaddr* addr, socklen_t);
  // STARTED / CLOSED of every connection the policy let in.
  static void notify(void* cls, MHD_Connection* c, void** socket_context,
                     MHD_ConnectionNotificationCode code);
  static MHD_Result access(void* cls, MHD_Connection* c, const char* url, const char* method,
                           const char* version, const char* upload_data,
                           size_t* upload_data_size, void** req_cls);
  static MHD_Result answer(MetricsServer* s, MHD_Connection* c, const char* url,
                           const char* method, size_t* upload_data_size, void** req_cls);
};

MHD_Result MetricsServer::Impl::accept_policy(void* cls, const sockaddr* addr, socklen_t) {
  auto* s = static_cast<MetricsServer*>(cls);
  const MetricsServerOptions& o = s->options_;
  const char* reason = nullptr;
  if (s->open_.load(std::memory_order_relaxed) >= o.max_connections) {
    s->refused_cap_.fetch_add(1, std::memory_order_relaxed);
    reason = "metrics.max_connections";
  } else if (o.max_connections_per_ip > 0) {
    std::lock_guard<std::mutex> lock(s->impl_->mu);
    auto it = s->impl_->per_ip.find(client_address(addr));
    if (it != s->impl_->per_ip.end() && it->second >= o.max_connections_per_ip) {
      s->refused_ip_.fetch_add(1, std::memory_order_relaxed);
      reason = "metrics.max_connections_per_ip";
    }
  }
  if (!reason) return MHD_YES;
  if (!s->logged_refusal_.exchange(true)) {
    try {
      RF_LOG_WARN("metrics: refusing connections from %s: %s reached (counted in "
                  "%sconnections_refused_total; logged once)",
                  client_address(addr).str().c_str(), reason, o.prefix.c_str());
    } catch (const std::bad_alloc&) {  // no exception may cross into C
    }
  }
  return MHD_NO;
}

void MetricsServer::Impl::notify(void* cls, MHD_Connection* c, void** socket_context,
                                 MHD_ConnectionNotificationCode code) {
  auto* s = static_cast<MetricsServer*>(cls);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    // No exception may cross into C: without memory, this connection is
    // left out of the counts (and so never taken out of them either).
    try {
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
      auto ip = std::make_unique<IpAddr>(client_address(info ? info->client_addr : nullptr));
      std::lock_guard<std::mutex> lock(s->impl_->mu);
      ++s->impl_->per_ip[*ip];
      *socket_context = ip.release();
      s->open_.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::bad_alloc&) {
    }
    return;
  }
  auto* ip = static_cast<IpAddr*>(*socket_context);
  if (!ip) return;
  *socket_context = nullptr;
  s->open_.fetch_sub(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(s->impl_->mu);
    auto it = s->impl_->per_ip.find(*ip);
    if (it != s->impl_->per_ip.end() && --it->second == 0) s->impl_->per_ip.erase(it);
  }
  delete ip;
}

MHD_Result MetricsServer::Impl::access(void* cls, MHD_Connection* c, const char* url,
                                       const char* method, const char*, const char*,
                                       size_t* upload_data_size, void** req_cls) {
  // No exception may cross into C: without memory the connection is closed.
  try {
    return answer(static_cast<MetricsServer*>(cls), c, url, method, upload_data_size, req_cls);
  } catch (const std::bad_alloc&) {
    return MHD_NO;
  }
}

// Collects one query argument into the HttpRequest (MHD_KeyValueIterator).
static MHD_Result add_arg(void* cls, MHD_ValueKind, const char* key, const char* value) {
  static_cast<HttpRequest*>(cls)->args.emplace_back(key ? key : "", value ? value : "");
  return MHD_YES;
}

MHD_Result MetricsServer::Impl::answer(MetricsServer* s, MHD_Connection* c, const char* url,
                                       const char* method, size_t* upload_data_size,
                                       void** req_cls) {
  HttpRequest req{url ? url : "", method ? method : "", {}};
  HttpResponse res;
  const bool read_only = req.method == MHD_HTTP_METHOD_GET || req.method == MHD_HTTP_METHOD_HEAD;
  static char seen_headers;
  if (read_only && *req_cls == nullptr) {
    // The first call comes with the headers. Answering the request only
    // once it is complete (the next call) keeps the connection reusable
    // (keep-alive); a reply queued now would close it.
    *req_cls = &seen_headers;
    return MHD_YES;
  }
  const bool authorized = s->options_.auth.check(
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
  if (!authorized) {
    s->auth_failures_.fetch_add(1, std::memory_order_relaxed);
    res.status = MHD_HTTP_UNAUTHORIZED;
    res.body = "unauthorized: this listener needs credentials (metrics.auth_token_file, "
               "metrics.auth_basic_file)\n";
    for (const std::string& ch : s->options_.auth.challenges())
      res.headers.emplace_back(MHD_HTTP_HEADER_WWW_AUTHENTICATE, ch);
  } else if (!read_only) {
    // Answered at once; a body is never read (libmicrohttpd closes the
    // connection after the reply instead).
    res.status = MHD_HTTP_METHOD_NOT_ALLOWED;
    res.body = "method not allowed: every page is read-only (GET, HEAD)\n";
  } else if (*upload_data_size != 0) {
    res.status = MHD_HTTP_CONTENT_TOO_LARGE;
    res.body = "a GET or HEAD request takes no body\n";
  } else {
    try {
      MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &req);
      res = s->route(req);
    } catch (const std::exception& e) {
      // Only an allocation failure can get here: this request fails, the
      // collector carries on.
      res = HttpResponse{500, "text/plain; charset=utf-8",
                         std::string("handler failed: ") + e.what() + "\n"};
    }
  }
  auto body = std::make_unique<std::string>(std::move(res.body));
  UniqueResponse r(MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), free_string, body.get()));
  if (!r) return MHD_NO;  // closes the connection (body freed here)
  body.release();         // the response frees it (free_string)
  MHD_add_response_header(r.get(), MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type.c_str());
  for (const auto& [name, value] : res.headers)
    MHD_add_response_header(r.get(), name.c_str(), value.c_str());
  if (res.status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r.get(), MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  return MHD_queue_response(c, static_cast<unsigned>(res.status), r.get());
}

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
  options.threads = std::max<uint32_t>(1, options.threads);
  options.max_connections = std::max<uint32_t>(1, options.max_connections);
  options.connection_timeout_s = std::max<uint32_t>(1, options.connection_timeout_s);
  options.max_request_bytes = std::max<uint32_t>(4096, options.max_request_bytes);

  auto cannot = [&](const char* what, int e) {
    *error = "metrics.listen " + at->str() + ": " + what + ": " + std::strerror(e);
    return nullptr;
  };
  sockaddr_storage sa;
  const socklen_t len = at->to_sockaddr(&sa);
  UniqueFd sock(::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock.valid()) return cannot("cannot listen", errno);
  int yes = 1, no = 0;
  setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (at->any_v6) setsockopt(sock.get(), IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
  if (::bind(sock.get(), reinterpret_cast<const sockaddr*>(&sa), len) != 0 ||
      ::listen(sock.get(), kListenBacklog) != 0)
    return cannot("cannot listen", errno);
  sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  if (getsockname(sock.get(), reinterpret_cast<sockaddr*>(&bound), &blen) != 0)
    return cannot("cannot listen", errno);
  uint16_t port = 0;
  IpAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&bound), &port);
  at->port = port;

  std::unique_ptr<MetricsServer> s(new MetricsServer(std::move(render), std::move(options)));
  s->endpoint_ = *at;
  const MetricsServerOptions& o = s->options_;
  MetricsServer* self = s.get();
  // libmicrohttpd's own connection limit is only a backstop for the thread
  // pool, where accept policy and STARTED may run on two threads at once:
  // accept_policy() refuses first, and counts.
  const unsigned backstop = o.max_connections + 4 * o.threads;
  const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                         (at->any_v6 || !at->addr.is_v4() ? MHD_USE_IPv6 : 0);
  MHD_Daemon* d = MHD_start_daemon(
      flags, 0, &Impl::accept_policy, self, &Impl::access, self,           //
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(sock.get()),      //
      MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(o.threads),      //
      MHD_OPTION_CONNECTION_LIMIT, backstop,                               //
      MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      o.max_connections_per_ip > 0 ? o.max_connections_per_ip + 4 * o.threads : 0u,
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(o.connection_timeout_s),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(o.max_request_bytes),
      MHD_OPTION_NOTIFY_CONNECTION, &Impl::notify, self,                   //
      MHD_OPTION_EXTERNAL_LOGGER, &mhd_log, nullptr,                       //
      MHD_OPTION_END);
  if (!d) {
    // A failed start leaves the socket with us (sock closes it).
    *error = "metrics.listen " + at->str() + ": libmicrohttpd could not start (" +
             std::strerror(errno) + ")";
    return nullptr;
  }
  sock.release();  // the daemon owns it now: MHD_stop_daemon closes it
  s->impl_->daemon.reset(d);
  return s;
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::stop() {
  // Closes the listening socket and every connection, joins the threads
  // (after a handler in progress returns). CLOSED notifications run inside.
  impl_->daemon.reset();
}

std::string MetricsServer::url() const { return "http://" + endpoint_.str() + "/metrics"; }

HttpResponse MetricsServer::route(const HttpRequest& request) {
  if (request.path == "/metrics") return metrics_page();
  for (const HttpRoute& r : options_.routes)
    if (r.path == request.path || (r.prefix && request.path.starts_with(r.path)))
      return r.handler(request);
  return HttpResponse{404, "text/plain; charset=utf-8", "not found: try /metrics\n"};
}

HttpResponse MetricsServer::metrics_page() {
  const uint64_t scrape = scrapes_.fetch_add(1, std::memory_order_relaxed) + 1;
  const int64_t t0 = monotonic_ns();
  PromWriter w;
  try {
    render_(w);
  } catch (const std::exception& e) {
    return HttpResponse{500, "text/plain; charset=utf-8",
                        std::string("render failed: ") + e.what() + "\n"};
  }
  const uint64_t errors = w.errors().size();
  if (errors > 0) {
    format_errors_.fetch_add(errors, std::memory_order_relaxed);
    if (!logged_format_error_.exchange(true))
      RF_LOG_WARN("metrics: %zu series left out of the scrape (logged once): %s",
                  w.errors().size(), w.errors().front().c_str());
  }
  const int64_t render_ns = monotonic_ns() - t0;

  const std::string& p = options_.prefix;
  w.family(p + "scrapes_total", MetricType::kCounter, "Scrapes of /metrics served, this one included.");
  w.sample(scrape);
  w.family(p + "render_seconds", MetricType::kGauge,
           "Time taken to render this scrape's metrics, seconds.");
  w.sample(static_cast<double>(render_ns) / 1e9);
  w.family(p + "format_errors_total", MetricType::kCounter,
           "Series left out of scrapes because they broke the exposition rules (a bug; see the log).");
  w.sample(format_errors_.load(std::memory_order_relaxed));
  w.family(p + "connections_open", MetricType::kGauge,
           "HTTP connections open on the metrics listener, this one included.");
  w.sample(open_.load(std::memory_order_relaxed));
  w.family(p + "connections_max", MetricType::kGauge,
           "Most HTTP connections the metrics listener holds (metrics.max_connections, lowered "
           "to keep file descriptors for the sinks).");
  w.sample(uint64_t{options_.max_connections});
  w.family(p + "connections_refused_total", MetricType::kCounter,
           "HTTP connections closed right after accept because a limit was reached.");
  w.sample({{"reason", "max_connections"}}, refused_cap_.load(std::memory_order_relaxed));
  w.sample({{"reason", "max_connections_per_ip"}}, refused_ip_.load(std::memory_order_relaxed));
  if (options_.auth.enabled()) {
    w.family(p + "auth_failures_total", MetricType::kCounter,
             "HTTP requests answered 401: missing or wrong credentials (metrics.auth_token_file, "
             "metrics.auth_basic_file).");
    w.sample(auth_failures_.load(std::memory_order_relaxed));
  }
  return HttpResponse{200, kPromType, w.take()};
}

}  // namespace ringflow
