// SflowIfTable: the interface counters of every sFlow agent, per (stream,
// ifIndex), on the ordered stage (src/decode/sessions.h, the reactor thread),
// turned into deltas and reconciled with the flow samples of the same
// interfaces.
//
// A counter sample's generic interface record (0:1) carries cumulative
// counters; counters(stream, uptime, sequence, record) compares them with the
// previous sample of the same (stream, ifIndex) and says what it was:
//   kBaseline   first sample of the interface (or the table had forgotten
//               it): remembered, no delta;
//   kDelta      in order: *out holds the deltas since the previous sample;
//   kDuplicate  the same counter-sample sequence again: dropped;
//   kLate       behind the previous sequence by at most kReorderWindow, the
//               datagram's uptime behind by at most kLateMs: a reordered
//               sample, dropped (the delta it would give is already counted);
//   kRestart    the agent restarted: its uptime went back (more than kLateMs,
//               or at all with the sequence going forward), or the sequence
//               went back past kReorderWindow or forward past kMaxGap:
//               re-baselined, no delta;
//   kReset      sequence and uptime in order, but a counter went back and
//               the step is not a wrap (below): the counters were cleared
//               (`clear counters` on a switch): re-baselined, no delta;
//   kTableFull  the table already holds `capacity` interfaces: not tracked.
// restarted(stream) says that the stream's agent restarted, as the datagram
// sequence tracker found it (src/decode/sequence_tracker.h: it also confirms
// restarts that the rules above cannot see): the next counter sample of each
// of its interfaces is a kRestart. Without it, an agent that restarts less
// than kLateMs after its previous boot, with a sequence within kReorderWindow
// of the old one, looks like a late sample; its samples would be dropped as
// late until the sequence passed the old one. (One counter per stream index,
// compared with the interface's copy: O(1), however many interfaces.)
// Wrap: every 32-bit counter (packets, errors, discards) is taken mod 2^32
// when it goes back and the wrapped step is plausible: at most the
// interface's speed for the time since the previous sample, plus one
// second's worth (ifSpeed from the record; 2^31 when it is 0). The 64-bit
// octet counters never wrap in practice: one that goes back is a reset,
// unless both values are below 2^32 (an agent filling the 64-bit field from
// a 32-bit ifInOctets), then the 32-bit rule applies. Uptime and sequence
// distances are unsigned 32-bit differences read as signed (their wraps are
// exact).
//
// Reconciliation: flow(stream, input, output, bytes) adds a flow sample's
// estimated bytes (layer-2 length x rate) to its input interface's "in" and
// its output interface's "out" accumulators, if the table holds them (an
// interface is entered by its counters only, so flow samples cannot fill the
// table). A kDelta hands over the accumulators with the counter deltas and
// restarts them; any other kind restarts them too. So each delta's flow
// bytes are exactly those of the flow samples the ordered stage saw between
// the two counter samples: the same period on both sides, whatever the
// agent's polling interval.
//
// Bounds: `capacity` interfaces per table (decode.sflow_max_interfaces), in
// an open-addressed array allocated at construction: no allocation after it.
// forget(stream) drops a stream's interfaces (when the stream expires).
//
// Thread safety: none; the reactor thread that owns the Sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "decode/sflow_decoder.h"

namespace ringflow {

// Deltas of one interface between two counter samples, and the flow bytes of
// the same period.
struct SflowIfDelta {
  uint32_t if_index = 0;
  uint32_t elapsed_ms = 0;  // agent uptime between the two samples
  uint64_t if_speed = 0;    // bits/s, as the later sample says
  uint64_t in_octets = 0, out_octets = 0;
  uint64_t in_packets = 0, out_packets = 0;  // unicast + multicast + broadcast
  uint64_t in_discards = 0, in_errors = 0, out_discards = 0, out_errors = 0;
  uint64_t flow_in_bytes = 0, flow_out_bytes = 0;  // estimated from flow samples
};

class SflowIfTable {
 public:
  static constexpr uint32_t kReorderWindow = 1024;
  static constexpr uint32_t kMaxGap = 1u << 20;
  static constexpr int32_t kLateMs = 60000;

  enum class Seen : uint8_t { kBaseline, kDelta, kDuplicate, kLate, kRestart, kReset, kTableFull };

  // Running totals of one interface, for the per-interface metrics.
  struct Totals {
    uint64_t in_octets = 0, out_octets = 0, in_packets = 0, out_packets = 0;
    uint64_t in_discards = 0, in_errors = 0, out_discards = 0, out_errors = 0;
    uint64_t flow_in_bytes = 0, flow_out_bytes = 0;
    uint64_t if_speed = 0;
  };

  // capacity interfaces; streams: the stream indices restarted() accepts
  // (the stream table's capacity).
  explicit SflowIfTable(size_t capacity, size_t streams = 0);

  Seen counters(uint32_t stream, uint32_t uptime_ms, uint32_t sequence, const GenericIfCounters& c,
                SflowIfDelta* out);
  void flow(uint32_t stream, uint32_t input, uint32_t output, uint64_t bytes);
  void forget(uint32_t stream);
  void restarted(uint32_t stream) {
    if (stream < epochs_.size()) ++epochs_[stream];
  }

  size_t size() const { return used_; }
  size_t capacity() const { return capacity_; }
  // Calls f(stream, if_index, const Totals&) for every interface held.
  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i <= mask_; ++i)
      if (slots_[i].used) f(slots_[i].stream, slots_[i].if_index, slots_[i].totals);
  }

 private:
  struct Slot {
    bool used = false;
    uint32_t stream = 0, if_index = 0;
    uint32_t sequence = 0, uptime_ms = 0;
    uint32_t epoch = 0;  // epochs_[stream] when last baselined
    GenericIfCounters last;
    uint64_t acc_in = 0, acc_out = 0;
    Totals totals;
  };
  size_t home(uint32_t stream, uint32_t if_index) const;
  Slot* find(uint32_t stream, uint32_t if_index);
  void erase(size_t i);

  size_t capacity_ = 0, used_ = 0, mask_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::vector<uint32_t> epochs_;  // per stream index: agent restarts seen
};

// One interface's running totals as Sessions::tick publishes them (any
// thread reads them: src/decode/sessions.h, sflow_interfaces()). The totals
// start when the table enters the interface: a reader diffs two copies, and
// a total smaller than before means the interface was forgotten and entered
// again (start from 0).
struct SflowIfStat {
  IpAddr agent;
  uint32_t sub_agent = 0, if_index = 0;
  SflowIfTable::Totals totals;
};

// The 32-bit step from `prev` to `cur` if it is one (mod 2^32 when cur < prev
// and the wrapped step is at most `limit`); false for a reset. Exposed for the
// tests.
bool sflow_counter_step32(uint32_t prev, uint32_t cur, uint64_t limit, uint64_t* step);
// The same for a 64-bit octet counter (see the header comment).
bool sflow_counter_step64(uint64_t prev, uint64_t cur, uint64_t limit, uint64_t* step);

}  // namespace ringflow
