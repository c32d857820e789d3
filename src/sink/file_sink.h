// FileSink: the csv and jsonl sinks. One file per flushed batch in
// output.directory, named by the batch's interval start (UTC, sortable):
//   flows-20240102T030400Z.csv            a complete interval
//   flows-20240102T030400Z-partial.csv    the final interval at shutdown
//   flows-20240102T030400Z-2.csv          name taken already (e.g. restart
//                                         within one interval): -2, -3, ...
// (".jsonl" for JSON lines.) A file is written as "<name>.tmp", fsync'ed,
// renamed to its name (never replacing an existing file), then the directory
// is fsync'ed: a reader that ignores *.tmp never sees half a file, and a
// crash leaves either the old state or the complete file.
//
// Retention: with keep = N > 0, after each file the sink deletes the oldest
// of its files (flows-*.<ext>, sorted by name = by time) beyond N.
//
// The sink holds the directory open (O_DIRECTORY) and creates files relative
// to it. reopen() (SIGHUP) re-creates the directory path if needed and opens
// it again: after logrotate moved the directory away, new files go to the
// configured path. A write that finds the directory gone reopens it once by
// itself.
//
// Thread safety: one thread (the flusher).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sink/row_format.h"
#include "sink/sink.h"
#include "common/unique_fd.h"

namespace ringflow {

class FileSink : public Sink {
 public:
  FileSink(std::string name, std::string directory, uint32_t keep, FileFormat format);

  // Creates the directory (and parents) and opens it. Start-up check:
  // false + *error when the directory cannot be created or opened.
  bool open(std::string* error);

  const std::string& name() const override { return name_; }
  bool write(const FlushBatch& batch) override;
  void reopen() override;
  void close() override { dir_.reset(); }
  std::string last_error() const override { return last_error_; }

  const std::string& directory() const { return directory_; }
  const char* extension() const { return format_ == FileFormat::kCsv ? ".csv" : ".jsonl"; }
  // "flows-20240102T030400Z[-partial]<ext>" for a batch starting at start_ms.
  std::string file_name(int64_t start_ms, bool partial) const;
  // Files this sink owns in its directory, sorted oldest first.
  std::vector<std::string> list_files() const;

 private:
  bool open_dir();
  bool fail(const std::string& what, int err);
  bool write_all(int fd, const std::string& data);
  bool publish(const std::string& tmp, const std::string& final_name);
  void enforce_retention();

  std::string name_;
  std::string directory_;
  uint32_t keep_;
  FileFormat format_;
  UniqueFd dir_;
  RowFormatter formatter_;
  std::string buf_;  // reused: one chunk of formatted rows
  std::string last_error_;
};

}  // namespace ringflow
