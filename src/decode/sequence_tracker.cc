#include "decode/sequence_tracker.h"

#include <algorithm>

#include "common/log.h"
#include "decode/v5_decoder.h"
#include "decode/wire_formats.h"

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
      full_idle_ms_(cfg.full_table_idle_timeout_s == 0
                        ? idle_ms_
                        : std::min(idle_ms_, int64_t{cfg.full_table_idle_timeout_s} * 1000)),
      streams_(max_streams_),
      slots_(table_capacity(max_streams_), Slot{kEmpty, 0}),
      mask_(slots_.size() - 1) {
  free_.reserve(max_streams_);
  for (uint32_t i = max_streams_; i-- > 0;) free_.push_back(i);
}

uint64_t SequenceTracker::key_hash(const StreamKey& k) {
  uint64_t h = hash_addr(k.exporter) ^
               ((uint64_t{k.format} << 32 | k.domain) + 1) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 29);
}

size_t SequenceTracker::probe(const StreamKey& k, uint64_t hash, bool* found) const {
  const uint32_t h32 = static_cast<uint32_t>(hash);
  size_t pos = h32 & mask_;
  // Terminates: the table is at most half full, so an empty slot exists.
  for (;;) {
    const Slot& s = slots_[pos];
    if (s.idx == kEmpty) {
      *found = false;
      return pos;
    }
    if (s.h32 == h32 && same(streams_[s.idx].st, k)) {
      *found = true;
      return pos;
    }
    pos = (pos + 1) & mask_;
  }
}

void SequenceTracker::reset_stream(Stream* s, const SeqInput& in, uint32_t seq,
                                   int64_t boot_ms) const {
  s->st.next_sequence = seq + in.count;
  s->st.sys_uptime_ms = in.sys_uptime_ms;
  s->latest_boot_ms = boot_ms;
  s->ngaps = 0;
  s->resync = !in.count_known;
  s->cand = Candidate{};
}

void SequenceTracker::open_candidate(Stream* s, uint32_t seq, uint32_t count,
                                     const Checkpoint& before) const {
  Candidate& c = s->cand;
  c = Candidate{};
  c.open = true;
  c.votes = 1;
  c.start = seq;
  c.next = seq + count;
  c.checkpoint = before;
}

bool SequenceTracker::feed_candidate(Stream* s, uint32_t seq, uint32_t count, bool main_dup,
                                     const Checkpoint& before) const {
  Candidate& c = s->cand;
  if (!c.open) {
    if (main_dup) open_candidate(s, seq, count, before);
    return false;
  }
  // The shadow's gap is forgotten once it ends further behind than a late
  // datagram may be (as prune_gaps() does for the stream's).
  if (c.gap_len != 0 && c.next - (c.gap_start + c.gap_len) > reorder_window_) c.gap_len = 0;
  const int64_t r = rel(seq, c.next);
  if (r >= 0 && r <= int64_t{reorder_window_}) {
    // In order, or ahead (loss), in the shadow's reading.
    if (r > 0) {
      c.lost += static_cast<uint64_t>(r);
      ++c.gaps;
      c.gap_start = c.next;
      c.gap_len = static_cast<uint32_t>(r);
    }
    c.next = seq + count;
    if (main_dup) ++c.votes;
    return c.votes >= kRestartConfirm;
  }
  if (r < 0 && -r <= int64_t{reorder_window_} && rel(seq, c.start) >= 0) {
    // Behind the shadow, inside its run: late into its gap, or a duplicate
    // of the run. (Before the run's first datagram, it is not the run's: a
    // network duplicate that opened a candidate just before a restart must
    // not capture the restart's datagrams.)
    const int64_t ga = c.gap_len ? rel(c.gap_start, c.next) : 0, gb = ga + c.gap_len;
    const int64_t lo = std::max(r, ga), hi = std::min(r + int64_t{count}, gb);
    if (c.gap_len != 0 && lo < hi) {
      const auto filled = static_cast<uint64_t>(hi - lo);
      c.lost -= std::min(filled, c.lost);
      c.late_flows += filled;
      ++c.reordered;
      if (hi < gb) {  // keep the part after this datagram; the part before stays lost
        c.gap_start = static_cast<uint32_t>(c.next + hi);
        c.gap_len = static_cast<uint32_t>(gb - hi);
      } else {
        c.gap_len = lo > ga ? static_cast<uint32_t>(lo - ga) : 0;
      }
    } else {
      ++c.duplicates;
    }
    return false;
  }
  // Neither reading continues: a candidate opens again here, or none.
  if (main_dup)
    open_candidate(s, seq, count, before);
  else
    c.open = false;
  return false;
}

