// CPU lists as Linux writes them ("0-3,8,10-11": /sys/devices/system/cpu/
// online, taskset -c, cpuset.cpus), the CPUs this process may run on, and
// pinning a thread to a list. Used by the receive.reactor_cpus and
// receive.worker_cpus keys (docs/config.md, docs/performance.md).
//
// Thread safety: parse/format are pure; allowed_cpus() and pin_thread() are
// system calls on the calling process / the given thread.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringflow {

// The most CPUs a list may name (glibc's cpu_set_t, CPU_SETSIZE).
inline constexpr uint32_t kMaxCpus = 1024;

// Parses a CPU list: comma-separated CPU numbers and ranges "a-b" (a <= b),
// each below kMaxCpus; no spaces, no empty items. On success fills *cpus
// (sorted, no duplicates) and returns ""; else returns the reason, e.g.
// "range 5-2 runs backwards".
std::string parse_cpu_list(std::string_view text, std::vector<uint32_t>* cpus);

// The shortest list text of sorted CPU numbers: {0,1,2,5} -> "0-2,5".
std::string format_cpu_list(const std::vector<uint32_t>& cpus);

// The CPUs this process may run on (sched_getaffinity), sorted; empty if the
// call fails.
std::vector<uint32_t> allowed_cpus();

// Restricts thread t to `cpus`. false with *error (naming the errno) when the
// kernel refuses, e.g. none of them is allowed or online.
bool pin_thread(pthread_t t, const std::vector<uint32_t>& cpus, std::string* error);

}  // namespace ringflow
