// Sessions: the ordered part of decoding, run by each reactor thread on every
// datagram it receives, before any worker sees it. It is the one place that
// keeps per-stream state, so that the datagrams themselves can go to any
// worker (see docs/architecture.md, "The ordered stage").
//
// For every datagram, in arrival order (admit()):
//   1. the wire-format registry (src/decode/wire_formats.h) picks the format
//      (v5, v9, IPFIX, sFlow v5); a format decode.versions does not enable is
//      rejected;
//   2. the whole datagram is checked before anything in it is used: v5 every
//      packed PDU (src/decode/v5_decoder.h); v9/IPFIX the header and the chain
//      of set headers. A broken chain (a set length < 4 or past the end, an
//      IPFIX length that is not the datagram's) rejects the datagram whole:
//      no template in it is installed and the sequence is not advanced.
//      After the last set, v9 datagrams may end in zero bytes (Cisco ACI, Palo
//      Alto, softflowd pad this way): accepted, counted in v9_zero_tail;
//   3. v9/IPFIX sets are processed in order: template and options template
//      records install, refresh, redefine or withdraw templates; options data
//      records update the stream's sampling rates and IPFIX system init time;
//      data sets whose template is known are counted and listed in the
//      buffer's DatagramMeta with their pinned plan; data sets whose template
//      is not known yet are copied into a held-data slot (bounded per stream
//      and in all) and released to a worker when the template arrives, or
//      forgotten (counted) after decode.held_timeout;
//   4. the stream's sequence is tracked (src/decode/sequence_tracker.h): v5
//      per PDU in flows, v9 per datagram, IPFIX in data records (a message
//      holding a set that could not be counted makes the next one resync),
//      sFlow per datagram.
// sFlow (admit_sflow): validate_sflow (src/decode/sflow_decoder.h) checks the
// whole datagram first (rejected whole, by its SflowReject reason); the
// stream is (agent address, sub-agent id), whichever address sent it; then
// the samples' fixed fields (gathered by that same validating pass when the
// datagram holds only flow samples of known records, SflowHeads; else by a
// second walk, walk_sflow_samples): each source's flow-sample
// sequence, sample_pool and drops (src/decode/sflow_sources.h), unknown
// (enterprise, format) pairs (a bounded label set), counter samples: each
// interface's counters turned into deltas and reconciled with the flow
// samples of the same interface (src/decode/sflow_if_table.h). A
// datagram with flow samples is handed to a worker, which decodes them
// (RecordReader); one with counter samples only is consumed.
// Problems inside one set or one template record drop only that set or
// record, counted by reason; the rest of the datagram is used.
//
// Streams are (exporter address, format, domain): domain is v5's engine
// type and id, v9's source_id, IPFIX's observation domain; for sFlow the
// exporter address is the agent address and the domain its sub-agent id. Templates are
// keyed by (stream, template id), so the same template id in two domains of
// one exporter, or at two exporters, never mixes.
//
// Sessions is the facade that runs those steps in order; each kind of state
// is a piece with its own contract and test:
//   src/decode/stream_table.h    streams: admission (with the address
//                                quota), eviction, the published snapshot;
//   src/decode/template_store.h  templates and their plans;
//   src/decode/stream_options.h  each stream's sampling rates and init time;
//   src/decode/held_data.h       data sets waiting for their template;
//   src/decode/datagram_pins.h   each buffer's DatagramMeta and what it pins.
// tick() is the once-a-second round over them: held data past
// decode.held_timeout, templates idle past decode.template_timeout, then
// silent streams (each piece forgets an expired stream before its index is
// reused), then the snapshot for other threads.
// Ownership: an installed template holds one reference on its plan, a
// stream one on its sampler set, and each DatagramMeta that points at one
// holds one too, until release() of its buffer (all on the reactor thread,
// so the counts are plain integers: src/decode/plan_refs.h). A redefined or
// withdrawn template's plan is freed when the last datagram using it comes
// back. Held-data slots are buffers too: ids [ring_entries, ring_entries +
// hold_slots()) with their own DatagramMeta, handed out by take_ready().
//
// Bounds (all from DecodeConfig): streams (max_streams), streams per exporter
// address (max_streams_per_address, src/decode/address_quota.h: a new stream
// past it is refused, v9/IPFIX rejected as stream_quota, v5 decoded but not
// tracked, and counted by address), templates per stream
// and in all, samplers per stream (SamplerSet::kMaxSamplers), held bytes per
// stream and in all, held time; each refusal is counted. Memory is allocated
// at construction except a plan (one per new or changed template) and a
// sampler set (one per change of a stream's rates): never in steady state.
//
// Thread safety: one Sessions per reactor; every member on the reactor thread
// except meta() / hold_data() (a worker, for a buffer it owns), and
// streams_snapshot() / tracker_stats() / refused_snapshot() (any thread: they
// read what tick() published under a mutex the reactor only try-locks).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/ip.h>
#include <ringflow/streams.h>

