// Sequence tracking per exporter stream = (exporter address, engine_type,
// engine_id): "expected = last_sequence + last_count (mod 2^32, wrap-safe).
// Classify each datagram: in order; gap (estimated lost flows += distance; v5
// sequence counts flows, not datagrams); late or duplicate (arrives behind the
// expected value within a window — do not count as loss, undo an earlier gap
// estimate when a late datagram fills it); exporter reset (sys_uptime went
// backwards, or the jump is implausible)."
#include <catch2/catch.hpp>

#include <vector>

#include "decode/sequence_tracker.h"
#include "decode/wire_formats.h"

namespace ringflow {
namespace {

const IpAddr kA = IpAddr::from_v4(0xC0000201);  // 192.0.2.1
const IpAddr kB = IpAddr::from_v4(0xC0000202);  // 192.0.2.2

constexpr int64_t kNow = 1700000000000;

// A header as an exporter booted at kBootSecs would send it at uptime `up`.
constexpr uint32_t kBootSecs = 1699990000;
v5::Header hdr(uint32_t seq, uint16_t count = 30, uint32_t up_ms = 5000000, uint8_t et = 0,
               uint8_t ei = 0, uint32_t boot_secs = kBootSecs) {
  v5::Header h;
  h.version = 5;
  h.count = count;
  h.flow_sequence = seq;
  h.sys_uptime_ms = up_ms;
  h.unix_secs = boot_secs + up_ms / 1000;
  h.unix_nsecs = (up_ms % 1000) * 1000000;
  h.engine_type = et;
  h.engine_id = ei;
  return h;
}

DecodeConfig config() {
  DecodeConfig c;
  c.max_streams = 64;
  return c;
}

}  // namespace

TEST_CASE("sequence: in order", "[decode][sequence]") {
  SequenceTracker t(config());
  CHECK(t.observe(kA, hdr(0), kNow).cls == SeqClass::kNewStream);
  for (uint32_t i = 1; i < 100; ++i)
    CHECK(t.observe(kA, hdr(i * 30, 30, 5000000 + i), kNow + i).cls == SeqClass::kInOrder);
  // Counts vary per datagram: expected = last_sequence + last_count.
  CHECK(t.observe(kA, hdr(3000, 7), kNow + 100).cls == SeqClass::kInOrder);
  CHECK(t.observe(kA, hdr(3007, 1), kNow + 100).cls == SeqClass::kInOrder);
  const StreamStats* s = t.find(kA, 0, 0);
  REQUIRE(s);
  CHECK(s->datagrams == 102);
  CHECK(s->flows == 3008);
  CHECK(s->lost_flows == 0);
  CHECK(s->next_sequence == 3008);
  CHECK(s->first_seen_ms == kNow);
  CHECK(s->last_seen_ms == kNow + 100);
}

TEST_CASE("sequence: gap counts missing flows, not datagrams", "[decode][sequence]") {
  SequenceTracker t(config());
  t.observe(kA, hdr(0), kNow);
  SeqResult r = t.observe(kA, hdr(90), kNow);  // 30..89 missing: two datagrams, 60 flows
  CHECK(r.cls == SeqClass::kGap);
  CHECK(r.flows == 60);
  CHECK(t.observe(kA, hdr(120), kNow).cls == SeqClass::kInOrder);
  const StreamStats* s = t.find(kA, 0, 0);
  CHECK(s->lost_flows == 60);
  CHECK(s->gaps == 1);
  CHECK(s->next_sequence == 150);
}

TEST_CASE("sequence: late datagrams fill the gap and undo the loss", "[decode][sequence]") {
  SequenceTracker t(config());
  t.observe(kA, hdr(0), kNow);
  REQUIRE(t.observe(kA, hdr(120), kNow).flows == 90);  // 30..119 missing
  SECTION("in any order, partly out of the middle") {
    SeqResult r = t.observe(kA, hdr(60, 30, 4999990), kNow);  // middle: splits the gap
    CHECK(r.cls == SeqClass::kLate);
    CHECK(r.flows == 30);
    CHECK(t.find(kA, 0, 0)->lost_flows == 60);
    CHECK(t.observe(kA, hdr(90, 30, 4999995), kNow).cls == SeqClass::kLate);
    CHECK(t.observe(kA, hdr(30, 30, 4999980), kNow).cls == SeqClass::kLate);
    const StreamStats* s = t.find(kA, 0, 0);
    CHECK(s->lost_flows == 0);
    CHECK(s->reordered == 3);
    CHECK(s->late_flows == 90);
    CHECK(s->duplicates == 0);
    CHECK(s->resets == 0);
    // Late datagrams do not move expected.
    CHECK(s->next_sequence == 150);
    CHECK(t.observe(kA, hdr(150), kNow).cls == SeqClass::kInOrder);
    // A second copy of a late datagram is a duplicate.
    CHECK(t.observe(kA, hdr(60), kNow).cls == SeqClass::kDuplicate);
    CHECK(t.find(kA, 0, 0)->lost_flows == 0);
  }
  SECTION("a late datagram overlapping the gap's edge fills only the overlap") {
    SeqResult r = t.observe(kA, hdr(100, 30), kNow);  // 100..129; gap ends at 119
    CHECK(r.cls == SeqClass::kLate);
    CHECK(r.flows == 20);
    CHECK(t.find(kA, 0, 0)->lost_flows == 70);
  }
}

TEST_CASE("sequence: duplicates are not loss", "[decode][sequence]") {
  SequenceTracker t(config());
  t.observe(kA, hdr(0), kNow);
  t.observe(kA, hdr(30), kNow);
  CHECK(t.observe(kA, hdr(30), kNow).cls == SeqClass::kDuplicate);
  CHECK(t.observe(kA, hdr(0), kNow).cls == SeqClass::kDuplicate);
  CHECK(t.observe(kA, hdr(60), kNow).cls == SeqClass::kInOrder);
  const StreamStats* s = t.find(kA, 0, 0);
  CHECK(s->duplicates == 2);
  CHECK(s->lost_flows == 0);
  CHECK(s->datagrams == 5);
  CHECK(s->flows == 150);  // every PDU received, duplicates included
}

TEST_CASE("sequence: the 2^32 wrap", "[decode][sequence]") {
  SequenceTracker t(config());
  t.observe(kA, hdr(0xFFFFFFF0u, 16), kNow);  // next = 0
  CHECK(t.observe(kA, hdr(0, 30), kNow).cls == SeqClass::kInOrder);
  CHECK(t.observe(kA, hdr(30, 30), kNow).cls == SeqClass::kInOrder);
  SECTION("a gap across the wrap, then filled") {
    SequenceTracker w(config());
    w.observe(kA, hdr(0xFFFFFFE0u, 16), kNow);  // next = 0xFFFFFFF0
    SeqResult r = w.observe(kA, hdr(16, 30), kNow);
    CHECK(r.cls == SeqClass::kGap);
    CHECK(r.flows == 32);  // 0xFFFFFFF0 .. 0xF
    r = w.observe(kA, hdr(0xFFFFFFF0u, 32), kNow);
    CHECK(r.cls == SeqClass::kLate);
    CHECK(r.flows == 32);
    CHECK(w.find(kA, 0, 0)->lost_flows == 0);
    CHECK(w.find(kA, 0, 0)->next_sequence == 46);
  }
}

TEST_CASE("sequence: exporter restart", "[decode][sequence]") {
  SequenceTracker t(config());
  t.observe(kA, hdr(500000, 30, 900000000), kNow);  // up 10 days
  t.observe(kA, hdr(500030, 30, 900001000), kNow);
  SECTION("sys_uptime went backwards and the sequence restarted") {
    // Rebooted: booted 10 days later than before, uptime 2 s, sequence 0.
    uint32_t reboot_secs = kBootSecs + 900000;
    SeqResult r = t.observe(kA, hdr(0, 30, 2000, 0, 0, reboot_secs), kNow);
    CHECK(r.cls == SeqClass::kReset);
    CHECK(t.observe(kA, hdr(30, 30, 3000, 0, 0, reboot_secs), kNow).cls == SeqClass::kInOrder);
    const StreamStats* s = t.find(kA, 0, 0);
    CHECK(s->resets == 1);
    CHECK(s->lost_flows == 0);
    CHECK(s->duplicates == 0);
  }
  SECTION("uptime back to near zero even though the sequence looks plausible") {
    uint32_t reboot_secs = kBootSecs + 900000;
    // Sequence continues (some exporters persist it), uptime restarted.
    CHECK(t.observe(kA, hdr(500060, 30, 1500, 0, 0, reboot_secs), kNow).cls == SeqClass::kReset);
  }
  SECTION("a late datagram has an older sys_uptime but the same boot: not a reset") {
    t.observe(kA, hdr(500090, 30, 900003000), kNow);  // 500060..89 missing
    SeqResult r = t.observe(kA, hdr(500060, 30, 900002000), kNow);
    CHECK(r.cls == SeqClass::kLate);
    CHECK(t.find(kA, 0, 0)->resets == 0);
  }
  SECTION("an implausible forward jump") {
    DecodeConfig c = config();
    SequenceTracker u(c);
    u.observe(kA, hdr(0), kNow);
    CHECK(u.observe(kA, hdr(30 + c.reset_threshold), kNow).cls == SeqClass::kGap);
    u.observe(kA, hdr(0), kNow);  // far behind: resynchronise at 30
    CHECK(u.observe(kA, hdr(60 + c.reset_threshold + 1), kNow).cls == SeqClass::kReset);
    CHECK(u.find(kA, 0, 0)->lost_flows == c.reset_threshold);  // the jump is not loss
  }
  SECTION("too far behind to be late or duplicate") {
    DecodeConfig c = config();
    c.reorder_window = 1000;
    SequenceTracker u(c);
    u.observe(kA, hdr(5000), kNow);                                     // next 5030
    CHECK(u.observe(kA, hdr(4030), kNow).cls == SeqClass::kDuplicate);  // 1000 behind
    CHECK(u.observe(kA, hdr(4029), kNow).cls == SeqClass::kReset);      // 1001 behind
    CHECK(u.find(kA, 0, 0)->next_sequence == 4059);
  }
}

TEST_CASE("sequence: two engines on one address are two streams", "[decode][sequence]") {
  SequenceTracker t(config());
  for (uint32_t i = 0; i < 50; ++i) {
    SeqClass want = i == 0 ? SeqClass::kNewStream : SeqClass::kInOrder;
    CHECK(t.observe(kA, hdr(i * 30, 30, 5000000, 0, 1), kNow).cls == want);
    CHECK(t.observe(kA, hdr(7000 + i * 20, 20, 5000000, 0, 2), kNow).cls == want);
    CHECK(t.observe(kA, hdr(i * 10, 10, 5000000, 1, 1), kNow).cls == want);  // engine_type differs
  }
  CHECK(t.size() == 3);
  CHECK(t.find(kA, 0, 1)->flows == 1500);
  CHECK(t.find(kA, 0, 2)->flows == 1000);
  CHECK(t.find(kA, 1, 1)->flows == 500);
  for (auto [et, ei] : {std::pair{0, 1}, std::pair{0, 2}, std::pair{1, 1}})
    CHECK(t.find(kA, static_cast<uint8_t>(et), static_cast<uint8_t>(ei))->lost_flows == 0);
}

TEST_CASE("sequence: two exporters with the same engine ids", "[decode][sequence]") {
  SequenceTracker t(config());
  for (uint32_t i = 0; i < 50; ++i) {
    t.observe(kA, hdr(i * 30), kNow);
    t.observe(kB, hdr(1000000 + i * 30), kNow);
  }
  CHECK(t.size() == 2);
  CHECK(t.find(kA, 0, 0)->lost_flows == 0);
  CHECK(t.find(kB, 0, 0)->lost_flows == 0);
  CHECK(t.find(kB, 0, 0)->next_sequence == 1001500);
  const IpAddr v6 = *IpAddr::parse("2001:db8::c000:201");  // not the v4 address kA
  CHECK(t.find(v6, 0, 0) == nullptr);
}

TEST_CASE("sequence: remembered gaps are bounded", "[decode][sequence]") {
  SequenceTracker t(config());
  t.observe(kA, hdr(0, 10), kNow);
  // 10 gaps of 10 flows: the two oldest are forgotten.
  for (uint32_t i = 1; i <= 10; ++i) t.observe(kA, hdr(i * 20, 10), kNow);
  CHECK(t.find(kA, 0, 0)->lost_flows == 100);
  CHECK(t.observe(kA, hdr(10, 10), kNow).cls == SeqClass::kDuplicate);  // forgotten: stays lost
  CHECK(t.observe(kA, hdr(30, 10), kNow).cls == SeqClass::kDuplicate);
  CHECK(t.observe(kA, hdr(50, 10), kNow).cls == SeqClass::kLate);
  CHECK(t.observe(kA, hdr(190, 10), kNow).cls == SeqClass::kLate);
  CHECK(t.find(kA, 0, 0)->lost_flows == 80);
}

TEST_CASE("sequence: sampling interval and stats per stream", "[decode][sequence]") {
  DecodeConfig c = config();
  c.default_sampling = 7;
  SequenceTracker t(c);
  v5::Header h = hdr(0);
  h.sampling_raw = 0x4064;  // mode 1, interval 100
  t.observe(kA, h, kNow);
  CHECK(t.find(kA, 0, 0)->sampling_interval == 100);
  CHECK(t.find(kA, 0, 0)->sampling_raw == 0x4064);
  h = hdr(30);
  t.observe(kA, h, kNow);
  CHECK(t.find(kA, 0, 0)->sampling_interval == 7);  // interval 0: the default
}

TEST_CASE("sequence: the table is bounded and idle streams expire", "[decode][sequence]") {
  DecodeConfig c = config();
  c.max_streams = 1000;
  c.stream_idle_timeout_s = 10;
  SequenceTracker t(c);
  auto addr = [](uint32_t i) { return IpAddr::from_v4(0x0A000000 + i); };
  // Odd streams last seen 20 s before even ones.
  for (uint32_t i = 0; i < 1000; ++i)
    CHECK(t.observe(addr(i), hdr(0), kNow + (i % 2 ? 0 : 20000)).cls == SeqClass::kNewStream);
  CHECK(t.observe(addr(1000), hdr(0), kNow).cls == SeqClass::kTableFull);
  CHECK(t.find(addr(1000), 0, 0) == nullptr);
  CHECK(t.stats().table_full == 1);

  CHECK(t.expire(kNow + 10000) == 0);  // exactly the idle time: kept
  CHECK(t.expire(kNow + 10001) == 500);
  CHECK(t.size() == 500);
  // Every survivor is still found (backward-shift deletion kept the probe
  // runs intact) and still in order; every expired one is gone.
  for (uint32_t i = 0; i < 1000; ++i) {
    INFO("stream " << i);
    if (i % 2) {
      CHECK(t.find(addr(i), 0, 0) == nullptr);
    } else {
      REQUIRE(t.find(addr(i), 0, 0) != nullptr);
      CHECK(t.find(addr(i), 0, 0)->exporter == addr(i));
      CHECK(t.observe(addr(i), hdr(30), kNow + 20000).cls == SeqClass::kInOrder);
    }
  }
  // Room again: a returning stream starts afresh.
  CHECK(t.observe(addr(1), hdr(30), kNow + 20000).cls == SeqClass::kNewStream);
  SequenceTrackerStats st = t.stats();
  CHECK(st.active == 501);
  CHECK(st.capacity == 1000);
  CHECK(st.streams_created == 1001);
  CHECK(st.streams_expired == 500);

  std::vector<StreamStats> snap;
  t.snapshot(&snap);
  CHECK(snap.size() == 501);
  uint64_t datagrams = 0;
  for (const auto& s : snap) datagrams += s.datagrams;
  CHECK(datagrams == 500 * 2 + 1);

  CHECK(t.expire(kNow + 40000) == 501);
  CHECK(t.size() == 0);
}

}  // namespace ringflow

