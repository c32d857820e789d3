#include "decode/stream_table.h"

namespace ringflow {

StreamTable::StreamTable(const DecodeConfig& cfg, SessionCounters& counters)
    : counters_(counters), tracker_(cfg), quota_(tracker_.capacity(), cfg.max_streams_per_address) {
  snapshot_.reserve(tracker_.capacity());
  refused_snapshot_.reserve(RefusedAddresses::kMaxAddresses);
  scratch_.reserve(tracker_.capacity());
}

uint32_t StreamTable::admit(const StreamKey& key, int64_t now_ms) {
  quota_refused_ = false;
  uint32_t idx = tracker_.find(key);
  if (idx != kNoStream) {
    tracker_.stream(idx).last_seen_ms = now_ms;
    return idx;
  }
  if (!quota_.acquire(key.exporter)) {
    quota_refused_ = true;
    counters_.stream_quota_refusals.add();
    refused_.add(key.exporter);
    return kNoStream;
  }
  idx = tracker_.find_or_add(key, now_ms);
  if (idx == kNoStream) quota_.release(key.exporter);
  return idx;
}

void StreamTable::publish() {
  // try_lock, never wait for a reader (a skipped round is retried).
  scratch_.clear();
  tracker_.snapshot(&scratch_);
  std::unique_lock<std::mutex> lock(snapshot_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  snapshot_.swap(scratch_);
  tracker_snapshot_ = tracker_.stats();
  refused_snapshot_.assign(refused_.list().begin(), refused_.list().end());
  refused_other_snapshot_ = refused_.other();
}

void StreamTable::streams_snapshot(std::vector<StreamStats>* out) const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  out->insert(out->end(), snapshot_.begin(), snapshot_.end());
}

SequenceTrackerStats StreamTable::tracker_stats() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return tracker_snapshot_;
}

void StreamTable::refused_snapshot(std::vector<AddressRefusals>* out, uint64_t* other) const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  out->insert(out->end(), refused_snapshot_.begin(), refused_snapshot_.end());
  *other += refused_other_snapshot_;
}

}  // namespace ringflow
