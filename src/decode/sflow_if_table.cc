#include "decode/sflow_if_table.h"

namespace ringflow {
namespace {

constexpr uint64_t kUnknownSpeedLimit = uint64_t{1} << 31;
constexpr uint64_t kTwo32 = uint64_t{1} << 32;

}  // namespace

bool sflow_counter_step32(uint32_t prev, uint32_t cur, uint64_t limit, uint64_t* step) {
  const uint64_t s = static_cast<uint32_t>(cur - prev);
  if (cur < prev && s > limit) return false;
  *step = s;
  return true;
}

bool sflow_counter_step64(uint64_t prev, uint64_t cur, uint64_t limit, uint64_t* step) {
  if (cur >= prev) {
    *step = cur - prev;
    return true;
  }
  if (prev < kTwo32 && cur < kTwo32)
    return sflow_counter_step32(static_cast<uint32_t>(prev), static_cast<uint32_t>(cur), limit,
                                step);
  return false;
}

SflowIfTable::SflowIfTable(size_t capacity, size_t streams)
    : capacity_(capacity), epochs_(streams, 0) {
  size_t n = 16;
  while (n < 2 * capacity) n <<= 1;
  mask_ = n - 1;
  slots_ = std::make_unique<Slot[]>(n);
}

size_t SflowIfTable::home(uint32_t stream, uint32_t if_index) const {
  uint64_t k = (uint64_t{stream} << 32 | if_index) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(k >> 32) & mask_;
}

SflowIfTable::Slot* SflowIfTable::find(uint32_t stream, uint32_t if_index) {
  for (size_t i = home(stream, if_index);; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (!s.used) return nullptr;
    if (s.stream == stream && s.if_index == if_index) return &s;
  }
}

SflowIfTable::Seen SflowIfTable::counters(uint32_t stream, uint32_t uptime_ms, uint32_t sequence,
                                          const GenericIfCounters& c, SflowIfDelta* out) {
  size_t i = home(stream, c.if_index);
  while (slots_[i].used && (slots_[i].stream != stream || slots_[i].if_index != c.if_index))
    i = (i + 1) & mask_;
  Slot& s = slots_[i];
  const uint32_t epoch = stream < epochs_.size() ? epochs_[stream] : 0;
  auto baseline = [&](Seen seen) {
    s.epoch = epoch;
    s.sequence = sequence;
    s.uptime_ms = uptime_ms;
    s.last = c;
    s.acc_in = s.acc_out = 0;
    s.totals.if_speed = c.if_speed;
    return seen;
  };
  if (!s.used) {
    if (used_ >= capacity_) return Seen::kTableFull;
    s = Slot{};
    s.used = true;
    s.stream = stream;
    s.if_index = c.if_index;
    ++used_;
    return baseline(Seen::kBaseline);
  }
  if (s.epoch != epoch) return baseline(Seen::kRestart);  // restarted(stream) since
  const int32_t dseq = static_cast<int32_t>(sequence - s.sequence);
  const int32_t dup = static_cast<int32_t>(uptime_ms - s.uptime_ms);
  if (dseq == 0 && dup == 0) return Seen::kDuplicate;
  const bool uptime_back_far = dup < -kLateMs;
  const bool seq_back_far = dseq <= 0 && -static_cast<int64_t>(dseq) > kReorderWindow;
  const bool seq_jump = dseq > 0 && static_cast<uint32_t>(dseq) > kMaxGap;
  const bool forward_but_younger = dseq > 0 && dup < 0;
  if (uptime_back_far || seq_back_far || seq_jump || forward_but_younger)
    return baseline(Seen::kRestart);
  if (dseq <= 0) return dseq == 0 ? Seen::kDuplicate : Seen::kLate;

  const uint32_t elapsed = static_cast<uint32_t>(dup);
  const uint64_t octet_limit =
      c.if_speed ? c.if_speed / 8 * (uint64_t{elapsed} + 1000) / 1000 : kUnknownSpeedLimit;
  const uint64_t packet_limit = c.if_speed ? octet_limit / 64 + 1 : kUnknownSpeedLimit;
  const GenericIfCounters& p = s.last;
  SflowIfDelta d;
  uint64_t a = 0, b = 0, e = 0;
  bool ok = sflow_counter_step64(p.in_octets, c.in_octets, octet_limit, &d.in_octets) &&
            sflow_counter_step64(p.out_octets, c.out_octets, octet_limit, &d.out_octets);
  ok = ok && sflow_counter_step32(p.in_ucast, c.in_ucast, packet_limit, &a) &&
       sflow_counter_step32(p.in_mcast, c.in_mcast, packet_limit, &b) &&
       sflow_counter_step32(p.in_bcast, c.in_bcast, packet_limit, &e);
  d.in_packets = a + b + e;
  ok = ok && sflow_counter_step32(p.out_ucast, c.out_ucast, packet_limit, &a) &&
       sflow_counter_step32(p.out_mcast, c.out_mcast, packet_limit, &b) &&
       sflow_counter_step32(p.out_bcast, c.out_bcast, packet_limit, &e);
  d.out_packets = a + b + e;
  ok = ok && sflow_counter_step32(p.in_discards, c.in_discards, packet_limit, &d.in_discards) &&
       sflow_counter_step32(p.in_errors, c.in_errors, packet_limit, &d.in_errors) &&
       sflow_counter_step32(p.out_discards, c.out_discards, packet_limit, &d.out_discards) &&
       sflow_counter_step32(p.out_errors, c.out_errors, packet_limit, &d.out_errors);
  if (!ok) return baseline(Seen::kReset);
  d.if_index = c.if_index;
  d.elapsed_ms = elapsed;
  d.if_speed = c.if_speed;
  d.flow_in_bytes = s.acc_in;
  d.flow_out_bytes = s.acc_out;
  Totals& t = s.totals;
  t.in_octets += d.in_octets;
  t.out_octets += d.out_octets;
  t.in_packets += d.in_packets;
  t.out_packets += d.out_packets;
  t.in_discards += d.in_discards;
  t.in_errors += d.in_errors;
  t.out_discards += d.out_discards;
  t.out_errors += d.out_errors;
  t.flow_in_bytes += d.flow_in_bytes;
  t.flow_out_bytes += d.flow_out_bytes;
  *out = d;
  return baseline(Seen::kDelta);
}

void SflowIfTable::flow(uint32_t stream, uint32_t input, uint32_t output, uint64_t bytes) {
  if (used_ == 0) return;
  if (input != 0 && input != sflow::kIfInternal)
    if (Slot* s = find(stream, input)) s->acc_in += bytes;
  if (output != 0 && output != sflow::kIfInternal)
    if (Slot* s = find(stream, output)) s->acc_out += bytes;
}

// Backward-shift deletion keeps every probe chain unbroken without tombstones.
void SflowIfTable::erase(size_t i) {
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    if (!slots_[j].used) break;
    const size_t k = home(slots_[j].stream, slots_[j].if_index);
    // Move slot j into the hole at i if its home is not in (i, j] (cyclically).
    const bool in_between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!in_between) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i].used = false;
  --used_;
}

void SflowIfTable::forget(uint32_t stream) {
  if (used_ == 0) return;
  for (size_t i = 0; i <= mask_; ++i)
    while (slots_[i].used && slots_[i].stream == stream) erase(i);
}

}  // namespace ringflow
