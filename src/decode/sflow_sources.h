// SflowSources: the flow-sample sequence of each sFlow source, per stream, on
// the ordered stage (src/decode/sessions.h, the reactor thread).
//
// An sFlow agent numbers its datagrams (the stream's sequence, tracked by
// src/decode/sequence_tracker.h like any other format's) and, separately,
// the flow samples of each source id (type, index): usually one per
// interface. A gap in a source's sample sequence is samples the agent took
// and that never arrived (lost in transit with their datagram, or dropped by
// the agent before export). Each flow sample also carries two cumulative
// 32-bit counters of its source: sample_pool (packets that could have been
// sampled) and drops (samples the agent dropped for lack of resources).
//
// observe() classifies one flow sample of stream `stream`, source (type,
// index), against the previous sample of that source:
//   new source   first sample seen: remembered, nothing counted;
//   in order     seq == next: pool and drops deltas counted;
//   gap          0 < seq - next <= kMaxGap: seq - next samples lost, deltas
//                counted;
//   late         behind next by at most kReorderWindow: a reordered or
//                duplicated sample; counted, nothing else changes (a loss
//                counted for its gap stays counted);
//   reset        anything else (further behind, or a jump past kMaxGap: the
//                agent restarted its counters): the source restarts from this
//                sample, no loss and no delta counted (never a negative or a
//                huge delta);
//   table full   the stream already tracks kPerStream sources: not tracked,
//                counted.
// Distances are unsigned 32-bit differences read as signed, so the 2^32 wrap
// is exact; pool and drops deltas are taken mod 2^32 (they wrap too).
//
// Bounds: kPerStream sources per stream. A stream's block (kPerStream x 24
// bytes) is allocated by its first flow sample and kept, with its stream
// index, until the collector stops (an index is reused by the next stream):
// at most one allocation per stream index, never in steady state, and
// nothing for streams that send no sFlow (v5, v9, IPFIX). The index table is
// one pointer per stream the stream table can hold.
//
// Thread safety: none; the reactor thread that owns the Sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ringflow {

class SflowSources {
 public:
  static constexpr size_t kPerStream = 32;
  static constexpr uint32_t kMaxGap = 1u << 20;
  static constexpr uint32_t kReorderWindow = 1024;

  enum class Seen : uint8_t { kNew, kInOrder, kGap, kLate, kReset, kTableFull };
  struct Result {
    Seen seen = Seen::kNew;
    uint32_t lost = 0;         // samples missing before this one (kGap)
    uint32_t pool_delta = 0;   // sample_pool since the previous sample (kInOrder, kGap)
    uint32_t drops_delta = 0;  // drops since the previous sample (kInOrder, kGap)
  };

  explicit SflowSources(uint32_t streams);

  Result observe(uint32_t stream, uint32_t source_type, uint32_t source_index, uint32_t sequence,
                 uint32_t pool, uint32_t drops);
  // Stream `stream` expired: its sources are forgotten.
  void forget(uint32_t stream);
  // Stream `stream`'s agent restarted (the datagram sequence tracker says so,
  // src/decode/sequence_tracker.h): the next sample of each of its sources
  // is a reset, whatever its sequence (an agent restarted within
  // kReorderWindow samples of a source would else read as late).
  void restarted(uint32_t stream);
  // Sources tracked for `stream`.
  size_t sources(uint32_t stream) const;

 private:
  struct Entry {
    uint32_t type = 0, index = 0;
    uint32_t next = 0, pool = 0, drops = 0;
    bool used = false;
    bool restarted = false;  // restarted(): the next sample is a reset
  };
  Entry* block(uint32_t stream);  // allocated on first use
  std::vector<std::unique_ptr<Entry[]>> blocks_;  // by stream index
};

}  // namespace ringflow
