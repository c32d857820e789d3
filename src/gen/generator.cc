#include "gen/generator.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "gen/v5_encoder.h"
#include "wire/bytes.h"

namespace ringflow::gen {
namespace {

// The 1-in-N rate a v5 header announces (sampling_raw: mode in bits 15..14,
// interval in 13..0); 0 means unsampled, rate 1. The truth's packets_scaled
// and bytes_scaled are the counts times this.
uint64_t v5_rate(uint16_t sampling_raw) {
  const uint64_t interval = sampling_raw & 0x3FFF;
  return interval == 0 ? 1 : interval;
}

constexpr int64_t kNsPerMs = 1000000;
constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

}  // namespace

Generator::Generator(const GenConfig& cfg, const TrafficModel& model,
                     std::vector<uint32_t> exporters, int64_t start_ns, bool keep_keys,
                     std::shared_ptr<const FlowTemplates> templates)
    : cfg_(cfg), model_(model), tpl_(std::move(templates)), keep_keys_(keep_keys) {
  if (keep_keys_) keys_.assign(model.size(), KeyTotal{});
  if (cfg.templated() && !tpl_) tpl_ = std::make_shared<const FlowTemplates>(cfg, model);
  if (!cfg.templated()) tpl_.reset();
  if (tpl_ || cfg.sflow()) slot_entries_ = kMaxEntriesPerSlot;
  for (size_t i = 0; i < kMalformedClasses; ++i)
    if ((cfg.malformed_mask & (1u << i)) && applies(static_cast<MalformedClass>(i), cfg.protocol))
      malformed_classes_.push_back(static_cast<MalformedClass>(i));
  if (malformed_classes_.empty()) malformed_classes_.push_back(MalformedClass::kGarbage);
  run_length_ = cfg.resolved_mode() == ExporterMode::kPort ? std::max<uint32_t>(1, cfg.batch) : 1;

  // v9/IPFIX: one stream per (exporter, domain); v5: one per exporter.
  const uint32_t domains = cfg.streams_per_exporter();
  const uint64_t all_streams = uint64_t{cfg.exporters} * domains;
  streams_.resize(exporters.size() * domains);
  std::string samplers;
  for (size_t i = 0; i < cfg.sampler_rates.size(); ++i) {  // sFlow: ifIndex:rate
    if (i) samplers += ',';
    samplers += std::to_string(i + 1);
    samplers += ':';
    samplers += std::to_string(cfg.sampler_rates[i]);
  }
  for (size_t si = 0; si < streams_.size(); ++si) {
    Stream& s = streams_[si];
    const uint32_t e = exporters[si / domains];
    const uint32_t d = static_cast<uint32_t>(si % domains);
    s.index = e * domains + d;
    s.exporter = e;
    s.domain = d;
    // Domain 0's seed is the v5 stream's: exporter e's first stream is the
    // same whatever --domains says.
    s.rng = Rng(derive_seed(cfg.seed, 1 + uint64_t{e} + (uint64_t{d} << 32)));
    // Exporters have been up for a while (1 h .. 8 days) unless told
    // otherwise, and their sequence is mid-life: both come from the stream's
    // own Rng so they are reproducible.
    uint64_t uptime_ms =
        cfg.uptime_start_ms ? *cfg.uptime_start_ms : 3600000u + s.rng.below(7u * 86400000u);
    s.boot_ns = start_ns - static_cast<int64_t>(uptime_ms) * kNsPerMs;
    s.sequence = static_cast<uint32_t>(s.rng.next());
    if (cfg.count == 0) {
      s.quota = kUnlimited;
    } else {
      s.quota = cfg.count / all_streams + (s.index < cfg.count % all_streams ? 1 : 0);
    }
    s.held_buf.assign(kBufSize, 0);
    if (tpl_) {
      s.truth.version = cfg.protocol == Protocol::kV9 ? 9 : 10;
      s.truth.domain = d + 1;
      s.variant = cfg.domain_collision && (d % 2 == 1) ? 1 : 0;
      s.truth.layout = static_cast<uint8_t>(s.variant);
      s.truth.samplers = samplers;
      if (cfg.interface_names) s.truth.interface_names = if_names_truth();
    } else if (cfg.sflow()) {
      s.truth.version = 5;
      s.truth.protocol = Protocol::kSflow;
      s.truth.domain = d;  // sub_agent_id
      s.truth.samplers = samplers.empty() ? "1:1" : samplers;
      s.agent_v6 = cfg.agent_ipv6 && (e % 2 == 1);
      if (s.agent_v6) {
        // 2001:db8::7f00:1 + e: the IPv6 twin of the exporter's source address.
        uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
        wire::store_be32(a + 12, 0x7F000001u + e);
        s.agent = IpAddr::from_v6(a);
      } else {
        s.agent = IpAddr::from_v4(0x7F000001u + e);
      }
      s.truth.agent = s.agent;
      s.spec = std::make_unique<SflowDatagramSpec>();
    } else {
      s.truth.engine_type = engine_type_of(e);
      s.truth.engine_id = engine_id_of(e);
    }
    s.truth.sampling_raw = cfg.sampling_raw;
    s.truth.exporter = IpAddr::from_v4(0x7F000001u + e);
    if (s.quota > 0) ++remaining_streams_;
  }
}

void Generator::set_identity(size_t stream, const IpAddr& addr, uint16_t port) {
  streams_[stream].truth.exporter = addr;
  streams_[stream].truth.port = port;
}

Generator::Stream* Generator::next_stream() {
  if (remaining_streams_ == 0) return nullptr;
  // Round robin over streams with quota left; in port mode each stream keeps
  // the turn for run_length_ slots so a batch goes out in one sendmmsg.
  for (size_t tries = 0; tries <= streams_.size(); ++tries) {
    Stream& s = streams_[cursor_];
    if (s.quota > 0 && run_left_ > 0) {
      --run_left_;
      return &s;
    }
    cursor_ = (cursor_ + 1) % streams_.size();
    run_left_ = run_length_;
  }
  return nullptr;
}

size_t Generator::fill(SendBatch& batch, size_t slots, int64_t now_ns) {
  batch.clear();
  size_t n = 0;
  while (n < slots && batch.size() + slot_entries_ <= batch.capacity()) {
    Stream* s = next_stream();
    if (s == nullptr) break;
    if (tpl_) {
      slot_templated(*s, batch, now_ns);
    } else if (cfg_.sflow()) {
      slot_sflow(*s, batch, now_ns);
    } else {
      slot(*s, batch, now_ns);
    }
    ++n;
    if (s->quota != kUnlimited && --s->quota == 0) --remaining_streams_;
  }
  return n;
}

void Generator::emit_held(Stream& s, SendBatch& b, bool reordered) {
  // Copied, not referenced: the stream may hold a new datagram in held_buf
  // before this batch is sent.
  uint8_t* buf = b.scratch();
  std::memcpy(buf, s.held_buf.data(), s.held_len);
  Outgoing& o = b.push(buf, s.held_len, static_cast<uint32_t>(&s - streams_.data()));
  s.held = false;
  if (reordered) ++s.truth.reordered;
  if (tpl_ || cfg_.sflow()) {
    o.flows = s.held_flows;
    o.packets = s.held_packets;
    o.bytes = s.held_bytes;
    return;
  }
  o.flows = cfg_.records;
  // Packets/bytes of the held datagram were accounted when it was built; the
  // entry carries them again for on_send_failed() (rare path: re-read them).
  for (uint32_t i = 0; i < cfg_.records; ++i) {
    const uint8_t* r = s.held_buf.data() + v5::kHeaderSize + size_t{i} * v5::kRecordSize;
    o.packets += uint64_t{r[16]} << 24 | uint64_t{r[17]} << 16 | uint64_t{r[18]} << 8 | r[19];
    o.bytes += uint64_t{r[20]} << 24 | uint64_t{r[21]} << 16 | uint64_t{r[22]} << 8 | r[23];
  }
}

int64_t Generator::Stream::uptime_ms(int64_t now_ns) const {
  return std::max<int64_t>(0, (now_ns - boot_ns) / kNsPerMs);
}

bool Generator::begin_slot(Stream& s, SendBatch& b, int64_t now_ns) {
  StreamTruth& t = s.truth;
  bool restarted = false;
  if (cfg_.reset_every > 0 && s.since_reset >= cfg_.reset_every) {
    if (s.held) emit_held(s, b, false);
    s.sequence = 0;
    s.boot_ns = now_ns;
    s.last_uptime_ms = -1;
    s.since_reset = 0;
    ++t.resets;
    restarted = true;
  }
  ++s.since_reset;
  ++t.generated;
  if (!t.started) {
    t.started = true;
    t.first_seq = s.sequence;
  }
  const int64_t up = s.uptime_ms(now_ns);
  if (s.last_uptime_ms >= 0 && (up >> 32) != (s.last_uptime_ms >> 32)) ++t.uptime_wraps;
  s.last_uptime_ms = up;
  return restarted;
}

void Generator::slot(Stream& s, SendBatch& b, int64_t now_ns) {
  StreamTruth& t = s.truth;
  const uint32_t local = static_cast<uint32_t>(&s - streams_.data());
  const uint32_t n = cfg_.records;
  begin_slot(s, b, now_ns);

  if (s.rng.chance(cfg_.loss)) {
    s.sequence += n;
    ++t.lost_datagrams;
    t.lost_flows += n;
    if (s.held) emit_held(s, b, false);
  } else {
    const bool hold = !s.held && s.rng.chance(cfg_.reorder);
    uint8_t* buf = hold ? s.held_buf.data() : b.scratch();
    uint64_t packets = 0, bytes = 0;
    const uint32_t len = build(s, buf, now_ns, &packets, &bytes);
    if (hold) {
      s.held = true;
      s.held_len = len;
    } else {
      Outgoing& o = b.push(buf, len, local);
      o.flows = n;
      o.packets = packets;
      o.bytes = bytes;
      if (s.rng.chance(cfg_.duplicate)) {
        // Same bytes again, as a router or a network path would repeat them.
        Outgoing& d = b.push(buf, len, local);
        d.flows = n;
        d.packets = packets;
        d.bytes = bytes;
        ++t.duplicates;
        ++t.datagrams;
        t.flows += n;
        t.packets += packets;
        t.bytes += bytes;
        t.packets_scaled += packets * v5_rate(cfg_.sampling_raw);
        t.bytes_scaled += bytes * v5_rate(cfg_.sampling_raw);
        if (keep_keys_) {
          // Duplicate flows are delivered twice: the truth counts them twice.
          const uint8_t* r = buf + v5::kHeaderSize;
          for (uint32_t i = 0; i < n; ++i, r += v5::kRecordSize) {
            KeyTotal& k = keys_[s.last_keys[i]];
            ++k.flows;
            k.packets +=
                uint32_t{r[16]} << 24 | uint32_t{r[17]} << 16 | uint32_t{r[18]} << 8 | r[19];
            k.bytes += uint32_t{r[20]} << 24 | uint32_t{r[21]} << 16 | uint32_t{r[22]} << 8 | r[23];
          }
        }
      }
      if (s.held) emit_held(s, b, true);
    }
  }

  if (s.rng.chance(cfg_.malformed)) {
    MalformedClass c =
        malformed_classes_[s.rng.below(static_cast<uint32_t>(malformed_classes_.size()))];
    uint8_t* buf = b.scratch();
    uint32_t len = build_malformed(s, c, buf, now_ns);
    b.push(buf, len, local).malformed = static_cast<int32_t>(c);
    ++t.malformed[static_cast<size_t>(c)];
  }
}

uint32_t Generator::build(Stream& s, uint8_t* buf, int64_t now_ns, uint64_t* packets,
                          uint64_t* bytes) {
  StreamTruth& t = s.truth;
  const uint32_t n = cfg_.records;
  const int64_t up = s.uptime_ms(now_ns);
  v5::Header h;
  h.version = v5::kVersion;
  h.count = static_cast<uint16_t>(n);
  h.sys_uptime_ms = static_cast<uint32_t>(up);
  h.unix_secs = static_cast<uint32_t>(now_ns / 1000000000);
  h.unix_nsecs = static_cast<uint32_t>(now_ns % 1000000000);
  h.flow_sequence = s.sequence;
  h.engine_type = t.engine_type;
  h.engine_id = t.engine_id;
  h.sampling_raw = cfg_.sampling_raw;
  v5::write_v5_header(h, buf, kBufSize);

  // Two passes: draw every key first and prefetch its template, then copy
  // and patch. The templates of tail keys are usually not in cache (the
  // kernel's send path evicts them); prefetching 30 at once overlaps the misses.
  // Per-record random bits come from a counter-based mix of one draw of the
  // stream's Rng: each record's bits are independent of the previous one's,
  // so the CPU overlaps the records instead of walking one Rng state chain
  // (that chain alone was ~60 serial steps per datagram).
  // One mix per record: its 64 bits pick the key (alias method); a multiply
  // by an odd constant re-spreads them for the flow sample and age.
  const uint64_t base = s.rng.next();
  uint32_t keys[v5::kMaxRecords];
  uint64_t bits[v5::kMaxRecords];
  for (uint32_t i = 0; i < n; ++i) {
    bits[i] = mix64(base + (i + 1) * 0x9E3779B97F4A7C15ull);
    keys[i] = model_.key_from_bits(bits[i]);
    __builtin_prefetch(model_.record_template(keys[i]));
    __builtin_prefetch(model_.record_template(keys[i]) + 47);
  }

  // Locals, not members, in the loop: stores through uint8_t* may alias any
  // member, which would force a reload after every record.
  const bool keep = keep_keys_;
  KeyTotal* key_totals = keep ? keys_.data() : nullptr;
  uint64_t pk_sum = 0, by_sum = 0, prewrap = 0;
  uint8_t* r = buf + v5::kHeaderSize;
  for (uint32_t i = 0; i < n; ++i, r += v5::kRecordSize) {
    const uint32_t k = keys[i];
    const FlowCounters c = model_.counters_from_bits(k, (bits[i] * 0xD1B54A32D192ED03ull) >> 40);
    // Unwrapped clock, clamped at boot: a flow cannot predate the exporter.
    int64_t last = up - c.age_ms;
    last &= ~(last >> 63);  // max(0, last) without a branch
    int64_t first = last - c.duration_ms;
    first &= ~(first >> 63);
    prewrap += (first >> 32) != (up >> 32);
    std::memcpy(r, model_.record_template(k), v5::kRecordSize);
    wire::store_be32(r + v5::rec::kPackets, c.packets);
    wire::store_be32(r + v5::rec::kOctets, c.octets);
    wire::store_be32(r + v5::rec::kFirst, static_cast<uint32_t>(first));
    wire::store_be32(r + v5::rec::kLast, static_cast<uint32_t>(last));
    r[v5::rec::kTcpFlags] = c.tcp_flags;
    pk_sum += c.packets;
    by_sum += c.octets;
    if (keep) {
      KeyTotal& kt = key_totals[k];
      ++kt.flows;
      kt.packets += c.packets;
      kt.bytes += c.octets;
      s.last_keys[i] = k;
    }
  }
  s.sequence += n;
  t.next_seq = s.sequence;
  ++t.datagrams;
  t.flows += n;
  t.packets += pk_sum;
  t.bytes += by_sum;
  t.packets_scaled += pk_sum * v5_rate(cfg_.sampling_raw);
  t.bytes_scaled += by_sum * v5_rate(cfg_.sampling_raw);
  t.prewrap_records += prewrap;
  *packets = pk_sum;
  *bytes = by_sum;
  return static_cast<uint32_t>(v5::pdu_size(n));
}

uint32_t Generator::build_malformed(Stream& s, MalformedClass c, uint8_t* buf, int64_t now_ns) {
  // Start from a plausible datagram of this stream (its engine ids, the
  // current sequence), then break exactly one thing. Records are template
  // copies with zero counters: content is irrelevant, the datagram is rejected.
  const uint32_t n = cfg_.records;
  auto fill = [&](uint32_t records, uint16_t count) {
    v5::Header h;
    h.version = v5::kVersion;
    h.count = count;
    h.sys_uptime_ms = static_cast<uint32_t>(s.uptime_ms(now_ns));
    h.unix_secs = static_cast<uint32_t>(now_ns / 1000000000);
    h.unix_nsecs = static_cast<uint32_t>(now_ns % 1000000000);
    h.flow_sequence = s.sequence;
    h.engine_type = s.truth.engine_type;
    h.engine_id = s.truth.engine_id;
    h.sampling_raw = cfg_.sampling_raw;
    v5::write_v5_header(h, buf, kBufSize);
    for (uint32_t i = 0; i < records; ++i)
      std::memcpy(buf + v5::pdu_size(i), model_.record_template(i % model_.size()),
                  v5::kRecordSize);
    return static_cast<uint32_t>(v5::pdu_size(records));
  };
  switch (c) {
    case MalformedClass::kTooShort:
      fill(0, static_cast<uint16_t>(n));
      return 1 + s.rng.below(23);
    case MalformedClass::kBadVersion: {
      uint32_t len = fill(n, static_cast<uint16_t>(n));
      // Any version but the three a collector decodes (5, 9 and 10).
      uint32_t v = s.rng.below(65533);
      for (uint32_t taken : {5u, 9u, 10u})
        if (v >= taken) ++v;
      v5::patch_v5_version(buf, len, static_cast<uint16_t>(v));
      return len;
    }
    case MalformedClass::kCountZero:
      return fill(0, 0);
    case MalformedClass::kCountTooLarge: {
      uint32_t count = v5::kMaxRecords + 1 + s.rng.below(2);
      return fill(count, static_cast<uint16_t>(count));
    }
    case MalformedClass::kTruncated: {
      uint32_t len = fill(n, static_cast<uint16_t>(n));
      return len - v5::kRecordSize + 1 + s.rng.below(v5::kRecordSize - 1);
    }
    case MalformedClass::kLengthMismatch: {
      uint32_t present = std::min<uint32_t>(n, v5::kMaxRecords - 1);
      uint32_t claimed = present + 1 + s.rng.below(v5::kMaxRecords - present);
      return fill(present, static_cast<uint16_t>(claimed));
    }
    case MalformedClass::kTrailingBytes: {
      uint32_t len = fill(n, static_cast<uint16_t>(n));
      uint32_t extra = 1 + s.rng.below(v5::kRecordSize - 1);
      for (uint32_t i = 0; i < extra; ++i) buf[len + i] = static_cast<uint8_t>(s.rng.next());
      buf[len] = 0xFF;  // can never start a v5 PDU (version 0x0005)
      return len + extra;
    }
    case MalformedClass::kGarbage: {
      uint32_t len = v5::kHeaderSize + s.rng.below(v5::kMaxPduSize - v5::kHeaderSize + 1);
      for (uint32_t i = 0; i < len; i += 8) {
        uint64_t r = s.rng.next();
        std::memcpy(buf + i, &r, std::min<uint32_t>(8, len - i));
      }
      // Never a version a collector decodes (5, 9, 10): always bad_version.
      if (buf[0] == 0 && (buf[1] == v5::kVersion || buf[1] == 9 || buf[1] == 10)) buf[0] = 0xFF;
      return len;
    }
    case MalformedClass::kSetLength:
    case MalformedClass::kZeroFields:
    case MalformedClass::kVarOverflow:
    case MalformedClass::kAgentType:
    case MalformedClass::kSampleLength:
    case MalformedClass::kRecordLength:
    case MalformedClass::kSampleCount:
    case MalformedClass::kHeaderLength:
    case MalformedClass::kIpfixLength:
      break;  // v9/IPFIX only (generator_templated.cc): never drawn for v5
  }
  return 0;
}

bool Generator::flush(SendBatch& batch) {
  batch.clear();
  for (auto& s : streams_) {
    if (!s.held) continue;
    if (batch.size() == batch.capacity()) return true;  // more next call
    emit_held(s, batch, false);
  }
  return false;
}

void Generator::on_send_failed(const Outgoing& o) {
  StreamTruth& t = streams_[o.stream].truth;
  if (o.malformed >= 0) {
    // Not sent, so not in the truth; send_errors counts valid datagrams only
    // (it is the collector's extra loss).
    --t.malformed[static_cast<size_t>(o.malformed)];
    return;
  }
  --t.datagrams;
  t.flows -= o.flows;
  t.packets -= o.packets;
  t.bytes -= o.bytes;
  ++t.send_errors;
  t.send_error_flows += o.flows;
}

}  // namespace ringflow::gen
