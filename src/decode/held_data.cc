#include "decode/held_data.h"

#include <algorithm>
#include <cstring>

namespace ringflow {

HeldData::HeldData(const DecodeConfig& cfg, uint32_t first_buf, uint32_t slot_size,
                   uint32_t streams, SessionCounters& counters)
    : first_buf_(first_buf),
      slot_size_(std::max<uint32_t>(slot_size, 1)),
      timeout_ms_(int64_t{cfg.held_timeout_s} * 1000),
      bytes_per_stream_(cfg.held_bytes_per_stream),
      counters_(counters),
      streams_(streams) {
  const uint64_t slots = cfg.held_bytes / slot_size_;
  slots_ =
      static_cast<uint32_t>(std::min<uint64_t>(slots, first_buf_ < 65536 ? 65536 - first_buf_ : 0));
  held_.resize(slots_);
  bytes_.resize(size_t{slots_} * slot_size_);
  free_.reserve(slots_);
  for (uint32_t i = slots_; i-- > 0;) free_.push_back(i);
  ready_.reserve(slots_);
  ready_exporter_.resize(slots_);
}

bool HeldData::hold(uint32_t stream, uint16_t template_id, const uint8_t* body, size_t len,
                    const TimeContext& tc, int64_t now_ms) {
  Stream& s = streams_[stream];
  if (slots_ == 0) {
    counters_.set_drops[static_cast<size_t>(SetDrop::kNoTemplate)].add();
    return false;
  }
  if (s.bytes + len > bytes_per_stream_) {
    ++s.stats.refused;
    counters_.hold_drops[static_cast<size_t>(HoldDrop::kStreamLimit)].add();
    return false;
  }
  if (free_.empty() || len > slot_size_) {
    ++s.stats.refused;
    counters_.hold_drops[static_cast<size_t>(HoldDrop::kPoolFull)].add();
    return false;
  }
  const uint32_t slot = free_.back();
  free_.pop_back();
  Slot& h = held_[slot];
  h.state = State::kHeld;
  h.serial = serial_;
  h.stream = stream;
  h.template_id = template_id;
  h.len = static_cast<uint16_t>(len);
  h.held_ms = now_ms;
  h.time = tc;
  h.next = kNil;
  h.prev = s.tail;
  if (s.tail != kNil)
    held_[s.tail].next = slot;
  else
    s.head = slot;
  s.tail = slot;
  s.bytes += len;
  ++s.stats.held;
  std::memcpy(bytes_.data() + size_t{slot} * slot_size_, body, len);
  ++used_;
  total_bytes_ += len;
  counters_.held_sets.add();
  counters_.held_bytes.set(total_bytes_);
  return true;
}

void HeldData::unlink(uint32_t slot) {
  Slot& h = held_[slot];
  Stream& s = streams_[h.stream];
  if (h.prev != kNil)
    held_[h.prev].next = h.next;
  else
    s.head = h.next;
  if (h.next != kNil)
    held_[h.next].prev = h.prev;
  else
    s.tail = h.prev;
  s.bytes -= h.len;
  h.prev = h.next = kNil;
}

void HeldData::free_slot(uint32_t slot) {
  Slot& h = held_[slot];
  total_bytes_ -= h.len;
  h.state = State::kFree;
  free_.push_back(slot);
  --used_;
  counters_.held_bytes.set(total_bytes_);
}

void HeldData::drop(uint32_t slot, bool expired) {
  if (expired) ++streams_[held_[slot].stream].stats.expired;
  unlink(slot);
  if (expired) {
    counters_.held_expired.add();
    counters_.held_expired_bytes.add(held_[slot].len);
  }
  free_slot(slot);
}

size_t HeldData::take_ready(ReadyDatagram* out, size_t max) {
  size_t n = 0;
  while (n < max && ready_head_ < ready_.size()) {
    const uint16_t buf = ready_[ready_head_++];
    const uint32_t slot = buf - first_buf_;
    out[n].buf = buf;
    out[n].data = bytes_.data() + size_t{slot} * slot_size_;
    out[n].len = held_[slot].len;
    out[n].exporter = ready_exporter_[slot];
    ++n;
  }
  if (ready_head_ == ready_.size()) {
    ready_.clear();
    ready_head_ = 0;
  }
  return n;
}

void HeldData::free_buffer(uint16_t buf) { free_slot(buf - first_buf_); }

void HeldData::expire(int64_t now_ms) {
  if (!used_) return;
  for (uint32_t i = 0; i < slots_; ++i) {
    const Slot& h = held_[i];
    if (h.state == State::kHeld && now_ms - h.held_ms > timeout_ms_) drop(i, true);
  }
}

void HeldData::forget(uint32_t stream) {
  while (streams_[stream].head != kNil) drop(streams_[stream].head, true);
  streams_[stream].stats = HeldStreamStats{};
}

}  // namespace ringflow
