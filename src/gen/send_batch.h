// A batch of datagrams on their way to one sendmmsg() call (or a few, one per
// socket): pre-allocated buffers the generator fills in place, plus what each
// entry carries so the ground truth can be corrected if the kernel refuses it.
//
// Buffers are allocated once (capacity x kBufSize bytes); clear() and push()
// never allocate, so the send loop is allocation-free. An entry may point at
// another entry's buffer (a duplicate is the same bytes sent twice).
//
// Thread safety: owned by one sender thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringflow::gen {

// Largest datagram the generator builds: 24 + 48*32 (count_too_large) < 2048.
inline constexpr size_t kBufSize = 2048;

struct Outgoing {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  uint32_t stream = 0;     // the sender thread's local stream index
  int32_t malformed = -1;  // -1 = a valid v5 datagram, else a MalformedClass
  uint32_t flows = 0;      // records (valid datagrams only)
  uint64_t packets = 0, bytes = 0;
};

class SendBatch {
 public:
  explicit SendBatch(size_t capacity) : storage_(capacity * kBufSize), entries_(capacity) {}

  size_t capacity() const { return entries_.size(); }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  void clear() { n_ = 0; }

  // The buffer of the next entry (kBufSize bytes), to build a datagram into
  // before push(). REQUIRES: size() < capacity().
  uint8_t* scratch() { return &storage_[n_ * kBufSize]; }

  // Appends an entry. REQUIRES: size() < capacity(); data stays valid until
  // the batch is sent (it is scratch() or an earlier entry's data).
  Outgoing& push(const uint8_t* data, uint32_t len, uint32_t stream) {
    Outgoing& o = entries_[n_++];
    o = Outgoing{};
    o.data = data;
    o.len = len;
    o.stream = stream;
    return o;
  }

  const Outgoing& operator[](size_t i) const { return entries_[i]; }

 private:
  std::vector<uint8_t> storage_;
  std::vector<Outgoing> entries_;
  size_t n_ = 0;
};

}  // namespace ringflow::gen
