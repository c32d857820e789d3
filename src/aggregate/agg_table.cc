#include "aggregate/agg_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace ringflow {

AggTable::AggTable(uint32_t key_words, uint64_t max_entries, uint64_t initial_entries)
    : key_words_(key_words),
      stride_(key_words + kCounterWords),
      max_entries_(max_entries),
      initial_capacity_(2 * std::min(std::max<uint64_t>(initial_entries, 1), max_entries)) {
  // Slot indices are stored as uint32 in the used lists.
  if (max_capacity() > UINT32_MAX || max_entries == 0 || key_words == 0 ||
      key_words > kMaxKeyWords)
    throw std::bad_alloc();
  if (!map_slots(&cur_, initial_capacity_, false, false) || !map_used(&used_) ||
      !map_used(&old_used_))
    throw std::bad_alloc();
  set_grow_at();
}

AggTable::~AggTable() = default;

size_t AggTable::memory_bytes() const {
  return cur_.mem.size() + old_.mem.size() + (cur_rows_ + old_rows_) * sizeof(uint32_t);
}

uint64_t AggTable::capacity_for(uint64_t rows) const {
  uint64_t c = initial_capacity_;
  while (c < max_capacity() && c / 2 < rows) c *= 2;
  return std::min(c, max_capacity());
}

void AggTable::set_grow_at() {
  // Below max capacity: grow before passing load 0.5. At max capacity the
  // table holds max_entries keys (load <= 0.5 too) and then overflows.
  grow_at_ = cur_.capacity < max_capacity() ? cur_.capacity / 2 : max_entries_;
}

bool AggTable::map_slots(Slots* a, uint64_t capacity, bool huge, bool populate) {
  const size_t bytes = capacity * stride_ * 8;
  Mapping m;
  if (huge) {
    // Whole 2 MiB pages, so that the last part of the table is huge too.
    constexpr size_t kHuge = 2u << 20;
    if (!m.map((bytes + kHuge - 1) / kHuge * kHuge)) return false;
    madvise(m.get(), m.size(), MADV_HUGEPAGE);  // best effort
  } else if (!m.map(bytes)) {
    return false;
  }
  if (populate) {
    // MADV_POPULATE_WRITE (Linux 5.14) faults every page in one call; else
    // touch one byte per page. Anonymous memory is zero: every slot empty.
#ifdef MADV_POPULATE_WRITE
    if (madvise(m.get(), m.size(), MADV_POPULATE_WRITE) != 0)
#endif
    {
      auto* p = static_cast<volatile uint8_t*>(m.get());
      for (size_t off = 0; off < m.size(); off += 4096) p[off] = 0;
    }
  }
  a->mem = std::move(m);
  a->slots = static_cast<uint64_t*>(a->mem.get());
  a->capacity = capacity;
  return true;
}

bool AggTable::map_used(Used* u) {
  // Virtual size for every row; pages are touched only as rows are added.
  if (!u->mem.map(max_entries_ * sizeof(uint32_t))) return false;
  u->ids = static_cast<uint32_t*>(u->mem.get());
  return true;
}

void AggTable::clear() {
  // Only flows marks a slot occupied; keys and other counters are rewritten
  // when the slot is taken again.
  for (uint64_t i = 0; i < cur_rows_; ++i) counters(slot(cur_, used_.at(i)))->flows = 0;
  if (old_.slots) {
    old_.mem.reset();
    old_ = Slots{};
    old_rows_ = mig_ = 0;
  }
  size_ = cur_rows_ = 0;
  overflow_ = AggCounters{};
  saturated_ = 0;
  grow_failed_ = false;
  set_grow_at();
}

bool AggTable::fit(uint64_t rows, size_t huge_bytes) {
  // What the table is sized for: the rows it held, or, when it held fewer,
  // half of what it was sized for before. A quiet interval or two (or a
  // table that took no records because its twin took them) does not throw
  // away a table that the next busy interval needs again.
  recent_rows_ = std::max(rows, recent_rows_ / 2);
  const uint64_t want = capacity_for(recent_rows_);
  // Keep the current size unless it is too small or more than 4x too large.
  uint64_t target = cur_.capacity;
  if (target < want || target > 4 * want) target = want;
  const bool huge = target * stride_ * 8 >= huge_bytes;
  // ... and the current array, unless it is resized or a table big enough
  // for huge pages was not mapped with them.
  if (target == cur_.capacity && (cur_huge_ || !huge)) return true;
  Slots next;
  if (!map_slots(&next, target, huge, true)) return false;
  const bool shrank = target < cur_.capacity;
  cur_ = std::move(next);
  cur_huge_ = huge;
  if (shrank) {
    // The table is empty: the used lists' pages can go back too.
    madvise(used_.mem.get(), used_.mem.size(), MADV_DONTNEED);
    madvise(old_used_.mem.get(), old_used_.mem.size(), MADV_DONTNEED);
  }
  grow_failed_ = false;
  set_grow_at();
  return true;
}

