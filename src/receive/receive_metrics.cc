#include "receive/receive_metrics.h"

#include "metrics/family.h"

namespace ringflow {
namespace {

using ReactorFamily = Family<ReactorSample>;

constexpr ReactorFamily kReactorFamilies[] = {
    {"ringflow_receive_datagrams_total", kCounter, "Datagrams the reactor took from its sockets.",
     [](const ReactorSample& s) { return s.datagrams; }},
    {"ringflow_receive_bytes_total", kCounter, "Payload bytes the reactor took from its sockets.",
     [](const ReactorSample& s) { return s.bytes; }},
    {"ringflow_receive_kernel_drops_total", kCounter,
     "Datagrams the kernel dropped because the socket buffer was full (SO_RXQ_OVFL, "
     "/proc/net/udp).",
     [](const ReactorSample& s) { return s.kernel_drops; }},
    {"ringflow_receive_oversize_total", kCounter,
     "Datagrams larger than receive.buffer_size, truncated by the kernel (MSG_TRUNC): dropped.",
     [](const ReactorSample& s) { return s.oversize; }},
    {"ringflow_receive_not_allowed_total", kCounter,
     "Datagrams from exporters outside receive.allow: dropped.",
     [](const ReactorSample& s) { return s.not_allowed; }},
    {"ringflow_receive_queue_full_total", kCounter,
     "Datagrams dropped because the target worker's queue was full.",
     [](const ReactorSample& s) { return s.queue_full; }},
    {"ringflow_receive_handed_off_total", kCounter, "Datagrams handed to a worker queue.",
     [](const ReactorSample& s) { return s.handed_off; }},
    {"ringflow_receive_consumed_total", kCounter,
     "Datagrams the ordered stage accepted with nothing for a worker (templates, options, held).",
     [](const ReactorSample& s) { return s.consumed; }},
    {"ringflow_receive_rejected_total", kCounter,
     "Datagrams the ordered stage rejected whole (reasons: ringflow_decode_rejected_total).",
     [](const ReactorSample& s) { return s.rejected; }},
    {"ringflow_receive_late_handed_off_total", kCounter,
     "Held v9/IPFIX data sets handed to a worker once their template arrived.",
     [](const ReactorSample& s) { return s.late_handed_off; }},
    {"ringflow_receive_late_queue_full_total", kCounter,
     "Held data sets dropped because the worker queue was full when their template arrived.",
     [](const ReactorSample& s) { return s.late_queue_full; }},
    {"ringflow_receive_enobufs_total", kCounter,
     "io_uring buffer ring ran dry (the kernel kept the data in the socket buffer).",
     [](const ReactorSample& s) { return s.enobufs; }},
    {"ringflow_receive_cq_overflow_total", kCounter, "io_uring completion queue overflows seen.",
     [](const ReactorSample& s) { return s.cq_overflow; }},
    {"ringflow_receive_rearms_total", kCounter, "Multishot receives re-armed.",
     [](const ReactorSample& s) { return s.rearms; }},
    {"ringflow_receive_syscalls_total", kCounter,
     "Receive system calls (io_uring_enter or recvmmsg).",
     [](const ReactorSample& s) { return s.syscalls; }},
};

}  // namespace

std::vector<ReactorSample> read_reactors(
    const std::vector<std::unique_ptr<ReactorCounters>>& reactors) {
  std::vector<ReactorSample> out;
  out.reserve(reactors.size());
  for (const auto& p : reactors) {
    const ReactorCounters& c = *p;
    out.push_back({c.datagrams.load(), c.bytes.load(), c.handed_off.load(), c.oversize.load(),
                   c.not_allowed.load(), c.queue_full.load(), c.enobufs.load(),
                   c.cq_overflow.load(), c.rearms.load(), c.kernel_drops.load(),
                   c.syscalls.load(), c.consumed.load(), c.rejected.load(),
                   c.late_handed_off.load(), c.late_queue_full.load()});
  }
  return out;
}

void write_receive_metrics(PromWriter& w, const std::vector<ReactorSample>& rv,
                           const std::vector<std::string>& backends) {
  w.family("ringflow_receive_backend_info", kGauge,
           "Always 1; the backend label names the receive backend of the reactor.");
  for (size_t r = 0; r < rv.size() && r < backends.size(); ++r)
    w.sample({{"reactor", IndexLabel(r).sv()}, {"backend", backends[r]}}, uint64_t{1});
  write_indexed_families(w, kReactorFamilies, "reactor", rv.size(),
                         [&rv](size_t r) -> const ReactorSample& { return rv[r]; });

  // Every drop of the pipeline in one family, for alerts and dashboards.
  uint64_t kernel = 0, oversize = 0, not_allowed = 0, queue_full = 0;
  for (const ReactorSample& v : rv) {
    kernel += v.kernel_drops;
    oversize += v.oversize;
    not_allowed += v.not_allowed;
    queue_full += v.queue_full;
  }
  w.family("ringflow_datagrams_dropped_total", kCounter,
           "Datagrams dropped, by stage: kernel (socket buffer full), oversize, not_allowed, "
           "queue_full. Sums the ringflow_receive_* families.");
  w.sample({{"stage", "kernel"}}, kernel);
  w.sample({{"stage", "oversize"}}, oversize);
  w.sample({{"stage", "not_allowed"}}, not_allowed);
  w.sample({{"stage", "queue_full"}}, queue_full);
}

void write_handoff_metrics(PromWriter& w, const Handoff& h,
                           const std::vector<std::unique_ptr<ReactorCounters>>& reactors,
                           uint64_t queue_capacity) {
  w.family("ringflow_handoff_queue_depth", kGauge,
           "Datagrams waiting in the worker's queue (approximate).");
  for (uint32_t i = 0; i < h.workers(); ++i)
    w.sample({{"worker", IndexLabel(i).sv()}}, static_cast<uint64_t>(h.depth(i)));
  w.family("ringflow_handoff_queue_full_total", kCounter,
           "Datagrams dropped because this worker's queue was full (summed over reactors).");
  for (uint32_t i = 0; i < h.workers(); ++i) {
    uint64_t n = 0;
    for (const auto& rc : reactors) n += rc->queue_full_by_worker[i].load();
    w.sample({{"worker", IndexLabel(i).sv()}}, n);
  }
  w.family("ringflow_handoff_queue_capacity", kGauge,
           "Datagrams a worker queue holds before reactors drop (receive.queue_depth).");
  w.sample(queue_capacity);
}

}  // namespace ringflow
