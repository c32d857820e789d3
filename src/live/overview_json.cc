#include "live/overview_json.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <vector>

namespace ringflow {
namespace {

void append(std::string* s, const char* fmt, auto... args) {
  char buf[256];
  const int n = std::snprintf(buf, sizeof buf, fmt, args...);
  if (n > 0) s->append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

void append_string(std::string* s, const std::string& v) {
  s->push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') {
      s->push_back('\\');
      s->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      append(s, "\\u%04x", static_cast<unsigned>(c));
    } else {
      s->push_back(c);
    }
  }
  s->push_back('"');
}

double seconds_between(const LiveTotals& a, const LiveTotals& b) {
  return static_cast<double>(b.mono_ms - a.mono_ms) / 1000.0;
}

// b - a for two reads of a monotonic counter; 0 if it ever went back (the
// kernel-drop count is a copy of the socket's, read without a lock), so that
// a rate or a window never wraps to 2^64.
uint64_t grown(uint64_t a, uint64_t b) { return b > a ? b - a : 0; }

double rate(uint64_t a, uint64_t b, double dt) {
  return dt > 0 ? static_cast<double>(grown(a, b)) / dt : 0.0;
}

// [time_ms, datagrams/s, flows/s, received bits/s, lost/s] between a and b.
void append_point(std::string* s, const LiveTotals& a, const LiveTotals& b) {
  const double dt = seconds_between(a, b);
  append(s, "[%" PRId64 ",%.3f,%.3f,%.3f,%.3f]", b.wall_ms, rate(a.datagrams, b.datagrams, dt),
         rate(a.flows, b.flows, dt), rate(a.bytes * 8, b.bytes * 8, dt),
         rate(a.lost(), b.lost(), dt));
}

void append_series(std::string* s, const char* name, uint32_t resolution_s,
                   const std::vector<LiveTotals>& snaps) {
  append(s, "\"%s\":{\"resolution_s\":%u,\"from_ms\":%" PRId64 ",\"points\":[", name, resolution_s,
         snaps.empty() ? int64_t{0} : snaps.front().wall_ms);
  for (size_t i = 1; i < snaps.size(); ++i) {
    if (i > 1) s->push_back(',');
    append_point(s, snaps[i - 1], snaps[i]);
  }
  s->append("]}");
}

std::string count_noun(uint64_t n, const char* noun) {
  std::string s = std::to_string(n) + " " + noun;
  if (n != 1) s += "s";
  return s;
}

// "kernel socket_buffer_full 10, decode too_short 2" for the nonzero
// differences b - a.
std::string where_lost(const LiveTotals& a, const LiveTotals& b) {
  std::string s;
  for (const LossKind& k : loss_kinds()) {
    const uint64_t d = grown(k.read(a), k.read(b));
    if (!d) continue;
    if (!s.empty()) s += ", ";
    s += std::string(k.stage) + " " + k.reason + " " + std::to_string(d);
  }
  return s;
}

}  // namespace

std::string loss_sentence(const LiveTotals& from, const LiveTotals& to, double window_s) {
  const LiveTotals zero;
  const uint64_t recent = grown(from.lost(), to.lost());
  const uint64_t ever = to.lost();
  const uint64_t received = grown(from.datagrams, to.datagrams);
  char win[32];
  std::snprintf(win, sizeof win, "%.0f s", window_s);
  std::string s;
  if (recent) {
    s = "Losing datagrams: " + count_noun(recent, "datagram") + " lost in the last " + win + " (" +
        where_lost(from, to) + ").";
  } else if (ever) {
    s = std::string("Nothing lost in the last ") + win + "; " + count_noun(ever, "datagram") +
        " lost since the start (" + where_lost(zero, to) + ").";
  } else {
    s = "Nothing lost: every datagram received since the start was accepted.";
  }
  if (received == 0) s += std::string(" No datagram arrived in the last ") + win + ".";
  return s;
}

std::string overview_json(const LiveSampler& sampler) {
  std::vector<LiveTotals> recent, hour;
  LiveTotals first, minute_ago;
  uint32_t interval_s = 1;
  sampler.with_history([&](const RateHistory& h) {
    recent = h.recent();
    hour = h.hour();
    interval_s = h.interval_s();
    if (const LiveTotals* b = h.back(60)) minute_ago = *b;
  });
  first = hour.empty() ? LiveTotals{} : hour.front();
  const LiveTotals now = sampler.read_now();
  // The first snapshot is the start's (LiveSampler::start()) until the hour
  // ring wraps; uptime is only what the history covers then.
  const double window_s = recent.empty() ? 0.0 : seconds_between(minute_ago, now);

  std::string s;
  s.reserve(64 * 1024);
  append(&s, "{\"now_ms\":%" PRId64 ",\"interval_s\":%u,\"history_s\":%.3f,", now.wall_ms,
         interval_s, hour.empty() ? 0.0 : seconds_between(first, now));
  append(&s,
         "\"totals\":{\"datagrams\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"accepted\":%" PRIu64
         ",\"flows\":%" PRIu64 ",\"lost\":%" PRIu64 "},",
         now.datagrams, now.bytes, now.accepted, now.flows, now.lost());
  // Rates now: the last one-second step of the history.
  double r_dg = 0, r_fl = 0, r_bits = 0, r_lost = 0;
  if (recent.size() >= 2) {
    const LiveTotals& a = recent[recent.size() - 2];
    const LiveTotals& b = recent.back();
    const double dt = seconds_between(a, b);
    r_dg = rate(a.datagrams, b.datagrams, dt);
    r_fl = rate(a.flows, b.flows, dt);
    r_bits = rate(a.bytes * 8, b.bytes * 8, dt);
    r_lost = rate(a.lost(), b.lost(), dt);
  }
  append(&s,
         "\"rates\":{\"datagrams_per_s\":%.3f,\"flows_per_s\":%.3f,\"received_bits_per_s\":%.3f,"
         "\"lost_per_s\":%.3f},",
         r_dg, r_fl, r_bits, r_lost);
  s.append(
      "\"history\":{\"columns\":[\"time_ms\",\"datagrams_per_s\",\"flows_per_s\","
      "\"received_bits_per_s\",\"lost_per_s\"],");
  append_series(&s, "recent", 1, recent);
  s.push_back(',');
  append_series(&s, "hour", interval_s, hour);
  s.append("},\"losses\":[");
  bool first_kind = true;
  for (const LossKind& k : loss_kinds()) {
    if (!first_kind) s.push_back(',');
    first_kind = false;
    append(&s,
           "{\"stage\":\"%s\",\"reason\":\"%s\",\"total\":%" PRIu64 ",\"in_window\":%" PRIu64 "}",
           k.stage, k.reason, k.read(now), grown(k.read(minute_ago), k.read(now)));
  }
  const uint64_t lost_minute = grown(minute_ago.lost(), now.lost());
  append(&s, "],\"status\":{\"losing\":%s,\"window_s\":%.3f,\"lost_in_window\":%" PRIu64 ",",
         lost_minute ? "true" : "false", window_s, lost_minute);
  s.append("\"sentence\":");
  append_string(&s, loss_sentence(minute_ago, now, window_s));
  s.append("}}\n");
  return s;
}

}  // namespace ringflow
