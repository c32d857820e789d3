#include "enrich/mmdb.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>

namespace ringflow::enrich {
namespace {

std::atomic<uint64_t> g_generation{0};

}  // namespace

std::unique_ptr<MmdbFile> MmdbFile::open(const std::string& path, std::string* error) {
  std::unique_ptr<MmdbFile> f(new MmdbFile());
  const int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &f->db_);
  if (rc != MMDB_SUCCESS) {
    *error = path + ": " + MMDB_strerror(rc);
    if (rc == MMDB_IO_ERROR && errno) *error += std::string(" (") + std::strerror(errno) + ")";
    return nullptr;  // MMDB_open frees what it took; ~MmdbFile skips MMDB_close
  }
  f->generation_ = g_generation.fetch_add(1, std::memory_order_relaxed) + 1;
  return f;
}

MmdbFile::~MmdbFile() {
  if (generation_) MMDB_close(&db_);
}

MmdbReader::MmdbReader(size_t cache_slots, MmdbFields fields)
    : slots_(std::bit_ceil(std::max<size_t>(cache_slots, 1))),
      mask_(slots_.size() - 1),
      fields_(fields) {}

const GeoResult& MmdbReader::lookup(const MmdbFile& f, const IpAddr& a) noexcept {
  // hash_addr's low bits depend only on an IPv4 address's first two bytes
  // (a product's low bits see only its factors' low bits): folded down, or
  // every host of a /16 shared one slot and the cache missed on busy subnets.
  uint64_t h = hash_addr(a);
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  Slot& s = slots_[h & mask_];
  if (s.generation == f.generation() && s.addr == a) {
    hits.add();
    return s.result;
  }
  misses.add();
  s.result = lookup_uncached(f, a);
  s.addr = a;
  s.generation = f.generation();
  return s.result;
}

GeoResult MmdbReader::lookup_uncached(const MmdbFile& f, const IpAddr& a) noexcept {
  GeoResult out;
  sockaddr_storage ss{};
  if (a.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(a.v4());
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    std::memcpy(in6->sin6_addr.s6_addr, a.bytes.data(), 16);
  }
  int mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s r =
      MMDB_lookup_sockaddr(f.get(), reinterpret_cast<const sockaddr*>(&ss), &mmdb_error);
  if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
    count(MmdbError::kIpv6InIpv4Db);
    return out;
  }
  if (mmdb_error != MMDB_SUCCESS) {
    count(MmdbError::kLookup);
    return out;
  }
  if (!r.found_entry) return out;
  out.found = true;
  // libmaxminddb's netmask counts bits of the IPv6 tree; an IPv4 address
  // in an IPv6 database sits under ::/96.
  out.prefix_len = static_cast<uint8_t>(
      a.is_v4() && f.has_ipv6() && r.netmask >= 96 ? r.netmask - 96 : r.netmask);

  MMDB_entry_data_s d;
  // get(type, path...): true with d filled when present with that type.
  auto get = [&](uint32_t type, const char* const* path) -> bool {
    const int rc = MMDB_aget_value(&r.entry, &d, path);
    if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) return false;  // absent
    if (rc != MMDB_SUCCESS) {
      count(MmdbError::kData);
      return false;
    }
    if (!d.has_data) return false;
    if (d.type != type) {
      count(MmdbError::kType);
      return false;
    }
    return true;
  };
  static const char* const kAsn[] = {"autonomous_system_number", nullptr};
  static const char* const kOrg[] = {"autonomous_system_organization", nullptr};
  static const char* const kCountry[] = {"country", "iso_code", nullptr};
  static const char* const kCity[] = {"city", "names", "en", nullptr};
  static const char* const kLat[] = {"location", "latitude", nullptr};
  static const char* const kLon[] = {"location", "longitude", nullptr};
  if (get(MMDB_DATA_TYPE_UINT32, kAsn)) out.asn = d.uint32;
  if (get(MMDB_DATA_TYPE_UTF8_STRING, kOrg)) out.as_org = {d.utf8_string, d.data_size};
  if (get(MMDB_DATA_TYPE_UTF8_STRING, kCountry)) {
    if (d.data_size == 2) {
      out.country = {d.utf8_string[0], d.utf8_string[1]};
    } else {
      count(MmdbError::kCountry);
    }
  }
  if (fields_.city && get(MMDB_DATA_TYPE_UTF8_STRING, kCity))
    out.city = {d.utf8_string, d.data_size};
  if (fields_.coordinates) {
    double lat = 0;
    if (get(MMDB_DATA_TYPE_DOUBLE, kLat)) {
      lat = d.double_value;
      if (get(MMDB_DATA_TYPE_DOUBLE, kLon)) {
        out.latitude = lat;
        out.longitude = d.double_value;
        out.has_location = true;
      }
    }
  }
  return out;
}

}  // namespace ringflow::enrich
