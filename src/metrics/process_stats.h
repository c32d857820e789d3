// ProcessStats: the standard Prometheus process metrics (start time, CPU
// time, resident memory, open descriptors, threads), read from /proc/self the
// way client_golang's process collector does, so that dashboards built for
// any Prometheus target work for ringflow too. write_process_metrics() writes
// them, with ringflow_build_info, as the first families of a scrape.
//
// Thread safety: read_process_stats() is a pure function of /proc; call it
// from any thread. It opens files: not for the hot path (scrape time only).
// write_process_metrics() writes into a caller-owned PromWriter (one thread).
#pragma once

#include <cstdint>
#include <string_view>

namespace ringflow {

class PromWriter;

struct ProcessStats {
  bool ok = false;                  // /proc/self/stat was read and parsed
  double start_time_seconds = 0;    // Unix time the process started
  double cpu_seconds = 0;           // user + system CPU time
  uint64_t resident_bytes = 0;      // RSS
  uint64_t virtual_bytes = 0;
  uint64_t threads = 0;
  uint64_t open_fds = 0;            // entries of /proc/self/fd (0 if unreadable)
};

// Reads /proc/self/stat, /proc/stat (boot time) and /proc/self/fd.
ProcessStats read_process_stats();

// Parses the text of /proc/<pid>/stat given the clock tick rate, page size
// and boot time (Unix seconds). Exposed for tests (the comm field may hold
// spaces and parentheses). false when the text does not parse.
bool parse_proc_stat(const char* text, long ticks_per_second, long page_size, double boot_time,
                     ProcessStats* out);

// Writes ringflow_build_info (version, and `backend`: the receive backend in
// use, a label value only) and the process_* families of read_process_stats().
void write_process_metrics(PromWriter& w, std::string_view backend);

}  // namespace ringflow
