// SharedSlot<T>: one std::shared_ptr<const T> that a single publisher
// replaces and any thread reads. A mutex is held only for the pointer copy or
// the swap (the previous value is released after it), so a reader never
// delays a publisher by more than a reference-count increment.
//
// Why not std::atomic<std::shared_ptr<const T>>: libstdc++ 12 implements it
// with a lock bit inside the control-block pointer, which ThreadSanitizer
// cannot see, so every store/load pair is reported as a data race (the stop 24
// CI rehearsal: the Exporters and Top pages' snapshots). A std::mutex is
// visible to it, and the publishers here run once a second (the reactor's
// tick) or once per flush, never per datagram.
//
// Thread safety: load() and store() from any threads.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace ringflow {

template <class T>
class SharedSlot {
 public:
  std::shared_ptr<const T> load() const {
    std::lock_guard<std::mutex> g(m_);
    return p_;
  }
  void store(std::shared_ptr<const T> p) {
    {
      std::lock_guard<std::mutex> g(m_);
      p_.swap(p);
    }
    // p (the previous value) is released here, outside the lock.
  }

 private:
  mutable std::mutex m_;
  std::shared_ptr<const T> p_;
};

}  // namespace ringflow
