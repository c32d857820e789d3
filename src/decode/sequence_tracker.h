// Sequence tracking per exporter stream: tells in-order datagrams from lost,
// late, duplicated ones and from exporter restarts, and estimates what was
// lost between exporter and collector.
//
// A stream is (exporter address, version, domain) (<ringflow/streams.h>).
// Each version's sequence counts something else, given per datagram as
// SeqInput::count: v5 flows (records) of the PDU; v9 export datagrams (1);
// IPFIX data records of the message (RFC 7011: the sequence number is the
// count of data records sent before this message). A stream's expected next
// value is
//     next = last sequence + last count   (mod 2^32)
// and every distance below is unsigned 32-bit subtraction read as signed
// (d = (int32_t)(seq - next)), which is exact across the 2^32 wrap.
//
// Classification of one datagram with sequence `seq` and `count`, first rule
// that applies:
//   new stream   first datagram of a stream: next = seq + count.
//   table full   not in the table and decode.max_streams streams tracked: not
//                tracked, counted (SequenceTrackerStats::table_full).
//   reset        (a) sys_uptime went backwards (wrap-aware, against the latest
//                    sys_uptime seen) AND the exporter's boot time
//                    (export_ms - sys_uptime) moved forward by more than
//                    kRestartSlackMs: the exporter rebooted or restarted its
//                    export process (v5/v9; IPFIX has no uptime);
//                (b) d > decode.reset_threshold: a forward jump too large to
//                    be loss (default 2^24);
//                (c) -d > decode.reorder_window: too far behind to be late or
//                    duplicate (the sequence restarted without uptime evidence);
//                (d) a confirmed restart: see "Restart candidates" below.
//                The stream restarts from this datagram (next = seq + count,
//                gaps forgotten); lost_flows keeps what it had.
//   resync       the previous datagram's count was unknown (IPFIX data set
//                without its template): seq is taken as next, nothing counted
//                as lost (StreamStats::resyncs).
//   in order     d == 0.
//   gap          0 < d <= reset_threshold: lost_flows += d, and the missing
//                range [next, seq) is remembered (see below).
//   late         -reorder_window <= d < 0 and [seq, seq + count) overlaps a
//                remembered missing range: the overlap is removed from the
//                range and subtracted from lost_flows (never below 0).
//   duplicate    -reorder_window <= d < 0 and no overlap: already received
//                (or their gap was forgotten).
// A datagram behind `next` never moves `next`.
//
// IPFIX exporters whose sequence includes the message's own records
// (softflowd 1.1.0: seq = records sent including this message, one message
// off RFC 7011) make every change of message size look like a gap or a
// duplicate, and a datagram behind never moves `next`, so each later gap
// also counted the previous message's records. The tracker tests both
// readings on each IPFIX message against the previous one (RFC: seq = prev
// seq + prev count; includes-current: seq = prev seq + this count). After
// kQuirkConfirm consecutive messages that only the includes-current reading
// explains (none contradicting it), the quirk is confirmed: what those
// messages were counted as (gaps, duplicates, late) is rolled back to the
// checkpoint taken before the first of them, the stream is marked
// (StreamStats::quirks, kStreamQuirkSequenceIncludesCurrent; one log line per
// stream) and from then on each message's sequence is read as seq - count,
// after which gaps, late datagrams and duplicates are classified exactly as
// above. kQuirkConfirm messages that only the RFC reading explains turn it off
// again. A message that neither reading explains (real loss or reordering
// during detection) restarts the detection, keeping what it counted.
//
// Restart candidates. An exporter that restarts within the reorder window
// of its old sequence (IPFIX has no uptime at all; a v5/v9 export process
// restarted within kRestartSlackMs of its start moves its boot time too
// little) sends datagrams behind `next` that are neither late nor duplicate:
// they continue each other, where late datagrams fill remembered gaps and
// duplicates repeat what came. So a datagram behind `next` that fills no
// remembered gap (a duplicate by the rules above) opens a candidate: a
// checkpoint of the counters, and a second reading of the sequence that
// starts at that datagram (the shadow: its own next, loss, one remembered
// gap, duplicates); that datagram is the candidate's first vote. While it is
// open, each datagram behind `next` is also read by the shadow:
//   - in order or ahead within reorder_window of the shadow's next, and a
//     duplicate by the main reading: one vote (ahead: loss in the shadow);
//   - in order or ahead, but late by the main reading (it filled a main
//     gap): the shadow follows it, no vote (a reordered run fills gaps);
//   - behind the shadow's next but not before the datagram that opened it:
//     late in the shadow's gap or a duplicate there; no vote;
//   - anything else: the candidate opens again at this datagram.
// A datagram in order or ahead of `next` closes the candidate: the behind
// ones were what the main reading said. At kRestartConfirm votes the restart
// is confirmed: the counters go back to the checkpoint plus the shadow's
// (loss, gaps, late, duplicates), resets += 1, and the stream continues from
// the shadow's next (reset (d)); the shadow's open gap becomes the stream's
// only remembered gap. Loss between the last datagram before the restart
// and the first after it is unknowable and not counted.
//
// Remembered gaps: up to kGapsPerStream missing ranges per stream, oldest
// first. When a new gap (or the split of a gap by a late datagram in its
// middle) needs room, the oldest range is forgotten: its loss stays counted.
// Ranges more than reorder_window behind `next` are pruned, since a datagram
// that far behind is a reset, never late.
//
// Stream slots are stable: a stream keeps its index from find_or_add() until
// it expires (src/decode/sessions.h keys templates and held data by it), and
// a freed index is reused. Memory is fixed at construction: max_streams
// streams plus an open-addressing index (linear probing, power-of-two
// capacity >= 2x max_streams so probes stay short, backward-shift deletion so
// there are no tombstones). Nothing here allocates after construction.
//
// Thread safety: none. One tracker per reactor thread (src/decode/sessions.h),
// used only by it; snapshot() and stats() are called by that same thread,
// which publishes copies to other threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/ip.h>
#include <ringflow/streams.h>

