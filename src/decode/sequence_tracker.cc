#include "decode/sequence_tracker.h"

#include <algorithm>

#include "decode/v5_decoder.h"

namespace ringflow {
namespace {

constexpr uint32_t kMaxDistance = 0x7FFFFFFF;  // largest positive int32 distance

size_t table_capacity(uint32_t max_streams) {
  size_t cap = 16;
  while (cap < size_t{max_streams} * 2) cap <<= 1;
  return cap;
}

// Position of sequence value x relative to `next`, as a signed distance
// (negative = behind). Only used for values at most 2^31 away from next.
int64_t rel(uint32_t x, uint32_t next) { return static_cast<int32_t>(x - next); }

}  // namespace

SequenceTracker::SequenceTracker(const DecodeConfig& cfg)
    : sampling_(cfg),
      max_streams_(std::max<uint32_t>(cfg.max_streams, 1)),
      reorder_window_(std::min(cfg.reorder_window, kMaxDistance)),
      reset_threshold_(std::clamp<uint32_t>(cfg.reset_threshold, 1, kMaxDistance)),
      idle_ms_(int64_t{cfg.stream_idle_timeout_s} * 1000),
      streams_(max_streams_),
      slots_(table_capacity(max_streams_), Slot{kEmpty, 0}),
      mask_(slots_.size() - 1) {}

uint64_t SequenceTracker::key_hash(const IpAddr& a, uint8_t engine_type, uint8_t engine_id) {
  uint64_t h =
      hash_addr(a) ^ ((uint64_t{engine_type} << 8 | engine_id) + 1) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 29);
}

size_t SequenceTracker::probe(const IpAddr& a, uint8_t et, uint8_t ei, uint64_t hash,
                              bool* found) const {
  const uint32_t h32 = static_cast<uint32_t>(hash);
  size_t pos = h32 & mask_;
  // Terminates: the table is at most half full, so an empty slot exists.
  for (;;) {
    const Slot& s = slots_[pos];
    if (s.idx == kEmpty) {
      *found = false;
      return pos;
    }
    if (s.h32 == h32) {
      const StreamStats& st = streams_[s.idx].st;
      if (st.engine_type == et && st.engine_id == ei && st.exporter == a) {
        *found = true;
        return pos;
      }
    }
    pos = (pos + 1) & mask_;
  }
}

void SequenceTracker::reset_stream(Stream* s, const v5::Header& h, int64_t boot_ms) const {
  s->st.next_sequence = h.flow_sequence + h.count;
  s->st.sys_uptime_ms = h.sys_uptime_ms;
  s->latest_boot_ms = boot_ms;
  s->ngaps = 0;
}

void SequenceTracker::prune_gaps(Stream* s) const {
  const uint32_t next = s->st.next_sequence;
  uint8_t w = 0;
  for (uint8_t i = 0; i < s->ngaps; ++i) {
    const Gap& g = s->gaps[i];
    // End of the gap, as a distance behind next (>= 1 by construction).
    uint32_t end_behind = next - (g.start + g.len);
    if (end_behind <= reorder_window_ && g.len > 0) s->gaps[w++] = g;
  }
  s->ngaps = w;
}

void SequenceTracker::add_gap(Stream* s, uint32_t start, uint32_t len) const {
  prune_gaps(s);
  if (s->ngaps == kGapsPerStream) {
    // Forget the oldest range; its flows stay counted as lost.
    std::copy(s->gaps + 1, s->gaps + kGapsPerStream, s->gaps);
    --s->ngaps;
  }
  s->gaps[s->ngaps++] = Gap{start, len};
}