namespace ringflow {
namespace {

// An IPFIX stream fed message by message: `includes_current` sends the
// sequence as softflowd 1.1.0 does (records sent including this message),
// else as RFC 7011 says (records sent before it).
struct IpfixStream {
  SequenceTracker t{config()};
  uint32_t idx;
  uint32_t sent = 1000;  // records sent before the next message
  bool includes_current;
  int64_t now = kNow;
  explicit IpfixStream(bool inc) : includes_current(inc) {
    StreamKey k;
    k.exporter = kA;
    k.format = kFormatIpfix;
    k.domain = 7;
    idx = t.find_or_add(k, kNow);
  }
  // The message of `count` records that would be sent next (not sent yet).
  SeqInput next(uint32_t count) const {
    SeqInput in;
    in.sequence = includes_current ? sent + count : sent;
    in.count = count;
    in.records = count;
    in.export_ms = now;
    return in;
  }
  SeqResult deliver(const SeqInput& in) { return t.observe(idx, in, ++now); }
  // Sends (and delivers unless lost) a message of `count` records.
  SeqInput send(uint32_t count, bool lost = false) {
    SeqInput in = next(count);
    sent += count;
    if (!lost) deliver(in);
    return in;
  }
  const StreamStats& st() const { return t.stream(idx); }
};

// Message sizes that vary as a real exporter's do.
constexpr uint32_t kSizes[] = {30, 7, 12, 30, 1, 19, 30, 30, 4, 25, 9, 30, 2, 17};

}  // namespace

TEST_CASE("sequence: an IPFIX sequence that includes the current message is not loss",
          "[decode][sequence]") {
  IpfixStream s(true);
  for (int round = 0; round < 5; ++round)
    for (uint32_t n : kSizes) s.send(n);
  CHECK(s.st().lost_flows == 0);
  CHECK(s.st().gaps == 0);
  CHECK(s.st().duplicates == 0);
  CHECK(s.st().reordered == 0);
  CHECK(s.st().late_flows == 0);
  CHECK((s.st().quirks & kStreamQuirkSequenceIncludesCurrent) != 0);
  CHECK(s.st().next_sequence == s.sent);  // RFC reading: the next message's seq
  CHECK(s.st().flows == s.sent - 1000);
}

TEST_CASE("sequence: a complete RFC 7011 stream of varying sizes has no quirk",
          "[decode][sequence]") {
  IpfixStream s(false);
  for (int round = 0; round < 5; ++round)
    for (uint32_t n : kSizes) s.send(n);
  CHECK(s.st().lost_flows == 0);
  CHECK(s.st().duplicates == 0);
  CHECK(s.st().quirks == 0);
  CHECK(s.st().next_sequence == s.sent);
}

// Every fault class stays exact on both kinds of exporter, once the quirk is
// known: loss, reordering (late), duplicates, each alone and together.
TEST_CASE("sequence: loss, reorder and duplicates stay exact on an off-by-one exporter",
          "[decode][sequence]") {
  const bool inc = GENERATE(false, true);
  INFO("includes current: " << inc);
  IpfixStream s(inc);
  for (uint32_t n : kSizes) s.send(n);  // detection settles
  REQUIRE(s.st().lost_flows == 0);
  REQUIRE(s.st().duplicates == 0);
  REQUIRE(((s.st().quirks & kStreamQuirkSequenceIncludesCurrent) != 0) == inc);

  SECTION("loss: exactly the records of the lost messages") {
    s.send(10);
    s.send(23, true);
    s.send(5);
    s.send(8, true);
    s.send(8, true);
    s.send(13);
    CHECK(s.st().lost_flows == 23 + 8 + 8);
    CHECK(s.st().gaps == 2);
    CHECK(s.st().duplicates == 0);
  }
  SECTION("reorder: a late message fills its gap") {
    s.send(10);
    const SeqInput late = s.send(23, true);
    s.send(5);
    s.send(17);
    CHECK(s.st().lost_flows == 23);
    s.deliver(late);
    CHECK(s.st().lost_flows == 0);
    CHECK(s.st().reordered == 1);
    CHECK(s.st().late_flows == 23);
    CHECK(s.st().duplicates == 0);
    s.send(9);
    CHECK(s.st().lost_flows == 0);
  }
  SECTION("duplicates: counted, never loss") {
    const SeqInput a = s.send(10);
    const SeqInput b = s.send(21);
    s.deliver(a);
    s.deliver(b);
    s.send(6);
    s.deliver(b);
    s.send(30);
    CHECK(s.st().duplicates == 3);
    CHECK(s.st().lost_flows == 0);
    CHECK(s.st().gaps == 0);
  }
  SECTION("all together") {
    s.send(10);
    const SeqInput late = s.send(4, true);
    s.send(11, true);
    const SeqInput dup = s.send(20);
    s.deliver(dup);
    s.send(3);
    s.deliver(late);
    s.send(30);
    CHECK(s.st().lost_flows == 11);
    CHECK(s.st().late_flows == 4);
    CHECK(s.st().duplicates == 1);
  }
  CHECK(((s.st().quirks & kStreamQuirkSequenceIncludesCurrent) != 0) == inc);
}

TEST_CASE("sequence: the off-by-one detection rolls back what it had counted",
          "[decode][sequence]") {
  IpfixStream s(true);
  s.send(30);
  s.send(7);   // RFC reading: 23 behind -> a duplicate
  CHECK(s.st().duplicates == 1);
  CHECK(s.st().quirks == 0);
  s.send(12);  // RFC reading: a gap; second message only includes-current explains: confirmed
  CHECK(s.st().quirks == kStreamQuirkSequenceIncludesCurrent);
  CHECK(s.st().duplicates == 0);
  CHECK(s.st().lost_flows == 0);
  CHECK(s.st().gaps == 0);
  // v5 and v9 never take the quirk (their counts are per PDU / datagram).
  SequenceTracker t(config());
  for (uint32_t i = 0, seq = 0; i < 20; ++i) {
    const uint16_t n = static_cast<uint16_t>(kSizes[i % std::size(kSizes)]);
    t.observe(kB, hdr(seq + n, n, 5000000 + i), kNow + i);
    seq += n;
  }
  CHECK(t.find(kB, 0, 0)->quirks == 0);
}

}  // namespace ringflow