bool AggTable::add_new_at_limit(const uint64_t* key, uint64_t h, const AggCounters& d) {
  if (size_ >= max_entries_ || grow_failed_ || !begin_growth()) {
    if (size_ < max_entries_ && size_ < cur_.capacity * 9 / 10) {
      // No memory to grow: fill this array further rather than overflow.
      uint64_t i = index(h, cur_.capacity);
      while (counters(slot(cur_, i))->flows != 0)
        if (++i == cur_.capacity) i = 0;
      uint64_t* s = slot(cur_, i);
      std::memcpy(s, key, key_words_ * 8);
      *counters(s) = d;
      used_.ids[cur_rows_++] = static_cast<uint32_t>(i);
      ++size_;
      return true;
    }
    saturated_ += overflow_.accumulate(d);
    return false;
  }
  return add_growing(key, h, d);
}

bool AggTable::begin_growth() {
  const uint64_t next_cap = std::min(cur_.capacity * 2, max_capacity());
  const bool huge = next_cap * stride_ * 8 >= kHugeBytes;
  Slots next;
  if (next_cap <= cur_.capacity || !map_slots(&next, next_cap, huge, false)) {
    ++grow_failures_;
    // Do not retry on every record: the next chance is the next clear().
    grow_failed_ = true;
    grow_at_ = std::min(max_entries_, cur_.capacity * 9 / 10);
    return false;
  }
  ++grows_;
  old_ = std::move(cur_);
  cur_ = std::move(next);
  cur_huge_ = huge;
  std::swap(used_, old_used_);
  old_rows_ = cur_rows_;
  cur_rows_ = 0;
  mig_ = 0;
  set_grow_at();
  return true;
}

void AggTable::migrate(uint32_t n) {
  const uint32_t words = key_words_;
  while (n > 0 && mig_ < old_rows_) {
    if (mig_ + 8 < old_rows_) __builtin_prefetch(slot(old_, old_used_.at(mig_ + 8)), 0, 3);
    uint64_t* s = slot(old_, old_used_.at(mig_++));
    AggCounters* c = counters(s);
    if (c->flows == kMoved) continue;  // moved when it was looked up
    --n;
    // Not in cur_ (a key is in exactly one array): the first empty slot.
    uint64_t i = index(hash_key(s, words), cur_.capacity);
    while (counters(slot(cur_, i))->flows != 0)
      if (++i == cur_.capacity) i = 0;
    std::memcpy(slot(cur_, i), s, stride_ * 8);
    used_.ids[cur_rows_++] = static_cast<uint32_t>(i);
    c->flows = kMoved;
  }
  if (mig_ == old_rows_) end_growth();
}

void AggTable::end_growth() {
  old_.mem.reset();
  old_ = Slots{};
  old_rows_ = mig_ = 0;
}

bool AggTable::add_growing(const uint64_t* key, uint64_t h, const AggCounters& d) {
  migrate(kMigrateStep);
  const uint32_t words = key_words_;
  auto equal = [words](const uint64_t* s, const uint64_t* k) {
    bool eq = true;
    for (uint32_t w = 0; w < words; ++w) eq &= s[w] == k[w];
    return eq;
  };
  // 1. The current array.
  uint64_t i = index(h, cur_.capacity);
  for (;;) {
    uint64_t* s = slot(cur_, i);
    AggCounters* c = counters(s);
    if (c->flows == 0) break;
    if (equal(s, key)) {
      saturated_ += c->accumulate(d);
      return true;
    }
    if (++i == cur_.capacity) i = 0;
  }
  // i: the first empty slot of key's chain in cur_.
  // 2. The old array (if the growth did not just end): a hit moves the row.
  if (old_.slots) {
    uint64_t j = index(h, old_.capacity);
    for (;;) {
      uint64_t* s = slot(old_, j);
      AggCounters* c = counters(s);
      if (c->flows == 0) break;
      if (c->flows != kMoved && equal(s, key)) {
        uint64_t* t = slot(cur_, i);
        std::memcpy(t, s, stride_ * 8);
        saturated_ += counters(t)->accumulate(d);
        used_.ids[cur_rows_++] = static_cast<uint32_t>(i);
        c->flows = kMoved;
        return true;
      }
      if (++j == old_.capacity) j = 0;
    }
  }
  // 3. A new key.
  if (size_ >= grow_at_) {
    if (old_.slots) {
      // Cannot happen (a growth ends before the next is due); if it did,
      // finish this one first.
      migrate(UINT32_MAX);
    }
    return add_new_at_limit(key, h, d);
  }
  uint64_t* s = slot(cur_, i);
  std::memcpy(s, key, words * 8);
  *counters(s) = d;
  used_.ids[cur_rows_++] = static_cast<uint32_t>(i);
  ++size_;
  return true;
}

}  // namespace ringflow
