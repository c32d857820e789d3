#include "enrich/enrich_tables.h"

#include <chrono>
#include <unordered_set>

#include "common/log.h"
#include "enrich/names.h"
#include "enrich/networks_csv.h"

namespace ringflow::enrich {

std::unique_ptr<const NetworksTable> load_networks_table(const std::string& path,
                                                         std::string* error) {
  NetworksBuilder builder;
  NetworksLoadReport report;
  if (!load_networks_csv(path, names(), builder, &report, error)) return nullptr;
  if (report.error_count() > 0) {
    std::string first;
    for (const std::string& m : report.messages) {
      // Duplicates are reported too; the first error is what the user needs.
      if (m.find("duplicate") == std::string::npos) {
        first = m;
        break;
      }
    }
    *error = first + " (" + std::to_string(report.error_count()) + " bad line" +
             (report.error_count() == 1 ? "" : "s") + " in " + path + "; the file is not used)";
    return nullptr;
  }
  // Every prefix's tuple id, in row order (the builder's rows are the
  // table's rows). Read the rows back through the built table.
  auto table = std::make_unique<NetworksTable>();
  const size_t n = builder.size();
  table->nets = builder.build();
  if (!table->nets) {
    *error = path + ": cannot map the IPv4 lookup table (out of memory?)";
    return nullptr;
  }
  table->tuple.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const NetAttrs& a = table->nets->row(static_cast<uint32_t>(i + 1));
    const auto id = intern_net_tuple({a.name, a.role, a.site, a.region, a.tenant});
    if (!id) {
      *error = path + ": more than " + std::to_string(kMaxNetTuples) +
               " distinct (name, role, site, region, tenant) combinations (the key holds 16 "
               "bits per network; docs/enrichment.md)";
      return nullptr;
    }
    table->tuple[i] = *id;
  }
  return table;
}

namespace {

// Reads every data record of the database once (walking the search tree
// node by node) and records ASN -> organisation.
void read_as_names(const MmdbFile& f) {
  const MMDB_s* db = f.get();
  std::unordered_set<uint32_t> seen;
  size_t added = 0, refused = 0;
  for (uint32_t node = 0; node < db->metadata.node_count; ++node) {
    MMDB_search_node_s n;
    if (MMDB_read_node(db, node, &n) != MMDB_SUCCESS) continue;
    for (int side = 0; side < 2; ++side) {
      const uint8_t type = side ? n.right_record_type : n.left_record_type;
      if (type != MMDB_RECORD_TYPE_DATA) continue;
      MMDB_entry_s entry = side ? n.right_record_entry : n.left_record_entry;
      if (!seen.insert(entry.offset).second) continue;
      MMDB_entry_data_s asn{}, org{};
      if (MMDB_get_value(&entry, &asn, "autonomous_system_number", nullptr) != MMDB_SUCCESS ||
          !asn.has_data || asn.type != MMDB_DATA_TYPE_UINT32 || asn.uint32 == 0)
        continue;
      if (MMDB_get_value(&entry, &org, "autonomous_system_organization", nullptr) !=
              MMDB_SUCCESS ||
          !org.has_data || org.type != MMDB_DATA_TYPE_UTF8_STRING)
        continue;
      const auto id = names().intern(std::string_view(org.utf8_string, org.data_size));
      if (id && as_names().set(asn.uint32, *id)) {
        ++added;
      } else {
        ++refused;
      }
    }
  }
  if (refused) {
    RF_LOG_WARN("enrich: %zu AS organisations not recorded (name table full); their AS names "
                "print empty",
                refused);
  }
}

}  // namespace

std::unique_ptr<const MmdbFile> load_mmdb(const std::string& path, bool as_names_too,
                                          std::string* error) {
  std::string e;
  auto f = MmdbFile::open(path, &e);
  if (!f) {
    *error = path + ": " + e;
    return nullptr;
  }
  if (as_names_too) read_as_names(*f);
  return f;
}

bool EnrichTables::FileId::operator==(const FileId& o) const {
  return known == o.known && dev == o.dev && ino == o.ino && size == o.size &&
         mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
}

EnrichTables::FileId EnrichTables::file_id(const std::string& path) {
  FileId id;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return id;
  id.known = true;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mtime = st.st_mtim;
  return id;
}

EnrichTables::EnrichTables(const EnrichConfig& cfg) : cfg_(cfg) {}

EnrichTables::~EnrichTables() {
  stop_snmp();
  {
    std::lock_guard lock(watch_mu_);
    stop_ = true;
  }
  watch_cv_.notify_all();
  if (watch_.joinable()) watch_.join();
}

const std::string& EnrichTables::path(EnrichTable t) const {
  switch (t) {
    case EnrichTable::kNetworks: return cfg_.networks;
    case EnrichTable::kAsn: return cfg_.asn_mmdb;
    case EnrichTable::kCatalogue: return cfg_.catalogue;
    case EnrichTable::kCountry:
    case EnrichTable::kCount: break;
  }
  return cfg_.country_mmdb;
}

