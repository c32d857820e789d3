// The receive stage's metrics (docs/metrics.md, "Receive" and "Hand-off"):
// ringflow_receive_* per reactor, ringflow_datagrams_dropped_total by stage,
// ringflow_handoff_* per worker queue.
//
// Reading is split from writing so the exporter can read every worker's
// counters before any reactor's (a scrape then never shows a worker having
// taken more than the reactors handed off): read_reactors() takes one
// snapshot, write_receive_metrics() writes it.
//
// Thread safety: any thread; reads relaxed counters and size_approx().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ringflow/stats.h>

#include "metrics/prom_writer.h"
#include "receive/handoff.h"

namespace ringflow {

// One reactor's counters, read once per scrape.
struct ReactorSample {
  uint64_t datagrams, bytes, handed_off, oversize, not_allowed, queue_full, enobufs, cq_overflow,
      rearms, kernel_drops, syscalls, consumed, rejected, late_handed_off, late_queue_full;
};

std::vector<ReactorSample> read_reactors(
    const std::vector<std::unique_ptr<ReactorCounters>>& reactors);

// backends[r] names reactor r's backend ("io_uring", "recvmmsg").
void write_receive_metrics(PromWriter& w, const std::vector<ReactorSample>& reactors,
                           const std::vector<std::string>& backends);

// Queue depth and queue-full drops per worker (summed over reactors), and
// the queues' capacity (receive.queue_depth).
void write_handoff_metrics(PromWriter& w, const Handoff& handoff,
                           const std::vector<std::unique_ptr<ReactorCounters>>& reactors,
                           uint64_t queue_capacity);

}  // namespace ringflow
