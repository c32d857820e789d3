// UTC time formatting for the sinks, without gmtime_r (which takes the
// timezone lock on every call; the file sinks format two times per row).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>

namespace ringflow {

struct CivilTime {
  int64_t year;
  unsigned month, day, hour, minute, second, millis;
};

// Proleptic Gregorian UTC from ms since the epoch (negative allowed).
inline CivilTime civil_from_ms(int64_t ms) {
  int64_t days = ms / 86400000, rem = ms % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  // Howard Hinnant's days -> civil algorithm.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  CivilTime t;
  t.day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  t.month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * 400 + (t.month <= 2);
  t.hour = static_cast<unsigned>(rem / 3600000);
  t.minute = static_cast<unsigned>(rem / 60000 % 60);
  t.second = static_cast<unsigned>(rem / 1000 % 60);
  t.millis = static_cast<unsigned>(rem % 1000);
  return t;
}

namespace detail {
inline char* put_digits(char* out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return out + n;
}
}  // namespace detail

inline constexpr int kIsoMsLen = 24;  // "2024-01-02T03:04:05.678Z"

// "2024-01-02T03:04:05.678Z"; years outside 0..9999 are clamped (never
// reached by NetFlow times, but keeps the width fixed).
inline char* format_iso_ms(int64_t ms, char* out) {
  CivilTime t = civil_from_ms(ms);
  int64_t y = t.year < 0 ? 0 : t.year > 9999 ? 9999 : t.year;
  out = detail::put_digits(out, static_cast<uint64_t>(y), 4);
  *out++ = '-';
  out = detail::put_digits(out, t.month, 2);
  *out++ = '-';
  out = detail::put_digits(out, t.day, 2);
  *out++ = 'T';
  out = detail::put_digits(out, t.hour, 2);
  *out++ = ':';
  out = detail::put_digits(out, t.minute, 2);
  *out++ = ':';
  out = detail::put_digits(out, t.second, 2);
  *out++ = '.';
  out = detail::put_digits(out, t.millis, 3);
  *out++ = 'Z';
  return out;
}

// "20240102T030405Z": sortable, for file names.
inline char* format_compact_utc(int64_t ms, char* out) {
  CivilTime t = civil_from_ms(ms);
  int64_t y = t.year < 0 ? 0 : t.year > 9999 ? 9999 : t.year;
  out = detail::put_digits(out, static_cast<uint64_t>(y), 4);
  out = detail::put_digits(out, t.month, 2);
  out = detail::put_digits(out, t.day, 2);
  *out++ = 'T';
  out = detail::put_digits(out, t.hour, 2);
  out = detail::put_digits(out, t.minute, 2);
  out = detail::put_digits(out, t.second, 2);
  *out++ = 'Z';
  return out;
}

}  // namespace ringflow
