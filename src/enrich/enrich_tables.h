// EnrichTables: the enrichment tables of one collector ([enrich] in the
// config; docs/enrichment.md) and their reloads.
//
//   networks   the networks file (networks_csv.h) as a Networks table plus,
//              per row, its NetTuple id (names.h): EpochHolder<NetworksTable>
//   asn, country  MMDB files (mmdb.h): EpochHolder<MmdbFile> each (the same
//              path twice opens it twice: each holder owns its mapping)
//   catalogue  the exporter and interface catalogue (catalogue.h):
//              EpochHolder<Catalogue>
//   snmp       interface names polled from the exporters' agents
//              ([enrich.snmp]; snmp_poller.h): EpochHolder<SnmpTable>, filled
//              by the SnmpPoller that start_snmp() starts and stop_snmp()
//              (or the destructor) stops
//
// load() reads every configured file and fails (with a one-line error naming
// the file, and for the networks file its first bad line) if any cannot be
// used: the collector then does not start. A networks file with malformed
// lines is refused as a whole, not half-loaded: a table that silently lacks
// prefixes would mislabel traffic.
//
// reload() (SIGHUP, or the watch thread seeing a file change: mtime, size or
// inode) rebuilds each changed file's table off the hot path and publishes it
// atomically; the workers' enrich stages pick it up at their next chunk. A
// failed reload is logged, counted in `reloads_failed` and leaves the old
// table in place. Loading an ASN MMDB also reads its AS organisations into
// as_names() (names.h).
//
// Thread safety: load() once before the workers start; reload(),
// request_reload() and the counters from any thread (reloads serialise on a
// mutex); the holders as EpochHolder says.
#pragma once

#include <sys/stat.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <ringflow/config.h>

#include "enrich/catalogue.h"
#include "enrich/epoch_holder.h"
#include "enrich/mmdb.h"
#include "enrich/networks.h"
#include "enrich/snmp_poller.h"
#include "enrich/snmp_table.h"

namespace ringflow::enrich {

struct NetworksTable {
  std::unique_ptr<Networks> nets;
  std::vector<uint16_t> tuple;  // row - 1 -> NetTuple id (names.h)
};

enum class EnrichTable : uint8_t { kNetworks, kAsn, kCountry, kCatalogue, kCount };
inline constexpr size_t kEnrichTables = static_cast<size_t>(EnrichTable::kCount);
inline constexpr std::array<const char*, kEnrichTables> kEnrichTableNames = {
    "networks", "asn_mmdb", "country_mmdb", "catalogue"};

// Builds the networks table of a CSV file. nullptr and *error ("FILE:LINE:
// expected ..., found ...", and how many lines were bad) when the file cannot
// be read, has a malformed line, or more than kMaxNetTuples distinct
// attribute tuples.
std::unique_ptr<const NetworksTable> load_networks_table(const std::string& path,
                                                         std::string* error);
// Opens an MMDB; with `as_names_too`, reads its AS organisations into
// as_names(). nullptr and *error on failure.
std::unique_ptr<const MmdbFile> load_mmdb(const std::string& path, bool as_names_too,
                                          std::string* error);

class EnrichTables {
 public:
  explicit EnrichTables(const EnrichConfig& cfg);
  ~EnrichTables();  // stops the watch thread
  EnrichTables(const EnrichTables&) = delete;
  EnrichTables& operator=(const EnrichTables&) = delete;

  // Loads every configured file; false + *error at the first one that fails.
  bool load(std::string* error);
  // Reloads the files that changed since loaded (all of them with force).
  // Returns the number of tables that failed.
  size_t reload(bool force);
  // Async-signal-safe: the watch thread reloads every file at its next wake.
  void request_reload() { requested_.store(true, std::memory_order_release); }
  // Starts the thread that serves request_reload() and, when
  // watch_interval > 0, checks the files for changes.
  void start_watch();

  // With enrich.snmp.enabled: starts the poller (its own thread) on the
  // exporters `source` lists. REQUIRES: what `source` reads outlives
  // stop_snmp(). No-op when disabled or already started.
  void start_snmp(SnmpPoller::ExporterSource source);
  void stop_snmp();
  const SnmpPoller* snmp_poller() const { return snmp_poller_.get(); }

  const EnrichConfig& config() const { return cfg_; }
  EpochHolder<NetworksTable> networks;
  EpochHolder<MmdbFile> asn, country;
  EpochHolder<Catalogue> catalogue;
  EpochHolder<SnmpTable> snmp;

  // The workers' MMDB caches, for the metrics (an EnrichStage registers its
  // readers when built and removes them when destroyed).
  void add_cache(const MmdbReader* asn_cache, const MmdbReader* country_cache);
  void remove_cache(const MmdbReader* asn_cache);
  // Sums over the registered caches: [0] the ASN file's, [1] the country's.
  struct CacheStats {
    uint64_t hits = 0, misses = 0;
    std::array<uint64_t, static_cast<size_t>(MmdbError::kCount)> errors{};
  };
  std::array<CacheStats, 2> cache_stats() const;

  std::array<std::atomic<uint64_t>, kEnrichTables> reloads{}, reloads_failed{};
  std::atomic<uint64_t> networks_v4{0}, networks_v6{0};

 private:
  struct FileId {
    bool known = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{};
    bool operator==(const FileId& o) const;
  };
  static FileId file_id(const std::string& path);
  bool load_one(EnrichTable t, std::string* error);  // REQUIRES: mu_ held
  const std::string& path(EnrichTable t) const;
  void watch_loop();

  EnrichConfig cfg_;
  std::mutex mu_;  // reloads
  mutable std::mutex caches_mu_;
  std::vector<std::pair<const MmdbReader*, const MmdbReader*>> caches_;
  std::array<FileId, kEnrichTables> loaded_{};
  std::atomic<bool> requested_{false};
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stop_ = false;
  std::thread watch_;
  std::unique_ptr<SnmpPoller> snmp_poller_;  // after `snmp`: stopped before it is freed
};

}  // namespace ringflow::enrich
