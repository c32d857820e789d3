// ForwardStage: the collector's forwarding (docs/cluster.md): the
// Forwarders of the [[forward]] entries (src/forward/forwarder.h), one
// ForwardAdmission per reactor wrapped around its ordered stage, and the
// per-reactor counters of received encapsulated datagrams. Created by
// Collector::start only when [[forward]] or receive.forwarded_from is set
// (otherwise the reactors run the ordered stage directly, as before).
//
// Order: create() before the reactors get their admission; start() (the
// forwarder threads) before the reactors run; stop() after they are joined,
// so that what they queued is sent.
//
// Thread safety: create/start/stop on the main thread; admission(r) used by
// reactor r; the counters read from any thread (metrics).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ringflow/config.h>

#include "decode/sessions.h"
#include "forward/forwarder.h"
#include "pipeline/forward_admission.h"
#include "receive/admission.h"

namespace ringflow {

class ForwardStage {
 public:
  // nullptr with *error empty: nothing to do; nullptr with *error: failed.
  // inner[r], sessions[r]: reactor r's ordered stage. Forward only (no sink
  // and some [[forward]]): the ordered stage is not run.
  static std::unique_ptr<ForwardStage> create(const Config& cfg,
                                              const std::vector<Admission*>& inner,
                                              const std::vector<Sessions*>& sessions,
                                              std::string* error);
  Admission* admission(uint32_t r) { return admissions_[r].get(); }
  void start();
  void stop();
  bool forward_only() const { return forward_only_; }
  // Some [[forward]] and no sink: the node forwards without decoding, and
  // starts no worker, aggregation or flusher (Collector::start_stages).
  static bool forward_only(const Config& cfg) {
    return cfg.output.sinks.empty() && !cfg.forwards.empty();
  }

  const std::vector<std::unique_ptr<Forwarder>>& forwarders() const { return forwarders_; }
  const std::vector<std::unique_ptr<EncapCounters>>& encap_counters() const { return counters_; }

 private:
  bool forward_only_ = false;
  std::vector<std::unique_ptr<Forwarder>> forwarders_;
  std::vector<std::vector<uint32_t>> cpus_;  // forwarders_[i]'s thread CPUs (empty = unpinned)
  std::vector<std::unique_ptr<EncapCounters>> counters_;
  std::vector<std::unique_ptr<ForwardAdmission>> admissions_;
};

// The forward metrics (docs/metrics.md: ringflow_forward_*).
class PromWriter;
void write_forward_metrics(PromWriter& w, const ForwardStage& s);

}  // namespace ringflow