#include "decode/sampling.h"
#include "wire/v5.h"

namespace ringflow {

enum class SeqClass : uint8_t {
  kInOrder,
  kGap,   // SeqResult::flows = flows missing (added to lost_flows)
  kLate,  // SeqResult::flows = flows that filled a gap (removed from lost_flows)
  kDuplicate,
  kReset,
  kNewStream,
  kTableFull,  // stream not tracked
  kResync,     // the previous count was unknown: this datagram sets the expectation
};

constexpr std::string_view seq_class_name(SeqClass c) {
  switch (c) {
    case SeqClass::kInOrder:
      return "in_order";
    case SeqClass::kGap:
      return "gap";
    case SeqClass::kLate:
      return "late";
    case SeqClass::kDuplicate:
      return "duplicate";
    case SeqClass::kReset:
      return "reset";
    case SeqClass::kNewStream:
      return "new_stream";
    case SeqClass::kTableFull:
      return "table_full";
    case SeqClass::kResync:
      return "resync";
  }
  return "unknown";
}

struct SeqResult {
  SeqClass cls = SeqClass::kInOrder;
  uint32_t flows = 0;  // see SeqClass; 0 for the other classes
};

// The stream a datagram belongs to.
struct StreamKey {
  IpAddr exporter;
  uint32_t domain = 0;  // v5: engine_type << 8 | engine_id; sFlow: sub-agent id
  uint8_t format = 0;   // format id (src/decode/wire_formats.h); 0 = NetFlow v5
  friend bool operator==(const StreamKey&, const StreamKey&) = default;
};

// What one datagram says about its stream's sequence.
struct SeqInput {
  uint32_t sequence = 0;
  uint32_t count = 0;          // sequence units in this datagram (see the header comment)
  bool count_known = true;     // false: IPFIX message with a set that could not be counted
  bool has_uptime = false;     // v5/v9: sys_uptime is valid (restart detection)
  uint32_t sys_uptime_ms = 0;
  int64_t export_ms = 0;       // header export time, ms since the epoch
  uint32_t records = 0;        // data records carried (StreamStats::flows)
  uint16_t sampling_raw = 0;   // v5 header sampling field (StreamStats)
  uint32_t sampling_interval = 1;  // effective interval for StreamStats, >= 1
};

class SequenceTracker {
 public:
  static constexpr size_t kGapsPerStream = 8;
  // Boot-time movement (ms) beyond which a backwards sys_uptime means a
  // restart. Covers exporters whose unix_secs and sys_uptime are read at
  // slightly different moments or with 1 s resolution.
  static constexpr int64_t kRestartSlackMs = 5000;
  static constexpr uint32_t kNoStream = UINT32_MAX;
  // Consecutive IPFIX messages that confirm (or refute) a sequence that
  // includes the current message (see above).
  // Two: softflowd exports a small pcap in three messages, the first of which
  // only starts the stream; for an RFC exporter to look the same, two
  // messages in a row would have to lose exactly their own record counts.
  static constexpr uint8_t kQuirkConfirm = 2;
  // Votes (datagrams behind `next` that continue each other's sequence and
  // fill no gap) that confirm a restart without uptime evidence (see
  // "Restart candidates"). Three: a network repeats a datagram, not a run of
  // them; a run reordered behind later datagrams fills remembered gaps.
  static constexpr uint8_t kRestartConfirm = 3;

