// Big-endian byte loads and stores for wire formats: the one set of helpers
// that both directions use (decoders in src/decode/, encoders in src/gen/).
//
// Every access is a memcpy of exactly the bytes named, byte-swapped to or
// from host order: never a cast of the datagram to a wider type, so there is
// no alignment or aliasing assumption. With a constant size the compiler
// turns each into one load or store plus a swap (movbe on x86-64); a
// byte-by-byte version would be as correct but slower, and defeats
// store-to-load forwarding when the generator patches a record it has just
// written.
//
// REQUIRES (every function): [p, p + size) is readable / writable. Callers
// check the bound once per header or record, not per field.
//
// Thread safety: pure functions on caller-owned memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ringflow::wire {

inline uint16_t load_be16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline uint32_t load_be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t load_be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

// An unsigned big-endian integer of n bytes, 1 <= n <= 8 (IPFIX's reduced-size
// encoding sends counters and identifiers in fewer bytes than their type).
// Returns 0 for n == 0 or n > 8 and reads nothing then.
// REQUIRES: [p, p + n) readable.
inline uint64_t load_be_n(const uint8_t* p, size_t n) {
  switch (n) {
    case 1: return p[0];
    case 2: return load_be16(p);
    case 4: return load_be32(p);
    case 8: return load_be64(p);
    case 3: case 5: case 6: case 7: {
      uint64_t v = 0;
      for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
      return v;
    }
  }
  return 0;
}

inline void store_be16(uint8_t* p, uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void store_be64(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
// The low n bytes (1..8) of v, big-endian. REQUIRES: 1 <= n <= 8.
inline void store_be_n(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

}  // namespace ringflow::wire
