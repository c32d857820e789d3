#include "decode/sessions.h"

#include <algorithm>
#include <tuple>


#include "decode/sflow_decoder.h"
#include "decode/wire_formats.h"

#include "wire/bytes.h"
#include "wire/ipfix.h"
#include "wire/netflow9.h"
#include "wire/v5.h"

namespace ringflow {
namespace {

constexpr int64_t kPublishEveryMs = 1000;

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

}  // namespace

Sessions::Sessions(const DecodeConfig& cfg, uint32_t ring_entries, uint32_t buffer_size,
                   SessionCounters& counters)
    : ring_entries_(ring_entries),
      versions_mask_(enabled_formats_mask(cfg.versions)),
      counters_(counters),
      streams_(cfg, counters),
      templates_(cfg, streams_.capacity(), counters),
      if_names_(cfg.max_interface_names, counters),
      options_(streams_.capacity(), counters, &if_names_),
      held_(cfg, ring_entries, buffer_size, streams_.capacity(), counters),
      pins_(size_t{ring_entries} + held_.slots()),
      sflow_sources_(streams_.capacity()),
      sflow_ifs_(cfg.sflow_max_interfaces, streams_.capacity()),
      sampling_policy_(cfg) {
  v5_opts_.accept_trailing = cfg.accept_trailing;
  v5_opts_.future_tolerance_ms = cfg.future_tolerance_ms;
}

Sessions::~Sessions() = default;

bool Sessions::format_enabled(FormatId id) const {
  return id < kWireFormatCount && (versions_mask_ >> id & 1u) != 0;
}

Admit Sessions::reject(size_t vslot, Reject r) {
  counters_.rejects[vslot][static_cast<size_t>(r)].add();
  if (admitting_) address_rejects_.add(*admitting_, r);
  return Admit::kRejected;
}

Admit Sessions::admit(const uint8_t* p, size_t len, const IpAddr& exporter, uint16_t buf,
                      int64_t now_ms) {
  admitting_ = &exporter;
  DatagramMeta& m = pins_.meta(buf);
  m.nsets = 0;
  m.flags = 0;
  m.v5_pdus = 0;
  m.domain = 0;
  m.sampling = nullptr;
  if (len < 2) {
    counters_.datagrams[kOtherFormatSlot].add();
    return reject(kOtherFormatSlot, Reject::kTooShort);
  }
  const WireFormat* f = find_wire_format(p, len);
  const size_t vslot = format_slot(f);
  counters_.datagrams[vslot].add();
  if (f == nullptr) return reject(vslot, Reject::kBadVersion);
  if ((versions_mask_ >> vslot & 1u) == 0) return reject(vslot, Reject::kVersionDisabled);
  m.format = static_cast<FormatId>(vslot);
  Admit a = Admit::kRejected;
  switch (f->decoder) {  // no default: -Wswitch names a new decoder here
    case WireDecoder::kV5: a = admit_v5(p, len, exporter, m, now_ms); break;
    case WireDecoder::kV9: a = admit_templated(WireVersion::kV9, p, len, exporter, m, now_ms); break;
    case WireDecoder::kIpfix:
      a = admit_templated(WireVersion::kIpfix, p, len, exporter, m, now_ms);
      break;
    case WireDecoder::kSflow: a = admit_sflow(p, len, m, now_ms); break;
  }
  if (a == Admit::kHandOff) counters_.handed_off.add();
  if (a == Admit::kConsumed) counters_.consumed.add();
  return a;
}

Admit Sessions::admit_v5(const uint8_t* p, size_t len, const IpAddr& exporter, DatagramMeta& m,
                         int64_t now_ms) {
  const DatagramShape shape = validate_datagram(p, len, v5_opts_);
  if (shape.reject != Reject::kNone) return reject(kFormatV5, shape.reject);
  if (shape.trailing) {
    counters_.v5_trailing.add();
    m.flags |= kMetaTrailing;
  }
  m.v5_pdus = shape.pdus;
  // Sequence per PDU, walking the validated PDUs by their counts.
  size_t off = 0;
  for (uint8_t i = 0; i < shape.pdus; ++i) {
    v5::Header h;
    decode_header(p + off, len - off, &h);
    // A new stream must pass the address quota first; refused or over the
    // table: decoded, not tracked.
    StreamKey key;
    key.exporter = exporter;
    key.format = kFormatV5;
    key.domain = uint32_t{h.engine_type} << 8 | h.engine_id;
    if (streams_.admit(key, now_ms) != StreamTable::kNoStream)
      streams_.tracker().observe(exporter, h, now_ms);
    off += v5::kHeaderSize + size_t{h.count} * v5::kRecordSize;
  }
  return Admit::kHandOff;
}

Admit Sessions::admit_templated(WireVersion v, const uint8_t* p, size_t len,
                                const IpAddr& exporter, DatagramMeta& m, int64_t now_ms) {
  const bool v9 = v == WireVersion::kV9;
  const FormatId format = v9 ? kFormatV9 : kFormatIpfix;
  const size_t vslot = format;
  const size_t hdr = v9 ? v9::kHeaderSize : ipfix::kHeaderSize;
  if (len < hdr) return reject(vslot, Reject::kTooShort);

  uint32_t sequence, domain;
  uint16_t v9_count = 0;
  TimeContext tc;
  if (v9) {
    v9_count = wire::load_be16(p + v9::hdr::kCount);
    tc.sys_uptime_ms = wire::load_be32(p + v9::hdr::kSysUptime);
    tc.export_ms = int64_t{wire::load_be32(p + v9::hdr::kUnixSecs)} * 1000;
    sequence = wire::load_be32(p + v9::hdr::kSequence);
    domain = wire::load_be32(p + v9::hdr::kSourceId);
  } else {
    if (wire::load_be16(p + ipfix::hdr::kLength) != len) return reject(vslot, Reject::kIpfixLength);
    tc.export_ms = int64_t{wire::load_be32(p + ipfix::hdr::kExportTime)} * 1000;
    sequence = wire::load_be32(p + ipfix::hdr::kSequence);
    domain = wire::load_be32(p + ipfix::hdr::kDomain);
  }

  // Structural pass: the set chain must be whole before anything is used.
  size_t end = len;
  for (size_t off = hdr; off < end;) {
    if (end - off < ipfix::kSetHeaderSize) {
      if (v9 && all_zero(p + off, end - off)) {
        end = off;
        break;
      }
      return reject(vslot, Reject::kSetLength);
    }
    const uint16_t slen = wire::load_be16(p + off + 2);
    if (slen < ipfix::kSetHeaderSize || slen > end - off) {
      if (v9 && all_zero(p + off, end - off)) {
        end = off;
        break;
      }
      return reject(vslot, Reject::kSetLength);
    }
    off += slen;
  }
  if (end != len) counters_.v9_zero_tail.add();

  StreamKey key;
  key.exporter = exporter;
  key.format = format;
  key.domain = domain;
  const uint32_t sess = streams_.admit(key, now_ms);
  if (sess == StreamTable::kNoStream)
    return reject(vslot,
                  streams_.quota_refused() ? Reject::kStreamQuota : Reject::kStreamTableFull);
  const StreamOptionsEntry& s = options_.at(sess);
  m.domain = domain;

  const uint16_t tpl_set = v9 ? v9::kTemplateSetId : ipfix::kTemplateSetId;
  const uint16_t opt_set = v9 ? v9::kOptionsTemplateSetId : ipfix::kOptionsTemplateSetId;
  uint32_t records = 0;      // data + options data records (IPFIX sequence, v9 count)
  uint32_t all_records = 0;  // + template records (v9 count)
  uint32_t uncounted = 0;    // data sets whose records could not be counted
  held_.begin_datagram();
  released_now_sets_ = released_now_records_ = 0;
  for (size_t off = hdr; off < end;) {
    const uint16_t id = wire::load_be16(p + off);
    const uint16_t slen = wire::load_be16(p + off + 2);
    const uint8_t* body = p + off + ipfix::kSetHeaderSize;
    const size_t blen = slen - ipfix::kSetHeaderSize;
    off += slen;
    if (id == tpl_set || id == opt_set) {
      templates_.apply_set(v, id == opt_set, sess, body, blen, now_ms, &all_records, *this);
      continue;
    }
    if (id < ipfix::kMinDataSetId) {
      counters_.set_drops[static_cast<size_t>(SetDrop::kReservedId)].add();
      continue;
    }
    // Times as the records of this datagram need them, including a system
    // init time an options record earlier in this datagram announced.
    tc.init_ms = s.init_ms;
    tc.has_init = s.has_init;
    TemplateEntry* e = templates_.find(sess, id);
    if (e == nullptr) {
      // Held (or dropped): its records are unknown until the template comes;
      // a template later in this same datagram releases it at once
      // (release_held counts it in released_now_*).
      held_.hold(sess, id, body, blen, tc, now_ms);
      ++uncounted;
      continue;
    }
    e->last_ms = now_ms;
    const DecodePlan& plan = *e->plan;
    if (plan.options) {
      options_.apply_set(sess, plan, body, blen, &records);
      tc.init_ms = s.init_ms;
      tc.has_init = s.has_init;
      continue;
    }
    SetStatus st;
    const size_t n = count_records(plan, body, blen, &st);
    if (st == SetStatus::kTooShort) {
      counters_.set_drops[static_cast<size_t>(SetDrop::kTooShort)].add();
      continue;
    }
    if (st == SetStatus::kVarOverflow)
      counters_.set_drops[static_cast<size_t>(SetDrop::kVarOverflow)].add();
    if (n == 0) continue;
    if (m.nsets == kMaxDataSets) {
      counters_.set_drops[static_cast<size_t>(SetDrop::kTooManySets)].add();
      ++uncounted;
      continue;
    }
    DatagramPins::add_set(m, e->plan, static_cast<uint16_t>(body - p), static_cast<uint16_t>(blen));
    records += static_cast<uint32_t>(n);
    counters_.data_sets.add();
    counters_.data_records.add(n);
  }
  records += released_now_records_;
  uncounted -= released_now_sets_;
  all_records += records;
  if (v9 && uncounted == 0 && all_records != v9_count) counters_.v9_count_mismatch.add();

  SeqInput in;
  in.sequence = sequence;
  in.count = v9 ? 1 : records;
  in.count_known = v9 || uncounted == 0;
  in.has_uptime = v9;
  in.sys_uptime_ms = tc.sys_uptime_ms;
  in.export_ms = tc.export_ms;
  in.records = records;
  const uint32_t rate = s.sampling ? s.sampling->rate_without_id() : 0;
  in.sampling_interval = rate ? rate : 1;
  if (!sequence_untracked_) streams_.tracker().observe(sess, in, now_ms);

  if (m.nsets == 0) return Admit::kConsumed;
  tc.init_ms = s.init_ms;
  tc.has_init = s.has_init;
  m.time = tc;
  DatagramPins::set_sampling(m, s.sampling);
  return Admit::kHandOff;
}

namespace {

Reject sflow_reject(SflowReject r) {
  switch (r) {
    case SflowReject::kNone: return Reject::kNone;
    case SflowReject::kTooShort: return Reject::kTooShort;
    case SflowReject::kBadVersion: return Reject::kBadVersion;
    case SflowReject::kBadAgentType: return Reject::kSflowBadAgentType;
    case SflowReject::kSampleCountMismatch: return Reject::kSflowSampleCountMismatch;
    case SflowReject::kSamplePastDatagram: return Reject::kSflowSamplePastDatagram;
    case SflowReject::kSampleTooShort: return Reject::kSflowSampleTooShort;
    case SflowReject::kRecordCountMismatch: return Reject::kSflowRecordCountMismatch;
    case SflowReject::kRecordPastSample: return Reject::kSflowRecordPastSample;
    case SflowReject::kRecordTooShort: return Reject::kSflowRecordTooShort;
    case SflowReject::kHeaderPastRecord: return Reject::kSflowHeaderPastRecord;
    case SflowReject::kBadAddressType: return Reject::kSflowBadAddressType;
    case SflowReject::kListPastRecord: return Reject::kSflowListPastRecord;
  }
  return Reject::kTooShort;
}

// The ordered stage's view of one accepted sFlow datagram's samples.
class SflowAdmitWalk final : public SflowWalk {
 public:
  SflowAdmitWalk(SessionCounters& c, SflowSources& sources, SflowIfTable& ifs, uint32_t stream,
                 uint32_t uptime_ms)
      : c_(c), sources_(sources), ifs_(ifs), stream_(stream), uptime_ms_(uptime_ms) {}