bool EnrichTables::load_one(EnrichTable t, std::string* error) {
  const std::string& p = path(t);
  // The identity before reading: a change during the read is seen next time.
  const FileId id = file_id(p);
  switch (t) {
    case EnrichTable::kNetworks: {
      auto table = load_networks_table(p, error);
      if (!table) return false;
      networks_v4.store(table->nets->v4_prefixes(), std::memory_order_relaxed);
      networks_v6.store(table->nets->v6_prefixes(), std::memory_order_relaxed);
      networks.publish(std::move(table));
      break;
    }
    case EnrichTable::kAsn:
    case EnrichTable::kCountry: {
      auto f = load_mmdb(p, t == EnrichTable::kAsn, error);
      if (!f) return false;
      (t == EnrichTable::kAsn ? asn : country).publish(std::move(f));
      break;
    }
    case EnrichTable::kCatalogue: {
      auto c = load_catalogue(p, error);
      if (!c) return false;
      catalogue.publish(std::move(c));
      break;
    }
    case EnrichTable::kCount: return false;
  }
  loaded_[static_cast<size_t>(t)] = id;
  return true;
}

bool EnrichTables::load(std::string* error) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < kEnrichTables; ++i) {
    const auto t = static_cast<EnrichTable>(i);
    if (path(t).empty()) continue;
    std::string e;
    if (!load_one(t, &e)) {
      *error = std::string("enrich.") + kEnrichTableNames[i] + ": " + e;
      return false;
    }
    RF_LOG_INFO("enrich: loaded %s %s", kEnrichTableNames[i], path(t).c_str());
  }
  return true;
}

size_t EnrichTables::reload(bool force) {
  std::lock_guard lock(mu_);
  size_t failed = 0;
  for (size_t i = 0; i < kEnrichTables; ++i) {
    const auto t = static_cast<EnrichTable>(i);
    if (path(t).empty()) continue;
    if (!force && file_id(path(t)) == loaded_[i]) continue;
    std::string e;
    if (load_one(t, &e)) {
      reloads[i].fetch_add(1, std::memory_order_relaxed);
      RF_LOG_INFO("enrich: reloaded %s %s", kEnrichTableNames[i], path(t).c_str());
    } else {
      reloads_failed[i].fetch_add(1, std::memory_order_relaxed);
      // Not retried until the file changes again (or SIGHUP).
      loaded_[i] = file_id(path(t));
      ++failed;
      RF_LOG_ERROR("enrich: reloading %s failed, the previous table stays in use: %s",
                   kEnrichTableNames[i], e.c_str());
    }
  }
  return failed;
}

void EnrichTables::add_cache(const MmdbReader* asn_cache, const MmdbReader* country_cache) {
  std::lock_guard lock(caches_mu_);
  caches_.emplace_back(asn_cache, country_cache);
}

void EnrichTables::remove_cache(const MmdbReader* asn_cache) {
  std::lock_guard lock(caches_mu_);
  std::erase_if(caches_, [&](const auto& c) { return c.first == asn_cache; });
}

std::array<EnrichTables::CacheStats, 2> EnrichTables::cache_stats() const {
  std::array<CacheStats, 2> out{};
  std::lock_guard lock(caches_mu_);
  for (const auto& c : caches_) {
    for (int i = 0; i < 2; ++i) {
      const MmdbReader& r = i ? *c.second : *c.first;
      out[i].hits += r.hits.load();
      out[i].misses += r.misses.load();
      for (size_t e = 0; e < out[i].errors.size(); ++e) out[i].errors[e] += r.errors[e].load();
    }
  }
  return out;
}

void EnrichTables::start_watch() {
  watch_ = std::thread([this] { watch_loop(); });
}

void EnrichTables::watch_loop() {
  auto next_check = std::chrono::steady_clock::now();
  std::unique_lock lock(watch_mu_);
  while (!stop_) {
    watch_cv_.wait_for(lock, std::chrono::milliseconds(200));
    if (stop_) break;
    const bool forced = requested_.exchange(false, std::memory_order_acq_rel);
    const auto now = std::chrono::steady_clock::now();
    const bool check = cfg_.watch_interval_s > 0 && now >= next_check;
    if (!forced && !check) continue;
    if (check) next_check = now + std::chrono::seconds(cfg_.watch_interval_s);
    lock.unlock();
    reload(forced);
    networks.reclaim();
    asn.reclaim();
    country.reclaim();
    catalogue.reclaim();
    lock.lock();
  }
}

void EnrichTables::start_snmp(SnmpPoller::ExporterSource source) {
  if (!cfg_.snmp.enabled || snmp_poller_) return;
  snmp_poller_ = std::make_unique<SnmpPoller>(cfg_.snmp, snmp, std::move(source));
  snmp_poller_->start();
}

void EnrichTables::stop_snmp() {
  if (snmp_poller_) snmp_poller_->stop();
}

}  // namespace ringflow::enrich
