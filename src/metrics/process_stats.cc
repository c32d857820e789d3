#include "metrics/process_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/dir_list.h"
#include "common/unique_file.h"
#include "metrics/family.h"
#include "metrics/prom_writer.h"

namespace ringflow {
namespace {

// Reads a small /proc file into buf (NUL-terminated); false on failure.
bool read_small(const char* path, char* buf, size_t cap) {
  const UniqueFile f(fopen(path, "re"));
  if (!f) return false;
  const size_t n = fread(buf, 1, cap - 1, f.get());
  buf[n] = '\0';
  return n > 0;
}

double boot_time_seconds() {
  // /proc/stat is several KiB; only the "btime" line is needed.
  const UniqueFile f(fopen("/proc/stat", "re"));
  if (!f) return 0;
  char line[512];
  while (fgets(line, sizeof line, f.get())) {
    if (strncmp(line, "btime ", 6) == 0) return strtod(line + 6, nullptr);
  }
  return 0;
}

uint64_t count_fds() {
  const UniqueDir d(opendir("/proc/self/fd"));
  if (!d) return 0;
  uint64_t n = 0;
  while (dirent* e = readdir(d.get())) {
    if (e->d_name[0] != '.') ++n;
  }
  return n > 0 ? n - 1 : 0;  // not the descriptor opendir() itself holds
}

}  // namespace

bool parse_proc_stat(const char* text, long ticks_per_second, long page_size, double boot_time,
                     ProcessStats* out) {
  // "pid (comm) state ppid ...": comm may contain spaces and ')' itself, so
  // the fields start after the LAST ')'.
  const char* p = strrchr(text, ')');
  if (!p || ticks_per_second <= 0) return false;
  ++p;
  // Fields after comm, numbered from 3 (state) as in proc(5):
  // 14 utime, 15 stime, 20 num_threads, 22 starttime, 23 vsize, 24 rss.
  unsigned long long f[25] = {};
  int field = 3;
  while (*p && field <= 24) {
    while (*p == ' ') ++p;
    if (!*p) break;
    char* end = nullptr;
    if (field == 3) {
      end = const_cast<char*>(p);
      while (*end && *end != ' ') ++end;  // the state letter
    } else {
      f[field] = strtoull(p, &end, 10);
      if (end == p) return false;
    }
    p = end;
    ++field;
  }
  if (field <= 24) return false;
  const double tps = static_cast<double>(ticks_per_second);
  out->cpu_seconds = static_cast<double>(f[14] + f[15]) / tps;
  out->threads = f[20];
  out->start_time_seconds = boot_time + static_cast<double>(f[22]) / tps;
  out->virtual_bytes = f[23];
  out->resident_bytes = f[24] * static_cast<unsigned long long>(page_size);
  out->ok = true;
  return true;
}

ProcessStats read_process_stats() {
  ProcessStats s;
  char buf[1024];
  if (read_small("/proc/self/stat", buf, sizeof buf))
    parse_proc_stat(buf, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), boot_time_seconds(), &s);
  s.open_fds = count_fds();
  return s;
}

void write_process_metrics(PromWriter& w, std::string_view backend) {
  w.family("ringflow_build_info", kGauge,
           "Always 1; the labels name the version and the receive backend in use.");
  w.sample({{"version", RINGFLOW_VERSION}, {"backend", backend}}, uint64_t{1});
  ProcessStats ps = read_process_stats();
  if (ps.ok) {
    w.family("process_start_time_seconds", kGauge, "Start time of the process, Unix seconds.");
    w.sample(ps.start_time_seconds);
    w.family("process_cpu_seconds_total", kCounter, "User and system CPU time, seconds.");
    w.sample(ps.cpu_seconds);
    w.family("process_resident_memory_bytes", kGauge, "Resident memory, bytes.");
    w.sample(ps.resident_bytes);
    w.family("process_virtual_memory_bytes", kGauge, "Virtual memory, bytes.");
    w.sample(ps.virtual_bytes);
    w.family("process_open_fds", kGauge, "Open file descriptors.");
    w.sample(ps.open_fds);
  }
}

}  // namespace ringflow
