// StreamTable: the exporter streams one reactor tracks ((exporter address,
// version, domain): v5 engine, v9 source id, IPFIX observation domain),
// their admission, their eviction when idle, and the copy of their state
// published for other threads.
//
// Owns: the SequenceTracker (src/decode/sequence_tracker.h: each stream's
// index, sequence and loss), the AddressQuota of streams per exporter
// address and the RefusedAddresses it refused (src/decode/address_quota.h),
// and the published snapshot. A stream's index is stable until it expires;
// the other pieces of the ordered stage (TemplateStore, StreamOptions,
// HeldData) key their per-stream state by it, and expire() tells the caller
// which index is going (before it is reused) so they forget it. Memory is
// fixed at construction.
//
// Called by: the reactor thread (its Sessions) for admit(), expire(),
// publish() and tracker(); any thread for streams_snapshot(),
// tracker_stats() and refused_snapshot(), which read what publish() copied
// under a mutex the reactor only try-locks (a round it misses is published
// at the next).
//
// Bad input, counted in SessionCounters: a new stream of an address that
// already has decode.max_streams_per_address, stream_quota_refusals (and by
// address in RefusedAddresses); a new stream when decode.max_streams are
// tracked is refused uncounted here (kNoStream with quota_refused() false:
// the caller counts it as it counts its datagram).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/streams.h>

#include "decode/address_quota.h"
#include "decode/sequence_tracker.h"
#include "decode/session_counters.h"

namespace ringflow {

class StreamTable {
 public:
  static constexpr uint32_t kNoStream = SequenceTracker::kNoStream;

  StreamTable(const DecodeConfig& cfg, SessionCounters& counters);
  StreamTable(const StreamTable&) = delete;
  StreamTable& operator=(const StreamTable&) = delete;

  // The stream of `key`, added when new if the address quota and the table
  // allow; kNoStream when refused (quota_refused() says whether for the
  // quota, which is counted with its address). Updates last_seen.
  uint32_t admit(const StreamKey& key, int64_t now_ms);
  bool quota_refused() const { return quota_refused_; }

  uint32_t find(const StreamKey& key) const { return tracker_.find(key); }
  uint32_t capacity() const { return tracker_.capacity(); }
  const StreamStats& stream(uint32_t idx) const { return tracker_.stream(idx); }
  SequenceTracker& tracker() { return tracker_; }
  const AddressQuota& quota() const { return quota_; }

  // Removes the streams silent for too long (SequenceTracker::expire),
  // calling on_forget(index) for each before its index can be reused.
  template <class F>
  void expire(int64_t now_ms, F&& on_forget) {
    tracker_.expire(now_ms, [&](uint32_t idx) {
      quota_.release(tracker_.stream(idx).exporter);
      on_forget(idx);
    });
  }

  // Copies the streams, the tracker's totals and the refused addresses for
  // the readers below; never waits for a reader.
  void publish();
  void streams_snapshot(std::vector<StreamStats>* out) const;
  SequenceTrackerStats tracker_stats() const;
  void refused_snapshot(std::vector<AddressRefusals>* out, uint64_t* other) const;

 private:
  SessionCounters& counters_;
  SequenceTracker tracker_;
  AddressQuota quota_;          // streams per exporter address
  RefusedAddresses refused_;    // datagrams refused by the quota, by address
  bool quota_refused_ = false;  // the last admit() was refused for the quota

  std::vector<StreamStats> scratch_;
  mutable std::mutex snapshot_mu_;
  std::vector<StreamStats> snapshot_;
  SequenceTrackerStats tracker_snapshot_{};
  std::vector<AddressRefusals> refused_snapshot_;
  uint64_t refused_other_snapshot_ = 0;
};

}  // namespace ringflow