namespace ringflow {

// An exporter that restarts within the reorder window of its old sequence:
// IPFIX (no uptime), or an export process restarted within seconds of its
// start. Found with ringflow-gen --reset-every 150 at 500 datagrams/s: the
// Exporters page read 1 reset and 275 duplicates where 3 restarts were sent.
TEST_CASE("sequence: an IPFIX restart within the reorder window is a reset, not duplicates",
          "[decode][sequence]") {
  IpfixStream s(false);
  for (int i = 0; i < 50; ++i) s.send(20, i == 10);  // one message lost before the restart
  REQUIRE(s.st().lost_flows == 20);
  REQUIRE(s.st().gaps == 1);
  s.sent = 0;            // the restart: records sent since
  s.send(20, true);      // lost: unknowable, not counted
  CHECK(s.deliver(s.send(20, true)).cls == SeqClass::kDuplicate);  // opens a candidate
  s.send(20);                                 // a second vote
  const SeqInput held = s.send(20, true);     // reordered: comes after the next one
  SeqInput in = s.next(20);
  s.sent += 20;
  CHECK(s.deliver(in).cls == SeqClass::kReset);  // the third vote, 20 records behind it missing
  CHECK(s.deliver(held).cls == SeqClass::kLate);  // fills the gap the restart carried over
  for (int i = 0; i < 5; ++i) CHECK(s.deliver(s.send(20, true)).cls == SeqClass::kInOrder);
  CHECK(s.st().resets == 1);
  CHECK(s.st().duplicates == 0);
  CHECK(s.st().lost_flows == 20);  // before the restart; the held message came
  CHECK(s.st().gaps == 2);
  CHECK(s.st().reordered == 1);
  CHECK(s.st().late_flows == 20);
  CHECK(s.st().next_sequence == s.sent);
}

TEST_CASE("sequence: a repeated datagram inside a restart's first run stays a duplicate",
          "[decode][sequence]") {
  IpfixStream s(false);
  for (int i = 0; i < 20; ++i) s.send(10);
  s.sent = 0;
  const SeqInput first = s.send(10);  // opens
  CHECK(s.deliver(first).cls == SeqClass::kDuplicate);  // the network repeats it: no vote
  s.send(10);                                           // second vote
  CHECK(s.deliver(s.send(10, true)).cls == SeqClass::kReset);
  CHECK(s.st().resets == 1);
  CHECK(s.st().duplicates == 1);
  CHECK(s.st().lost_flows == 0);
  CHECK(s.st().next_sequence == s.sent);
}

TEST_CASE("sequence: a v5 export process restarted within seconds is a reset",
          "[decode][sequence]") {
  SequenceTracker t(config());
  // Booted at kBootSecs; 100 datagrams of 30 flows over 3 s of uptime.
  for (uint32_t i = 0; i < 100; ++i) t.observe(kA, hdr(i * 30, 30, 30 * i), kNow + i);
  // Restarted 3 s after its boot: the boot time moves by 3 s, within the
  // 5 s slack, and the sequence goes back 3000 flows, within the window.
  const uint32_t reboot = kBootSecs + 3;
  CHECK(t.observe(kA, hdr(0, 30, 10, 0, 0, reboot), kNow + 200).cls == SeqClass::kDuplicate);
  CHECK(t.observe(kA, hdr(30, 30, 20, 0, 0, reboot), kNow + 201).cls == SeqClass::kDuplicate);
  CHECK(t.observe(kA, hdr(90, 30, 30, 0, 0, reboot), kNow + 202).cls == SeqClass::kReset);
  CHECK(t.observe(kA, hdr(120, 30, 40, 0, 0, reboot), kNow + 203).cls == SeqClass::kInOrder);
  const StreamStats* s = t.find(kA, 0, 0);
  CHECK(s->resets == 1);
  CHECK(s->duplicates == 0);
  CHECK(s->lost_flows == 30);  // 60..89, inside the new run
  CHECK(s->next_sequence == 150);
  CHECK(s->sys_uptime_ms == 40);
}

TEST_CASE("sequence: runs that are not restarts stay late or duplicate", "[decode][sequence]") {
  SequenceTracker t(config());
  for (uint32_t i = 0; i < 10; ++i) t.observe(kA, hdr(i * 30, 30, 5000000 + i), kNow);
  SECTION("a run of five overtaken by later datagrams fills their gap") {
    t.observe(kA, hdr(450, 30, 5000015), kNow);  // 300..449 overtaken
    for (uint32_t i = 10; i < 15; ++i)
      CHECK(t.observe(kA, hdr(i * 30, 30, 5000000 + i), kNow).cls == SeqClass::kLate);
    const StreamStats* s = t.find(kA, 0, 0);
    CHECK(s->resets == 0);
    CHECK(s->reordered == 5);
    CHECK(s->lost_flows == 0);
  }
  SECTION("a network that repeats two datagrams, then the stream goes on") {
    CHECK(t.observe(kA, hdr(240, 30, 5000008), kNow).cls == SeqClass::kDuplicate);
    CHECK(t.observe(kA, hdr(270, 30, 5000009), kNow).cls == SeqClass::kDuplicate);
    CHECK(t.observe(kA, hdr(300, 30, 5000010), kNow).cls == SeqClass::kInOrder);
    CHECK(t.observe(kA, hdr(270, 30, 5000009), kNow).cls == SeqClass::kDuplicate);  // closed before
    const StreamStats* s = t.find(kA, 0, 0);
    CHECK(s->resets == 0);
    CHECK(s->duplicates == 3);
  }
  SECTION("repeats that do not continue each other") {
    for (int k = 0; k < 6; ++k)
      CHECK(t.observe(kA, hdr(k % 2 ? 60 : 150, 30, 5000002), kNow).cls == SeqClass::kDuplicate);
    CHECK(t.find(kA, 0, 0)->resets == 0);
    CHECK(t.find(kA, 0, 0)->duplicates == 6);
  }
}

}  // namespace ringflow

