// Generator: the NetFlow v9 / IPFIX slots (see generator.h for the rules and
// gen/flow_templates.h for the templates). Kept apart from generator.cc so
// that the v5 path stays as it is.
#include <algorithm>
#include <cstring>

#include "gen/generator.h"
#include "wire/bytes.h"
#include "wire/ie.h"
#include "wire/ipfix.h"
#include "wire/netflow9.h"

namespace ringflow::gen {
namespace {

constexpr int64_t kNsPerMs = 1000000;

size_t header_size(WireVersion v) {
  return v == WireVersion::kV9 ? v9::kHeaderSize : ipfix::kHeaderSize;
}

}  // namespace

MessageHeader Generator::header_templated(const Stream& s, int64_t now_ns) const {
  MessageHeader h;
  h.sequence = s.sequence;
  h.domain = s.truth.domain;
  h.export_secs = static_cast<uint32_t>(now_ns / 1000000000 + cfg_.clock_offset_s);
  h.sys_uptime_ms = static_cast<uint32_t>(s.uptime_ms(now_ns));
  return h;
}

void Generator::templates_out(Stream& s, int64_t now_ns, const FlowTemplates::Written& w) {
  s.templates_sent = true;
  s.force_templates = false;
  s.since_templates = 0;
  s.templates_ns = now_ns;
  s.truth.templates_sent += w.templates;
  s.truth.options_records += w.options_records;
}

uint32_t Generator::build_template_message(Stream& s, uint8_t* buf, int64_t now_ns) {
  const FlowTemplates& T = *tpl_;
  MessageBuilder m(T.version(), buf, kMaxTemplatedDatagram);
  MessageHeader h = header_templated(s, now_ns);
  const FlowTemplates::Written w = T.write_templates(m, s.variant);
  if (cfg_.sequence_includes_current && T.version() == WireVersion::kIpfix)
    h.sequence += w.options_records;
  const size_t len = m.finish(h);
  templates_out(s, now_ns, w);
  // v9 counts datagrams; IPFIX data records, and options data records are
  // data records.
  s.sequence += T.version() == WireVersion::kV9 ? 1 : w.options_records;
  s.truth.next_seq = s.sequence;
  ++s.truth.template_datagrams;
  ++s.truth.datagrams;
  return static_cast<uint32_t>(len);
}

uint32_t Generator::build_withdrawal(Stream& s, uint8_t* buf, int64_t now_ns) {
  const FlowTemplates& T = *tpl_;
  MessageBuilder m(WireVersion::kIpfix, buf, kMaxTemplatedDatagram);
  m.begin_set(ipfix::kTemplateSetId);
  for (int v6 = 0; v6 < 2; ++v6)
    if (T.has_family(v6 != 0)) {
      m.withdrawal(T.data_template(v6 != 0, 0).id);
      ++s.truth.withdrawals;
    }
  const size_t len = m.finish(header_templated(s, now_ns));
  ++s.truth.template_datagrams;
  ++s.truth.datagrams;
  return static_cast<uint32_t>(len);
}

uint32_t Generator::build_templated(Stream& s, uint8_t* buf, int64_t now_ns, bool with_templates,
                                    bool account, uint32_t* flows, uint64_t* packets,
                                    uint64_t* bytes) {
  const FlowTemplates& T = *tpl_;
  StreamTruth& t = s.truth;
  const bool v9 = T.version() == WireVersion::kV9;
  MessageBuilder m(T.version(), buf, kMaxTemplatedDatagram);
  const MessageHeader h = header_templated(s, now_ns);
  FlowTemplates::Written w;
  if (with_templates) w = T.write_templates(m, s.variant);

  // Pass 1: draw the keys (as the v5 path: one Rng draw, a counter-based mix
  // per record), stop at --records or when the next record would not fit,
  // and list each family's records, so both sets can be laid out before the
  // records are written, and each family written in one run.
  const uint32_t extra = static_cast<uint32_t>(s.variant);  // layout B: one more byte
  size_t room = m.room() - 2 * (ipfix::kSetHeaderSize + 3);
  const uint64_t base = s.rng.next();
  uint32_t keys[2][v5::kMaxRecords];
  uint64_t bits[2][v5::kMaxRecords];
  size_t sum[2] = {0, 0};
  uint32_t cnt[2] = {0, 0};
  uint32_t n = 0;
  for (; n < cfg_.records; ++n) {
    const uint64_t b = mix64(base + (n + 1) * 0x9E3779B97F4A7C15ull);
    const uint32_t k = model_.key_from_bits(b);
    const size_t len = T.image_len(k) + extra;
    if (len > room) break;
    room -= len;
    const int f = T.v6(k);
    sum[f] += len;
    keys[f][cnt[f]] = k;
    bits[f][cnt[f]] = b;
    ++cnt[f];
    __builtin_prefetch(T.image(k));
    __builtin_prefetch(T.image(k) + 63);
  }

  uint8_t* start[2] = {nullptr, nullptr};
  uint8_t* set_end[2] = {nullptr, nullptr};
  for (int f = 0; f < 2; ++f) {
    if (cnt[f] == 0) continue;
    m.begin_set(T.data_template(f != 0, s.variant).id);
    start[f] = m.reserve_records(sum[f], static_cast<uint16_t>(cnt[f]));
    m.end_set();
    set_end[f] = buf + m.size();
  }

  // Pass 2, family by family: copy each image with a fixed-size copy (a few
  // vector moves: the bytes past a record land on the next record, written
  // next, or past the family's records, cleared below), then patch counters,
  // times and flags.
  const int64_t up = s.uptime_ms(now_ns);
  const int64_t now_ms = now_ns / kNsPerMs;
  const bool keep = keep_keys_ && account;
  KeyTotal* key_totals = keep ? keys_.data() : nullptr;
  uint64_t pk_sum = 0, by_sum = 0, pk_scaled = 0, by_scaled = 0, prewrap = 0;
  // Locals, not members, in the loop: stores through uint8_t* may alias any
  // member, which would force a reload after every record.
  const uint8_t* const images = T.images();
  const size_t stride = T.stride();
  const uint8_t* const lens = T.image_lens();
  const bool sampling = T.sampling();
  const bool remember = keep_keys_ || cfg_.duplicate > 0;  // for a duplicate's accounting
  uint32_t* const last_keys = s.last_keys.data();
  uint32_t* const last_packets = s.last_packets.data();
  uint32_t* const last_bytes = s.last_bytes.data();
  uint32_t i_all = 0;
  for (int f = 0; f < 2; ++f) {
    const Patch p = T.patch(f != 0);
    const size_t copy = T.copy_size(f != 0);
    uint8_t* r = start[f];
    for (uint32_t i = 0; i < cnt[f]; ++i) {
      const uint32_t k = keys[f][i];
      const uint32_t len = lens[k];
      const uint8_t* img = images + size_t{k} * stride;
      if (copy == 64) {
        std::memcpy(r, img, 64);
      } else if (copy == 128) {
        std::memcpy(r, img, 128);
      } else {
        std::memcpy(r, img, 256);
      }
      r[len] = kLayoutBExtra;  // layout B's flowEndReason; else overwritten or cleared
      const FlowCounters c =
          model_.counters_from_bits(k, (bits[f][i] * 0xD1B54A32D192ED03ull) >> 40);
      if (p.counter_len == 4) {
        wire::store_be32(r + p.packets, c.packets);
        wire::store_be32(r + p.bytes, c.octets);
      } else {
        wire::store_be64(r + p.packets, c.packets);
        wire::store_be64(r + p.bytes, c.octets);
      }
      if (v9) {
        // Unwrapped clock, clamped at boot, as v5.
        int64_t last = up - c.age_ms;
        last &= ~(last >> 63);
        int64_t first = last - c.duration_ms;
        first &= ~(first >> 63);
        prewrap += (first >> 32) != (up >> 32);
        wire::store_be32(r + p.first, static_cast<uint32_t>(first));
        wire::store_be32(r + p.last, static_cast<uint32_t>(last));
      } else if (p.time_len == 8) {
        const int64_t last = now_ms - c.age_ms;
        wire::store_be64(r + p.first, static_cast<uint64_t>(last - c.duration_ms));
        wire::store_be64(r + p.last, static_cast<uint64_t>(last));
      } else {
        // Delta microseconds before the header's export time (whole seconds):
        // the flow ended age ms before it.
        wire::store_be32(r + p.last, c.age_ms * 1000);
        wire::store_be32(r + p.first, (c.age_ms + c.duration_ms) * 1000);
      }
      r[p.tcp_flags] = c.tcp_flags;
      r += len + extra;
      pk_sum += c.packets;
      by_sum += c.octets;
      if (sampling) {
        const uint32_t rate = T.rate(k);
        pk_scaled += uint64_t{c.packets} * rate;
        by_scaled += uint64_t{c.octets} * rate;
      }
      if (remember) {
        last_keys[i_all] = k;
        last_packets[i_all] = c.packets;
        last_bytes[i_all] = c.octets;
        ++i_all;
      }
      if (keep) {
        KeyTotal& kt = key_totals[k];
        ++kt.flows;
        kt.packets += c.packets;
        kt.bytes += c.octets;
      }
    }
    // What the last copies wrote past the records: this set's padding, and
    // the next set's header, which is written again.
    if (cnt[f]) std::memset(r, 0, static_cast<size_t>(set_end[f] - r));
    if (f == 0 && cnt[1]) {
      uint8_t* h1 = start[1] - ipfix::kSetHeaderSize;
      wire::store_be16(h1, T.data_template(true, s.variant).id);
      wire::store_be16(h1 + 2, static_cast<uint16_t>(set_end[1] - h1));
    }
  }
  const uint16_t cnt4 = static_cast<uint16_t>(cnt[0]), cnt6 = static_cast<uint16_t>(cnt[1]);
  s.last_n = n;
  s.last_written = w;
  s.last_cnt[0] = cnt4;
  s.last_cnt[1] = cnt6;
  if (!sampling) {
    pk_scaled = pk_sum;
    by_scaled = by_sum;
  }
  s.last_scaled_packets = pk_scaled;
  s.last_scaled_bytes = by_scaled;
  MessageHeader sent_h = h;
  if (cfg_.sequence_includes_current && !v9) sent_h.sequence += n + w.options_records;
  const size_t total = m.finish(sent_h);

  if (with_templates) templates_out(s, now_ns, w);
  s.sequence += v9 ? 1 : n + w.options_records;
  t.next_seq = s.sequence;
  *flows = n;
  *packets = pk_sum;
  *bytes = by_sum;
  if (account) {
    ++t.datagrams;
    t.flows += n;
    t.packets += pk_sum;
    t.bytes += by_sum;
    t.packets_scaled += pk_scaled;
    t.bytes_scaled += by_scaled;
    t.records_v4 += cnt4;
    t.records_v6 += cnt6;
    t.prewrap_records += prewrap;
    if (!s.templates_sent) {
      t.records_before_template += n;
      t.sets_before_template += (cnt4 > 0) + (cnt6 > 0);
    }
  }
  return static_cast<uint32_t>(total);
}

uint32_t Generator::build_malformed_templated(Stream& s, MalformedClass c, uint8_t* buf,
                                              int64_t now_ns) {
  const FlowTemplates& T = *tpl_;
  const WireVersion v = T.version();
  const bool v9 = v == WireVersion::kV9;
  const size_t hdr = header_size(v);
  MessageBuilder m(v, buf, kMaxTemplatedDatagram);
  const MessageHeader h = header_templated(s, now_ns);
  switch (c) {
    case MalformedClass::kTooShort:
      m.finish(h);
      return 1 + s.rng.below(static_cast<uint32_t>(hdr - 1));
    case MalformedClass::kBadVersion: {
      m.begin_set(T.data_template(false, 0).id);
      std::memset(m.reserve_record(32), 0, 32);
      const size_t len = m.finish(h);
      uint16_t ver;
      do {
        ver = static_cast<uint16_t>(s.rng.below(65536));
      } while (ver == 5 || ver == v9::kVersion || ver == ipfix::kVersion);
      wire::store_be16(buf, ver);
      return static_cast<uint32_t>(len);
    }
    case MalformedClass::kGarbage: {
      const uint32_t len = static_cast<uint32_t>(hdr) + s.rng.below(1464 - 20 + 1);
      for (uint32_t i = 0; i < len; i += 8) {
        uint64_t r = s.rng.next();
        std::memcpy(buf + i, &r, std::min<uint32_t>(8, len - i));
      }
      const uint16_t ver = wire::load_be16(buf);
      if (ver == 5 || ver == v9::kVersion || ver == ipfix::kVersion) buf[0] = 0xFF;
      return len;
    }
    case MalformedClass::kSetLength: {
      m.begin_set(T.data_template(false, 0).id);
      std::memset(m.reserve_record(16), 0, 16);
      const size_t len = m.finish(h);
      // The set claims 4..64 bytes more than the datagram holds.
      wire::store_be16(buf + hdr + 2,
                       static_cast<uint16_t>(len - hdr + 4 + 4 * s.rng.below(16)));
      return static_cast<uint32_t>(len);
    }
    case MalformedClass::kZeroFields: {
      TemplateSpec broken;
      broken.id = kTemplateBroken;
      // v9: no field at all; IPFIX (where no field is a withdrawal): one
      // field of length 0.
      if (!v9) broken.fields = {{ie::kOctetDeltaCount, 0}};
      m.begin_set(v9 ? v9::kTemplateSetId : ipfix::kTemplateSetId);
      m.template_record(broken);
      const size_t len = m.finish(h);
      // The datagram itself is valid: v9 counts it in its sequence.
      if (v9) {
        ++s.sequence;
        s.truth.next_seq = s.sequence;
      }
      return static_cast<uint32_t>(len);
    }
    case MalformedClass::kVarOverflow: {
      m.begin_set(ipfix::kTemplateSetId);
      m.template_record(T.var_probe_template());
      m.begin_set(kTemplateVarProbe);
      uint8_t* r = m.reserve_record(4);
      r[0] = 200;  // a 200-byte value in a 4-byte set body
      std::memcpy(r + 1, "app", 3);
      const size_t len = m.finish(h);
      ++s.truth.templates_sent;
      return static_cast<uint32_t>(len);
    }
    case MalformedClass::kIpfixLength: {
      m.begin_set(T.data_template(false, 0).id);
      std::memset(m.reserve_record(16), 0, 16);
      const size_t len = m.finish(h);
      wire::store_be16(buf + ipfix::hdr::kLength,
                       static_cast<uint16_t>(len + 1 + s.rng.below(64)));
      return static_cast<uint32_t>(len);
    }
    case MalformedClass::kCountZero:
    case MalformedClass::kCountTooLarge:
    case MalformedClass::kTruncated:
    case MalformedClass::kLengthMismatch:
    case MalformedClass::kAgentType:
    case MalformedClass::kSampleLength:
    case MalformedClass::kRecordLength:
    case MalformedClass::kSampleCount:
    case MalformedClass::kHeaderLength:
    case MalformedClass::kTrailingBytes:
      break;  // v5 only: never drawn for v9/IPFIX
  }
  return 0;
}

void Generator::slot_templated(Stream& s, SendBatch& b, int64_t now_ns) {
  StreamTruth& t = s.truth;
  const uint32_t local = static_cast<uint32_t>(&s - streams_.data());
  auto push = [&](uint8_t* buf, uint32_t len) -> Outgoing& { return b.push(buf, len, local); };

  if (begin_slot(s, b, now_ns)) {
    s.force_templates = s.templates_sent;  // a restarted router announces its templates
  }

  // Template changes, once the collector knows the templates. A held
  // datagram goes first: its data is in the layout it was built with.
  if (s.templates_sent && cfg_.withdraw_every > 0 && ++s.since_withdraw >= cfg_.withdraw_every) {
    s.since_withdraw = 0;
    if (s.held) emit_held(s, b, false);
    uint8_t* buf = b.scratch();
    push(buf, build_withdrawal(s, buf, now_ns));
    s.force_templates = true;
  }
  if (s.templates_sent && cfg_.redefine_every > 0 && ++s.since_redefine >= cfg_.redefine_every) {
    s.since_redefine = 0;
    if (s.held) emit_held(s, b, false);
    s.variant ^= 1;
    ++t.redefinitions;
    s.force_templates = true;
  }
  bool due;
  if (!s.templates_sent) {
    due = s.data_datagrams >= cfg_.template_delay;
  } else {
    due = s.force_templates ||
          (cfg_.template_refresh_datagrams > 0 &&
           s.since_templates >= cfg_.template_refresh_datagrams) ||
          (cfg_.template_refresh_s > 0 &&
           now_ns - s.templates_ns >= static_cast<int64_t>(cfg_.template_refresh_s * 1e9));
  }
  ++s.data_datagrams;
  if (due && cfg_.template_separate) {
    uint8_t* buf = b.scratch();
    push(buf, build_template_message(s, buf, now_ns));
    due = false;
  }

  uint32_t flows = 0;
  uint64_t packets = 0, bytes = 0;
  if (!due && s.rng.chance(cfg_.loss)) {
    // Built to learn its record count (the IPFIX sequence advances by it),
    // never sent.
    build_templated(s, b.scratch(), now_ns, false, false, &flows, &packets, &bytes);
    ++t.lost_datagrams;
    t.lost_flows += flows;
    if (s.held) emit_held(s, b, false);
  } else {
    const bool hold = !due && s.templates_sent && !s.held && s.rng.chance(cfg_.reorder);
    uint8_t* buf = hold ? s.held_buf.data() : b.scratch();
    const uint32_t len = build_templated(s, buf, now_ns, due, true, &flows, &packets, &bytes);
    if (hold) {
      s.held = true;
      s.held_len = len;
      s.held_flows = flows;
      s.held_packets = packets;
      s.held_bytes = bytes;
    } else {
      Outgoing& o = push(buf, len);
      o.flows = flows;
      o.packets = packets;
      o.bytes = bytes;
      if (s.rng.chance(cfg_.duplicate)) {
        Outgoing& d = push(buf, len);
        d.flows = flows;
        d.packets = packets;
        d.bytes = bytes;
        ++t.duplicates;
        ++t.datagrams;
        t.flows += flows;
        t.packets += packets;
        t.bytes += bytes;
        t.packets_scaled += s.last_scaled_packets;
        t.bytes_scaled += s.last_scaled_bytes;
        t.templates_sent += s.last_written.templates;
        t.options_records += s.last_written.options_records;
        t.records_v4 += s.last_cnt[0];
        t.records_v6 += s.last_cnt[1];
        // Both copies carry templates, or both come before any.
        if (!s.templates_sent) {
          t.records_before_template += flows;
          t.sets_before_template += (s.last_cnt[0] > 0) + (s.last_cnt[1] > 0);
        }
        if (keep_keys_) {
          for (uint32_t i = 0; i < s.last_n; ++i) {
            KeyTotal& k = keys_[s.last_keys[i]];
            ++k.flows;
            k.packets += s.last_packets[i];
            k.bytes += s.last_bytes[i];
          }
        }
      }
      if (s.held) emit_held(s, b, true);
    }
  }
  ++s.since_templates;

  if (s.rng.chance(cfg_.malformed)) {
    MalformedClass c =
        malformed_classes_[s.rng.below(static_cast<uint32_t>(malformed_classes_.size()))];
    uint8_t* buf = b.scratch();
    const uint32_t len = build_malformed_templated(s, c, buf, now_ns);
    push(buf, len).malformed = static_cast<int32_t>(c);
    ++t.malformed[static_cast<size_t>(c)];
  }
}

}  // namespace ringflow::gen
