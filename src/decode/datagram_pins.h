// DatagramPins: the DatagramMeta of every buffer id of one reactor (its
// receive buffers, then its held-data slots) and the references they hold.
//
// Owns: one DatagramMeta per buffer id, fixed at construction. A meta filled
// for a hand-off holds one reference (src/decode/plan_refs.h) on the plan of
// each of its data sets and one on its stream's sampler set; release()
// drops them when the worker returns the buffer, and the destructor drops
// whatever is still pinned, so a plan or sampler set outlives every datagram
// decoded with it and no more.
//
// Called by: the reactor thread (its Sessions) for release() and the
// writes through meta() (Sessions::admit empties a new datagram's meta); a
// worker reads meta(buf) of a buffer it owns (the hand-off queue orders the
// writes before the reads).
//
// Bad input: none reaches it (buffer ids come from the reactor and the
// held-data pool, both below size()), so it counts nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "decode/datagram_meta.h"
#include "decode/plan_refs.h"

namespace ringflow {

class DatagramPins {
 public:
  explicit DatagramPins(size_t buffers) : meta_(buffers) {}
  ~DatagramPins() {
    for (size_t buf = 0; buf < meta_.size(); ++buf) release(buf);
  }
  DatagramPins(const DatagramPins&) = delete;
  DatagramPins& operator=(const DatagramPins&) = delete;

  size_t size() const { return meta_.size(); }
  DatagramMeta& meta(size_t buf) { return meta_[buf]; }
  const DatagramMeta& meta(size_t buf) const { return meta_[buf]; }

  // Adds a data set decoded with `plan` to m, pinning the plan.
  // REQUIRES: m.nsets < kMaxDataSets.
  static void add_set(DatagramMeta& m, const DecodePlan* plan, uint16_t offset, uint16_t length) {
    pin(plan);
    m.sets[m.nsets++] = SetRef{plan, offset, length};
  }
  // Points m at sampler set `s`, pinning it; nothing when s is nullptr.
  // REQUIRES: m.sampling is nullptr (a new or released meta).
  static void set_sampling(DatagramMeta& m, const SamplerSet* s) {
    if (s) {
      pin(s);
      m.sampling = s;
    }
  }

  // The datagram of `buf` is done with: unpins its plans and sampler set.
  void release(size_t buf) {
    DatagramMeta& m = meta_[buf];
    for (uint8_t i = 0; i < m.nsets; ++i) unpin(m.sets[i].plan);
    m.nsets = 0;
    if (m.sampling) {
      unpin(m.sampling);
      m.sampling = nullptr;
    }
  }

 private:
  std::vector<DatagramMeta> meta_;
};

}  // namespace ringflow
