// Sequence tracking per exporter stream: tells in-order datagrams from lost,
// late, duplicated ones and from exporter restarts, and estimates the flows
// lost between exporter and collector.
//
// A stream is (exporter address, engine_type, engine_id). v5's flow_sequence
// counts *flows* (records) the engine has exported, not datagrams, so a
// stream's expected next value is
//     next = last flow_sequence + last count   (mod 2^32)
// and every distance below is unsigned 32-bit subtraction read as signed
// (d = (int32_t)(seq - next)), which is exact across the 2^32 wrap.
//
// Classification of one PDU with sequence `seq` and `count` records, first
// rule that applies:
//   new stream   not in the table: inserted; next = seq + count.
//   table full   not in the table and decode.max_streams streams tracked: not
//                tracked, counted (SequenceTrackerStats::table_full).
//   reset        (a) sys_uptime went backwards (wrap-aware, against the latest
//                    sys_uptime seen) AND the exporter's boot time
//                    (export_ms - sys_uptime) moved forward by more than
//                    kRestartSlackMs: the exporter rebooted or restarted its
//                    export process. A late datagram also carries an older
//                    sys_uptime, but from the same boot, so it is not a reset;
//                (b) d > decode.reset_threshold: a forward jump too large to
//                    be loss (default 2^24 flows);
//                (c) -d > decode.reorder_window: too far behind to be late or
//                    duplicate (the sequence restarted without uptime evidence).
//                The stream restarts from this PDU (next = seq + count, gaps
//                forgotten); lost_flows keeps what it had.
//   in order     d == 0.
//   gap          0 < d <= reset_threshold: lost_flows += d, and the missing
//                range [next, seq) is remembered (see below).
//   late         -reorder_window <= d < 0 and [seq, seq + count) overlaps a
//                remembered missing range: the overlap is removed from the
//                range and subtracted from lost_flows (never below 0).
//   duplicate    -reorder_window <= d < 0 and no overlap: those flows were
//                already received (or their gap was forgotten).
// A PDU behind `next` never moves `next`.
//
// Remembered gaps: up to kGapsPerStream missing ranges per stream, oldest
// first. When a new gap (or the split of a gap by a late PDU in its middle)
// needs room, the oldest range is forgotten: its flows stay counted as lost.
// Ranges that have fallen more than reorder_window behind `next` are pruned,
// since a PDU that far behind is a reset, never late.
//
// Memory is fixed at construction: a dense array of max_streams streams plus
// an open-addressing index (linear probing, power-of-two capacity >= 2x
// max_streams so probes stay short, backward-shift deletion so there are no
// tombstones). observe() and expire() never allocate.
//
// Thread safety: none. One tracker per worker thread, used only by it
// (routing sends every datagram of a stream to one worker). snapshot() and
// stats() are called by that same worker on its housekeeping tick, which
// publishes copies to other threads.
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
  }
  return "unknown";
}

struct SeqResult {
  SeqClass cls = SeqClass::kInOrder;
  uint32_t flows = 0;  // see SeqClass; 0 for the other classes
};

class SequenceTracker {
 public:
  static constexpr size_t kGapsPerStream = 8;
  // Boot-time movement (ms) beyond which a backwards sys_uptime means a
  // restart. Covers exporters whose unix_secs and sys_uptime are read at
  // slightly different moments or with 1 s resolution.
  static constexpr int64_t kRestartSlackMs = 5000;

  // Sizes everything from cfg: max_streams (clamped to >= 1),
  // reorder_window and reset_threshold (clamped to 2^31 - 1, the largest
  // distance a signed 32-bit difference can express), stream_idle_timeout_s;
  // and a SamplingPolicy for StreamStats::sampling_interval.
  explicit SequenceTracker(const DecodeConfig& cfg);
  SequenceTracker(const SequenceTracker&) = delete;
  SequenceTracker& operator=(const SequenceTracker&) = delete;

  // Classifies one PDU of `exporter` received at now_ms (epoch ms) and
  // updates its stream's counters. Never allocates.
  SeqResult observe(const IpAddr& exporter, const v5::Header& h, int64_t now_ms);

  // Forgets streams whose last datagram is older than now_ms minus the idle
  // timeout. Returns how many were removed. Call about once a second; costs
  // one pass over the active streams.
  size_t expire(int64_t now_ms);

  // Appends one StreamStats per active stream to *out (order unspecified).
  void snapshot(std::vector<StreamStats>* out) const;
  SequenceTrackerStats stats() const;

  // The stream's current statistics, or nullptr if not tracked.
  const StreamStats* find(const IpAddr& exporter, uint8_t engine_type, uint8_t engine_id) const;
  size_t size() const { return size_; }

 private:
  struct Gap {
    uint32_t start;  // first missing flow_sequence
    uint32_t len;    // flows missing, > 0
  };
  struct Stream {
    StreamStats st;
    uint64_t hash = 0;
    int64_t latest_boot_ms = 0;  // boot time implied by the latest sys_uptime
    uint8_t ngaps = 0;
    Gap gaps[kGapsPerStream];  // oldest first
  };
  struct Slot {
    uint32_t idx;  // index into streams_, kEmpty when free
    uint32_t h32;  // low 32 bits of the key hash: home slot and quick compare
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;

  static uint64_t key_hash(const IpAddr& a, uint8_t engine_type, uint8_t engine_id);
  // Slot holding the key, or the empty slot where it would go (*found false).
  size_t probe(const IpAddr& a, uint8_t et, uint8_t ei, uint64_t hash, bool* found) const;
  void erase_slot(size_t slot);
  size_t slot_of_index(uint32_t idx) const;
  void reset_stream(Stream* s, const v5::Header& h, int64_t boot_ms) const;
  void add_gap(Stream* s, uint32_t start, uint32_t len) const;
  uint32_t fill_gaps(Stream* s, uint32_t seq, uint32_t count) const;
  void prune_gaps(Stream* s) const;

  SamplingPolicy sampling_;
  uint32_t max_streams_;
  uint32_t reorder_window_;
  uint32_t reset_threshold_;
  int64_t idle_ms_;
  std::vector<Stream> streams_;  // dense: [0, size_) active; sized max_streams at construction
  std::vector<Slot> slots_;      // power of two
  size_t mask_;
  size_t size_ = 0;
  uint64_t created_ = 0, expired_ = 0, table_full_ = 0;
};

}  // namespace ringflow
