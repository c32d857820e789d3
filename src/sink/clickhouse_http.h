// ChHttp: one connection to ClickHouse's HTTP interface (libcurl easy handle,
// kept alive between requests), for the clickhouse sink.
//
// Requests are POSTs: query() sends the SQL as the body (SELECT, CREATE,
// DESCRIBE); insert() sends "INSERT ... FORMAT RowBinary" in the URL and the
// rows as the body. User and password go as HTTP basic auth (understood by
// every ClickHouse release, and by proxies in front of it; never in the URL,
// where access logs would keep it) and are never put in a message or a log
// line; error texts name the URL without any user:password@ part.
//
// Timeouts: the whole request is bounded by timeout_ms, the connect by
// min(timeout_ms, 2000): a server that is down answers at once (refused) or
// not at all, and the caller (the flusher) must get back to its work.
// abort_flag, when set, makes a running request fail at its next progress
// callback (the sink's replay thread uses it to stop promptly).
//
// Thread safety: one ChHttp per thread. ch_http_global_init() must run once
// before any thread creates one (curl_global_init is not thread-safe); the
// sink factory calls it at start-up.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringflow {

struct ChEndpoint {
  std::string url = "http://127.0.0.1:8123";  // scheme://host:port[/path]
  std::string user;                            // "" = server default
  std::string password;
  uint32_t timeout_ms = 10000;
};

struct ChResult {
  bool ok = false;          // HTTP 200
  bool transport = false;   // the request did not complete (refused, timeout, reset)
  long status = 0;          // HTTP status, 0 when transport failed
  int code = 0;             // ClickHouse's "Code: N" of an error body, 0 if none
  std::string body;         // response body (bounded: see kMaxBody)
  std::string error;        // one line: what failed, for logs; no secrets
};

// Initializes libcurl once per process; safe to call again.
void ch_http_global_init();

// "http://host:port/path" without "user:password@".
std::string ch_redact_url(std::string_view url);

class ChHttp {
 public:
  static constexpr size_t kMaxBody = 1 << 20;  // longer responses are cut (and fail)

  explicit ChHttp(ChEndpoint endpoint, const std::atomic<bool>* abort_flag = nullptr);
  ~ChHttp();
  ChHttp(const ChHttp&) = delete;
  ChHttp& operator=(const ChHttp&) = delete;

  // Runs one statement (the body). `params` are extra URL parameters,
  // "&name=value..." already escaped, e.g. "&query_id=x".
  ChResult query(std::string_view sql, std::string_view params = {});
  // POST ?query=<insert_sql><params> with `data` as the body.
  ChResult insert(std::string_view insert_sql, std::string_view data, std::string_view params = {});

  const ChEndpoint& endpoint() const { return ep_; }

 private:
  ChResult post(const std::string& url, std::string_view body);

  ChEndpoint ep_;
  std::string base_;  // url ending in "/"
  const std::atomic<bool>* abort_;
  void* curl_ = nullptr;     // CURL*
  void* headers_ = nullptr;  // curl_slist*
};

// Percent-encodes s for a URL query component.
std::string ch_url_escape(std::string_view s);

}  // namespace ringflow
