// TopKeeper: the Top page's data (issue 24; docs/api.md, GET /api/v1/top):
// for every flushed interval, the top-K rows of each projection of the
// aggregation key, and the last N intervals of them.
//
// Projections (docs/api.md lists them): "key" (the whole aggregation key),
// "src_addr", "dst_addr", "proto_port" (dst_port and protocol) and
// "exporter"; then one per other field of aggregate.key, named by the field
// ("src_port", "protocol", "src_as_name", "in_if_name", ...), so the Top page
// ranks by any key field, enriched ones included. A projection is available
// when aggregate.key has all of its fields; otherwise the API answers 400
// naming what is missing. Rows of a
// projection are merged on their projected fields: a narrow (IPv4) and a wide
// row with the same IPv4 source are one src_addr row. Projected keys are held
// in the wide layout of a projection schema (addresses as 16 bytes, IPv4
// v4-mapped), so they render with format_key_field().
//
// What is kept per projection and interval: the union of the top K rows by
// bytes, by packets and by flows (ties broken by the key, so the choice is
// deterministic), with their three counters; plus the interval's totals and
// how many distinct projected rows it had. So the top of any one interval is
// exact for every sort; a sum over several intervals is exact for a row in
// every interval's kept set, and exact for all rows when no interval had more
// than K distinct rows (the API says which: "complete").
//
// Memory (bounded, never grows with the traffic): at most 3 x K rows x
// projections x N intervals; a row is 40 bytes plus its projected key (8 to
// 112 bytes). The default 5-tuple key (7 projections: keys of 40, 16, 16
// and four of 8 bytes) with K = 1000 and N = 30 (the defaults): at most
// 3000 x (80 + 2 x 56 + 4 x 48) bytes x 30 = 34.6 MB, when every sort picks
// different rows; far less when the orders overlap, as they mostly do.
// docs/api.md states the bound. The flusher's scratch tables (AggTable, one
// per projection but the key) grow with the projected keys of a batch (at
// most its rows) and keep their size.
//
// Threads: add() runs on the flusher thread, off the hot path, from the rows
// it already merged (called after the sinks, before the tables go back to the
// workers). It publishes an immutable TopSnapshot through an atomic
// shared_ptr: the flusher never waits for a reader (a reader holds only a
// pointer copy), and a reader never sees a half-built interval. snapshot()
// may be called from any thread.
#pragma once

#include "common/shared_slot.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <ringflow/flow_key.h>

#include "aggregate/agg_table.h"
#include "aggregate/flush_batch.h"

namespace ringflow {

enum class TopSort : uint8_t { kBytes, kPackets, kFlows };
inline constexpr size_t kTopSorts = 3;
const char* top_sort_name(TopSort s);

struct TopProjection {
  std::string name;                // "key", "src_addr", ...
  std::vector<std::string> needs;  // the key fields it projects on
  bool available = false;          // aggregate.key has every field of `needs`
  std::vector<size_t> from;        // index in the aggregation schema of each field
  KeySchema schema;                // the projected fields, laid out wide
  uint32_t words = 1;              // schema.key_words(kWide)
  // How each field moves from a row's key (per layout) to the projected key.
  struct Op {
    uint8_t from[2];   // byte offset in the row's key, narrow and wide
    uint8_t width[2];  // bytes in the row's key (4 narrow, 16 wide for record addresses)
    uint8_t to;        // byte offset in the projected key
    bool address;      // 16 bytes in the projected key (a 4-byte one is IPv4, v4-mapped)
  };
  std::vector<Op> ops;
};

// One kept row of one projection in one interval.
struct TopRow {
  uint64_t hash;          // of the projected key
  uint32_t key;           // offset (in words) of the projected key in the pool
  uint64_t v[kTopSorts];  // bytes, packets, flows (TopSort order)
};

struct TopSet {
  std::vector<TopRow> rows;    // the union of the top K by each sort
  std::vector<uint64_t> keys;  // key pool: rows[i].key .. + projection words
  uint64_t distinct = 0;       // projected rows of the interval (kept or not)
  bool complete() const { return rows.size() == distinct; }
};

struct TopInterval {
  int64_t start_ms = 0, end_ms = 0;
  bool partial = false, late = false;
  uint64_t v[kTopSorts] = {};         // totals of every row, overflow included
  uint64_t overflow[kTopSorts] = {};  // of which the overflow row (keys that found the table full)
  std::vector<TopSet> sets;           // per projection (empty set when unavailable)
};

struct TopSnapshot {
  std::vector<std::shared_ptr<const TopInterval>> intervals;  // oldest first
};

// One candidate of the selection: its key (words, compared word by word for
// ties) and its counters.
struct TopCandidate {
  const uint64_t* key;
  uint32_t words;
  uint8_t layout;
  uint64_t v[kTopSorts];
};
// The candidates to keep: the union of the first k of each sort, where a sort
// orders by its counter, largest first, then by (layout, key words)
// ascending. Returns their indices in ascending order. All when k >= size.
std::vector<uint32_t> select_top(std::span<const TopCandidate> c, uint32_t k);
// a before b in sort s (the order above).
bool top_before(const TopCandidate& a, const TopCandidate& b, TopSort s);

class TopKeeper {
 public:
  // k: rows per sort per projection and interval; intervals: how many are
  // kept; max_rows: the most rows a batch can have (the merge tables').
  TopKeeper(const KeySchema& schema, uint32_t k, uint32_t intervals, uint64_t max_rows);
  TopKeeper(const TopKeeper&) = delete;
  TopKeeper& operator=(const TopKeeper&) = delete;

  // Flusher thread: adds the batch's interval and publishes a new snapshot.
  void add(const FlushBatch& b);

  std::shared_ptr<const TopSnapshot> snapshot() const {
    return snap_.load();
  }
  const std::vector<TopProjection>& projections() const { return proj_; }
  const KeySchema& schema() const { return schema_; }
  uint32_t k() const { return k_; }
  uint32_t capacity() const { return capacity_; }
  // The flusher thread's time in the last add() (ns).
  uint64_t last_add_ns() const { return last_ns_.load(std::memory_order_relaxed); }

 private:
  void project_all(const FlushBatch& b, TopInterval* iv);
  void keep(const TopProjection& p, std::span<const TopCandidate> c, TopSet* out);

  KeySchema schema_;
  uint32_t k_, capacity_;
  std::vector<TopProjection> proj_;
  std::vector<std::unique_ptr<AggTable>> tables_;         // per projection; null for "key"
  std::vector<TopCandidate> cand_;                        // scratch
  std::vector<uint64_t> scratch_;                         // canonical keys of "key"'s candidates
  std::vector<std::shared_ptr<const TopInterval>> ring_;  // flusher's copy, oldest first
  SharedSlot<TopSnapshot> snap_;
  std::atomic<uint64_t> last_ns_{0};
};

// Writes row `key` (laid out as `from` at `layout`) projected on p's fields
// into out[p.words] (wide layout of p.schema). Exposed for tests.
void project_key(const KeySchema& schema, const TopProjection& p, uint8_t layout,
                 const uint8_t* key, uint64_t* out);

}  // namespace ringflow