void SequenceTracker::confirm_restart(Stream* s, const SeqInput& in, uint32_t seq,
                                      int64_t boot_ms) const {
  const Candidate c = s->cand;
  StreamStats& st = s->st;
  st.lost_flows = c.checkpoint.lost_flows + c.lost;
  st.gaps = c.checkpoint.gaps + c.gaps;
  st.reordered = c.checkpoint.reordered + c.reordered;
  st.late_flows = c.checkpoint.late_flows + c.late_flows;
  st.duplicates = c.checkpoint.duplicates + c.duplicates;
  ++st.resets;
  reset_stream(s, in, seq, boot_ms);
  st.next_sequence = c.next;
  if (c.gap_len != 0) add_gap(s, c.gap_start, c.gap_len);
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

uint32_t SequenceTracker::find_or_add(const StreamKey& key, int64_t now_ms) {
  const uint64_t hash = key_hash(key);
  bool found = false;
  const size_t pos = probe(key, hash, &found);
  if (found) {
    Stream& s = streams_[slots_[pos].idx];
    s.st.last_seen_ms = now_ms;
    return slots_[pos].idx;
  }
  if (free_.empty()) {
    ++table_full_;
    return kNoStream;
  }
  const uint32_t idx = free_.back();
  free_.pop_back();
  ++size_;
  Stream& s = streams_[idx];
  s = Stream{};
  s.live = true;
  s.hash = hash;
  s.st.exporter = key.exporter;
  s.st.format = key.format;
  s.st.domain = key.domain;
  const WireFormat* f = format_by_id(key.format);
  s.st.loss_in_datagrams = f != nullptr && f->sequence_in_datagrams;
  if (f != nullptr && f->engine_domain) {
    s.st.engine_type = static_cast<uint8_t>(key.domain >> 8);
    s.st.engine_id = static_cast<uint8_t>(key.domain);
  }
  s.st.first_seen_ms = now_ms;
  s.st.last_seen_ms = now_ms;
  slots_[pos] = Slot{idx, static_cast<uint32_t>(hash)};
  ++created_;
  return idx;
}

uint32_t SequenceTracker::find(const StreamKey& key) const {
  bool found = false;
  const size_t pos = probe(key, key_hash(key), &found);
  return found ? slots_[pos].idx : kNoStream;
}

bool SequenceTracker::detect_includes_current(Stream* s, const SeqInput& in) const {
  StreamStats& st = s->st;
  if (!in.count_known || !s->prev_known) {
    s->quirk_votes = 0;
    return false;
  }
  const bool rfc = in.sequence == s->prev_seq + s->prev_count;
  const bool current = in.sequence == s->prev_seq + in.count;
  if (rfc == current) {
    // Both (equal counts: no evidence either way) or neither (loss or
    // reordering): neither reading is shown wrong by this message alone;
    // neither restarts the detection.
    if (!rfc) s->quirk_votes = 0;
    return false;
  }
  if (current != s->includes_current) {
    if (s->quirk_votes == 0 && current)
      s->checkpoint = Checkpoint{st.lost_flows, st.gaps, st.reordered, st.late_flows,
                                 st.duplicates};
    ++s->quirk_votes;
  } else {
    s->quirk_votes = 0;
  }
  if (s->quirk_votes < kQuirkConfirm) return false;
  s->quirk_votes = 0;
  s->includes_current = current;
  if (!current) {
    st.quirks &= static_cast<uint8_t>(~kStreamQuirkSequenceIncludesCurrent);
    RF_LOG_INFO("exporter %s IPFIX domain %u: sequence numbers follow RFC 7011 again",
                st.exporter.str().c_str(), st.domain);
    return false;
  }
  // Confirmed: undo what the votes' messages were counted as under the RFC
  // reading, and continue from this message read as seq - count.
  const Checkpoint& c = s->checkpoint;
  st.lost_flows = c.lost_flows;
  st.gaps = c.gaps;
  st.reordered = c.reordered;
  st.late_flows = c.late_flows;
  st.duplicates = c.duplicates;
  s->ngaps = 0;
  st.next_sequence = in.sequence;
  st.quirks |= kStreamQuirkSequenceIncludesCurrent;
  if (!s->quirk_logged) {
    s->quirk_logged = true;
    RF_LOG_INFO("exporter %s IPFIX domain %u: its sequence numbers include each message's own "
                "records (one message off RFC 7011, as softflowd sends them); read as "
                "sequence - records from now on (quirk %s)",
                st.exporter.str().c_str(), st.domain,
                stream_quirk_name(kStreamQuirkSequenceIncludesCurrent));
  }
  return true;
}

SeqResult SequenceTracker::observe(uint32_t idx, const SeqInput& in, int64_t now_ms) {
  Stream& s = streams_[idx];
  SeqResult res = classify(&s, in, now_ms);
  s.prev_seq = in.sequence;
  s.prev_count = in.count;
  s.prev_known = in.count_known;
  return res;
}

SeqResult SequenceTracker::classify(Stream* sp, const SeqInput& in, int64_t now_ms) {
  Stream& s = *sp;
  StreamStats& st = s.st;
  const int64_t boot_ms = in.export_ms - in.sys_uptime_ms;
  ++st.datagrams;
  st.flows += in.records;
  st.last_seen_ms = now_ms;
  st.sampling_raw = in.sampling_raw;
  st.sampling_interval = in.sampling_interval;
  if (in.export_ms != 0) {
    st.clock_offset_ms = in.export_ms - now_ms;
    st.has_clock = true;
  }
  if (!s.synced) {
    s.synced = true;
    reset_stream(&s, in, in.sequence, boot_ms);
    return {SeqClass::kNewStream, 0};
  }
  if (const WireFormat* f = format_by_id(st.format);
      f != nullptr && f->sequence_quirk_includes_current && detect_includes_current(&s, in)) {
    s.cand.open = false;
    return {SeqClass::kInOrder, 0};
  }
  // The sequence as RFC 7011 means it.
  const uint32_t seq = s.includes_current ? in.sequence - in.count : in.sequence;

  const int32_t up_delta = static_cast<int32_t>(in.sys_uptime_ms - st.sys_uptime_ms);
  const bool rebooted =
      in.has_uptime && up_delta < 0 && boot_ms - s.latest_boot_ms > kRestartSlackMs;
  const uint32_t fwd = seq - st.next_sequence;   // distance ahead, mod 2^32
  const uint32_t back = st.next_sequence - seq;  // distance behind, mod 2^32
  const int32_t d = static_cast<int32_t>(fwd);

  SeqResult res;
  if (rebooted || (d > 0 && fwd > reset_threshold_) || (d < 0 && back > reorder_window_)) {
    ++st.resets;
    reset_stream(&s, in, seq, boot_ms);
    return {SeqClass::kReset, 0};
  }
  if (s.resync) {
    // The previous datagram's count was unknown: whatever it held, this one
    // says where the stream is now.
    ++st.resyncs;
    reset_stream(&s, in, seq, boot_ms);
    return {SeqClass::kResync, 0};
  }
  if (d < 0) {
    // Behind: late if it fills a remembered gap, else a duplicate. A datagram
    // behind never moves next nor the latest uptime (it is older news),
    // unless it confirms a restart candidate.
    const Checkpoint before{st.lost_flows, st.gaps, st.reordered, st.late_flows, st.duplicates};
    prune_gaps(&s);
    uint32_t filled = fill_gaps(&s, seq, in.count);
    if (filled) {
      st.lost_flows -= std::min<uint64_t>(filled, st.lost_flows);
      ++st.reordered;
      st.late_flows += filled;
      res = {SeqClass::kLate, filled};
    } else {
      ++st.duplicates;
      res = {SeqClass::kDuplicate, 0};
    }
    if (feed_candidate(&s, seq, in.count, filled == 0, before)) {
      confirm_restart(&s, in, seq, boot_ms);
      return {SeqClass::kReset, 0};
    }
    return res;
  }
  s.cand.open = false;  // in order or ahead: the datagrams behind were what they seemed
  if (d > 0) {
    st.lost_flows += fwd;
    ++st.gaps;
    add_gap(&s, st.next_sequence, fwd);
    res = {SeqClass::kGap, fwd};
  }
  st.next_sequence = seq + in.count;
  s.resync = !in.count_known;
  if (in.has_uptime && up_delta > 0) {
    st.uptime_wraps += in.sys_uptime_ms < st.sys_uptime_ms;  // forward across 2^32
    st.sys_uptime_ms = in.sys_uptime_ms;
    s.latest_boot_ms = boot_ms;
  }
  return res;
}

SeqResult SequenceTracker::observe(const IpAddr& exporter, const v5::Header& h, int64_t now_ms) {
  StreamKey key;
  key.exporter = exporter;
  key.format = kFormatV5;
  key.domain = uint32_t{h.engine_type} << 8 | h.engine_id;
  const uint32_t idx = find_or_add(key, now_ms);
  if (idx == kNoStream) return {SeqClass::kTableFull, 0};
  SeqInput in;
  in.sequence = h.flow_sequence;
  in.count = h.count;
  in.has_uptime = true;
  in.sys_uptime_ms = h.sys_uptime_ms;
  in.export_ms = export_time_ms(h);
  in.records = h.count;
  in.sampling_raw = h.sampling_raw;
  in.sampling_interval = sampling_.interval(exporter, h);
  return observe(idx, in, now_ms);
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

void SequenceTracker::remove(uint32_t idx) {
  erase_slot(slot_of_index(idx));
  streams_[idx].live = false;
  free_.push_back(idx);
  --size_;
}

void SequenceTracker::snapshot(std::vector<StreamStats>* out) const {
  for (const Stream& s : streams_)
    if (s.live) out->push_back(s.st);
}

SequenceTrackerStats SequenceTracker::stats() const {
  SequenceTrackerStats s;
  s.active = size_;
  s.capacity = max_streams_;
  s.streams_created = created_;
  s.streams_expired = expired_;
  s.streams_evicted = evicted_;
  s.table_full = table_full_;
  return s;
}

const StreamStats* SequenceTracker::find(const IpAddr& exporter, uint8_t engine_type,
                                         uint8_t engine_id) const {
  StreamKey key;
  key.exporter = exporter;
  key.format = kFormatV5;
  key.domain = uint32_t{engine_type} << 8 | engine_id;
  const uint32_t idx = find(key);
  return idx == kNoStream ? nullptr : &streams_[idx].st;
}

}  // namespace ringflow
