// Spool: a bounded, crash-safe FIFO of INSERT bodies on disk, where the
// clickhouse sink keeps the batches it could not deliver until the server
// answers again. It survives a restart: open() finds the files of the
// previous run and they are replayed first.
//
// Layout: one file per entry in the spool directory, named by a 20-digit
// sequence number ("00000000000000000042.rfspool"), so that name order is
// FIFO order. An entry is written as "<seq>.tmp", fsync'ed, renamed, then the
// directory is fsync'ed: after a crash a file is either complete or absent
// (leftover *.tmp files are deleted by open()). File format (little-endian):
//
//   0  magic "RFCHSP01"          8
//   8  batch_id                  u64   the id every row of the payload carries
//   16 rows                      u64
//   24 start_ms                  i64   interval start (for logs)
//   32 columns_len               u32
//   36 reserved (0)              u32
//   40 payload_len               u64
//   48 checksum                  u64   over bytes 0..47, columns, payload
//   56 columns (the INSERT column list the payload was encoded for), payload
//
// A file that fails these checks (short, bad magic, lengths that do not add
// up to the file size, checksum) is never replayed and never crashes the
// reader: it is renamed to "<name>.corrupt", counted and reported once.
//
// Bound: the sum of the entry files' sizes never exceeds max_bytes; an
// append that would cross it is refused (kFull) and the caller counts the
// loss. Files set aside (.corrupt, .rejected) are outside the bound.
//
// Thread safety: one producer thread calls append(), one consumer thread
// calls read_front()/pop_front()/set_aside_front(); the index is guarded by
// a mutex and the getters may be called from any thread. The front file is
// only ever removed by the consumer, so it is read without the lock.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "common/unique_fd.h"

namespace ringflow {

struct SpoolRecord {
  uint64_t batch_id = 0;
  uint64_t rows = 0;
  int64_t start_ms = 0;
  std::string columns;  // the INSERT column list of the payload
  std::string payload;  // RowBinary rows
};

class Spool {
 public:
  static constexpr size_t kHeaderBytes = 56;

  Spool() = default;
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Creates dir (and its parents), deletes *.tmp leftovers and indexes the
  // entries of a previous run (a file whose header is unreadable is set
  // aside as .corrupt). false + *error when the directory cannot be used.
  bool open(const std::string& dir, uint64_t max_bytes, std::string* error);

  enum class Append { kOk, kFull, kError };
  // Writes rec as the newest entry; durable when it returns kOk.
  Append append(const SpoolRecord& rec, std::string* error);

  enum class Read { kOk, kEmpty, kCorrupt, kError };
  // Reads the oldest entry into *out (reusing its buffers). kCorrupt: the
  // file was set aside (*error names it and why) and is no longer the front;
  // call again. kError: an I/O error; the entry stays.
  Read read_front(SpoolRecord* out, std::string* error);
  // Deletes the oldest entry (delivered).
  bool pop_front(std::string* error);
  // Renames the oldest entry to "<name>.<suffix>" and drops it from the
  // index (e.g. "rejected": the server will never take it).
  bool set_aside_front(const char* suffix, std::string* error);

  size_t entries() const;
  uint64_t bytes() const;   // sum of the entries' file sizes
  uint64_t rows() const;    // sum of the entries' rows
  uint64_t corrupt() const;  // files set aside as corrupt since open()
  uint64_t max_bytes() const { return max_bytes_; }
  const std::string& dir() const { return dir_; }

  // The file name of entry `seq`.
  static std::string file_name(uint64_t seq);
  // Encodes / decodes one file's bytes (exposed for tests). decode returns
  // false + *why on any inconsistency.
  static void encode(const SpoolRecord& rec, std::string* out);
  static bool decode(const std::string& file, SpoolRecord* out, std::string* why);

 private:
  struct Entry {
    uint64_t seq;
    uint64_t bytes;
    uint64_t rows;
  };
  bool set_aside(const std::string& name, const char* suffix, std::string* error);

  std::string dir_;
  UniqueFd dir_fd_;
  uint64_t max_bytes_ = 0;

  mutable std::mutex mu_;
  std::deque<Entry> index_;  // oldest first
  uint64_t next_seq_ = 1;
  uint64_t bytes_ = 0;
  uint64_t rows_ = 0;
  uint64_t corrupt_ = 0;
  std::string scratch_;  // producer's encode buffer (reused)
};

}  // namespace ringflow
