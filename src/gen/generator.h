// Builds NetFlow v5, v9 or IPFIX datagrams for a set of exporter streams,
// applies the configured faults, and keeps the ground truth of what it
// produced.
//
// One Generator per sender thread owns a disjoint subset of the exporters
// (exporter e belongs to thread e % threads), so every stream's sequence is
// produced, and sent, in order by one thread. Each stream has its own Rng
// derived from (--seed, exporter index): a stream's datagrams are the same
// whatever the number of threads or exporters around it, and the same on
// every run for a given seed (apart from the time fields, which follow the
// wall clock passed to fill()).
//
// Unit of work: a "slot" is one datagram of one stream: it advances the
// stream's flow_sequence by the record count, and is then sent, lost (not
// sent), held back (reordered), sent twice (duplicate), and may be followed
// by a malformed datagram. --count and the pacing rate count slots.
//
// Per slot, in this order (see docs/generator.md, "Faults"):
//   reset      every reset_every slots: the exporter restarts (uptime 0,
//              flow_sequence 0); a held datagram is sent first.
//   loss       sequence advances, nothing sent; a held datagram is sent
//              (it is then not "reordered": nothing later overtook it).
//   reorder    the datagram is held and sent right after the stream's next
//              sent datagram (reordered += 1 then). At most one held.
//   duplicate  the datagram is sent twice in a row.
//   malformed  an extra malformed datagram of a class drawn from the mask.
// Times: sys_uptime = now - boot (64-bit ms internally, sent mod 2^32);
// each record ends age ms before the export and lasts duration ms, clamped
// at boot, so first <= last <= sys_uptime on the unwrapped clock.
//
// v9 / IPFIX (--protocol): a stream is one (exporter, observation domain);
// exporter e's --domains streams share its source address and the template
// ids. A slot is one data datagram; templates (gen/flow_templates.h) go in
// front of its data (or in their own datagram, --template-separate) when due:
// first after --template-delay data datagrams (data before any template), then
// every --template-refresh datagrams or seconds, after a restart, a
// redefinition or a withdrawal. Templates are never lost, held or reordered
// (--loss/--reorder apply to data datagrams without templates), so the truth
// knows which data a collector could decode; a redefinition or withdrawal
// first sends a held datagram, as a restart does. A datagram holds up to
// --records records and at most kMaxTemplatedDatagram bytes; IPv4 records go
// in a set of template 256, IPv6 ones in a set of 257. Sequence: v9 counts
// datagrams of the source_id (lost ones and accepted malformed ones too),
// IPFIX counts data and options data records of the domain.
//
// sFlow v5 (--protocol sflow, generator_sflow.cc): a stream is one (agent,
// sub-agent); a slot is one datagram of up to --records flow samples (fewer
// when the next would pass kMaxSflowDatagram), each one sampled packet of a
// key drawn from the model, sampled by source key % N at that source's rate.
// Every --counter-every slots a counter datagram (one generic interface
// counter sample per source, octets = frame_length x rate of every packet the
// source sampled, lost, cut or dropped ones too) goes first; it is never
// lost or held. Sequence: datagrams of the agent (lost ones too); each
// source's flow samples. A restart zeroes them all. Faults --drops (a sample
// the agent drops: only `drops` and the pool say so) and --cut-headers (a
// raw header cut before its key is complete) are per sample.
//
// Hot path: fill() does no allocation and no system call; records are copied
// from pre-encoded per-key images (v5: the model's; v9/IPFIX: FlowTemplates)
// and patched in place.
//
// Thread safety: one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <ringflow/ip.h>

#include "gen/flow_templates.h"
#include "gen/gen_config.h"
#include "gen/rng.h"
#include "gen/send_batch.h"
#include "gen/sflow_encoder.h"
#include "gen/traffic.h"
#include "gen/truth.h"
#include "wire/v5.h"

