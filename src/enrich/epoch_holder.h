// EpochHolder<T>: holds the current version of an immutable table (Networks,
// an MmdbFile, ...) and swaps in a new one atomically while readers keep
// looking up. Readers never lock, never allocate and never wait; the writer
// frees an old version only once no reader can still be using it.
//
// Reader side (a worker): register once, off the hot path
//     EpochHolder<Networks>::Reader r = holder.reader();   // may lock, once
// then per batch of records
//     { auto g = r.enter(); const Networks* t = g.get(); ... t->lookup(a) ... }
// Every lookup made through one guard uses ONE version: a batch is never
// half old, half new. enter() is a load of the global epoch, one seq_cst
// store into the reader's own cache line and a load of the pointer (~20 ns
// on x86 for the store's fence: once per batch, not per record); the guard's
// end is a release store. Guards do not nest; a Reader belongs to one
// thread.
//
// Writer side (a reload thread; publish() and reclaim() serialise on a
// mutex, which no reader ever takes): publish(next) exchanges the pointer,
// advances the global epoch to E and retires the old version tagged E.
//
// Reclamation (epoch-based): a reader in a guard shows the epoch it read at
// enter(), 0 when outside. A version retired at E is freed once every
// reader shows 0 or an epoch >= E: such a reader entered after the
// exchange (all of these accesses are seq_cst, so a reader whose epoch
// store comes after the writer's scan also loads the pointer after the
// exchange) and so holds the new version or a later one. publish() and
// reclaim() free what they can and never wait; a retired version outlives
// the longest guard open at its swap, by at most one publish()/reclaim()
// call. The destructor frees everything (REQUIRES: no Reader left).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace ringflow::enrich {

template <class T>
class EpochHolder {
  struct alignas(64) Slot {
    std::atomic<uint64_t> epoch{0};  // 0: not in a guard
    std::atomic<bool> used{false};
  };

 public:
  static constexpr size_t kMaxReaders = 256;

  class Guard {
   public:
    Guard(Guard&& o) noexcept : slot_(std::exchange(o.slot_, nullptr)), ptr_(o.ptr_) {}
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    Guard& operator=(Guard&&) = delete;
    ~Guard() {
      if (slot_) slot_->epoch.store(0, std::memory_order_release);
    }
    // The version this guard reads; nullptr when none was ever published.
    const T* get() const noexcept { return ptr_; }
    const T* operator->() const noexcept { return ptr_; }

   private:
    friend class EpochHolder;
    Guard(Slot* s, const T* p) : slot_(s), ptr_(p) {}
    Slot* slot_;
    const T* ptr_;
  };

  class Reader {
   public:
    Reader() = default;
    Reader(Reader&& o) noexcept
        : holder_(std::exchange(o.holder_, nullptr)), slot_(std::exchange(o.slot_, nullptr)) {}
    Reader& operator=(Reader&& o) noexcept {
      if (this != &o) {
        release();
        holder_ = std::exchange(o.holder_, nullptr);
        slot_ = std::exchange(o.slot_, nullptr);
      }
      return *this;
    }
    ~Reader() { release(); }
    explicit operator bool() const { return slot_ != nullptr; }

    // REQUIRES: a registered Reader, no guard of it open.
    Guard enter() const noexcept {
      slot_->epoch.store(holder_->epoch_.load(std::memory_order_seq_cst),
                         std::memory_order_seq_cst);
      return Guard(slot_, holder_->current_.load(std::memory_order_seq_cst));
    }

   private:
    friend class EpochHolder;
    Reader(EpochHolder* h, Slot* s) : holder_(h), slot_(s) {}
    void release() {
      if (slot_) slot_->used.store(false, std::memory_order_release);
      slot_ = nullptr;
      holder_ = nullptr;
    }
    EpochHolder* holder_ = nullptr;
    Slot* slot_ = nullptr;
  };

  explicit EpochHolder(std::unique_ptr<const T> initial = nullptr) : current_(initial.release()) {}
  EpochHolder(const EpochHolder&) = delete;
  EpochHolder& operator=(const EpochHolder&) = delete;
  ~EpochHolder() {
    delete current_.load();
    for (auto& r : retired_) delete r.ptr;
  }

  // A reader slot; an empty Reader when kMaxReaders are registered.
  Reader reader() {
    for (auto& s : slots_) {
      bool expected = false;
      if (s.used.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
        s.epoch.store(0, std::memory_order_relaxed);
        return Reader(this, &s);
      }
    }
    return Reader();
  }

  // Swaps `next` in; the old version is retired and freed when safe.
  void publish(std::unique_ptr<const T> next) {
    std::lock_guard lock(mu_);
    const T* old = current_.exchange(next.release(), std::memory_order_seq_cst);
    const uint64_t e = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
    if (old) retired_.push_back({old, e});
    publishes_.fetch_add(1, std::memory_order_relaxed);
    reclaim_locked();
  }
  // Frees every retired version no reader can still hold; returns how many
  // are still waiting for a reader to leave its guard.
  size_t reclaim() {
    std::lock_guard lock(mu_);
    return reclaim_locked();
  }
  uint64_t publishes() const { return publishes_.load(std::memory_order_relaxed); }
  uint64_t freed() const { return freed_.load(std::memory_order_relaxed); }

  // The current version, for the writer's own use (tests, a reload that
  // diffs against it). A reader uses Reader::enter().
  const T* current_unsafe() const { return current_.load(); }

 private:
  struct Retired {
    const T* ptr;
    uint64_t epoch;
  };
  size_t reclaim_locked() {
    uint64_t oldest = UINT64_MAX;  // the oldest epoch a reader is in
    for (auto& s : slots_) {
      const uint64_t e = s.epoch.load(std::memory_order_seq_cst);
      if (e != 0 && e < oldest) oldest = e;
    }
    size_t kept = 0;
    for (auto& r : retired_) {
      if (r.epoch <= oldest) {
        delete r.ptr;
        freed_.fetch_add(1, std::memory_order_relaxed);
      } else {
        retired_[kept++] = r;
      }
    }
    retired_.resize(kept);
    return kept;
  }

  std::atomic<const T*> current_;
  std::atomic<uint64_t> epoch_{1};  // readers show 0 when outside a guard
  Slot slots_[kMaxReaders];
  std::mutex mu_;
  std::vector<Retired> retired_;
  std::atomic<uint64_t> publishes_{0}, freed_{0};
};

}  // namespace ringflow::enrich
