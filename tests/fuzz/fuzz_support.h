// What the fuzz targets and their corpus tools share (tests/fuzz/):
//   FUZZ_CHECK(cond)            traps on a broken invariant (libFuzzer reports
//                               it as a crash, with the input);
//   templated_fuzz_config()     the small ordered-stage bounds of the
//                               templated targets, so that bounds and expiry
//                               are reached within one input, and the states
//                               the seed tool saves fit the target that loads them;
//   for_each_datagram(...)      walks an input of the templated corpus: byte 0
//                               (the decode path), then per datagram a 2-byte
//                               big-endian length and its bytes (the last one
//                               cut at the input's end).
#pragma once

#include <cstddef>
#include <cstdint>

#include <ringflow/config.h>

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

namespace ringflow::fuzz {

inline DecodeConfig templated_fuzz_config() {
  DecodeConfig cfg;
  cfg.max_streams = 8;
  cfg.max_templates = 64;
  cfg.max_templates_per_stream = 32;
  cfg.held_bytes = 16 * 1024;
  cfg.held_bytes_per_stream = 8 * 1024;
  cfg.held_timeout_s = 2;
  cfg.template_timeout_s = 10;
  cfg.stream_idle_timeout_s = 10;
  return cfg;
}

// Calls f(p, len) for each datagram of the input, in order.
template <class F>
void for_each_datagram(const uint8_t* data, size_t size, F&& f) {
  size_t off = 1;
  while (off + 2 <= size) {
    const size_t len = size_t{data[off]} << 8 | data[off + 1];
    off += 2;
    const size_t take = len < size - off ? len : size - off;
    f(data + off, take);
    off += take;
  }
}

}  // namespace ringflow::fuzz