namespace ringflow::gen {

// Entries a single slot can add to a batch: a held datagram flushed by a
// reset, the datagram, its duplicate (or the held one after it), a malformed
// one; v9/IPFIX: also a withdrawal message and a template datagram.
inline constexpr size_t kMaxEntriesPerSlot = 6;

class Generator {
 public:
  // `exporters`: the global exporter indices this generator owns (each
  // < cfg.exporters). start_ns: CLOCK_REALTIME of the run's start, which
  // anchors each exporter's boot time. keep_keys: accumulate KeyTotals.
  // templates: v9/IPFIX record images shared between generators (built here
  // when null and cfg.templated()).
  Generator(const GenConfig& cfg, const TrafficModel& model, std::vector<uint32_t> exporters,
            int64_t start_ns, bool keep_keys,
            std::shared_ptr<const FlowTemplates> templates = nullptr);

  // Generates up to `slots` slots into `batch` (cleared first), stamped with
  // now_ns (CLOCK_REALTIME). Returns the slots consumed: fewer than asked
  // only when every stream has used its share of --count (0 = done).
  // REQUIRES: batch.capacity() >= slots * kMaxEntriesPerSlot (v5 needs 4 per
  // slot only; kMaxEntriesPerSlot covers v9/IPFIX).
  size_t fill(SendBatch& batch, size_t slots, int64_t now_ns);

  // Puts held-back datagrams into `batch` (cleared first), as many as fit;
  // returns true while more remain. Call (and send) until it returns false
  // at the end of a run, so nothing generated stays unsent.
  bool flush(SendBatch& batch);

  // Moves an entry the kernel refused from the sent counters of its stream
  // to send_errors / send_error_flows.
  void on_send_failed(const Outgoing& o);

  bool done() const { return remaining_streams_ == 0; }
  size_t streams() const { return streams_.size(); }
  // Global stream index of local stream i (its truth row): the exporter (v5),
  // or exporter * domains + domain (v9/IPFIX).
  uint32_t exporter_index(size_t stream) const { return streams_[stream].index; }
  // The exporter (source address 127.0.0.1 + e) of local stream i.
  uint32_t exporter_of(size_t stream) const { return streams_[stream].exporter; }
  // Truth of local stream i. The identity (exporter address, port) is set by
  // the caller, which knows the sockets: set_identity().
  const StreamTruth& truth(size_t stream) const { return streams_[stream].truth; }
  void set_identity(size_t stream, const IpAddr& addr, uint16_t port);
  const KeyTotals& keys() const { return keys_; }

  // sFlow: called with the truth of every datagram built (flow datagrams, lost
  // ones too, and counter datagrams; not malformed ones). For tests.
  using SflowObserver = std::function<void(const SflowDatagramSpec&)>;
  void set_sflow_observer(SflowObserver f) { sflow_observer_ = std::move(f); }

  // Exporter identity shared with the sender: engine ids of exporter i.
  static uint8_t engine_type_of(uint32_t exporter) { return static_cast<uint8_t>(exporter >> 8); }
  static uint8_t engine_id_of(uint32_t exporter) { return static_cast<uint8_t>(exporter); }

 private:
  struct Stream {
    uint32_t index = 0;  // global stream index (truth row)
    uint32_t exporter = 0, domain = 0;
    Rng rng;
    uint32_t sequence = 0;        // flow_sequence of the next datagram
    int64_t boot_ns = 0;          // CLOCK_REALTIME of the (virtual) boot
    int64_t last_uptime_ms = -1;  // unwrapped uptime of the previous slot, -1 = none
    uint64_t quota = 0;           // slots left (UINT64_MAX = unlimited)
    uint64_t since_reset = 0;
    bool held = false;
    uint32_t held_len = 0;
    std::vector<uint8_t> held_buf;                      // kBufSize, allocated once
    std::array<uint32_t, v5::kMaxRecords> last_keys{};  // keys of the last built datagram
    StreamTruth truth;
    // v9 / IPFIX
    uint32_t held_flows = 0;
    uint64_t held_packets = 0, held_bytes = 0;
    uint32_t last_n = 0;  // records of the last built datagram
    uint16_t last_cnt[2] = {0, 0};  // of which IPv4, IPv6
    uint64_t last_scaled_packets = 0, last_scaled_bytes = 0;
    FlowTemplates::Written last_written;  // templates in front of its data
    bool force_templates = false;  // a restart, redefinition or withdrawal needs them again
    std::array<uint32_t, v5::kMaxRecords> last_packets{}, last_bytes{};
    int variant = 0;              // template layout in use (0 = A, 1 = B)
    bool templates_sent = false;  // the collector has seen this stream's templates
    uint64_t data_datagrams = 0;  // data datagrams built (lost ones too)
    uint64_t since_templates = 0, since_redefine = 0, since_withdraw = 0;
    int64_t templates_ns = 0;  // when the templates were last sent
    // sFlow
    struct Source {  // ifIndex = position + 1
      uint32_t sequence = 0, pool = 0, drops = 0, counter_sequence = 0;
      uint64_t in_octets = 0, in_ucast = 0;
    };
    std::array<Source, kMaxSflowSources> sources{};
    IpAddr agent;
    bool agent_v6 = false;
    uint64_t since_counters = 0;
    std::unique_ptr<SflowDatagramSpec> spec;  // the last datagram built (allocated once)

