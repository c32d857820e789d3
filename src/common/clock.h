// The clocks of every stage, in one place: monotonic time for deadlines,
// pacing and durations; wall-clock (Unix epoch) time for timestamps, flow
// times and interval boundaries.
//
// Each is one clock_gettime() through the vDSO (no system call). The coarse
// wall clock reads the tick-updated value (1-4 ms resolution, a few ns
// cheaper): for a worker's "now", where milliseconds are plenty.
//
// Thread safety: stateless; callable from any thread and from the hot path
// (no allocation, no lock, no exception).
#pragma once

#include <errno.h>
#include <time.h>

#include <cstdint>

namespace ringflow {

inline int64_t timespec_ns(const timespec& ts) {
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}
inline int64_t timespec_ms(const timespec& ts) {
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

inline timespec clock_now(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts;
}

// CLOCK_MONOTONIC, nanoseconds since an arbitrary start (boot).
inline int64_t monotonic_ns() { return timespec_ns(clock_now(CLOCK_MONOTONIC)); }

// CLOCK_REALTIME, nanoseconds / milliseconds since the Unix epoch.
inline int64_t wall_ns() { return timespec_ns(clock_now(CLOCK_REALTIME)); }
inline int64_t wall_ms() { return timespec_ms(clock_now(CLOCK_REALTIME)); }

// CLOCK_REALTIME_COARSE, milliseconds since the Unix epoch.
inline int64_t wall_ms_coarse() { return timespec_ms(clock_now(CLOCK_REALTIME_COARSE)); }

// Sleeps until monotonic_ns() >= deadline (resumes after signals).
inline void sleep_until_ns(int64_t monotonic_deadline) {
  timespec ts;
  ts.tv_sec = monotonic_deadline / 1000000000;
  ts.tv_nsec = monotonic_deadline % 1000000000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

}  // namespace ringflow
