// Move-only owners for the OS resources of the receive path: a file
// descriptor (eventfd, probe sockets) and an anonymous memory mapping (buffer
// slabs, the io_uring provided-buffer ring). Each releases its resource in
// its destructor, so a multi-step setup that fails half-way leaks nothing.
//
// Thread safety: plain owners; one thread at a time.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <utility>

#include "common/unique_fd.h"

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

  // false (errno set) when the kernel refuses the mapping.
  bool map(size_t size) {
    reset();
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
