// MMDB lookups (MaxMind GeoLite2/GeoIP2 ASN and Country, DB-IP, IPinfo, ...)
// with libmaxminddb: AS number, AS organisation and country ISO code; city
// name and coordinates only when asked for (MmdbFields; off by default).
//
//   MmdbFile: RAII owner of one opened database (MMDB_s, memory-mapped).
//     Immutable once open, so any number of threads may look up in it;
//     a reload opens a new MmdbFile and swaps it in through an
//     EpochHolder<MmdbFile> (epoch_holder.h). Each open file has a process-
//     unique generation number, which keys the caches below.
//   MmdbReader: one per thread (a worker). Looks up through a small
//     direct-mapped cache keyed by (generation, address), so a repeated
//     address costs a hash, one cache line and a 16-byte compare; a miss
//     walks the database's search tree and decodes the fields (no
//     allocation: libmaxminddb's MMDB_lookup_sockaddr and MMDB_get_value
//     read the mapping in place). Its counters (hits, misses, errors by
//     reason) have one writer and may be read from any thread.
//
// Strings in a result (as_org, city) are views into the mapped file: valid
// while that MmdbFile lives, i.e. while the caller's epoch guard on it is
// open. A cached result of another generation is never returned.
//
// A field absent from a record (a Country database has no ASN) is not an
// error: it is 0 / empty. Errors, counted by MmdbError: the library failed
// the lookup (corrupt tree), an IPv6 address against an IPv4-only database,
// a field that is present but of the wrong type or cannot be decoded, and a
// country code that is not two letters.
#pragma once

#include <maxminddb.h>
#include <ringflow/ip.h>
#include <ringflow/stats.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ringflow::enrich {

class MmdbFile {
 public:
  // The opened database, or nullptr with *error set (file missing, not an
  // MMDB, unsupported version: libmaxminddb's message).
  static std::unique_ptr<MmdbFile> open(const std::string& path, std::string* error);
  ~MmdbFile();
  MmdbFile(const MmdbFile&) = delete;
  MmdbFile& operator=(const MmdbFile&) = delete;

  const MMDB_s* get() const { return &db_; }
  uint64_t generation() const { return generation_; }
  std::string_view database_type() const { return db_.metadata.database_type; }
  bool has_ipv6() const { return db_.metadata.ip_version == 6; }
  size_t file_bytes() const { return static_cast<size_t>(db_.file_size); }

 private:
  MmdbFile() = default;
  MMDB_s db_{};
  uint64_t generation_ = 0;
};

struct MmdbFields {
  bool city = false;         // city.names.en
  bool coordinates = false;  // location.latitude / longitude
};

struct GeoResult {
  bool found = false;             // a network of the database covers the address
  uint8_t prefix_len = 0;         // that network's length (libmaxminddb's netmask)
  uint32_t asn = 0;               // autonomous_system_number; 0 when absent
  std::string_view as_org;        // autonomous_system_organization
  std::array<char, 2> country{};  // country.iso_code; {0,0} when absent
  std::string_view city;          // city.names.en (MmdbFields::city)
  bool has_location = false;      // MmdbFields::coordinates and present
  double latitude = 0, longitude = 0;

  std::string_view country_code() const {
    return country[0] ? std::string_view(country.data(), 2) : std::string_view();
  }
};

enum class MmdbError : uint8_t {
  kLookup,        // libmaxminddb failed the lookup (corrupt search tree, ...)
  kIpv6InIpv4Db,  // an IPv6 address against an IPv4-only database
  kData,          // a field could not be decoded (corrupt data section)
  kType,          // a field present with another type than expected
  kCountry,       // country.iso_code not two letters
  kCount
};
inline constexpr std::array<const char*, static_cast<size_t>(MmdbError::kCount)> kMmdbErrorNames = {
    "lookup", "ipv6_in_ipv4_db", "data", "type", "country"};

class MmdbReader {
 public:
  // cache_slots: rounded up to a power of two (at least 1).
  explicit MmdbReader(size_t cache_slots = 4096, MmdbFields fields = {});

  // Hot path: the result for a in f (a reference into the cache, valid
  // until the next lookup through this reader).
  const GeoResult& lookup(const MmdbFile& f, const IpAddr& a) noexcept;
  // The same without the cache (what a miss does).
  GeoResult lookup_uncached(const MmdbFile& f, const IpAddr& a) noexcept;

  Counter hits, misses;
  std::array<Counter, static_cast<size_t>(MmdbError::kCount)> errors;
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    IpAddr addr;
    uint64_t generation = 0;  // 0: empty (generations start at 1)
    GeoResult result;
  };
  void count(MmdbError e) noexcept { errors[static_cast<size_t>(e)].add(); }
  std::vector<Slot> slots_;
  size_t mask_;
  MmdbFields fields_;
};

}  // namespace ringflow::enrich
