#include "receive/dispatch.h"

#include <time.h>

#include <algorithm>

#include "common/clock.h"

namespace ringflow {

Dispatcher::Dispatcher(const ReceiveConfig& cfg, uint32_t reactor, uint32_t max_batch,
                       Handoff& handoff, ReactorCounters& counters, Admission* admission)
    : reactor_(reactor),
      workers_(handoff.workers()),
      max_batch_(max_batch),
      ring_entries_(cfg.ring_entries),
      handoff_(handoff),
      counters_(counters),
      admission_(admission),
      allow_(cfg.allow),
      by_stream_(cfg.spread == "stream"),
      pending_(max_batch),
      target_(max_batch),
      grouped_(max_batch),
      start_(handoff.workers() + 1),
      dropped_(max_batch),
      late_(max_batch),
      late_target_(max_batch) {}

void Dispatcher::attach() {
  producers_.reserve(workers_);
  for (uint32_t w = 0; w < workers_; ++w) producers_.emplace_back(handoff_.queue(w));
  returns_ = std::make_unique<moodycamel::ConsumerToken>(handoff_.returns(reactor_));
}

void Dispatcher::begin_batch() {
  batch_ns_ = wall_ns();
}

bool Dispatcher::allowed(const IpAddr& a) const {
  if (allow_.empty()) return true;
  for (const Cidr& c : allow_)
    if (c.contains(a)) return true;
  return false;
}

void Dispatcher::offer(DatagramRef d) {
  d.reactor = static_cast<uint8_t>(reactor_);
  d.recv_ns = batch_ns_;
  DatagramRef& p = pending_[npending_];
  p = d;
  // Datagrams that go no further stay in pending_ with a target beyond the
  // workers so that flush() frees their buffers in the same pass.
  uint32_t target;
  if (!allowed(d.exporter)) {
    target = not_allowed_target();
  } else if (admission_ == nullptr) {
    target = route(p);
  } else {
    switch (admission_->admit(p, batch_ns_ / 1000000)) {
      case Admission::Verdict::kHandOff: target = route(p); break;
      case Admission::Verdict::kConsumed:
        counters_.consumed.add();
        target = done_target();
        break;
      default:
        counters_.rejected.add();
        target = done_target();
        break;
    }
  }
  if (target < workers_) handoff_.release(reactor_, d.buf_id);  // TSan only: passed on
  target_[npending_] = target;
  ++npending_;
}

size_t Dispatcher::enqueue(const DatagramRef* items, const uint32_t* targets, size_t n,
                           bool late) {
  // Stable counting sort by worker.
  std::fill(start_.begin(), start_.end(), 0);
  for (size_t i = 0; i < n; ++i) ++start_[targets[i] + 1];
  for (uint32_t w = 0; w < workers_; ++w) start_[w + 1] += start_[w];
  // start_[w] is now the first slot of worker w; used as a cursor, it ends
  // as the first slot of worker w + 1.
  for (size_t i = 0; i < n; ++i) grouped_[start_[targets[i]]++] = items[i];
  size_t handed = 0, full = 0;
  size_t begin = 0;
  for (uint32_t w = 0; w < workers_; ++w) {
    const size_t end = start_[w];
    const size_t k_all = end - begin;
    if (k_all == 0) continue;
    auto& q = handoff_.queue(w);
    const DatagramRef* first = grouped_.data() + begin;
    if (q.try_enqueue_bulk(producers_[w], first, k_all)) {
      handed += k_all;
    } else {
      // Bulk enqueue is all-or-nothing; hand off as many as fit and drop
      // the tail.
      size_t k = 0;
      while (k < k_all && q.try_enqueue(producers_[w], first[k])) ++k;
      handed += k;
      full += k_all - k;
      counters_.queue_full_by_worker[w].add(k_all - k);
      for (size_t i = k; i < k_all; ++i) {
        handoff_.acquire(reactor_, first[i].buf_id);  // TSan only: it stays here
        if (admission_) admission_->release(first[i].buf_id);
        if (!late) dropped_[ndropped_++] = first[i].buf_id;
      }
    }
    begin = end;
  }
  if (late) {
    if (handed) counters_.late_handed_off.add(handed);
    if (full) counters_.late_queue_full.add(full);
  } else {
    if (handed) counters_.handed_off.add(handed);
    if (full) counters_.queue_full.add(full);
  }
  return handed;
}

void Dispatcher::flush() {
  ndropped_ = 0;
  if (npending_ > 0) {
    // Buffers that go no further: recycled, not released (the admission
    // pinned nothing for them).
    size_t not_allowed = 0, w = 0;
    for (size_t i = 0; i < npending_; ++i) {
      if (target_[i] >= workers_) {
        dropped_[ndropped_++] = pending_[i].buf_id;
        not_allowed += target_[i] == not_allowed_target();
      } else {
        pending_[w] = pending_[i];
        target_[w] = target_[i];
        ++w;
      }
    }
    if (not_allowed) counters_.not_allowed.add(not_allowed);
    enqueue(pending_.data(), target_.data(), w, false);
    npending_ = 0;
  }
  // Held data whose template arrived, as datagrams of their own.
  if (admission_ == nullptr) return;
  size_t n;
  while ((n = admission_->take_ready(late_.data(), max_batch_)) > 0) {
    for (size_t i = 0; i < n; ++i) {
      late_[i].reactor = static_cast<uint8_t>(reactor_);
      late_[i].recv_ns = batch_ns_;
      late_target_[i] = route(late_[i]);
      handoff_.release(reactor_, late_[i].buf_id);  // TSan only
    }
    enqueue(late_.data(), late_target_.data(), n, true);
  }
}

size_t Dispatcher::take_returns(uint16_t* out, size_t max) {
  for (;;) {
    const size_t n = handoff_.returns(reactor_).try_dequeue_bulk(*returns_, out, max);
    if (n == 0) return 0;
    size_t ring = 0;
    for (size_t i = 0; i < n; ++i) {
      handoff_.acquire(reactor_, out[i]);  // TSan only
      if (admission_) admission_->release(out[i]);
      if (out[i] < ring_entries_) out[ring++] = out[i];
    }
    if (ring > 0) return ring;
  }
}

}  // namespace ringflow