  void sample(const SflowSampleHead& h) override {
    if (h.counters) {
      c_.sflow_counter_samples.add();
      return;
    }
    if (!h.flow) {
      c_.sflow_unknown.add(static_cast<uint8_t>(SflowUnknown::kSample), h.enterprise, h.format);
      return;
    }
    c_.sflow_flow_samples.add();
    ++flow_samples;
    if (rate == 0) rate = h.rate;
    if (stream_ == StreamTable::kNoStream) return;  // not tracked (quota, table full)
    const SflowSources::Result r =
        sources_.observe(stream_, h.source_type, h.source_index, h.sequence, h.pool, h.drops);
    switch (r.seen) {
      case SflowSources::Seen::kNew: break;
      case SflowSources::Seen::kInOrder:
      case SflowSources::Seen::kGap:
        c_.sflow_samples_lost.add(r.lost);
        c_.sflow_sample_pool.add(r.pool_delta);
        c_.sflow_drops.add(r.drops_delta);
        break;
      case SflowSources::Seen::kLate: c_.sflow_samples_late.add(); break;
      case SflowSources::Seen::kReset: c_.sflow_source_resets.add(); break;
      case SflowSources::Seen::kTableFull: c_.sflow_sources_full.add(); break;
    }
    // A late or duplicated sample's bytes are already in (or past) the
    // period of its interface's counters: not counted twice.
    if (r.seen != SflowSources::Seen::kLate)
      ifs_.flow(stream_, h.input, h.output, uint64_t{h.length} * h.rate);
  }
  void counters(const SflowCounterSample& cs, const SflowCounterRecord& cr) override {
    if (cr.format != sflow::kGenericInterface || stream_ == StreamTable::kNoStream) return;
    SflowIfDelta d;
    const SflowIfTable::Seen seen = ifs_.counters(stream_, uptime_ms_, cs.sequence, cr.generic, &d);
    c_.sflow_if_samples[static_cast<size_t>(seen)].add();
    if (seen != SflowIfTable::Seen::kDelta) return;
    c_.sflow_if_in_octets.add(d.in_octets);
    c_.sflow_if_out_octets.add(d.out_octets);
    c_.sflow_if_in_packets.add(d.in_packets);
    c_.sflow_if_out_packets.add(d.out_packets);
    c_.sflow_if_in_discards.add(d.in_discards);
    c_.sflow_if_in_errors.add(d.in_errors);
    c_.sflow_if_out_discards.add(d.out_discards);
    c_.sflow_if_out_errors.add(d.out_errors);
    c_.sflow_if_flow_in_bytes.add(d.flow_in_bytes);
    c_.sflow_if_flow_out_bytes.add(d.flow_out_bytes);
  }
  void unknown_record(SflowUnknown kind, uint32_t enterprise, uint32_t format) override {
    c_.sflow_unknown.add(static_cast<uint8_t>(kind), enterprise, format);
  }

