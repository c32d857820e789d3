// ExporterSnapshot: a compact copy of one reactor's per-stream state for the
// Exporters page and API (issue 24; src/live/exporters_json.h): each
// stream's sequence statistics and clock, its templates with their fields,
// its sampling rates and where they came from, its held data, and the
// datagrams of its address that were rejected, by reason.
//
// Built by the reactor's ordered stage on its once-a-second tick
// (Sessions::tick -> Sessions::publish_exporters, src/decode/sessions_exporters.cc),
// never on the per-datagram path, and published through an atomic
// shared_ptr: a reader (the metrics server's thread) loads the latest
// snapshot and keeps it alive while it reads; it never locks and never
// reads the reactor's live tables.
//
// Memory: bounded per snapshot by the constants below (streams beyond
// kMaxStreams are left out and counted in streams_omitted; templates beyond
// kMaxTemplatesPerStream and fields beyond kMaxFieldsPerTemplate are cut
// and flagged). ExporterSnapshotPublisher keeps kBuffers snapshots and
// refills one that no reader holds, so that after the largest snapshot has
// been built once, publishing allocates nothing; when every buffer is held
// by a reader, a round is skipped (the next tick retries).
//
// Thread safety: begin() / publish() on the reactor thread only; load()
// from any thread; a loaded snapshot is immutable.
#pragma once

#include "common/shared_slot.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <ringflow/streams.h>

#include "decode/held_data.h"
#include "decode/interface_names.h"
#include "decode/sampler_set.h"
#include "decode/session_counters.h"
#include "decode/template_store.h"

namespace ringflow {

struct SnapshotField {
  uint16_t id = 0;      // information element id (enterprise bit cleared)
  uint16_t length = 0;  // as the template gives it (65535: variable)
  uint32_t pen = 0;     // enterprise number, 0 = IANA
  bool scope = false;   // an options template's scope field
};

struct SnapshotTemplate {
  uint16_t id = 0;
  bool options = false;
  bool has_rate = false;                  // data records carry their sampling rate (34, 305, ...)
  bool has_sampler_id = false;            // data records name their sampler (48 / 302)
  bool fields_cut = false;                // more than kMaxFieldsPerTemplate fields
  uint16_t field_count = 0;               // as the template declares
  uint32_t redefinitions = 0;             // since installed
  int64_t first_ms = 0, last_ms = 0;      // installed; last refreshed or used
  uint32_t first_field = 0, nfields = 0;  // ExporterSnapshot::fields[first_field, +nfields)
};

// Datagrams rejected whole, by reason, for one exporter address (a reject
// happens before a stream is known, so the address is the finest key).
struct AddressRejects {
  IpAddr exporter;
  uint64_t by_reason[kRejectReasons] = {};
};

struct ExporterStream {
  StreamStats stats;                // sequence, loss, clock (src/decode/sequence_tracker.h)
  StreamTemplateHistory templates;  // added / redefined / withdrawn since the stream appeared
  uint32_t first_template = 0, ntemplates = 0;  // ExporterSnapshot::templates[...]
  bool templates_cut = false;                   // more than kMaxTemplatesPerStream installed
  SamplerSet rates;                             // announced in options records (refs unused)
  bool has_rates = false;                       // options records announced any rate
  uint32_t override_rate = 0;  // decode.sampling_overrides for the address; 0 = none
  HeldStreamStats held;        // data waiting for templates, decoded late
  bool has_init = false;       // IPFIX systemInitTimeMilliseconds announced
  int64_t init_ms = 0;
};

struct ExporterSnapshot {
  static constexpr size_t kMaxStreams = 1024;
  static constexpr size_t kMaxTemplatesPerStream = 64;
  static constexpr size_t kMaxFieldsPerTemplate = 128;
  static constexpr size_t kMaxRejectAddresses = 256;

  int64_t published_ms = 0;       // wall clock of the tick that built it
  uint32_t default_sampling = 1;  // decode.default_sampling
  bool renormalize = true;        // decode.renormalize
  uint64_t streams_omitted = 0;   // streams beyond kMaxStreams
  std::vector<ExporterStream> streams;
  std::vector<SnapshotTemplate> templates;
  std::vector<SnapshotField> fields;
  std::vector<AddressRejects> rejects;  // addresses with a rejected datagram
  uint64_t rejects_other = 0;           // of addresses beyond kMaxRejectAddresses
  // The interface names the reactor learnt from options data (shared with
  // the enrichment's copy; not rebuilt per tick); nullptr when none.
  std::shared_ptr<const InterfaceNameSnapshot> if_names;

  void clear() {
    streams_omitted = 0;
    rejects_other = 0;
    streams.clear();
    templates.clear();
    fields.clear();
    rejects.clear();
  }
};

class ExporterSnapshotPublisher {
 public:
  static constexpr size_t kBuffers = 3;

  ExporterSnapshotPublisher();
  ExporterSnapshotPublisher(const ExporterSnapshotPublisher&) = delete;
  ExporterSnapshotPublisher& operator=(const ExporterSnapshotPublisher&) = delete;

  // A cleared snapshot no reader holds, to fill; nullptr when every buffer
  // is held (skip this round). Reactor thread.
  ExporterSnapshot* begin();
  // Makes the snapshot begin() returned the one load() sees. Reactor thread.
  void publish();
  // The latest published snapshot (nullptr before the first). Any thread.
  std::shared_ptr<const ExporterSnapshot> load() const { return current_.load(); }

 private:
  std::shared_ptr<ExporterSnapshot> pool_[kBuffers];
  int filling_ = -1;
  SharedSlot<ExporterSnapshot> current_;
};

// Datagrams rejected whole, by exporter address and reason, kept by the
// reactor (bounded: kMaxRejectAddresses addresses, the rest summed) and
// copied into each snapshot. add() checks the previous reject's address
// first, then scans (at most kMaxRejectAddresses entries: rejects only,
// never an accepted datagram). Reactor thread only; never allocates after
// construction.
class AddressRejectTable {
 public:
  AddressRejectTable() { table_.reserve(ExporterSnapshot::kMaxRejectAddresses); }
  void add(const IpAddr& exporter, Reject r);
  void copy_to(ExporterSnapshot* s) const;

 private:
  std::vector<AddressRejects> table_;
  size_t last_ = 0;  // the entry of the previous reject
  uint64_t other_ = 0;
};

}  // namespace ringflow
