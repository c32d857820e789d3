#include "common/fd_limit.h"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/dir_list.h"
#include "common/unique_file.h"

namespace ringflow {
namespace {

uint64_t as_u64(rlim_t v) { return v == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(v); }

// fs.nr_open: the most RLIMIT_NOFILE may be set to (an "unlimited" hard
// limit cannot be copied into the soft one).
uint64_t nr_open() {
  UniqueFile f(std::fopen("/proc/sys/fs/nr_open", "re"));
  unsigned long long v = 0;
  if (f && std::fscanf(f.get(), "%llu", &v) == 1 && v > 0) return v;
  return 1u << 20;  // the kernel's default
}

}  // namespace

FdLimit raise_fd_limit() {
  FdLimit l;
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) {
    l.error = errno;
    return l;
  }
  l.soft_before = l.soft = as_u64(r.rlim_cur);
  l.hard = as_u64(r.rlim_max);
  rlim_t target = r.rlim_max;
  if (target == RLIM_INFINITY) target = static_cast<rlim_t>(nr_open());
  if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < target) {
    rlimit want{target, r.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
      l.error = errno;
      return l;
    }
    l.soft = as_u64(target);
  }
  return l;
}

uint64_t fd_soft_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  return as_u64(r.rlim_cur);
}

uint64_t open_fd_count() {
  UniqueDir d(opendir("/proc/self/fd"));
  if (!d) return 0;
  uint64_t n = 0;
  while (dirent* e = readdir(d.get()))
    if (e->d_name[0] != '.') ++n;
  return n > 0 ? n - 1 : 0;  // less the directory stream's own descriptor
}

uint32_t connection_budget(uint32_t wanted, uint64_t soft, uint64_t open_now, uint64_t reserve) {
  const uint64_t used = open_now + reserve;
  const uint64_t room = soft > used ? soft - used : 0;
  return static_cast<uint32_t>(std::max<uint64_t>(1, std::min<uint64_t>(wanted, room)));
}

std::string describe(const FdLimit& l) {
  auto num = [](uint64_t v) { return v == UINT64_MAX ? std::string("unlimited") : std::to_string(v); };
  std::string s = "soft " + num(l.soft_before);
  if (l.soft != l.soft_before) s += " -> " + num(l.soft);
  s += " (hard " + num(l.hard) + ")";
  if (l.error != 0) s += std::string(": cannot raise: ") + std::strerror(l.error);
  return s;
}

}  // namespace ringflow