namespace ringflow {

// Found with ringflow-gen --protocol sflow --duplicate 0.05 --reset-every 50:
// the last datagram before a restart, repeated by the network, opened a
// candidate, and every datagram of the restarted sequence lay behind that
// candidate's shadow: the whole epoch read as duplicates.
TEST_CASE("sequence: a duplicate just before a restart does not hide it", "[decode][sequence]") {
  SequenceTracker t(config());
  // Booted at kBootSecs, 20 datagrams over its first 1.9 s of uptime.
  for (uint32_t i = 0; i < 20; ++i) t.observe(kA, hdr(i * 30, 30, 100 * i), kNow);
  CHECK(t.observe(kA, hdr(570, 30, 1900), kNow).cls == SeqClass::kDuplicate);  // repeated
  const uint32_t reboot = kBootSecs + 2;  // restarted 2 s after its boot: within the slack
  CHECK(t.observe(kA, hdr(0, 30, 100, 0, 0, reboot), kNow).cls == SeqClass::kDuplicate);
  CHECK(t.observe(kA, hdr(30, 30, 110, 0, 0, reboot), kNow).cls == SeqClass::kDuplicate);
  CHECK(t.observe(kA, hdr(60, 30, 120, 0, 0, reboot), kNow).cls == SeqClass::kReset);
  const StreamStats* s = t.find(kA, 0, 0);
  CHECK(s->resets == 1);
  CHECK(s->duplicates == 1);
  CHECK(s->next_sequence == 90);
}

}  // namespace ringflow
