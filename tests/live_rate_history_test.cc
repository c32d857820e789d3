// The web view's rate history (src/live/rate_history.h) and status sentence
// (src/live/overview_json.h), past what an end-to-end run of a few seconds
// reaches: the rings wrap at their fixed sizes (5 minutes at 1 s, an hour at
// the interval) and keep the newest snapshots oldest first; back() finds the
// snapshot a window ago; the sentence names each stage and reason that lost
// datagrams, in the window or only earlier.
#include <catch2/catch.hpp>

#include "live/overview_json.h"
#include "live/rate_history.h"

using namespace ringflow;

namespace {

// The snapshot of second s: s datagrams so far, taken s seconds after start.
LiveTotals at(int64_t s) {
  LiveTotals t;
  t.mono_ms = s * 1000;
  t.wall_ms = 1'700'000'000'000 + s * 1000;
  t.datagrams = static_cast<uint64_t>(s) * 10;
  return t;
}

}  // namespace

TEST_CASE("the rings are allocated once and wrap, keeping the newest oldest first") {
  RateHistory h(60);
  REQUIRE(h.hour_capacity() == 61);                // ceil(3600 / 60) + 1
  REQUIRE(RateHistory(7).hour_capacity() == 516);  // ceil(3600 / 7) + 1
  REQUIRE(RateHistory(1).hour_capacity() == 3601);
  REQUIRE(h.latest() == nullptr);
  REQUIRE(h.back(60) == nullptr);

  for (int64_t s = 0; s < 4000; ++s) h.push(at(s));
  const std::vector<LiveTotals> recent = h.recent();
  REQUIRE(recent.size() == RateHistory::kRecentSlots);
  REQUIRE(recent.front().mono_ms == (4000 - 301) * 1000);
  REQUIRE(recent.back().mono_ms == 3999 * 1000);
  for (size_t i = 1; i < recent.size(); ++i)
    REQUIRE(recent[i].mono_ms - recent[i - 1].mono_ms == 1000);

  // Every 60th snapshot, starting with the first: 0, 60, ..., 3960; the
  // last 61 of them span the last hour.
  const std::vector<LiveTotals> hour = h.hour();
  REQUIRE(hour.size() == 61);
  REQUIRE(hour.back().mono_ms == 3960 * 1000);
  REQUIRE(hour.front().mono_ms == 360 * 1000);
  for (size_t i = 1; i < hour.size(); ++i) REQUIRE(hour[i].mono_ms - hour[i - 1].mono_ms == 60000);

  REQUIRE(h.latest()->mono_ms == 3999 * 1000);
  REQUIRE(h.back(60)->mono_ms == 3939 * 1000);
  REQUIRE(h.back(10000)->mono_ms == recent.front().mono_ms);  // the oldest kept
}

TEST_CASE("before the rings fill, they hold what was pushed") {
  RateHistory h(2);
  for (int64_t s = 0; s < 5; ++s) h.push(at(s));
  REQUIRE(h.recent().size() == 5);
  const std::vector<LiveTotals> hour = h.hour();
  REQUIRE(hour.size() == 3);  // seconds 0, 2, 4
  REQUIRE(hour[1].mono_ms == 2000);
  REQUIRE(h.back(60)->mono_ms == 0);
}

TEST_CASE("losses are named by stage and reason, every counter once") {
  size_t decode = 0;
  for (const LossKind& k : loss_kinds()) decode += std::string_view(k.stage) == "decode";
  REQUIRE(decode == kRejectReasons - 1);
  REQUIRE(loss_kinds().size() == 5 + kRejectReasons - 1);

  LiveTotals t;
  t.kernel_drops = 3;
  t.rejects[static_cast<size_t>(Reject::kTooShort)] = 2;
  for (const LossKind& k : loss_kinds()) {
    const std::string name = std::string(k.stage) + " " + k.reason;
    const uint64_t want = name == "kernel socket_buffer_full" ? 3
                          : name == "decode too_short"        ? 2
                                                              : 0;
    REQUIRE(k.read(t) == want);
  }
  REQUIRE(t.lost() == 5);
}

TEST_CASE("the status sentence says whether anything is lost, and where") {
  LiveTotals a = at(0), b = at(60);
  REQUIRE(loss_sentence(a, b, 60) ==
          "Nothing lost: every datagram received since the start was accepted.");

  b.queue_full = 4;
  b.rejects[static_cast<size_t>(Reject::kBadVersion)] = 1;
  REQUIRE(loss_sentence(a, b, 60) ==
          "Losing datagrams: 5 datagrams lost in the last 60 s (handoff queue_full 4, decode "
          "bad_version 1).");

  // Lost before the window only; and nothing arrived in it.
  LiveTotals c = b;
  c.mono_ms += 60000;
  REQUIRE(loss_sentence(b, c, 60) ==
          "Nothing lost in the last 60 s; 5 datagrams lost since the start (handoff queue_full 4, "
          "decode bad_version 1). No datagram arrived in the last 60 s.");
}
