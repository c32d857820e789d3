// ForwardRing: the bounded queue between one reactor (producer) and the
// forwarder thread (consumer) for one target of a forward (forwarder.h).
// Fixed slots of slot_bytes each, allocated once at construction: push()
// copies a datagram (with its encapsulation header, if any) into the next
// free slot, or fails when all are in use (the caller counts queue_full);
// the consumer reads a run of filled slots in place and frees them with
// pop(). Never allocates, locks or blocks after construction.
//
// Thread safety: single producer, single consumer (acquire/release on the
// two indices); the counters: `queue_full`, `moved`, `copies` are the
// producer's, read by anyone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <ringflow/stats.h>

namespace ringflow {

class ForwardRing {
 public:
  // REQUIRES: slots is a power of two.
  ForwardRing(uint32_t slots, uint32_t slot_bytes)
      : mask_(slots - 1), slot_bytes_(slot_bytes), data_(size_t{slots} * slot_bytes), len_(slots) {}

  uint32_t slot_bytes() const { return slot_bytes_; }

  // Producer: [head, head + hlen) then [p, p + len) as one datagram; false
  // when full (or too long for a slot: never, the slot is the largest
  // datagram plus the header).
  bool push(const uint8_t* head, size_t hlen, const uint8_t* p, size_t len) {
    const uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ > mask_) return false;
    }
    if (hlen + len > slot_bytes_) return false;
    uint8_t* s = data_.data() + (t & mask_) * slot_bytes_;
    if (hlen) std::memcpy(s, head, hlen);
    std::memcpy(s + hlen, p, len);
    len_[t & mask_] = static_cast<uint32_t>(hlen + len);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  // Consumer: up to max filled slots from the oldest, as (data, len).
  size_t peek(const uint8_t** data, uint32_t* len, size_t max) {
    const uint64_t h = head_.load(std::memory_order_relaxed);
    const uint64_t t = tail_.load(std::memory_order_acquire);
    size_t n = static_cast<size_t>(t - h);
    if (n > max) n = max;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t k = (h + i) & mask_;
      data[i] = data_.data() + k * slot_bytes_;
      len[i] = len_[k];
    }
    return n;
  }
  // Consumer: frees the n oldest slots (n <= what peek gave).
  void pop(size_t n) {
    head_.store(head_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }

  Counter queue_full;   // producer: datagrams not queued, the ring was full
  Counter moved;        // producer: queued here because the stream's first choice was down
  Counter copies;       // producer: templates-only copies queued (balance)
  Counter target_down;  // producer: not queued, the target is down (replicate)
  Counter not_ipv4;     // producer: transparent, an IPv6 exporter or target: cannot be sent

 private:
  const uint64_t mask_;
  const uint32_t slot_bytes_;
  std::vector<uint8_t> data_;
  std::vector<uint32_t> len_;
  alignas(64) std::atomic<uint64_t> head_{0};  // consumer's
  alignas(64) std::atomic<uint64_t> tail_{0};  // producer's
  uint64_t head_cache_ = 0;                    // producer's view of head_
};

}  // namespace ringflow