  uint32_t flow_samples = 0;
  uint32_t rate = 0;  // the first flow sample's (the stream's sampling_interval)

 private:
  SessionCounters& c_;
  SflowSources& sources_;
  SflowIfTable& ifs_;
  uint32_t stream_;
  uint32_t uptime_ms_;
};

}  // namespace

Admit Sessions::admit_sflow(const uint8_t* p, size_t len, DatagramMeta& m, int64_t now_ms) {
  SflowDatagram d;
  uint32_t trailing = 0;
  const SflowReject r = validate_sflow(p, len, &d, &trailing, &sflow_heads_);
  if (r != SflowReject::kNone) return reject(kFormatSflow, sflow_reject(r));
  if (trailing != 0) counters_.sflow_trailing.add();
  // The stream is the agent (address, sub-agent id), not the UDP source: a
  // relay or a NAT may carry several agents from one address. Refused (the
  // address quota, a full table): decoded, not tracked, as for v5.
  StreamKey key;
  key.exporter = d.agent;
  key.format = kFormatSflow;
  key.domain = d.sub_agent;
  const uint32_t sess = streams_.admit(key, now_ms);
  // The datagram sequence first: when it shows the agent restarted, its
  // sources' sample sequences and its interface counters restarted too: both
  // are marked before this datagram's samples are read (their next sample
  // is a reset, re-baselined). (Else a source that had sent fewer than
  // SflowSources::kReorderWindow samples reads its new ones as late: no pool
  // or drops deltas, and their bytes left out of the reconciliation.)
  if (sess != StreamTable::kNoStream) {
    SeqInput in;
    in.sequence = d.sequence;
    in.count = 1;  // the datagram sequence counts datagrams
    in.has_uptime = true;
    in.sys_uptime_ms = d.uptime_ms;
    in.export_ms = now_ms;  // sFlow sends no export time: arrival stands in
    in.records = 0;         // added below, once the walk has counted them
    if (streams_.tracker().observe(sess, in, now_ms).cls == SeqClass::kReset) {
      sflow_sources_.restarted(sess);
      sflow_ifs_.restarted(sess);
    }
  }
  SflowAdmitWalk walk(counters_, sflow_sources_, sflow_ifs_, sess, d.uptime_ms);
  if (sflow_heads_.complete) {  // the validating pass saw everything the walk would
    for (uint32_t i = 0; i < sflow_heads_.n; ++i) walk.sample(sflow_heads_.heads[i]);
  } else {
    walk_sflow_samples(p, len, d, &walk);
  }
  if (sess != StreamTable::kNoStream) {
    StreamStats& st = streams_.tracker().stream(sess);
    st.flows += walk.flow_samples;
    st.sampling_interval = walk.rate ? walk.rate : 1;
  }
  m.domain = d.sub_agent;
  if (walk.flow_samples == 0) return Admit::kConsumed;
  return Admit::kHandOff;
}

void Sessions::template_added(uint32_t sess, uint16_t template_id) {
  if (held_.holds(sess)) release_held(sess, template_id);
}

void Sessions::release_held(uint32_t sess, uint16_t template_id) {
  const DecodePlan& plan = *templates_.find(sess, template_id)->plan;
  held_.release(sess, template_id, streams_.stream(sess).exporter, [&](const HeldSet& h) {
    if (plan.options) {
      uint32_t n = 0;
      options_.apply_set(sess, plan, h.data, h.len, &n);
      if (h.this_datagram) {
        ++released_now_sets_;
        released_now_records_ += n;
      }
      return HeldData::Use::kUsed;
    }
    SetStatus st;
    const size_t n = count_records(plan, h.data, h.len, &st);
    if (st == SetStatus::kTooShort)
      counters_.set_drops[static_cast<size_t>(SetDrop::kTooShort)].add();
    if (st == SetStatus::kVarOverflow)
      counters_.set_drops[static_cast<size_t>(SetDrop::kVarOverflow)].add();
    if (n == 0) return HeldData::Use::kEmpty;
    if (h.this_datagram) {
      ++released_now_sets_;
      released_now_records_ += static_cast<uint32_t>(n);
    }
    const StreamOptionsEntry& s = options_.at(sess);
    DatagramMeta& m = pins_.meta(h.buf);
    m.format = plan.version == WireVersion::kV9 ? kFormatV9 : kFormatIpfix;
    m.flags = kMetaLate;
    m.v5_pdus = 0;
    m.domain = streams_.stream(sess).domain;
    m.time = *h.time;
    if (!m.time.has_init && s.has_init) {
      m.time.init_ms = s.init_ms;
      m.time.has_init = true;
    }
    DatagramPins::set_sampling(m, s.sampling);
    m.nsets = 0;
    DatagramPins::add_set(m, &plan, 0, h.len);
    counters_.data_sets.add();
    counters_.data_records.add(n);
    return HeldData::Use::kHandOff;
  });
}

size_t Sessions::take_ready(ReadyDatagram* out, size_t max) { return held_.take_ready(out, max); }

void Sessions::release(uint16_t buf) {
  pins_.release(buf);
  if (buf >= ring_entries_) held_.free_buffer(buf);
}

void Sessions::forget_stream(uint32_t sess) {
  held_.forget(sess);
  sflow_sources_.forget(sess);
  sflow_ifs_.forget(sess);
  templates_.forget_stream(sess);
  options_.forget(sess);
  if_names_.forget(sess);
}

void Sessions::tick(int64_t now_ms) {
  if (now_ms - last_tick_ms_ < kPublishEveryMs) return;
  last_tick_ms_ = now_ms;
  held_.expire(now_ms);       // held data past its time
  templates_.expire(now_ms);  // templates neither refreshed nor used for template_timeout
  streams_.expire(now_ms, [this](uint32_t sess) { forget_stream(sess); });
  streams_.publish();
  publish_interface_names();
  publish_exporters(now_ms);
  publish_sflow_interfaces();
}

void Sessions::publish_interface_names() {
  // Only when a name changed (or a stream with names was forgotten): a
  // router refreshing its interface table every minute costs nothing here.
  if (if_names_.generation() == if_names_generation_) return;
  if_names_generation_ = if_names_.generation();
  auto snap = std::make_shared<InterfaceNameSnapshot>();
  snap->rows.reserve(if_names_.size());
  if_names_.for_each([&](const LearnedInterface& e) {
    const StreamStats& st = streams_.stream(e.stream);
    snap->rows.push_back(InterfaceNameRow{st.exporter, st.domain, st.format, e.if_index,
                                          std::string(e.name_view()),
                                          std::string(e.description_view())});
  });
  std::sort(snap->rows.begin(), snap->rows.end(),
            [](const InterfaceNameRow& a, const InterfaceNameRow& b) {
              return std::tie(a.exporter.bytes, a.domain, a.format, a.if_index) <
                     std::tie(b.exporter.bytes, b.domain, b.format, b.if_index);
            });
  if_names_latest_ = snap;
  if_names_published_.store(std::move(snap));
}

void Sessions::publish_sflow_interfaces() {
  // Once a second; the vectors keep their capacity, so after the first
  // rounds this allocates only when the table grows.
  sflow_ifs_scratch_.clear();
  sflow_ifs_.for_each([&](uint32_t sess, uint32_t if_index, const SflowIfTable::Totals& t) {
    const StreamStats& st = streams_.stream(sess);
    sflow_ifs_scratch_.push_back(SflowIfStat{st.exporter, st.domain, if_index, t});
  });
  std::unique_lock<std::mutex> lock(sflow_ifs_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  sflow_ifs_published_.swap(sflow_ifs_scratch_);
}

void Sessions::sflow_interfaces(std::vector<SflowIfStat>* out) const {
  std::lock_guard<std::mutex> lock(sflow_ifs_mu_);
  out->insert(out->end(), sflow_ifs_published_.begin(), sflow_ifs_published_.end());
}

void Sessions::refused_snapshot(std::vector<AddressRefusals>* out, uint64_t* other) const {
  streams_.refused_snapshot(out, other);
}

void Sessions::streams_snapshot(std::vector<StreamStats>* out) const {
  streams_.streams_snapshot(out);
}

SequenceTrackerStats Sessions::tracker_stats() const { return streams_.tracker_stats(); }

const DecodePlan* Sessions::find_template(const StreamKey& key, uint16_t template_id) const {
  const uint32_t sess = streams_.find(key);
  return sess == StreamTable::kNoStream ? nullptr : templates_.plan(sess, template_id);
}

const SamplerSet* Sessions::sampler_set(const StreamKey& key) const {
  const uint32_t sess = streams_.find(key);
  return sess == StreamTable::kNoStream ? nullptr : options_.at(sess).sampling;
}

namespace {

StreamKey key_of(const StreamStats& st) {
  StreamKey key;
  key.exporter = st.exporter;
  key.format = st.format;
  key.domain = st.domain;
  return key;
}

}  // namespace

void Sessions::export_state(TemplateState* out) const {
  templates_.for_each([&](const TemplateEntry& t) {
    StateTemplate rec;
    rec.key = key_of(streams_.stream(t.stream));
    rec.options = t.plan->options;
    rec.raw.assign(reinterpret_cast<const char*>(t.plan->raw.data()), t.plan->raw.size());
    out->templates.push_back(std::move(rec));
  });
  for (uint32_t i = 0; i < options_.size(); ++i) {
    const StreamOptionsEntry& s = options_.at(i);
    if (!s.sampling && !s.has_init) continue;
    StateStream rec;
    rec.key = key_of(streams_.stream(i));
    rec.has_init = s.has_init;
    rec.init_ms = s.init_ms;
    if (s.sampling) rec.rates = *s.sampling;
    rec.rates.refs = 0;
    out->streams.push_back(rec);
  }
  if_names_.for_each([&](const LearnedInterface& e) {
    out->interfaces.push_back(StateInterface{key_of(streams_.stream(e.stream)), e.if_index,
                                             std::string(e.name_view()),
                                             std::string(e.description_view())});
  });
}

StateImport Sessions::import_state(const TemplateState& st, int64_t now_ms) {
  StateImport r;
  for (const StateTemplate& rec : st.templates) {
    const WireVersion v = rec.key.format == kFormatV9 ? WireVersion::kV9 : WireVersion::kIpfix;
    const auto* raw = reinterpret_cast<const uint8_t*>(rec.raw.data());
    TemplateRecordView t;
    TemplateProblem problem;
    if ((rec.key.format != kFormatV9 && rec.key.format != kFormatIpfix) ||
        read_template_record(v, rec.options, raw, rec.raw.size(), &t, &problem,
                             templates_.v9_variable_length()) != SetWalk::kRecord ||
        problem != TemplateProblem::kNone || t.withdrawal || t.raw_len != rec.raw.size()) {
      ++r.templates_invalid;
      continue;
    }
    const uint32_t sess = streams_.admit(rec.key, now_ms);
    if (sess == StreamTable::kNoStream) {
      ++r.templates_no_stream;
      continue;
    }
    if (templates_.find(sess, t.template_id)) {
      templates_.install(v, sess, t, now_ms);  // a refresh (or a redefinition: the later copy wins)
      ++r.templates_duplicate;
      continue;
    }
    if (templates_.install(v, sess, t, now_ms) != TemplateStore::Installed::kAdded) {
      ++r.templates_over_limit;
      continue;
    }
    ++r.templates;
    template_added(sess, t.template_id);
  }
  for (const StateStream& rec : st.streams) {
    const uint32_t sess = streams_.admit(rec.key, now_ms);
    if (sess == StreamTable::kNoStream) {
      ++r.streams_no_stream;
      continue;
    }
    options_.restore(sess, rec.has_init, rec.init_ms, rec.rates);
    ++r.streams;
  }
  for (const StateInterface& rec : st.interfaces) {
    const uint32_t sess = if_names_.enabled() && (rec.key.format == kFormatV9 ||
                                                  rec.key.format == kFormatIpfix)
                              ? streams_.admit(rec.key, now_ms)
                              : StreamTable::kNoStream;
    if (sess != StreamTable::kNoStream &&
        if_names_.restore(sess, rec.if_index, rec.name, rec.description)) {
      ++r.interfaces;
    } else {
      ++r.interfaces_refused;
    }
  }
  return r;
}

std::string Sessions::save() const {
  TemplateState st;
  export_state(&st);
  return encode_state(st);
}

size_t Sessions::load(std::string_view data, int64_t now_ms) {
  TemplateState st;
  if (decode_state(data, &st) != StateError::kNone) return 0;
  return import_state(st, now_ms).templates;
}

}  // namespace ringflow
