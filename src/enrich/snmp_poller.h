// SnmpPoller: polls the interface names (ifName), descriptions (ifAlias)
// and speeds (ifHighSpeed) of the exporters the collector has seen, from
// their SNMP agents ([enrich.snmp], docs/enrichment.md "SNMP"), and
// publishes them as an immutable SnmpTable (snmp_table.h) through an
// EpochHolder that the catalogue stage reads.
//
// Which exporters: once a second the poller asks its ExporterSource for the
// addresses with a live stream (the collector gives its stream snapshots,
// src/pipeline/collector.h) and keeps, for each that an [[enrich.snmp.agent]]
// `exporters` prefix covers (the longest prefix wins), one cache entry: at most
// max_exporters (the rest are not polled: `refused`), each of at most
// max_interfaces interfaces. An address the collector no longer lists is
// forgotten (and leaves the next table).
//
// When: a new exporter at once; then again refresh_s after a successful
// poll, retry_s after a failed one (a failure keeps the names it had).
// At most `rate` polls start per second (a token bucket, burst of one
// second) and at most max_concurrent run at once.
//
// How: ONE thread (rf-snmp) runs every poll as a non-blocking SnmpWalk
// (snmp_walk.h: net-snmp's single-session API; net-snmp is not reentrant,
// so no other thread of the process may use it), waiting on the sessions'
// sockets with poll(2) in steps of at most 20 ms. A dead agent holds one of
// the max_concurrent slots for timeout_ms x (retries + 1) per request and
// never delays the other slots. Nothing here runs on a reactor or a worker;
// they only read the published table.
//
// Publishing: after the polls that ended in one loop step changed anything,
// a new SnmpTable is built (strings interned into names(), append-only) and
// published; the old one is freed by the EpochHolder when no reader holds it.
//
// Counters (docs/metrics.md, ringflow_enrich_snmp_*): every finished poll by
// result (SnmpResult: ok, timeout, auth, no_such_object,
// too_many_interfaces, error); gauges of the exporters with names, their
// interfaces, the exporters without an agent entry, those refused past
// max_exporters and the polls in flight.
//
// Thread safety: start() / stop() from one owner thread; the counters and
// status() from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/ip.h>

#include "common/unique_fd.h"
#include "enrich/epoch_holder.h"
#include "enrich/snmp_table.h"
#include "enrich/snmp_walk.h"

namespace ringflow::enrich {

class SnmpPoller {
 public:
  // Appends the exporter addresses seen (duplicates allowed). Called on the
  // poller's thread; must not block for long.
  using ExporterSource = std::function<void(std::vector<IpAddr>*)>;

  // REQUIRES: `out` outlives the poller.
  SnmpPoller(const SnmpConfig& cfg, EpochHolder<SnmpTable>& out, ExporterSource source);
  ~SnmpPoller();  // stop()
  SnmpPoller(const SnmpPoller&) = delete;
  SnmpPoller& operator=(const SnmpPoller&) = delete;

  void start();
  void stop();  // wakes the thread, abandons the polls in flight, joins

  // The [[enrich.snmp.agent]] entry covering `a` (longest prefix); nullptr
  // when none does.
  static const SnmpAgentConfig* match(const SnmpConfig& cfg, const IpAddr& a);

  struct Status {
    IpAddr exporter;
    uint32_t polls = 0;                 // finished
    SnmpResult last = SnmpResult::kOk;  // of the last finished poll
    int64_t last_duration_ms = 0;       // from its start to its end
    size_t interfaces = 0;              // in the cache
  };
  std::vector<Status> status() const;

  std::array<std::atomic<uint64_t>, kSnmpResults> polls{};
  std::atomic<uint64_t> exporters{0}, interfaces{0}, without_agent{0}, refused{0}, in_flight{0};

 private:
  struct Entry;
  struct Active;
  void run();
  void scan(int64_t now_ms);
  void publish();

  SnmpConfig cfg_;
  EpochHolder<SnmpTable>& out_;
  ExporterSource source_;
  UniqueFd wake_;  // eventfd: stop()
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;  // guards entries_ (status() reads it)
  std::vector<Entry> entries_;
};

}  // namespace ringflow::enrich