  // Sizes everything from cfg: max_streams (clamped to >= 1),
  // reorder_window and reset_threshold (clamped to 2^31 - 1, the largest
  // distance a signed 32-bit difference can express), stream_idle_timeout_s,
  // full_table_idle_timeout_s;
  // and a SamplingPolicy for StreamStats::sampling_interval of v5 streams.
  explicit SequenceTracker(const DecodeConfig& cfg);
  SequenceTracker(const SequenceTracker&) = delete;
  SequenceTracker& operator=(const SequenceTracker&) = delete;

  // The stream's index, inserting it (not yet synchronised: its first
  // observe() is kNewStream) when new. kNoStream when the table is full
  // (counted in table_full). Updates last_seen. Never allocates.
  uint32_t find_or_add(const StreamKey& key, int64_t now_ms);
  // The stream's index, or kNoStream.
  uint32_t find(const StreamKey& key) const;

  // Classifies one datagram of stream `idx` (from find_or_add) received at
  // now_ms and updates its counters.
  SeqResult observe(uint32_t idx, const SeqInput& in, int64_t now_ms);

  // v5 convenience (tests, fuzzer): find_or_add + observe for one PDU.
  SeqResult observe(const IpAddr& exporter, const v5::Header& h, int64_t now_ms);
  const StreamStats* find(const IpAddr& exporter, uint8_t engine_type, uint8_t engine_id) const;

  // Forgets streams whose last datagram is older than now_ms minus the idle
  // timeout, calling on_remove(idx) for each before its index is freed.
  // While the table is full (at the start of the call), the shorter
  // full_table_idle_timeout applies, so that streams of spoofed or dead
  // exporters make room for new ones; those removed only because of it are
  // also counted as evicted. Returns how many were removed. Call about once a
  // second; costs one pass over the table.
  template <class F>
  size_t expire(int64_t now_ms, F&& on_remove);
  size_t expire(int64_t now_ms) {
    return expire(now_ms, [](uint32_t) {});
  }

  // Appends one StreamStats per active stream to *out (order unspecified).
  void snapshot(std::vector<StreamStats>* out) const;
  SequenceTrackerStats stats() const;

  StreamStats& stream(uint32_t idx) { return streams_[idx].st; }
  const StreamStats& stream(uint32_t idx) const { return streams_[idx].st; }
  size_t size() const { return size_; }
  uint32_t capacity() const { return max_streams_; }
  // Whether index idx holds a stream now.
  bool live(uint32_t idx) const { return streams_[idx].live; }

