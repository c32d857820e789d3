#include "decode/exporter_snapshot.h"

namespace ringflow {

ExporterSnapshotPublisher::ExporterSnapshotPublisher() {
  for (auto& b : pool_) b = std::make_shared<ExporterSnapshot>();
}

ExporterSnapshot* ExporterSnapshotPublisher::begin() {
  // A buffer only the pool holds is neither published nor read: a reader
  // gets a reference only through current_, which holds the published one.
  for (size_t i = 0; i < kBuffers; ++i) {
    if (pool_[i].use_count() != 1) continue;
    // use_count() is a relaxed load; the acquire fence pairs it with the
    // last reader's release of its reference (an acq_rel decrement), so
    // that reader's reads happen before the writes below.
    std::atomic_thread_fence(std::memory_order_acquire);
    filling_ = static_cast<int>(i);
    pool_[i]->clear();
    return pool_[i].get();
  }
  filling_ = -1;
  return nullptr;
}

void ExporterSnapshotPublisher::publish() {
  if (filling_ < 0) return;
  current_.store(std::shared_ptr<const ExporterSnapshot>(pool_[filling_]));
  filling_ = -1;
}

void AddressRejectTable::add(const IpAddr& exporter, Reject r) {
  const size_t reason = static_cast<size_t>(r);
  if (reason >= kRejectReasons) return;
  // The address of the previous reject first: a flood of bad datagrams
  // usually comes from one exporter.
  if (last_ < table_.size() && table_[last_].exporter == exporter) {
    ++table_[last_].by_reason[reason];
    return;
  }
  for (size_t i = 0; i < table_.size(); ++i) {
    if (table_[i].exporter == exporter) {
      ++table_[i].by_reason[reason];
      last_ = i;
      return;
    }
  }
  if (table_.size() == ExporterSnapshot::kMaxRejectAddresses) {
    ++other_;
    return;
  }
  last_ = table_.size();
  table_.emplace_back();
  table_.back().exporter = exporter;
  ++table_.back().by_reason[reason];
}

void AddressRejectTable::copy_to(ExporterSnapshot* s) const {
  s->rejects.assign(table_.begin(), table_.end());
  s->rejects_other = other_;
}

}  // namespace ringflow