#include "decode/address_quota.h"
#include "decode/datagram_meta.h"
#include "decode/datagram_pins.h"
#include "decode/exporter_snapshot.h"
#include "decode/held_data.h"
#include "decode/interface_names.h"
#include "decode/sequence_tracker.h"
#include "decode/sflow_if_table.h"
#include "decode/sflow_sources.h"
#include "decode/session_counters.h"
#include "decode/state_codec.h"
#include "decode/stream_options.h"
#include "decode/stream_table.h"
#include "decode/sampling.h"
#include "decode/template_store.h"
#include "decode/v5_decoder.h"

namespace ringflow {

enum class Admit : uint8_t {
  kHandOff,   // give the buffer to a worker (its DatagramMeta says what to decode)
  kConsumed,  // valid, nothing left for a worker: recycle the buffer
  kRejected,  // counted by reason: recycle the buffer
};

// What import_state() did with a TemplateState.
struct StateImport {
  size_t templates = 0;             // installed
  size_t templates_duplicate = 0;   // already installed (another reactor's copy): refreshed
  size_t templates_invalid = 0;     // do not parse as a template record: refused
  size_t templates_over_limit = 0;  // decode.max_templates(_per_stream): refused
  size_t templates_no_stream = 0;   // their stream refused (max_streams, or the address quota)
  size_t streams = 0;               // sampling rates / init times restored
  size_t streams_no_stream = 0;     // their stream refused
  size_t interfaces = 0;            // interface names restored
  size_t interfaces_refused = 0;    // their stream refused, a bound, or not text
  size_t refused() const {
    return templates_invalid + templates_over_limit + templates_no_stream + streams_no_stream +
           interfaces_refused;
  }
};

class Sessions : private TemplateListener {
 public:
  // ring_entries: receive buffers of the reactor (ids [0, ring_entries));
  // buffer_size: the largest datagram (held-data slots are this big).
  // REQUIRES: ring_entries + hold slots <= 65536 (the slot count is clamped).
  Sessions(const DecodeConfig& cfg, uint32_t ring_entries, uint32_t buffer_size,
           SessionCounters& counters);
  ~Sessions();
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  // The ordered stage for the datagram [p, p + len) from `exporter` in
  // receive buffer `buf` (< ring_entries), received at now_ms (epoch ms).
  // On kHandOff, meta(buf) is filled and pins what it references until
  // release(buf). Never allocates except as the class comment says.
  Admit admit(const uint8_t* p, size_t len, const IpAddr& exporter, uint16_t buf, int64_t now_ms);

  // The datagram of buffer `buf` (a receive buffer admitted with kHandOff, or
  // a held-data slot from take_ready()) is done with: unpins its plans and
  // sampler set, and frees a held-data slot.
  void release(uint16_t buf);

  // While set, admit() leaves the sequence tracker alone: a v9/IPFIX datagram
  // that is a forwarder's templates-only copy (src/forward/encapsulation.h)
  // carries its exporter's sequence number but not its data, so tracking it
  // would count the stream's other datagrams (sent to another node) as lost.
  void set_sequence_untracked(bool on) { sequence_untracked_ = on; }

  // Held data sets whose template has arrived since the last call, up to max.
  size_t take_ready(ReadyDatagram* out, size_t max);

  // Expires idle templates, held data and streams, and publishes the stream
  // snapshot (about once a second; cheap to call more often).
  void tick(int64_t now_ms);

  // For a worker that owns buffer `buf`.
  const DatagramMeta& meta(uint16_t buf) const { return pins_.meta(buf); }
  const uint8_t* hold_data(uint16_t buf) const { return held_.data(buf); }

  uint32_t ring_entries() const { return ring_entries_; }
  uint32_t hold_slots() const { return held_.slots(); }
  bool format_enabled(FormatId id) const;

  // Published copies (any thread).
  void streams_snapshot(std::vector<StreamStats>* out) const;
  SequenceTrackerStats tracker_stats() const;
  // Every sFlow interface with counters and its running totals
  // (src/decode/sflow_if_table.h), appended, as the last tick published them.
  void sflow_interfaces(std::vector<SflowIfStat>* out) const;
  // The Exporters page's copy of every stream (src/decode/exporter_snapshot.h),
  // as the last tick built it; nullptr before the first. Any thread.
  std::shared_ptr<const ExporterSnapshot> exporters_snapshot() const { return exporters_.load(); }
  // The interface names learnt from options data (src/decode/interface_names.h),
  // as the last tick that saw a change published them; nullptr before any.
  // Any thread.
  std::shared_ptr<const InterfaceNameSnapshot> interface_names_snapshot() const {
    return if_names_published_.load();
  }