    // Milliseconds since the (virtual) boot at now_ns, unwrapped (>= 0).
    int64_t uptime_ms(int64_t now_ns) const;
  };

  Stream* next_stream();
  // What every slot does first, whatever the protocol: the exporter restart
  // of --reset-every (a held datagram goes out first; sequence and uptime
  // start again), the truth's generated count and first sequence, and uptime
  // wraps. true when the stream restarted in this slot.
  bool begin_slot(Stream& s, SendBatch& b, int64_t now_ns);
  void slot(Stream& s, SendBatch& b, int64_t now_ns);
  // Builds one valid datagram into buf; returns its length and accounts it.
  uint32_t build(Stream& s, uint8_t* buf, int64_t now_ns, uint64_t* packets, uint64_t* bytes);
  uint32_t build_malformed(Stream& s, MalformedClass c, uint8_t* buf, int64_t now_ns);
  void emit_held(Stream& s, SendBatch& b, bool reordered);
  // v9 / IPFIX (generator_templated.cc).
  void slot_templated(Stream& s, SendBatch& b, int64_t now_ns);
  // Builds one data datagram (the templates in front when with_templates);
  // returns its length, and in *flows/*packets/*bytes what it carries.
  // account: false for a lost datagram (only the sequence advances).
  uint32_t build_templated(Stream& s, uint8_t* buf, int64_t now_ns, bool with_templates,
                           bool account, uint32_t* flows, uint64_t* packets, uint64_t* bytes);
  uint32_t build_template_message(Stream& s, uint8_t* buf, int64_t now_ns);
  uint32_t build_withdrawal(Stream& s, uint8_t* buf, int64_t now_ns);
  uint32_t build_malformed_templated(Stream& s, MalformedClass c, uint8_t* buf, int64_t now_ns);
  MessageHeader header_templated(const Stream& s, int64_t now_ns) const;
  // sFlow (generator_sflow.cc).
  void slot_sflow(Stream& s, SendBatch& b, int64_t now_ns);
  uint32_t build_sflow(Stream& s, uint8_t* buf, int64_t now_ns, bool account, uint32_t* flows,
                       uint64_t* packets, uint64_t* bytes);
  uint32_t build_sflow_counters(Stream& s, uint8_t* buf, int64_t now_ns);
  uint32_t build_malformed_sflow(Stream& s, MalformedClass c, uint8_t* buf, int64_t now_ns);
  void sflow_sample_of(const Stream& s, uint32_t key, const FlowCounters& c,
                       SflowSample* out) const;
  void sflow_restart(Stream& s);
  void count_sflow_sample(StreamTruth& t, const SflowSample& m);
  uint32_t sflow_sources() const;
  uint32_t sflow_rate(uint32_t source) const;
  void templates_out(Stream& s, int64_t now_ns, const FlowTemplates::Written& w);

  const GenConfig& cfg_;
  const TrafficModel& model_;
  std::shared_ptr<const FlowTemplates> tpl_;
  std::vector<Stream> streams_;
  std::vector<MalformedClass> malformed_classes_;
  size_t cursor_ = 0;      // stream served next
  size_t run_left_ = 0;    // slots left in the current stream's run
  size_t run_length_ = 1;  // port mode: a batch per stream (one sendmmsg per socket)
  size_t remaining_streams_ = 0;
  size_t slot_entries_ = 4;  // batch entries one slot may add: 4 (v5) or kMaxEntriesPerSlot
  bool keep_keys_;
  KeyTotals keys_;
  SflowObserver sflow_observer_;
};

}  // namespace ringflow::gen
