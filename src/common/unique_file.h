// UniqueFile: owns one stdio stream (FILE*), closed by fclose() on
// destruction, the way UniqueFd owns a descriptor and UniqueDir a DIR*.
// close_file() closes it early and reports whether the buffered data reached
// the file, which the destructor cannot: callers that write use it.
//
// Thread safety: none (a value owned by one thread).
#pragma once

#include <cstdio>
#include <memory>

namespace ringflow {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using UniqueFile = std::unique_ptr<std::FILE, FileCloser>;

// Flushes and closes f; f is empty afterwards. true when there was nothing to
// close or fclose() succeeded (errno is set when it did not).
inline bool close_file(UniqueFile& f) {
  if (!f) return true;
  return std::fclose(f.release()) == 0;
}

}  // namespace ringflow
