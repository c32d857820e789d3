// Writing a whole small file so that a reader (or a restart after a crash)
// sees either the old content or the new, never a mix: write a temporary
// file beside it, fsync it, rename it over the target, fsync the directory.
// For state files (src/pipeline/collector.cc keeps v9/IPFIX templates across
// restarts); the sinks' interval files have their own, directory-fd based
// writer (src/sink/file_sink.cc).
//
// Thread safety: pure function of its arguments (the file system aside).
#pragma once

#include <string>
#include <string_view>

namespace ringflow {

// Replaces `path` with `data`. False and *error ("open PATH: reason") on
// failure; the target is then unchanged and no temporary file is left.
bool write_file_atomic(const std::string& path, std::string_view data, std::string* error);

}  // namespace ringflow