  // Template persistence (decode.persist_templates; the file format is
  // src/decode/state_codec.h): the installed templates and each stream's
  // sampling rates and IPFIX system init time. Only while the reactor thread
  // is not running (before run() or after it returned). export_state()
  // appends to *out; import_state() installs what it can and says what it
  // refused (a template that does not parse, a stream over a bound).
  void export_state(TemplateState* out) const;
  StateImport import_state(const TemplateState& st, int64_t now_ms);
  // The same through the file's bytes: save() = encode_state(export_state);
  // load() restores only a whole, intact file (any damage: 0, nothing
  // installed) and returns the templates restored.
  std::string save() const;
  size_t load(std::string_view data, int64_t now_ms);

  // Datagrams refused by decode.max_streams_per_address, by exporter address
  // (at most RefusedAddresses::kMaxAddresses; the rest summed in *other), as
  // published by tick(). Any thread.
  void refused_snapshot(std::vector<AddressRefusals>* out, uint64_t* other) const;

  // For tests: the installed template of (stream key, id), or nullptr.
  const DecodePlan* find_template(const StreamKey& key, uint16_t template_id) const;
  const SamplerSet* sampler_set(const StreamKey& key) const;
  size_t templates_installed() const { return templates_.size(); }
  size_t held_sets() const { return held_.used(); }

 private:
  Admit admit_v5(const uint8_t* p, size_t len, const IpAddr& exporter, DatagramMeta& m,
                 int64_t now_ms);
  Admit admit_templated(WireVersion v, const uint8_t* p, size_t len, const IpAddr& exporter,
                        DatagramMeta& m, int64_t now_ms);
  Admit admit_sflow(const uint8_t* p, size_t len, DatagramMeta& m, int64_t now_ms);
  Admit reject(size_t vslot, Reject r);

  // Template `template_id` of stream `sess` was installed: the data held
  // for it is used (options) or handed to a worker.
  void template_added(uint32_t sess, uint16_t template_id) override;
  void release_held(uint32_t sess, uint16_t template_id);
  // Stream `sess` expired: every piece forgets it.
  void forget_stream(uint32_t sess);
  // tick(): builds and publishes the exporters snapshot
  // (src/decode/sessions_exporters.cc).
  void publish_exporters(int64_t now_ms);
  void publish_sflow_interfaces();
  void publish_interface_names();

  const uint32_t ring_entries_;
  bool sequence_untracked_ = false;  // set_sequence_untracked()
  DecodeOptions v5_opts_;
  uint32_t versions_mask_;  // bit i = kWireFormats[i] enabled (src/decode/wire_formats.h)
  SessionCounters& counters_;

  StreamTable streams_;
  TemplateStore templates_;
  InterfaceNames if_names_;  // before options_, which feeds it
  uint64_t if_names_generation_ = 0;  // of the last publish
  SharedSlot<InterfaceNameSnapshot> if_names_published_;
  std::shared_ptr<const InterfaceNameSnapshot> if_names_latest_;  // the same, for the reactor
  StreamOptions options_;
  HeldData held_;
  DatagramPins pins_;  // by buffer id: ring, then held-data slots
  SflowSources sflow_sources_;  // by stream index
  SflowIfTable sflow_ifs_;      // interface counters, by (stream, ifIndex)
  SflowHeads sflow_heads_;      // admit_sflow's scratch: one datagram's flow-sample heads
  // Its copy for other threads: built by tick() in *_scratch_, swapped in
  // under the mutex (try_lock: the reactor never waits for a reader).
  std::vector<SflowIfStat> sflow_ifs_scratch_, sflow_ifs_published_;
  mutable std::mutex sflow_ifs_mu_;
  // The Exporters page: its snapshot, the rejects by address, and the
  // sampling configuration it reports (src/decode/exporter_snapshot.h).
  ExporterSnapshotPublisher exporters_;
  AddressRejectTable address_rejects_;
  SamplingPolicy sampling_policy_;
  const IpAddr* admitting_ = nullptr;  // the exporter of the admit() in progress

  // The admit() in progress: the held sets of this datagram that a template
  // later in it released (so its record count is known).
  uint32_t released_now_sets_ = 0, released_now_records_ = 0;

  int64_t last_tick_ms_ = 0;
};

}  // namespace ringflow
