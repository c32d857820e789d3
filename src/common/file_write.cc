#include "common/file_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace ringflow {

bool write_file_atomic(const std::string& path, std::string_view data, std::string* error) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const char* what, const std::string& name, int err) {
    *error = std::string(what) + " " + name + ": " + std::strerror(err);
    ::unlink(tmp.c_str());
    return false;
  };
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    *error = "open " + tmp + ": " + std::strerror(errno);
    return false;
  }
  for (size_t off = 0; off < data.size();) {
    const ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write", tmp, n < 0 ? errno : EIO);
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("fsync", tmp, errno);
  if (fd.reset() != 0) return fail("close", tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename", tmp, errno);
  // Make the rename durable.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.valid()) ::fsync(d.get());
  return true;
}

}  // namespace ringflow