uint32_t SequenceTracker::fill_gaps(Stream* s, uint32_t seq, uint32_t count) const {
  const uint32_t next = s->st.next_sequence;
  // Work in signed distances from next: the PDU starts at most
  // reorder_window (< 2^31) behind, and every kept gap ends within the window,
  // so all of these are exact in int64.
  const int64_t a = rel(seq, next), b = a + count;
  uint32_t filled = 0;
  for (uint8_t i = 0; i < s->ngaps; ++i) {
    Gap& g = s->gaps[i];
    // From the gap's end, which prune_gaps() keeps within the window: the
    // start may lie further back than 2^31 when reset_threshold is large.
    const int64_t gb = -static_cast<int64_t>(static_cast<uint32_t>(next - (g.start + g.len)));
    const int64_t ga = gb - g.len;
    const int64_t lo = std::max(a, ga), hi = std::min(b, gb);
    if (lo >= hi) continue;
    filled += static_cast<uint32_t>(hi - lo);
    const bool left = lo > ga, right = hi < gb;
    if (left && right) {
      // The PDU filled the middle: split into [ga, lo) and [hi, gb).
      Gap tail{static_cast<uint32_t>(next + hi), static_cast<uint32_t>(gb - hi)};
      g.len = static_cast<uint32_t>(lo - ga);
      if (s->ngaps == kGapsPerStream) {
        // No room for the second piece: forget the oldest range; its flows
        // stay counted as lost. When the oldest is the one being split, keep
        // its newer piece.
        if (i == 0) {
          g = tail;
          continue;
        }
        std::copy(s->gaps + 1, s->gaps + kGapsPerStream, s->gaps);
        --s->ngaps;
        --i;
      }
      std::copy_backward(s->gaps + i + 1, s->gaps + s->ngaps, s->gaps + s->ngaps + 1);
      s->gaps[i + 1] = tail;
      ++s->ngaps;
      ++i;  // skip the tail: it lies after this PDU's range
    } else if (left) {
      g.len = static_cast<uint32_t>(lo - ga);
    } else if (right) {
      g.start = static_cast<uint32_t>(next + hi);
      g.len = static_cast<uint32_t>(gb - hi);
    } else {
      g.len = 0;  // filled entirely; removed below
    }
  }
  if (filled) {
    uint8_t w = 0;
    for (uint8_t i = 0; i < s->ngaps; ++i)
      if (s->gaps[i].len) s->gaps[w++] = s->gaps[i];
    s->ngaps = w;
  }
  return filled;
}

SeqResult SequenceTracker::observe(const IpAddr& exporter, const v5::Header& h, int64_t now_ms) {
  const uint64_t hash = key_hash(exporter, h.engine_type, h.engine_id);
  bool found = false;
  const size_t pos = probe(exporter, h.engine_type, h.engine_id, hash, &found);
  const int64_t boot_ms = export_time_ms(h) - h.sys_uptime_ms;

  if (!found) {
    if (size_ >= max_streams_) {
      ++table_full_;
      return {SeqClass::kTableFull, 0};
    }
    const uint32_t idx = static_cast<uint32_t>(size_++);
    Stream& s = streams_[idx];
    s = Stream{};
    s.hash = hash;
    s.st.exporter = exporter;
    s.st.engine_type = h.engine_type;
    s.st.engine_id = h.engine_id;
    s.st.first_seen_ms = now_ms;
    s.st.last_seen_ms = now_ms;
    s.st.datagrams = 1;
    s.st.flows = h.count;
    s.st.sampling_raw = h.sampling_raw;
    s.st.sampling_interval = sampling_.interval(exporter, h);
    reset_stream(&s, h, boot_ms);
    slots_[pos] = Slot{idx, static_cast<uint32_t>(hash)};
    ++created_;
    return {SeqClass::kNewStream, 0};
  }

  Stream& s = streams_[slots_[pos].idx];
  StreamStats& st = s.st;
  ++st.datagrams;
  st.flows += h.count;
  st.last_seen_ms = now_ms;
  st.sampling_raw = h.sampling_raw;
  st.sampling_interval = sampling_.interval(exporter, h);

  const int32_t up_delta = static_cast<int32_t>(h.sys_uptime_ms - st.sys_uptime_ms);
  const bool rebooted = up_delta < 0 && boot_ms - s.latest_boot_ms > kRestartSlackMs;
  const uint32_t fwd = h.flow_sequence - st.next_sequence;   // distance ahead, mod 2^32
  const uint32_t back = st.next_sequence - h.flow_sequence;  // distance behind, mod 2^32
  const int32_t d = static_cast<int32_t>(fwd);

  SeqResult res;
  if (rebooted || (d > 0 && fwd > reset_threshold_) || (d < 0 && back > reorder_window_)) {
    ++st.resets;
    reset_stream(&s, h, boot_ms);
    return {SeqClass::kReset, 0};
  }
  if (d < 0) {
    // Behind: late if it fills a remembered gap, else a duplicate. A PDU
    // behind never moves next nor the latest uptime (it is older news).
    prune_gaps(&s);
    uint32_t filled = fill_gaps(&s, h.flow_sequence, h.count);
    if (filled) {
      st.lost_flows -= std::min<uint64_t>(filled, st.lost_flows);
      ++st.reordered;
      st.late_flows += filled;
      return {SeqClass::kLate, filled};
    }
    ++st.duplicates;
    return {SeqClass::kDuplicate, 0};
  }
  if (d > 0) {
    st.lost_flows += fwd;
    ++st.gaps;
    add_gap(&s, st.next_sequence, fwd);
    res = {SeqClass::kGap, fwd};
  }
  st.next_sequence = h.flow_sequence + h.count;
  if (up_delta > 0) {
    st.sys_uptime_ms = h.sys_uptime_ms;
    s.latest_boot_ms = boot_ms;
  }
  return res;
}

