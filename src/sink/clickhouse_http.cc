#include "sink/clickhouse_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace ringflow {
namespace {

struct BodySink {
  std::string* out;
  bool cut = false;
};

size_t on_data(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* s = static_cast<BodySink*>(user);
  size_t n = size * nmemb;
  size_t room = ChHttp::kMaxBody - std::min(ChHttp::kMaxBody, s->out->size());
  if (n > room) {
    s->out->append(ptr, room);
    s->cut = true;
    return n;  // keep reading (and discard) so the connection stays usable
  }
  s->out->append(ptr, n);
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* flag = static_cast<const std::atomic<bool>*>(user);
  return flag && flag->load(std::memory_order_relaxed) ? 1 : 0;
}

// "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist., ..."
int parse_code(const std::string& body) {
  if (body.compare(0, 6, "Code: ") != 0) return 0;
  return std::atoi(body.c_str() + 6);
}

std::string first_line(const std::string& s, size_t max = 300) {
  std::string l = s.substr(0, std::min(s.find('\n'), max));
  while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.pop_back();
  return l;
}

}  // namespace

void ch_http_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string ch_redact_url(std::string_view url) {
  size_t scheme = url.find("://");
  size_t host = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t slash = url.find('/', host);
  size_t at = url.rfind('@', slash == std::string_view::npos ? url.npos : slash);
  if (at == std::string_view::npos || at < host) return std::string(url);
  return std::string(url.substr(0, host)) + std::string(url.substr(at + 1));
}

std::string ch_url_escape(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string o;
  o.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      o += static_cast<char>(c);
    } else {
      o += '%';
      o += kHex[c >> 4];
      o += kHex[c & 15];
    }
  }
  return o;
}

ChHttp::ChHttp(ChEndpoint endpoint, const std::atomic<bool>* abort_flag)
    : ep_(std::move(endpoint)), abort_(abort_flag) {
  ch_http_global_init();
  base_ = ep_.url;
  if (base_.empty() || base_.back() != '/') base_ += '/';
  CURL* c = curl_easy_init();
  curl_ = c;
  if (!c) return;
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: we are threaded
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(ep_.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<uint32_t>(ep_.timeout_ms, 2000)));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(abort_));
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, abort_ ? 0L : 1L);
  if (!ep_.user.empty() || !ep_.password.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(c, CURLOPT_USERNAME, ep_.user.empty() ? "default" : ep_.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, ep_.password.c_str());
  }
  // curl sends "Expect: 100-continue" for bodies over 1 KiB and then waits up
  // to a second for the interim answer; an empty header turns that off.
  curl_slist* h = curl_slist_append(nullptr, "Expect:");
  h = curl_slist_append(h, "Content-Type: application/octet-stream");
  headers_ = h;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
}

ChHttp::~ChHttp() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
  if (headers_) curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

ChResult ChHttp::query(std::string_view sql, std::string_view params) {
  std::string url = base_ + "?" + std::string(params.empty() ? "" : params.substr(1));
  if (params.empty()) url.pop_back();
  return post(url, sql);
}

ChResult ChHttp::insert(std::string_view insert_sql, std::string_view data,
                        std::string_view params) {
  return post(base_ + "?query=" + ch_url_escape(insert_sql) + std::string(params), data);
}

ChResult ChHttp::post(const std::string& url, std::string_view body) {
  ChResult r;
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) {
    r.transport = true;
    r.error = "curl_easy_init failed";
    return r;
  }
  BodySink sink{&r.body};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    r.transport = true;
    r.error = std::string(curl_easy_strerror(rc)) + " (" + ch_redact_url(ep_.url) + ")";
    if (rc == CURLE_ABORTED_BY_CALLBACK) r.error = "aborted (shutting down)";
    return r;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  r.code = parse_code(r.body);
  if (r.status == 200 && !sink.cut) {
    r.ok = true;
    return r;
  }
  if (sink.cut) {
    r.error = "response longer than " + std::to_string(kMaxBody) + " bytes";
  } else {
    r.error = "HTTP " + std::to_string(r.status) + ": " + first_line(r.body);
  }
  return r;
}

}  // namespace ringflow
