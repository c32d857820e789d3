// File-descriptor budget: the soft RLIMIT_NOFILE raised to the hard limit at
// start-up, and the share of it a connection-serving component (the metrics
// HTTP server) may take without starving the sinks.
//
// Why: with the distribution default soft limit (1,024) about 1,000 idle HTTP
// connections made the csv sink's openat() fail with EMFILE and intervals were
// lost (issue 26 item 7). The collector therefore (1) raises the soft limit to
// the hard one (packaging/ringflow.service sets LimitNOFILE), and (2) caps the
// HTTP server's connections at what is left after a reserve for the sinks.
//
// Thread safety: raise_fd_limit() once, from the main thread, at start-up;
// the others are pure or read /proc and may run anywhere.
#pragma once

#include <cstdint>
#include <string>

namespace ringflow {

struct FdLimit {
  uint64_t soft_before = 0;  // the soft limit found
  uint64_t soft = 0;         // the soft limit now
  uint64_t hard = 0;
  int error = 0;             // errno of a failed getrlimit/setrlimit, else 0
};

// Sets the soft RLIMIT_NOFILE to the hard limit (capped at what the kernel
// accepts, fs.nr_open, for an "unlimited" hard limit). Never lowers it.
FdLimit raise_fd_limit();

// The soft limit now (RLIM_INFINITY is reported as UINT64_MAX).
uint64_t fd_soft_limit();

// Descriptors open in this process now (/proc/self/fd); 0 when unreadable.
uint64_t open_fd_count();

// Descriptors the sinks keep in reserve: a file sink holds its directory,
// one file being written and one directory listing (retention); ClickHouse
// holds a few HTTP sockets and spool files. A generous fixed share plus a
// per-sink share, so that their needs never meet a full table.
constexpr uint64_t kSinkFdReserveBase = 64;
constexpr uint64_t kSinkFdReservePerSink = 16;
constexpr uint64_t sink_fd_reserve(uint64_t sinks) {
  return kSinkFdReserveBase + kSinkFdReservePerSink * sinks;
}

// How many connections a server may hold: `wanted`, lowered so that
// `open_now` + connections + `reserve` stays within `soft` (at least 1, so
// that monitoring keeps one way in). Pure.
uint32_t connection_budget(uint32_t wanted, uint64_t soft, uint64_t open_now, uint64_t reserve);

// "soft 1024 -> 524288 (hard 524288)" for the start-up log line.
std::string describe(const FdLimit& l);

}  // namespace ringflow
