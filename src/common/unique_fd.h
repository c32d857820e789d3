// UniqueFd: owns one file descriptor (socket, eventfd, file, directory);
// closes it on destruction. Move-only. The one owner type for descriptors in
// every stage.
//
// Thread safety: none (a value owned by one thread).
#pragma once

#include <unistd.h>

#include <utility>

namespace ringflow {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes the current descriptor (if any) and takes fd. Returns close()'s
  // result for the old one (0 when there was none).
  int reset(int fd = -1) {
    int r = 0;
    if (fd_ >= 0) r = ::close(fd_);
    fd_ = fd;
    return r;
  }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace ringflow
