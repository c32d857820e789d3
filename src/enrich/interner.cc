#include "enrich/interner.h"

#include <algorithm>
#include <cstring>

namespace ringflow::enrich {

Interner::Interner(uint32_t max_strings, size_t max_bytes)
    : max_strings_(((std::max<uint32_t>(max_strings, 1) + kSegment - 1) / kSegment) * kSegment),
      max_bytes_(max_bytes),
      dir_(new std::atomic<Entry*>[max_strings_ / kSegment]) {
  for (uint32_t i = 0; i < max_strings_ / kSegment; ++i) dir_[i].store(nullptr);
  std::lock_guard lock(mu_);
  segments_.emplace_back(new Entry[kSegment]);
  dir_[0].store(segments_.back().get(), std::memory_order_relaxed);
  segments_.back()[0] = Entry{"", 0};
  ids_.emplace(std::string_view(), kEmptyId);
  count_.store(1, std::memory_order_release);
}

const char* Interner::store_bytes(std::string_view s) {
  if (s.size() > kBlock / 4) {  // a long string gets a block of its own
    blocks_.push_back(std::make_unique<char[]>(s.size()));
    arena_bytes_ += s.size();
    // The shared block in use is no longer blocks_.back(): start a new one next time.
    block_used_ = kBlock;
    std::memcpy(blocks_.back().get(), s.data(), s.size());
    return blocks_.back().get();
  }
  if (block_used_ + s.size() > kBlock) {
    blocks_.push_back(std::make_unique<char[]>(kBlock));
    arena_bytes_ += kBlock;
    block_used_ = 0;
  }
  char* p = blocks_.back().get() + block_used_;
  std::memcpy(p, s.data(), s.size());
  block_used_ += s.size();
  return p;
}

std::optional<uint32_t> Interner::intern(std::string_view s) {
  if (s.empty()) return kEmptyId;
  std::lock_guard lock(mu_);
  if (auto it = ids_.find(s); it != ids_.end()) return it->second;
  const uint32_t id = count_.load(std::memory_order_relaxed);
  if (id >= max_strings_ || bytes_ + s.size() > max_bytes_ || s.size() > UINT32_MAX)
    return std::nullopt;
  if ((id >> kSegmentBits) >= segments_.size()) {
    segments_.emplace_back(new Entry[kSegment]);
    dir_[id >> kSegmentBits].store(segments_.back().get(), std::memory_order_relaxed);
  }
  const char* p = store_bytes(s);
  bytes_ += s.size();
  segments_[id >> kSegmentBits][id & (kSegment - 1)] = Entry{p, static_cast<uint32_t>(s.size())};
  ids_.emplace(std::string_view(p, s.size()), id);
  count_.store(id + 1, std::memory_order_release);  // publishes the entry and its bytes
  return id;
}

std::optional<uint32_t> Interner::find(std::string_view s) const {
  if (s.empty()) return kEmptyId;
  std::lock_guard lock(mu_);
  if (auto it = ids_.find(s); it != ids_.end()) return it->second;
  return std::nullopt;
}

size_t Interner::memory_bytes() const {
  std::lock_guard lock(mu_);
  // Each map node: the view, the id, the hash and the next pointer, plus the
  // bucket array (an estimate from the standard layout; the arena is exact).
  const size_t map = ids_.size() * (sizeof(std::string_view) + 4 + 2 * sizeof(void*)) +
                     ids_.bucket_count() * sizeof(void*);
  return arena_bytes_ + segments_.size() * kSegment * sizeof(Entry) + map;
}

}  // namespace ringflow::enrich
