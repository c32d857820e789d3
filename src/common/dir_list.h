// Directory listing on an open directory descriptor, with one owner for the
// DIR* it needs: list_dir() dups the descriptor (fdopendir takes ownership of
// the one it is given, and the caller keeps its own), reads every entry from
// the top, and closes the stream however it returns.
//
// Thread safety: a pure function of the directory; the dup shares the file
// offset with dir_fd, so two threads must not list the same descriptor at
// once (callers list from one thread, or under their own lock).
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace ringflow {

// Owns a DIR* (closedir on destruction).
struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;

// Appends the name of every entry of the directory open as dir_fd except
// "." and ".." to *names (in readdir order). false with errno set when the
// directory cannot be read (*names is then unchanged).
inline bool list_dir(int dir_fd, std::vector<std::string>* names) {
  UniqueFd dup_fd(::dup(dir_fd));
  if (!dup_fd.valid()) return false;
  UniqueDir d(::fdopendir(dup_fd.get()));
  if (!d) {
    const int e = errno;
    dup_fd.reset();
    errno = e;
    return false;
  }
  dup_fd.release();  // the DIR* owns it now
  // The dup shares the directory offset with dir_fd: start from the top.
  ::rewinddir(d.get());
  while (dirent* e = ::readdir(d.get())) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names->emplace_back(e->d_name);
  }
  return true;
}

}  // namespace ringflow