size_t SequenceTracker::slot_of_index(uint32_t idx) const {
  size_t pos = static_cast<uint32_t>(streams_[idx].hash) & mask_;
  while (slots_[pos].idx != idx) pos = (pos + 1) & mask_;
  return pos;
}

void SequenceTracker::erase_slot(size_t hole) {
  // Backward-shift deletion (Knuth 6.4 algorithm R): move later members of
  // the probe run into the hole when their home slot allows it, so lookups
  // never need tombstones.
  size_t j = hole;
  for (;;) {
    j = (j + 1) & mask_;
    if (slots_[j].idx == kEmpty) break;
    size_t home = slots_[j].h32 & mask_;
    if (((j - home) & mask_) >= ((j - hole) & mask_)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{kEmpty, 0};
}

size_t SequenceTracker::expire(int64_t now_ms) {
  size_t removed = 0;
  size_t i = 0;
  while (i < size_) {
    if (now_ms - streams_[i].st.last_seen_ms <= idle_ms_) {
      ++i;
      continue;
    }
    erase_slot(slot_of_index(static_cast<uint32_t>(i)));
    const uint32_t last = static_cast<uint32_t>(size_ - 1);
    if (i != last) {
      // Keep the array dense: move the last stream into the hole and point
      // its index slot at the new position; re-examine position i.
      size_t slot = slot_of_index(last);
      streams_[i] = streams_[last];
      slots_[slot].idx = static_cast<uint32_t>(i);
    }
    --size_;
    ++removed;
  }
  expired_ += removed;
  return removed;
}

void SequenceTracker::snapshot(std::vector<StreamStats>* out) const {
  for (size_t i = 0; i < size_; ++i) out->push_back(streams_[i].st);
}

SequenceTrackerStats SequenceTracker::stats() const {
  SequenceTrackerStats s;
  s.active = size_;
  s.capacity = max_streams_;
  s.streams_created = created_;
  s.streams_expired = expired_;
  s.table_full = table_full_;
  return s;
}

const StreamStats* SequenceTracker::find(const IpAddr& exporter, uint8_t engine_type,
                                         uint8_t engine_id) const {
  bool found = false;
  size_t pos =
      probe(exporter, engine_type, engine_id, key_hash(exporter, engine_type, engine_id), &found);
  return found ? &streams_[slots_[pos].idx].st : nullptr;
}

}  // namespace ringflow