 private:
  struct Gap {
    uint32_t start;  // first missing sequence value
    uint32_t len;    // units missing, > 0
  };
  // The counters the includes-current detection may roll back.
  struct Checkpoint {
    uint64_t lost_flows = 0, gaps = 0, reordered = 0, late_flows = 0, duplicates = 0;
  };
  // A restart candidate (see "Restart candidates"): the shadow reading of
  // the sequence from the first datagram behind `next` that filled no gap.
  struct Candidate {
    bool open = false;
    uint8_t votes = 0;
    uint32_t start = 0;                    // sequence of the datagram that opened it
    uint32_t next = 0;                     // the shadow's expected sequence
    uint32_t gap_start = 0, gap_len = 0;   // the shadow's latest gap (len 0: none)
    uint64_t lost = 0, gaps = 0, reordered = 0, late_flows = 0, duplicates = 0;
    Checkpoint checkpoint;                 // the stream's counters before it opened
  };
  struct Stream {
    StreamStats st;
    Candidate cand;
    // IPFIX sequence reading (see the header comment): the previous message
    // as sent, and the detection's state.
    uint32_t prev_seq = 0, prev_count = 0;
    bool prev_known = false;     // prev_count was known
    bool includes_current = false;  // confirmed: read seq - count
    bool quirk_logged = false;
    uint8_t quirk_votes = 0;     // consecutive messages for the other reading
    Checkpoint checkpoint;       // before the first vote for includes-current
    uint64_t hash = 0;
    int64_t latest_boot_ms = 0;  // boot time implied by the latest sys_uptime
    bool live = false;
    bool synced = false;         // observe() has seen a datagram
    bool resync = false;         // the last count was unknown: take the next seq as is
    uint8_t ngaps = 0;
    Gap gaps[kGapsPerStream];  // oldest first
  };
  struct Slot {
    uint32_t idx;  // index into streams_, kEmpty when free
    uint32_t h32;  // low 32 bits of the key hash: home slot and quick compare
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;

  static uint64_t key_hash(const StreamKey& k);
  static bool same(const StreamStats& st, const StreamKey& k) {
    return st.domain == k.domain && st.format == k.format && st.exporter == k.exporter;
  }
  // Slot holding the key, or the empty slot where it would go (*found false).
  size_t probe(const StreamKey& k, uint64_t hash, bool* found) const;
  void erase_slot(size_t slot);
  size_t slot_of_index(uint32_t idx) const;
  void reset_stream(Stream* s, const SeqInput& in, uint32_t seq, int64_t boot_ms) const;
  // The IPFIX includes-current detection for one message; true when it just
  // confirmed the quirk (the message is then in order).
  bool detect_includes_current(Stream* s, const SeqInput& in) const;
  SeqResult classify(Stream* s, const SeqInput& in, int64_t now_ms);
  void add_gap(Stream* s, uint32_t start, uint32_t len) const;
  // Restart candidates: opens one at the datagram (seq, count), taking the
  // checkpoint before it was counted (*before); feeds one more datagram
  // behind `next` (main_dup: the main reading called it a duplicate);
  // confirms. feed() returns true when the restart is confirmed.
  void open_candidate(Stream* s, uint32_t seq, uint32_t count, const Checkpoint& before) const;
  bool feed_candidate(Stream* s, uint32_t seq, uint32_t count, bool main_dup,
                      const Checkpoint& before) const;
  void confirm_restart(Stream* s, const SeqInput& in, uint32_t seq, int64_t boot_ms) const;
  uint32_t fill_gaps(Stream* s, uint32_t seq, uint32_t count) const;
  void prune_gaps(Stream* s) const;
  void remove(uint32_t idx);

  SamplingPolicy sampling_;
  uint32_t max_streams_;
  uint32_t reorder_window_;
  uint32_t reset_threshold_;
  int64_t idle_ms_;
  int64_t full_idle_ms_;  // <= idle_ms_; equal when full_table_idle_timeout is 0
  std::vector<Stream> streams_;   // sized max_streams at construction; `live` marks use
  std::vector<uint32_t> free_;    // free indices (a stack)
  std::vector<Slot> slots_;       // power of two
  size_t mask_;
  size_t size_ = 0;
  uint64_t created_ = 0, expired_ = 0, evicted_ = 0, table_full_ = 0;
};

template <class F>
size_t SequenceTracker::expire(int64_t now_ms, F&& on_remove) {
  const int64_t limit_ms = size_ >= max_streams_ ? full_idle_ms_ : idle_ms_;
  size_t removed = 0;
  for (uint32_t i = 0; i < max_streams_; ++i) {
    if (!streams_[i].live) continue;
    const int64_t silent_ms = now_ms - streams_[i].st.last_seen_ms;
    if (silent_ms <= limit_ms) continue;
    evicted_ += silent_ms <= idle_ms_;
    on_remove(i);
    remove(i);
    ++removed;
  }
  expired_ += removed;
  return removed;
}

}  // namespace ringflow
