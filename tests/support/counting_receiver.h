// A counting NetFlow receiver for tests and benchmarks: a plain UDP socket on
// loopback and one thread that receives, validates and decodes every datagram
// with the real decoder (v5: src/decode/v5_decoder.h; v9 and IPFIX: the
// ordered stage src/decode/sessions.h and its record reader, default decode
// settings), and counts per exporter stream and per reject reason. It is the
// independent witness ringflow-gen's ground truth is checked against.
//
// v9 / IPFIX: per stream (source address, version, source_id / observation
// domain) the datagrams, records, packets and bytes decoded (held data counts
// when its template releases it), per-key totals with IPv4 or IPv6 addresses
// (keys6), the ordered stage's counters (sessions_counters) and its sequence
// tracking (templated_stats()).
//
// What it keeps: per stream (source address, engine_type, engine_id) the
// datagrams, flows, raw packets and bytes, and every arrival's
// (flow_sequence, count, sys_uptime) in order, so a test can work out loss,
// duplicates, reordering and restarts itself; per-5-tuple totals when asked;
// rejects by reason; kernel drops (SO_RXQ_OVFL), so a test can tell a
// generator bug from an overloaded host; receive timestamps when asked
// (pacing benchmark).
//
// Not a collector: no queues, no aggregation intervals, allocation per new
// stream / key. Never used on the collector's hot path.
//
// Thread safety: open(), then start(); results are read only after stop()
// has joined the thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <memory>

#include <ringflow/ip.h>
#include <ringflow/stats.h>
#include <ringflow/streams.h>

#include "decode/session_counters.h"

#include "gen/sender.h"

namespace ringflow::gen {

struct Arrival {
  uint32_t sequence = 0;
  uint16_t count = 0;
  uint32_t sys_uptime = 0;
};

struct ReceivedStream {
  uint64_t datagrams = 0, flows = 0, packets = 0, bytes = 0;
  uint16_t sampling_raw = 0;
  std::vector<Arrival> arrivals;
};

using StreamId = std::tuple<IpAddr, uint8_t, uint8_t>;  // exporter, engine_type, engine_id
// src, dst, sport, dport, proto (host order)
using KeyId = std::tuple<uint32_t, uint32_t, uint16_t, uint16_t, uint8_t>;
struct KeyCount {
  uint64_t flows = 0, packets = 0, bytes = 0;
};
// v9/IPFIX: exporter, version, domain; keys with addresses of either family.
using TemplatedId = std::tuple<IpAddr, uint8_t, uint32_t>;
using Key6Id = std::tuple<IpAddr, IpAddr, uint16_t, uint16_t, uint8_t>;

}  // namespace ringflow::gen
namespace ringflow {
class Sessions;
}
namespace ringflow::gen {

class CountingReceiver {
 public:
  CountingReceiver();
  ~CountingReceiver();
  CountingReceiver(const CountingReceiver&) = delete;
  CountingReceiver& operator=(const CountingReceiver&) = delete;

  // Binds `at` (port 0 = any free port). keep_keys: per-5-tuple totals;
  // keep_times: CLOCK_MONOTONIC receive time of every datagram.
  bool open(const Endpoint& at, bool keep_keys, bool keep_times, std::string* error);
  Endpoint endpoint() const { return endpoint_; }

  void start();
  // Waits until no datagram has arrived for idle_ms, then joins the thread.
  void stop(int idle_ms = 200);

  std::map<StreamId, ReceivedStream> streams;
  std::map<KeyId, KeyCount> keys;
  std::map<TemplatedId, ReceivedStream> templated;  // v9 / IPFIX streams
  std::map<Key6Id, KeyCount> keys6;                  // v9 / IPFIX keys (keep_keys)
  SessionCounters sessions_counters;
  // The ordered stage's per-stream sequence tracking (after stop()).
  std::vector<StreamStats> templated_stats() const;
  std::array<uint64_t, kRejectReasons> rejects{};
  uint64_t datagrams = 0;      // every datagram received
  uint64_t kernel_drops = 0;   // socket drops reported by the kernel
  std::vector<int64_t> times;  // receive times (keep_times)

 private:
  void loop();
  void decode_templated(uint16_t buf, const uint8_t* p, size_t len, const IpAddr& src);

  UniqueFd fd_;
  Endpoint endpoint_;
  bool keep_keys_ = false, keep_times_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> last_rx_ns_{0};
  std::thread thread_;
  std::unique_ptr<Sessions> sessions_;
};

}  // namespace ringflow::gen
