#include "receive/dispatch.h"

#include <time.h>

#include <algorithm>

#include "common/clock.h"

namespace ringflow {

Dispatcher::Dispatcher(const ReceiveConfig& cfg, uint32_t reactor, uint32_t max_batch,
                       Handoff& handoff, ReactorCounters& counters)
    : reactor_(reactor),
      workers_(handoff.workers()),
      max_batch_(max_batch),
      handoff_(handoff),
      counters_(counters),
      allow_(cfg.allow),
      pending_(max_batch),
      target_(max_batch),
      grouped_(max_batch),
      start_(handoff.workers() + 1),
      dropped_(max_batch) {}

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
  handoff_.release(reactor_, d.buf_id);  // TSan only: the buffer is passed on
  pending_[npending_] = d;
  // Rejected datagrams stay in pending_ with target == workers_ so that
  // flush() frees their buffers in the same pass.
  target_[npending_] = allowed(d.exporter) ? route_datagram(d, workers_) : workers_;
  ++npending_;
}

void Dispatcher::flush() {
  ndropped_ = 0;
  if (npending_ == 0) return;
  // Stable counting sort by worker (bucket `workers_` = not allowed).
  std::fill(start_.begin(), start_.end(), 0);
  size_t rejected = 0;
  for (size_t i = 0; i < npending_; ++i) {
    if (target_[i] == workers_) {
      dropped_[ndropped_++] = pending_[i].buf_id;
      ++rejected;
    } else {
      ++start_[target_[i] + 1];
    }
  }
  if (rejected) counters_.not_allowed.add(rejected);
  for (uint32_t w = 0; w < workers_; ++w) start_[w + 1] += start_[w];
  // start_[w] is now the first slot of worker w; use it as a cursor and
  // restore it afterwards from the cursor of worker w-1.
  for (size_t i = 0; i < npending_; ++i)
    if (target_[i] != workers_) grouped_[start_[target_[i]]++] = pending_[i];
  size_t handed = 0, full = 0;
  size_t begin = 0;
  for (uint32_t w = 0; w < workers_; ++w) {
    const size_t end = start_[w];
    const size_t n = end - begin;
    if (n == 0) continue;
    auto& q = handoff_.queue(w);
    const DatagramRef* first = grouped_.data() + begin;
    if (q.try_enqueue_bulk(producers_[w], first, n)) {
      handed += n;
    } else {
      // Bulk enqueue is all-or-nothing; hand off as many as fit, in order,
      // and drop the tail.
      size_t k = 0;
      while (k < n && q.try_enqueue(producers_[w], first[k])) ++k;
      handed += k;
      full += n - k;
      counters_.queue_full_by_worker[w].add(n - k);
      for (size_t i = k; i < n; ++i) dropped_[ndropped_++] = first[i].buf_id;
    }
    begin = end;
  }
  if (handed) counters_.handed_off.add(handed);
  if (full) counters_.queue_full.add(full);
  npending_ = 0;
}

size_t Dispatcher::take_returns(uint16_t* out, size_t max) {
  size_t n = handoff_.returns(reactor_).try_dequeue_bulk(*returns_, out, max);
  for (size_t i = 0; i < n; ++i) handoff_.acquire(reactor_, out[i]);  // TSan only
  return n;
}

}  // namespace ringflow
