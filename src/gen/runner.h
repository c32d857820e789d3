// Runs a whole generation (or replay): splits the exporters over sender
// threads, each with its own Generator, UdpSender and Pacer; reports
// progress once a second; merges the ground truth when the threads are done.
// This is what ringflow-gen's main() calls, and what tests and benchmarks
// call in-process.
//
// Threads: exporter e belongs to thread e % threads (threads are capped at
// the number of exporters: one stream is never split, to keep its sequence in
// order). Each thread paces its share of the slot rate on its own absolute
// schedule. Counters that the progress reporter reads are alignas(64)
// single-writer Counters, one block per thread.
//
// Stopping: when --count or --duration is reached, or when *stop becomes
// true (SIGINT in ringflow-gen); held-back datagrams are sent before a
// thread exits so the truth stays exact.
//
// Thread safety: run_generator / run_replay are called from one thread and
// block until the run is over; `stop` may be set from any thread or a signal
// handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "gen/gen_config.h"
#include "gen/traffic.h"
#include "gen/truth.h"

namespace ringflow::gen {

struct RunResult {
  bool ok = false;
  std::string error;                 // set when !ok (socket, file, ...)
  std::vector<StreamTruth> streams;  // index = exporter
  KeyTotals keys;                    // when cfg.truth_keys_path is set (or keep_keys)
  uint64_t slots = 0;                // datagram slots generated (replay: datagrams sent)
  uint64_t wire_datagrams = 0;       // datagrams the kernel accepted
  uint64_t wire_bytes = 0;           // their UDP payload bytes
  uint64_t syscalls = 0, retries = 0;
  double elapsed_s = 0;         // first send to last send
  int64_t max_lateness_ns = 0;  // worst batch lateness against the schedule (paced runs)
};

// Generates traffic as configured. `model` must be built from cfg (keys,
// zipf, seed). keep_keys forces per-key totals even without truth_keys_path.
// REQUIRES: validate(cfg) == "".
RunResult run_generator(const GenConfig& cfg, const TrafficModel& model,
                        const std::atomic<bool>* stop, bool keep_keys = false);

// Replays cfg.replay_path (see replay.h).
RunResult run_replay(const GenConfig& cfg, const std::atomic<bool>* stop);

// Writes cfg.truth_path / cfg.truth_keys_path from a result.
bool write_truth_files(const GenConfig& cfg, const TrafficModel* model, const RunResult& r,
                       std::string* error);

// The final summary printed on stderr (several lines).
std::string format_summary(const GenConfig& cfg, const RunResult& r);

}  // namespace ringflow::gen
