#include "common/cpu_list.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace ringflow {
namespace {

// One CPU number of an item; "" or the reason.
std::string parse_cpu(std::string_view s, uint32_t* out) {
  if (s.empty()) return "empty CPU number";
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  std::string why;
  if (ec != std::errc() || p != s.data() + s.size()) {
    why.append("'").append(s).append("' is not a CPU number");
  } else if (v >= kMaxCpus) {
    why.append("CPU ").append(s).append(" is out of range 0..").append(std::to_string(kMaxCpus - 1));
  }
  if (!why.empty()) return why;
  *out = static_cast<uint32_t>(v);
  return "";
}

}  // namespace

std::string parse_cpu_list(std::string_view text, std::vector<uint32_t>* cpus) {
  std::vector<uint32_t> out;
  if (text.empty()) return "empty CPU list";
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    if (item.empty()) return "empty item in CPU list";
    const size_t dash = item.find('-');
    uint32_t lo = 0, hi = 0;
    std::string why = parse_cpu(item.substr(0, dash), &lo);
    if (why.empty()) why = dash == std::string_view::npos ? "" : parse_cpu(item.substr(dash + 1), &hi);
    if (!why.empty()) return why;
    if (dash == std::string_view::npos) hi = lo;
    if (hi < lo) return "range " + std::string(item) + " runs backwards";
    for (uint32_t c = lo; c <= hi; ++c) out.push_back(c);
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  *cpus = std::move(out);
  return "";
}

std::string format_cpu_list(const std::vector<uint32_t>& cpus) {
  std::string s;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!s.empty()) s += ',';
    s += std::to_string(cpus[i]);
    if (j > i) s += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return s;
}

std::vector<uint32_t> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<uint32_t> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (uint32_t c = 0; c < kMaxCpus; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

bool pin_thread(pthread_t t, const std::vector<uint32_t>& cpus, std::string* error) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t c : cpus)
    if (c < kMaxCpus) CPU_SET(c, &set);
  const int r = pthread_setaffinity_np(t, sizeof set, &set);
  if (r != 0) {
    *error = "pthread_setaffinity_np(" + format_cpu_list(cpus) + "): " + std::strerror(r);
    return false;
  }
  return true;
}

}  // namespace ringflow
