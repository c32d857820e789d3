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
  for (AddressRejects& a : table_) {
    if (a.exporter == exporter) {
      ++a.by_reason[reason];
      return;
    }
  }
  if (table_.size() == ExporterSnapshot::kMaxRejectAddresses) {
    ++other_;
    return;
  }
  table_.emplace_back();
  table_.back().exporter = exporter;
  ++table_.back().by_reason[reason];
}

void AddressRejectTable::copy_to(ExporterSnapshot* s) const {
  s->rejects.assign(table_.begin(), table_.end());
  s->rejects_other = other_;
}

}  // namespace ringflow
