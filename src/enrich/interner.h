// Interner: string -> small dense integer id, for enriched names (network,
// site, role, tenant, AS organisation, ...), so that an aggregation key holds
// a fixed-width id instead of a string, and sinks turn the id back into text.
//
// Ids are dense from 0; id 0 (kEmptyId) is the empty string, which is also
// what str() gives for "unknown": a sink prints it as empty, never as a
// made-up name. Ids are APPEND-ONLY for the life of the Interner: a string
// keeps its id across every reload of the tables that use it, and an id is
// never reused. So a record enriched against an old table version, printed
// by a sink after the swap, still names the right string. The cost is that
// strings dropped by a reload stay (bounded by max_strings / max_bytes; a
// refused intern() is reported by the caller, see networks_csv.h).
//
// Sharing across threads: ONE Interner per process, owned by whoever owns
// the enrichment tables, and outliving every reader.
//   - Writer side (intern(), find()): any thread, serialised by a mutex;
//     used while building tables (off the hot path) and by a filter compiler.
//   - Reader side (str(), size()): any thread, no lock, no allocation. An id
//     is published by a release store of the count after its bytes and its
//     entry are written; str() reads the count with acquire. Published
//     entries and their bytes never move or change (segments and arena
//     blocks are allocated once and never freed before the Interner).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ringflow::enrich {

inline constexpr uint32_t kEmptyId = 0;

class Interner {
 public:
  // max_strings (rounded up to whole 4096-entry segments) and max_bytes
  // (total string bytes) bound the memory; intern() refuses past them.
  explicit Interner(uint32_t max_strings = 1u << 22, size_t max_bytes = size_t{256} << 20);
  Interner(const Interner&) = delete;
  Interner& operator=(const Interner&) = delete;

  // The id of s, added if new. nullopt when the Interner is full (the
  // string is then not added). The empty string is always kEmptyId.
  std::optional<uint32_t> intern(std::string_view s);
  // The id of s if present; never adds.
  std::optional<uint32_t> find(std::string_view s) const;

  // Hot-path side: the string of a published id; empty for kEmptyId and for
  // an id not (yet) published. The view lives as long as the Interner.
  std::string_view str(uint32_t id) const noexcept {
    if (id >= count_.load(std::memory_order_acquire)) return {};
    const Entry* seg = dir_[id >> kSegmentBits].load(std::memory_order_relaxed);
    const Entry& e = seg[id & (kSegment - 1)];
    return {e.data, e.size};
  }
  // Number of published ids (including kEmptyId).
  uint32_t size() const noexcept { return count_.load(std::memory_order_acquire); }
  // Memory held: string bytes (arena blocks), entries and the lookup map.
  size_t memory_bytes() const;

 private:
  static constexpr unsigned kSegmentBits = 12;
  static constexpr uint32_t kSegment = 1u << kSegmentBits;
  static constexpr size_t kBlock = 64 * 1024;
  struct Entry {
    const char* data;
    uint32_t size;
  };
  const char* store_bytes(std::string_view s);  // REQUIRES: mu_ held

  uint32_t max_strings_;
  size_t max_bytes_;
  mutable std::mutex mu_;
  std::unique_ptr<std::atomic<Entry*>[]> dir_;  // max_strings_ / kSegment slots
  std::vector<std::unique_ptr<Entry[]>> segments_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_used_ = kBlock;                          // bytes used in blocks_.back()
  size_t bytes_ = 0;                                    // string bytes stored
  size_t arena_bytes_ = 0;                              // bytes allocated for them
  std::unordered_map<std::string_view, uint32_t> ids_;  // views into blocks_
  std::atomic<uint32_t> count_{0};
};

}  // namespace ringflow::enrich
