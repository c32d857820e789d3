// A counting NetFlow v5 receiver for tests and benchmarks: a plain UDP
// socket on loopback and one thread that receives, validates and decodes
// every datagram with the real decoder (src/decode/v5_decoder.h), and counts
// per exporter stream and per reject reason. It is the independent witness
// ringflow-gen's ground truth is checked against.
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

#include <ringflow/ip.h>
#include <ringflow/stats.h>

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

class CountingReceiver {
 public:
  CountingReceiver() = default;
  ~CountingReceiver() { stop(); }
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
  std::array<uint64_t, kRejectReasons> rejects{};
  uint64_t datagrams = 0;      // every datagram received
  uint64_t kernel_drops = 0;   // socket drops reported by the kernel
  std::vector<int64_t> times;  // receive times (keep_times)

 private:
  void loop();

  UniqueFd fd_;
  Endpoint endpoint_;
  bool keep_keys_ = false, keep_times_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> last_rx_ns_{0};
  std::thread thread_;
};

}  // namespace ringflow::gen
