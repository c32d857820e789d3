// Mapping: owns one anonymous memory mapping (the receive buffer slabs, the
// io_uring provided-buffer ring, aggregation tables); unmaps it on
// destruction, so a multi-step setup that fails half-way leaks nothing.
// Move-only. The one owner type for mmap'd memory in every stage, as
// UniqueFd (common/unique_fd.h) is for descriptors.
//
// Thread safety: a plain owner; one thread at a time.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <utility>

namespace ringflow {

// Anonymous, private, page-aligned memory (zero-filled by the kernel).
class Mapping {
 public:
  Mapping() = default;
  ~Mapping() { reset(); }
  Mapping(Mapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  // false (errno set) when the kernel refuses the mapping. populate: fault
  // every page in now (MAP_POPULATE), so that the first use of each does not
  // stall the thread that owns it later (the receive buffers: ~2200 faults
  // of a reactor's first 4096 datagrams otherwise).
  bool map(size_t size, bool populate = false) {
    reset();
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
    if (p == MAP_FAILED) return false;
    addr_ = p;
    size_ = size;
    return true;
  }
  void reset() {
    if (addr_) ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
  }
  void* get() const { return addr_; }
  size_t size() const { return size_; }

 private:
  void* addr_ = nullptr;  // nullptr = empty
  size_t size_ = 0;
};

}  // namespace ringflow
