#include "decode/sflow_sources.h"

namespace ringflow {

SflowSources::SflowSources(uint32_t streams) : blocks_(streams) {}

SflowSources::Entry* SflowSources::block(uint32_t stream) {
  std::unique_ptr<Entry[]>& b = blocks_[stream];
  if (!b) b = std::make_unique<Entry[]>(kPerStream);
  return b.get();
}

SflowSources::Result SflowSources::observe(uint32_t stream, uint32_t source_type,
                                           uint32_t source_index, uint32_t sequence,
                                           uint32_t pool, uint32_t drops) {
  Result r;
  Entry* base = block(stream);
  Entry* free = nullptr;
  Entry* e = nullptr;
  // The used entries are a prefix of the block (a source takes the first
  // free entry; forget() frees them all), so the first free one ends the search.
  for (size_t i = 0; i < kPerStream; ++i) {
    Entry& c = base[i];
    if (!c.used) {
      free = &c;
      break;
    }
    if (c.type == source_type && c.index == source_index) {
      e = &c;
      break;
    }
  }
  if (e == nullptr) {
    if (free == nullptr) {
      r.seen = Seen::kTableFull;
      return r;
    }
    *free = Entry{source_type, source_index, sequence + 1, pool, drops, true};
    r.seen = Seen::kNew;
    return r;
  }
  const uint32_t d = sequence - e->next;  // mod 2^32
  if (e->restarted) {
    e->restarted = false;
    r.seen = Seen::kReset;
  } else if (d == 0) {
    r.seen = Seen::kInOrder;
  } else if (static_cast<int32_t>(d) > 0 && d <= kMaxGap) {
    r.seen = Seen::kGap;
    r.lost = d;
  } else if (static_cast<int32_t>(d) < 0 && uint32_t{0} - d <= kReorderWindow) {
    r.seen = Seen::kLate;
    return r;
  } else {
    r.seen = Seen::kReset;
  }
  if (r.seen != Seen::kReset) {
    r.pool_delta = pool - e->pool;
    r.drops_delta = drops - e->drops;
  }
  e->next = sequence + 1;
  e->pool = pool;
  e->drops = drops;
  return r;
}

void SflowSources::restarted(uint32_t stream) {
  if (!blocks_[stream]) return;
  Entry* base = blocks_[stream].get();
  for (size_t i = 0; i < kPerStream; ++i) base[i].restarted = base[i].used;
}

void SflowSources::forget(uint32_t stream) {
  if (!blocks_[stream]) return;
  Entry* base = blocks_[stream].get();
  for (size_t i = 0; i < kPerStream; ++i) base[i] = Entry{};
}

size_t SflowSources::sources(uint32_t stream) const {
  if (!blocks_[stream]) return 0;
  const Entry* base = blocks_[stream].get();
  size_t n = 0;
  for (size_t i = 0; i < kPerStream; ++i) n += base[i].used;
  return n;
}

}  // namespace ringflow
