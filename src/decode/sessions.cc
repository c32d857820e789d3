#include "decode/sessions.h"

#include "decode/wire_formats.h"

#include <algorithm>
#include <cstring>

#include "wire/bytes.h"
#include "wire/ipfix.h"
#include "wire/netflow9.h"
#include "wire/v5.h"

namespace ringflow {
namespace {

constexpr int64_t kPublishEveryMs = 1000;

size_t pow2_at_least(size_t v) {
  size_t p = 16;
  while (p < v) p <<= 1;
  return p;
}

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

uint64_t tkey_hash(uint32_t sess, uint16_t id) {
  uint64_t h = (uint64_t{sess} << 16 | id) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

}  // namespace

Sessions::Sessions(const DecodeConfig& cfg, uint32_t ring_entries, uint32_t buffer_size,
                   SessionCounters& counters)
    : ring_entries_(ring_entries),
      slot_size_(std::max<uint32_t>(buffer_size, 1)),
      sampling_(cfg),
      versions_mask_(enabled_formats_mask(cfg.versions)),
      max_templates_(std::max<uint32_t>(cfg.max_templates, 1)),
      max_templates_per_stream_(std::max<uint32_t>(cfg.max_templates_per_stream, 1)),
      template_idle_ms_(int64_t{cfg.template_timeout_s} * 1000),
      held_timeout_ms_(int64_t{cfg.held_timeout_s} * 1000),
      held_bytes_per_stream_(cfg.held_bytes_per_stream),
      v9_variable_length_(cfg.v9_variable_length),
      counters_(counters),
      tracker_(cfg),
      quota_(tracker_.capacity(), cfg.max_streams_per_address) {
  v5_opts_.accept_trailing = cfg.accept_trailing;
  v5_opts_.future_tolerance_ms = cfg.future_tolerance_ms;
  const uint64_t slots = cfg.held_bytes / slot_size_;
  hold_slots_ = static_cast<uint32_t>(
      std::min<uint64_t>(slots, ring_entries_ < 65536 ? 65536 - ring_entries_ : 0));
  sessions_.resize(tracker_.capacity());
  meta_.resize(size_t{ring_entries_} + hold_slots_);
  entries_.resize(max_templates_);
  entries_free_.reserve(max_templates_);
  for (uint32_t i = max_templates_; i-- > 0;) entries_free_.push_back(i);
  tslots_.assign(pow2_at_least(size_t{max_templates_} * 2), kNil);
  tmask_ = tslots_.size() - 1;
  held_.resize(hold_slots_);
  held_bytes_.resize(size_t{hold_slots_} * slot_size_);
  held_free_.reserve(hold_slots_);
  for (uint32_t i = hold_slots_; i-- > 0;) held_free_.push_back(i);
  ready_.reserve(hold_slots_);
  ready_exporter_.resize(hold_slots_);
  snapshot_.reserve(tracker_.capacity());
  refused_snapshot_.reserve(RefusedAddresses::kMaxAddresses);
  scratch_.reserve(tracker_.capacity());
}

Sessions::~Sessions() {
  for (TemplateEntry& e : entries_)
    if (e.plan) unref(e.plan);
  for (DatagramMeta& m : meta_) {
    for (uint8_t i = 0; i < m.nsets; ++i) unref(m.sets[i].plan);
    if (m.sampling) unref(m.sampling);
  }
  for (Session& s : sessions_)
    if (s.sampling) unref(s.sampling);
}

bool Sessions::version_enabled(uint16_t v) const {
  const WireFormat* f = decoded_format(v);
  return f != nullptr && (versions_mask_ >> (f - kWireFormats) & 1u) != 0;
}

const uint8_t* Sessions::hold_data(uint16_t buf) const {
  return held_bytes_.data() + size_t{buf - ring_entries_} * slot_size_;
}

void Sessions::unref(const DecodePlan* p) {
  auto* q = const_cast<DecodePlan*>(p);
  if (--q->refs == 0) delete q;
}

void Sessions::unref(const SamplerSet* s) {
  auto* q = const_cast<SamplerSet*>(s);
  if (--q->refs == 0) delete q;
}

Admit Sessions::reject(size_t vslot, Reject r) {
  counters_.rejects[vslot][static_cast<size_t>(r)].add();
  return Admit::kRejected;
}

Admit Sessions::admit(const uint8_t* p, size_t len, const IpAddr& exporter, uint16_t buf,
                      int64_t now_ms) {
  DatagramMeta& m = meta_[buf];
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
  if (!f->decoded()) {
    sflow_notice_.rejected(exporter, wire_version(*f, p));
    return reject(vslot, Reject::kSflowNotDecoded);
  }
  if ((versions_mask_ >> (f - kWireFormats) & 1u) == 0)
    return reject(vslot, Reject::kVersionDisabled);
  m.version = static_cast<uint8_t>(f->version);
  Admit a = Admit::kRejected;
  switch (f->decoder) {  // no default: -Wswitch names a new decoder here
    case WireDecoder::kV5: a = admit_v5(p, len, exporter, m, now_ms); break;
    case WireDecoder::kV9: a = admit_templated(WireVersion::kV9, p, len, exporter, m, now_ms); break;
    case WireDecoder::kIpfix:
      a = admit_templated(WireVersion::kIpfix, p, len, exporter, m, now_ms);
      break;
    case WireDecoder::kSflowNotDecoded: break;  // rejected above
  }
  if (a == Admit::kHandOff) counters_.handed_off.add();
  if (a == Admit::kConsumed) counters_.consumed.add();
  return a;
}

Admit Sessions::admit_v5(const uint8_t* p, size_t len, const IpAddr& exporter, DatagramMeta& m,
                         int64_t now_ms) {
  const DatagramShape shape = validate_datagram(p, len, v5_opts_);
  if (shape.reject != Reject::kNone) return reject(version_slot(5), shape.reject);
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
    key.version = 5;
    key.domain = uint32_t{h.engine_type} << 8 | h.engine_id;
    if (admit_stream(key, now_ms) != SequenceTracker::kNoStream) tracker_.observe(exporter, h, now_ms);
    off += v5::kHeaderSize + size_t{h.count} * v5::kRecordSize;
  }
  return Admit::kHandOff;
}

Admit Sessions::admit_templated(WireVersion v, const uint8_t* p, size_t len,
                                const IpAddr& exporter, DatagramMeta& m, int64_t now_ms) {
  const bool v9 = v == WireVersion::kV9;
  const size_t vslot = version_slot(v9 ? 9 : 10);
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
  key.version = static_cast<uint8_t>(v9 ? 9 : 10);
  key.domain = domain;
  const uint32_t sess = admit_stream(key, now_ms);
  if (sess == SequenceTracker::kNoStream)
    return reject(vslot, quota_refused_ ? Reject::kStreamQuota : Reject::kStreamTableFull);
  Session& s = sessions_[sess];
  m.domain = domain;

  const uint16_t tpl_set = v9 ? v9::kTemplateSetId : ipfix::kTemplateSetId;
  const uint16_t opt_set = v9 ? v9::kOptionsTemplateSetId : ipfix::kOptionsTemplateSetId;
  uint32_t records = 0;      // data + options data records (IPFIX sequence, v9 count)
  uint32_t all_records = 0;  // + template records (v9 count)
  uint32_t uncounted = 0;    // data sets whose records could not be counted
  ++admit_serial_;
  released_now_sets_ = released_now_records_ = 0;
  for (size_t off = hdr; off < end;) {
    const uint16_t id = wire::load_be16(p + off);
    const uint16_t slen = wire::load_be16(p + off + 2);
    const uint8_t* body = p + off + ipfix::kSetHeaderSize;
    const size_t blen = slen - ipfix::kSetHeaderSize;
    off += slen;
    if (id == tpl_set || id == opt_set) {
      template_set(v, id == opt_set, sess, body, blen, now_ms, &all_records);
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
    TemplateEntry* e = tfind(sess, id);
    if (e == nullptr) {
      // Held (or dropped): its records are unknown until the template comes;
      // a template later in this same datagram releases it at once
      // (release_held counts it in released_now_*).
      hold(sess, id, body, blen, tc, now_ms);
      ++uncounted;
      continue;
    }
    e->last_ms = now_ms;
    const DecodePlan& plan = *e->plan;
    if (plan.options) {
      options_records(sess, plan, body, blen, &records);
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
    ++e->plan->refs;
    m.sets[m.nsets++] = SetRef{e->plan, static_cast<uint16_t>(body - p), static_cast<uint16_t>(blen)};
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
  tracker_.observe(sess, in, now_ms);

  if (m.nsets == 0) return Admit::kConsumed;
  tc.init_ms = s.init_ms;
  tc.has_init = s.has_init;
  m.time = tc;
  if (s.sampling) {
    ++const_cast<SamplerSet*>(s.sampling)->refs;
    m.sampling = s.sampling;
  }
  return Admit::kHandOff;
}

void Sessions::template_set(WireVersion v, bool options, uint32_t sess, const uint8_t* body,
                            size_t len, int64_t now_ms, uint32_t* records) {
  size_t off = 0;
  while (off < len) {
    TemplateRecordView t;
    TemplateProblem problem;
    if (read_template_record(v, options, body + off, len - off, &t, &problem,
                             v9_variable_length_) == SetWalk::kEnd)
      break;
    if (problem != TemplateProblem::kNone) {
      counters_.template_rejects[static_cast<size_t>(problem)].add();
      // A record whose extent is known (bad id, too many fields, ...) can be
      // stepped over; a truncated one ends the set.
      if (problem == TemplateProblem::kTruncated || problem == TemplateProblem::kBadScope) break;
      off += t.raw_len;
      ++*records;
      continue;
    }
    off += t.raw_len;
    ++*records;
    if (t.withdrawal) {
      withdraw(sess, t);
    } else {
      install(v, sess, t, now_ms);
    }
  }
}

size_t Sessions::tslot(uint32_t sess, uint16_t id, bool* found) const {
  size_t pos = tkey_hash(sess, id) & tmask_;
  for (;;) {
    const uint32_t e = tslots_[pos];
    if (e == kNil) {
      *found = false;
      return pos;
    }
    if (entries_[e].session == sess && entries_[e].id == id) {
      *found = true;
      return pos;
    }
    pos = (pos + 1) & tmask_;
  }
}

Sessions::TemplateEntry* Sessions::tfind(uint32_t sess, uint16_t id) {
  bool found;
  const size_t pos = tslot(sess, id, &found);
  return found ? &entries_[tslots_[pos]] : nullptr;
}

void Sessions::terase(size_t hole) {
  TemplateEntry& e = entries_[tslots_[hole]];
  Session& s = sessions_[e.session];
  --s.templates;
  --templates_used_;
  if (e.plan->options) --options_templates_;
  unref(e.plan);
  e.plan = nullptr;
  entries_free_.push_back(tslots_[hole]);
  // Backward-shift deletion: no tombstones.
  size_t j = hole;
  for (;;) {
    j = (j + 1) & tmask_;
    if (tslots_[j] == kNil) break;
    const TemplateEntry& x = entries_[tslots_[j]];
    const size_t home = tkey_hash(x.session, x.id) & tmask_;
    if (((j - home) & tmask_) >= ((j - hole) & tmask_)) {
      tslots_[hole] = tslots_[j];
      hole = j;
    }
  }
  tslots_[hole] = kNil;
  counters_.templates_active.set(templates_used_);
  counters_.options_templates_active.set(options_templates_);
}

void Sessions::install(WireVersion v, uint32_t sess, const TemplateRecordView& t, int64_t now_ms) {
  bool found;
  const size_t pos = tslot(sess, t.template_id, &found);
  if (found) {
    TemplateEntry& e = entries_[tslots_[pos]];
    e.last_ms = now_ms;
    const DecodePlan& old = *e.plan;
    if (old.options == t.options && old.raw.size() == t.raw_len &&
        std::memcmp(old.raw.data(), t.raw, t.raw_len) == 0) {
      counters_.templates_refreshed.add();
      return;
    }
    // Redefinition: same id, new layout. Datagrams already handed out keep
    // the old plan until they come back.
    std::unique_ptr<DecodePlan> plan = compile_plan(v, t);
    plan->refs = 1;
    count_plan(*plan);
    if (old.options) --options_templates_;
    if (plan->options) ++options_templates_;
    unref(e.plan);
    e.plan = plan.release();
    counters_.templates_redefined.add();
    counters_.options_templates_active.set(options_templates_);
    return;
  }
  Session& s = sessions_[sess];
  if (s.templates >= max_templates_per_stream_) {
    counters_.template_rejects[kTemplateLimitStream].add();
    return;
  }
  if (entries_free_.empty()) {
    counters_.template_rejects[kTemplateLimitTotal].add();
    return;
  }
  std::unique_ptr<DecodePlan> plan = compile_plan(v, t);
  plan->refs = 1;
  count_plan(*plan);
  const uint32_t idx = entries_free_.back();
  entries_free_.pop_back();
  TemplateEntry& e = entries_[idx];
  e.plan = plan.release();
  e.session = sess;
  e.id = t.template_id;
  e.last_ms = now_ms;
  tslots_[pos] = idx;
  ++s.templates;
  ++templates_used_;
  if (e.plan->options) ++options_templates_;
  counters_.templates_added.add();
  counters_.templates_active.set(templates_used_);
  counters_.options_templates_active.set(options_templates_);
  if (s.held_head != kNil) release_held(sess, t.template_id, *e.plan, tracker_.stream(sess).exporter);
}

void Sessions::count_plan(const DecodePlan& plan) {
  if (plan.reverse) counters_.templates_biflow.add();
  if (plan.unknown_counter_fields) counters_.templates_unknown_counters.add();
}

void Sessions::withdraw(uint32_t sess, const TemplateRecordView& t) {
  const bool all = t.template_id == ipfix::kWithdrawAllTemplates ||
                   t.template_id == ipfix::kWithdrawAllOptionsTemplates;
  if (!all) {
    bool found;
    const size_t pos = tslot(sess, t.template_id, &found);
    if (found && entries_[tslots_[pos]].plan->options == t.options) {
      terase(pos);
      counters_.templates_withdrawn.add();
    }
    return;
  }
  // Every (options) template of the stream: walk the table (rare).
  for (size_t i = 0; i <= tmask_;) {
    const uint32_t e = tslots_[i];
    if (e != kNil && entries_[e].session == sess && entries_[e].plan->options == t.options) {
      terase(i);  // shifts a later entry into i: look at i again
      counters_.templates_withdrawn.add();
      continue;
    }
    ++i;
  }
}

void Sessions::set_sampling(Session& s, const SamplerSet* next) {
  if (s.sampling) unref(s.sampling);
  s.sampling = next;
  counters_.sampler_updates.add();
}

void Sessions::options_records(uint32_t sess, const DecodePlan& plan, const uint8_t* body,
                               size_t len, uint32_t* records) {
  Session& s = sessions_[sess];
  size_t pos = 0;
  OptionsValues v;
  SetStatus st;
  while (decode_options_record(plan, body, len, &pos, &v, &st)) {
    ++*records;
    counters_.options_records.add();
    if (v.has_system_init) {
      s.init_ms = v.system_init_ms;
      s.has_init = true;
    }
    if (!v.sampling || v.rate == 0) continue;
    SamplerSet next = s.sampling ? *s.sampling : SamplerSet{};
    next.refs = 0;
    if (v.has_sampler_id) {
      uint32_t i = 0;
      while (i < next.n && next.ids[i] != v.sampler_id) ++i;
      if (i == next.n) {
        if (next.n == SamplerSet::kMaxSamplers) {
          counters_.samplers_full.add();
          continue;
        }
        ++next.n;
        next.ids[i] = v.sampler_id;
      }
      next.rates[i] = v.rate;
    } else {
      next.default_rate = v.rate;
    }
    if (s.sampling && s.sampling->same_rates(next)) continue;
    auto* published = new SamplerSet(next);
    published->refs = 1;
    set_sampling(s, published);
  }
  if (st == SetStatus::kTooShort)
    counters_.set_drops[static_cast<size_t>(SetDrop::kTooShort)].add();
  if (st == SetStatus::kVarOverflow)
    counters_.set_drops[static_cast<size_t>(SetDrop::kVarOverflow)].add();
}

bool Sessions::hold(uint32_t sess, uint16_t template_id, const uint8_t* body, size_t len,
                    const TimeContext& tc, int64_t now_ms) {
  Session& s = sessions_[sess];
  if (hold_slots_ == 0) {
    counters_.set_drops[static_cast<size_t>(SetDrop::kNoTemplate)].add();
    return false;
  }
  if (s.held_bytes + len > held_bytes_per_stream_) {
    counters_.hold_drops[static_cast<size_t>(HoldDrop::kStreamLimit)].add();
    return false;
  }
  if (held_free_.empty() || len > slot_size_) {
    counters_.hold_drops[static_cast<size_t>(HoldDrop::kPoolFull)].add();
    return false;
  }
  const uint32_t slot = held_free_.back();
  held_free_.pop_back();
  HeldSlot& h = held_[slot];
  h.state = HeldState::kHeld;
  h.serial = admit_serial_;
  h.session = sess;
  h.template_id = template_id;
  h.len = static_cast<uint16_t>(len);
  h.held_ms = now_ms;
  h.time = tc;
  h.next = kNil;
  h.prev = s.held_tail;
  if (s.held_tail != kNil) held_[s.held_tail].next = slot; else s.held_head = slot;
  s.held_tail = slot;
  s.held_bytes += len;
  std::memcpy(held_bytes_.data() + size_t{slot} * slot_size_, body, len);
  ++held_used_;
  held_total_bytes_ += len;
  counters_.held_sets.add();
  counters_.held_bytes.set(held_total_bytes_);
  return true;
}

void Sessions::drop_held(uint32_t slot, bool expired) {
  HeldSlot& h = held_[slot];
  Session& s = sessions_[h.session];
  if (h.prev != kNil) held_[h.prev].next = h.next; else s.held_head = h.next;
  if (h.next != kNil) held_[h.next].prev = h.prev; else s.held_tail = h.prev;
  s.held_bytes -= h.len;
  held_total_bytes_ -= h.len;
  if (expired) {
    counters_.held_expired.add();
    counters_.held_expired_bytes.add(h.len);
  }
  h.state = HeldState::kFree;
  held_free_.push_back(slot);
  --held_used_;
  counters_.held_bytes.set(held_total_bytes_);
}

void Sessions::release_held(uint32_t sess, uint16_t template_id, const DecodePlan& plan,
                            const IpAddr& exporter) {
  Session& s = sessions_[sess];
  uint32_t slot = s.held_head;
  while (slot != kNil) {
    const uint32_t next = held_[slot].next;
    HeldSlot& h = held_[slot];
    if (h.template_id != template_id) {
      slot = next;
      continue;
    }
    const uint8_t* body = held_bytes_.data() + size_t{slot} * slot_size_;
    const bool this_datagram = h.serial == admit_serial_;
    if (plan.options) {
      uint32_t n = 0;
      options_records(sess, plan, body, h.len, &n);
      if (this_datagram) {
        ++released_now_sets_;
        released_now_records_ += n;
      }
      counters_.held_released.add();
      drop_held(slot, false);
      slot = next;
      continue;
    }
    SetStatus st;
    const size_t n = count_records(plan, body, h.len, &st);
    if (st == SetStatus::kTooShort) counters_.set_drops[static_cast<size_t>(SetDrop::kTooShort)].add();
    if (st == SetStatus::kVarOverflow)
      counters_.set_drops[static_cast<size_t>(SetDrop::kVarOverflow)].add();
    if (n == 0) {
      drop_held(slot, false);
      slot = next;
      continue;
    }
    // Unlink from the stream's list, keep the slot: it becomes a buffer
    // handed to a worker, freed by release().
    const uint16_t buf = static_cast<uint16_t>(ring_entries_ + slot);
    if (h.prev != kNil) held_[h.prev].next = h.next; else s.held_head = h.next;
    if (h.next != kNil) held_[h.next].prev = h.prev; else s.held_tail = h.prev;
    s.held_bytes -= h.len;
    h.prev = h.next = kNil;
    h.state = HeldState::kInFlight;
    if (this_datagram) {
      ++released_now_sets_;
      released_now_records_ += static_cast<uint32_t>(n);
    }
    DatagramMeta& m = meta_[buf];
    m.version = plan.version == WireVersion::kV9 ? 9 : 10;
    m.flags = kMetaLate;
    m.v5_pdus = 0;
    m.domain = tracker_.stream(sess).domain;
    m.time = h.time;
    if (!m.time.has_init && s.has_init) {
      m.time.init_ms = s.init_ms;
      m.time.has_init = true;
    }
    m.sampling = s.sampling;
    if (m.sampling) ++const_cast<SamplerSet*>(m.sampling)->refs;
    ++const_cast<DecodePlan&>(plan).refs;
    m.nsets = 1;
    m.sets[0] = SetRef{&plan, 0, h.len};
    ready_.push_back(buf);
    ready_exporter_[slot] = exporter;
    counters_.held_released.add();
    counters_.data_sets.add();
    counters_.data_records.add(n);
    slot = next;
  }
}

size_t Sessions::take_ready(ReadyDatagram* out, size_t max) {
  size_t n = 0;
  while (n < max && ready_head_ < ready_.size()) {
    const uint16_t buf = ready_[ready_head_++];
    const uint32_t slot = buf - ring_entries_;
    out[n].buf = buf;
    out[n].data = held_bytes_.data() + size_t{slot} * slot_size_;
    out[n].len = held_[slot].len;
    out[n].exporter = ready_exporter_[slot];
    ++n;
  }
  if (ready_head_ == ready_.size()) {
    ready_.clear();
    ready_head_ = 0;
  }
  return n;
}

void Sessions::release(uint16_t buf) {
  DatagramMeta& m = meta_[buf];
  for (uint8_t i = 0; i < m.nsets; ++i) unref(m.sets[i].plan);
  m.nsets = 0;
  if (m.sampling) {
    unref(m.sampling);
    m.sampling = nullptr;
  }
  if (buf >= ring_entries_) {
    const uint32_t slot = buf - ring_entries_;
    HeldSlot& h = held_[slot];
    held_total_bytes_ -= h.len;
    h.state = HeldState::kFree;
    held_free_.push_back(slot);
    --held_used_;
    counters_.held_bytes.set(held_total_bytes_);
  }
}

uint32_t Sessions::admit_stream(const StreamKey& key, int64_t now_ms) {
  quota_refused_ = false;
  uint32_t sess = tracker_.find(key);
  if (sess != SequenceTracker::kNoStream) {
    tracker_.stream(sess).last_seen_ms = now_ms;
    return sess;
  }
  if (!quota_.acquire(key.exporter)) {
    quota_refused_ = true;
    counters_.stream_quota_refusals.add();
    refused_.add(key.exporter);
    return SequenceTracker::kNoStream;
  }
  sess = tracker_.find_or_add(key, now_ms);
  if (sess == SequenceTracker::kNoStream) quota_.release(key.exporter);
  return sess;
}

void Sessions::forget_session(uint32_t sess) {
  quota_.release(tracker_.stream(sess).exporter);
  Session& s = sessions_[sess];
  while (s.held_head != kNil) drop_held(s.held_head, true);
  if (s.templates) {
    for (size_t i = 0; i <= tmask_;) {
      const uint32_t e = tslots_[i];
      if (e != kNil && entries_[e].session == sess) {
        terase(i);
        counters_.templates_expired.add();
        continue;
      }
      ++i;
    }
  }
  if (s.sampling) unref(s.sampling);
  s = Session{};
}

void Sessions::tick(int64_t now_ms) {
  if (now_ms - last_tick_ms_ < kPublishEveryMs) return;
  last_tick_ms_ = now_ms;
  // Held data past its time.
  if (held_used_) {
    for (uint32_t i = 0; i < hold_slots_; ++i) {
      const HeldSlot& h = held_[i];
      if (h.state == HeldState::kHeld && now_ms - h.held_ms > held_timeout_ms_) drop_held(i, true);
    }
  }
  // Templates neither refreshed nor used for template_timeout.
  for (size_t i = 0; i <= tmask_;) {
    const uint32_t e = tslots_[i];
    if (e != kNil && now_ms - entries_[e].last_ms > template_idle_ms_) {
      terase(i);
      counters_.templates_expired.add();
      continue;
    }
    ++i;
  }
  tracker_.expire(now_ms, [this](uint32_t sess) { forget_session(sess); });
  // Publish: try_lock, never wait for a reader (a skipped round is retried).
  scratch_.clear();
  tracker_.snapshot(&scratch_);
  std::unique_lock<std::mutex> lock(snapshot_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  snapshot_.swap(scratch_);
  tracker_snapshot_ = tracker_.stats();
  refused_snapshot_.assign(refused_.list().begin(), refused_.list().end());
  refused_other_snapshot_ = refused_.other();
}

void Sessions::refused_snapshot(std::vector<AddressRefusals>* out, uint64_t* other) const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  out->insert(out->end(), refused_snapshot_.begin(), refused_snapshot_.end());
  *other += refused_other_snapshot_;
}

void Sessions::streams_snapshot(std::vector<StreamStats>* out) const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  out->insert(out->end(), snapshot_.begin(), snapshot_.end());
}

SequenceTrackerStats Sessions::tracker_stats() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return tracker_snapshot_;
}

const DecodePlan* Sessions::find_template(const StreamKey& key, uint16_t template_id) const {
  const uint32_t sess = tracker_.find(key);
  if (sess == SequenceTracker::kNoStream) return nullptr;
  bool found;
  const size_t pos = tslot(sess, template_id, &found);
  return found ? entries_[tslots_[pos]].plan : nullptr;
}

const SamplerSet* Sessions::sampler_set(const StreamKey& key) const {
  const uint32_t sess = tracker_.find(key);
  return sess == SequenceTracker::kNoStream ? nullptr : sessions_[sess].sampling;
}

void Sessions::export_state(TemplateState* out) const {
  for (size_t i = 0; i < tslots_.size(); ++i) {
    const uint32_t e = tslots_[i];
    if (e == kNil) continue;
    const TemplateEntry& t = entries_[e];
    const StreamStats& st = tracker_.stream(t.session);
    StateTemplate rec;
    rec.key.exporter = st.exporter;
    rec.key.version = st.version;
    rec.key.domain = st.domain;
    rec.options = t.plan->options;
    rec.raw.assign(reinterpret_cast<const char*>(t.plan->raw.data()), t.plan->raw.size());
    out->templates.push_back(std::move(rec));
  }
  for (uint32_t i = 0; i < sessions_.size(); ++i) {
    const Session& s = sessions_[i];
    if (!s.sampling && !s.has_init) continue;
    const StreamStats& st = tracker_.stream(i);
    StateStream rec;
    rec.key.exporter = st.exporter;
    rec.key.version = st.version;
    rec.key.domain = st.domain;
    rec.has_init = s.has_init;
    rec.init_ms = s.init_ms;
    if (s.sampling) rec.rates = *s.sampling;
    rec.rates.refs = 0;
    out->streams.push_back(rec);
  }
}

StateImport Sessions::import_state(const TemplateState& st, int64_t now_ms) {
  StateImport r;
  for (const StateTemplate& rec : st.templates) {
    const WireVersion v = rec.key.version == 9 ? WireVersion::kV9 : WireVersion::kIpfix;
    const auto* raw = reinterpret_cast<const uint8_t*>(rec.raw.data());
    TemplateRecordView t;
    TemplateProblem problem;
    if ((rec.key.version != 9 && rec.key.version != 10) ||
        read_template_record(v, rec.options, raw, rec.raw.size(), &t, &problem,
                             v9_variable_length_) != SetWalk::kRecord ||
        problem != TemplateProblem::kNone || t.withdrawal || t.raw_len != rec.raw.size()) {
      ++r.templates_invalid;
      continue;
    }
    const uint32_t sess = admit_stream(rec.key, now_ms);
    if (sess == SequenceTracker::kNoStream) {
      ++r.templates_no_stream;
      continue;
    }
    if (tfind(sess, t.template_id)) {
      install(v, sess, t, now_ms);  // a refresh (or a redefinition: the later copy wins)
      ++r.templates_duplicate;
      continue;
    }
    const size_t before = templates_used_;
    install(v, sess, t, now_ms);
    if (templates_used_ > before) {
      ++r.templates;
    } else {
      ++r.templates_over_limit;
    }
  }
  for (const StateStream& rec : st.streams) {
    const uint32_t sess = admit_stream(rec.key, now_ms);
    if (sess == SequenceTracker::kNoStream) {
      ++r.streams_no_stream;
      continue;
    }
    Session& s = sessions_[sess];
    s.has_init = rec.has_init;
    s.init_ms = rec.init_ms;
    if (rec.rates.n || rec.rates.default_rate) {
      auto* published = new SamplerSet(rec.rates);
      published->refs = 1;
      set_sampling(s, published);
    }
    ++r.streams;
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
