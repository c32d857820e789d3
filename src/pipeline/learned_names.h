// LearnedNamesPublisher: gathers the interface names every reactor's ordered
// stage learnt from options data (Sessions::interface_names_snapshot,
// src/decode/interface_names.h), interns them (names(),
// src/enrich/names.h) and publishes one LearnedInterfaces table
// (src/enrich/learned_interfaces.h) through an EpochHolder, which the
// workers' catalogue stages read (src/pipeline/catalogue_stage.h).
//
// refresh() is called by the collector's main thread about once a second
// (run_collector's signal wait): it loads each reactor's published snapshot
// and rebuilds only when one of them is a new one, so a name reaches the
// workers within about two seconds of its options record (the reactor's
// tick, then this). Interning takes the names() mutex: never on a reactor
// or a worker.
//
// Thread safety: refresh() from one thread; holder() readers as
// EpochHolder says.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include <ringflow/config.h>

#include "decode/interface_names.h"
#include "decode/sessions.h"
#include "enrich/epoch_holder.h"
#include "enrich/learned_interfaces.h"

namespace ringflow {

// Whether aggregate.key or filter.expression reads an interface field
// (in_if_* / out_if_*): only then do the workers need the learnt names.
bool reads_interface_fields(const Config& cfg);

class LearnedNamesPublisher {
 public:
  // REQUIRES: the sessions outlive this.
  explicit LearnedNamesPublisher(std::vector<const Sessions*> sessions);
  // Rebuilds and publishes when a reactor published new names; true when it
  // did. Also frees retired tables no reader holds.
  bool refresh();
  enrich::EpochHolder<enrich::LearnedInterfaces>& holder() { return holder_; }
  uint64_t names_full() const { return names_full_; }  // strings the name table refused

 private:
  std::vector<const Sessions*> sessions_;
  std::vector<std::shared_ptr<const InterfaceNameSnapshot>> seen_;
  enrich::EpochHolder<enrich::LearnedInterfaces> holder_;
  uint64_t names_full_ = 0;
};

}  // namespace ringflow
