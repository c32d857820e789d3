#include "gen/replay.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>

#include "decode/record_reader.h"
#include "decode/sessions.h"
#include "decode/v5_decoder.h"
#include "gen/gen_config.h"
#include "gen/pcap_reader.h"
#include "gen/pcap_writer.h"
#include "gen/runner.h"
#include "gen/sender.h"
#include "gen/truth.h"
#include "gen/v5_encoder.h"
#include "wire/bytes.h"
#include "wire/ipfix.h"
#include "wire/netflow9.h"

namespace ringflow::gen {
namespace {

MalformedClass class_of(Reject r) {
  switch (r) {
    case Reject::kTooShort:
      return MalformedClass::kTooShort;
    case Reject::kBadVersion:
      return MalformedClass::kBadVersion;
    case Reject::kCountZero:
      return MalformedClass::kCountZero;
    case Reject::kCountTooLarge:
      return MalformedClass::kCountTooLarge;
    case Reject::kTruncated:
      return MalformedClass::kTruncated;
    case Reject::kTrailingBytes:
      return MalformedClass::kTrailingBytes;
    case Reject::kSetLength:
      return MalformedClass::kSetLength;
    case Reject::kIpfixLength:
      return MalformedClass::kIpfixLength;
    case Reject::kNone:
    case Reject::kVersionDisabled:
    case Reject::kStreamTableFull:
    case Reject::kStreamQuota:
    case Reject::kSflowBadAgentType:
    case Reject::kSflowSampleCountMismatch:
    case Reject::kSflowSamplePastDatagram:
    case Reject::kSflowSampleTooShort:
    case Reject::kSflowRecordCountMismatch:
    case Reject::kSflowRecordPastSample:
    case Reject::kSflowRecordTooShort:
    case Reject::kSflowHeaderPastRecord:
    case Reject::kSflowBadAddressType:
    case Reject::kSflowListPastRecord:
      break;
  }
  return MalformedClass::kGarbage;
}

// Classifies v9/IPFIX datagrams in capture order with the decoder's ordered
// stage, as a collector would see them.
class TemplatedClassifier {
 public:
  TemplatedClassifier() : sessions_(cfg_, 1, 65535, counters_) {}

  // *d gets the stream and counters of datagram [p, p + len) from source
  // `src`; stream_of(version, domain) returns the stream index.
  template <class StreamOf>
  void classify(const uint8_t* p, size_t len, const IpAddr& src, CapturedDatagram* d,
                StreamOf&& stream_of, std::vector<CaptureStream>& streams) {
    const bool v9 = wire::load_be16(p) == v9::kVersion;
    const int64_t now_ms = d->ts_ns / 1000000;
    const uint8_t version = v9 ? 9 : 10;
    const uint32_t domain = len >= (v9 ? v9::kHeaderSize : ipfix::kHeaderSize)
                                ? wire::load_be32(p + (v9 ? v9::hdr::kSourceId : ipfix::hdr::kDomain))
                                : 0;
    const uint32_t stream = stream_of(version, domain);
    d->stream = static_cast<int32_t>(stream);
    const uint64_t data0 = counters_.data_records.load();
    const uint64_t opt0 = counters_.options_records.load();
    const std::array<uint64_t, kRejectReasons> before = reject_totals();
    const Admit a = sessions_.admit(p, len, src, 0, now_ms);
    if (a == Admit::kRejected) {
      const std::array<uint64_t, kRejectReasons> after = reject_totals();
      Reject why = Reject::kBadVersion;
      for (size_t r = 1; r < kRejectReasons; ++r)
        if (after[r] != before[r]) why = static_cast<Reject>(r);
      d->malformed = static_cast<int32_t>(class_of(why));
      return;
    }
    const uint32_t seq =
        wire::load_be32(p + (v9 ? v9::hdr::kSequence : ipfix::hdr::kSequence));
    if (a == Admit::kHandOff) {
      add_records(sessions_.meta(0), p, len, now_ms, d);
      sessions_.release(0);
    }
    uint32_t units = static_cast<uint32_t>(counters_.data_records.load() - data0 +
                                           counters_.options_records.load() - opt0);
    ReadyDatagram ready[16];
    size_t n;
    while ((n = sessions_.take_ready(ready, 16)) > 0)
      for (size_t i = 0; i < n; ++i) {
        const uint32_t before = d->flows;
        add_records(sessions_.meta(ready[i].buf), ready[i].data, ready[i].len, now_ms, d);
        // Records of a held set count in the sequence of its own stream.
        const uint32_t s = stream_of(sessions_.meta(ready[i].buf).format == kFormatV9 ? 9 : 10,
                                     sessions_.meta(ready[i].buf).domain);
        if (version == 10) streams[s].span += d->flows - before;
        sessions_.release(ready[i].buf);
      }
    d->first_seq = seq;
    d->next_seq = seq + (v9 ? 1 : units);
    streams[stream].span += v9 ? 1 : units;
  }

 private:
  void add_records(const DatagramMeta& m, const uint8_t* p, size_t len, int64_t now_ms,
                   CapturedDatagram* d) {
    RecordReader r(m, p, len, now_ms, v5opts_);
    FlowRecord out[64];
    RecordChunk c;
    size_t n;
    while ((n = r.next(out, 64, &c)) > 0)
      for (size_t i = 0; i < n; ++i) {
        ++d->flows;
        d->packets += out[i].packets;
        d->bytes += out[i].bytes;
      }
  }

  DecodeConfig cfg_;
  SessionCounters counters_;
  Sessions sessions_;
  DecodeOptions v5opts_;
  std::array<uint64_t, kRejectReasons> reject_totals() const {
    std::array<uint64_t, kRejectReasons> t{};
    for (const auto& slot : counters_.rejects)
      for (size_t r = 0; r < kRejectReasons; ++r) t[r] += slot[r].load();
    return t;
  }
};

}  // namespace

bool load_capture(const std::string& path, Capture* out, std::string* error) {
  *out = Capture{};
  PcapReader reader;
  if (!reader.open(path, error)) return false;
  std::map<IpAddr, uint32_t> source_index;
  std::map<std::tuple<uint32_t, uint8_t, uint8_t>, uint32_t> stream_index;
  std::map<std::tuple<uint32_t, uint8_t, uint32_t>, uint32_t> templated_index;
  std::unique_ptr<TemplatedClassifier> templated;
  DecodeOptions opt;
  CapturedUdp u;
  int rc;
  while ((rc = reader.next(&u, error)) == 1) {
    const IpAddr& src = u.src;
    const uint8_t* payload = u.payload;
    const size_t len = u.len;
    if (len > 65507) {
      ++out->skipped;
      continue;
    }
    CapturedDatagram d;
    d.ts_ns = u.ts_ns;
    d.offset = static_cast<uint32_t>(out->data.size());
    d.len = static_cast<uint32_t>(len);
    auto [sit, snew] = source_index.try_emplace(src, static_cast<uint32_t>(out->sources.size()));
    if (snew) out->sources.push_back(src);
    d.source = sit->second;
    out->data.insert(out->data.end(), payload, payload + len);

    const uint16_t version = len >= 2 ? wire::load_be16(payload) : 0;
    if (version == v9::kVersion || version == ipfix::kVersion) {
      if (!templated) templated = std::make_unique<TemplatedClassifier>();
      const uint32_t source = d.source;
      auto stream_of = [&](uint8_t v, uint32_t domain) {
        auto [it, fresh] = templated_index.try_emplace({source, v, domain},
                                                       static_cast<uint32_t>(out->streams.size()));
        if (fresh) {
          CaptureStream cs;
          cs.source = source;
          cs.version = v;
          cs.domain = domain;
          out->streams.push_back(cs);
        }
        return it->second;
      };
      templated->classify(payload, len, src, &d, stream_of, out->streams);
      out->datagrams.push_back(d);
      continue;
    }
    DatagramShape shape = validate_datagram(payload, len, opt);
    if (shape.reject != Reject::kNone) {
      d.malformed = static_cast<int32_t>(class_of(shape.reject));
      v5::Header hd;
      uint8_t et = 0, ei = 0;
      if (decode_header(payload, len, &hd)) {
        et = hd.engine_type;
        ei = hd.engine_id;
      }
      auto [it, fresh] =
          stream_index.try_emplace({d.source, et, ei}, static_cast<uint32_t>(out->streams.size()));
      if (fresh) {
        CaptureStream cs;
        cs.source = d.source;
        cs.engine_type = et;
        cs.engine_id = ei;
        out->streams.push_back(cs);
      }
      d.stream = static_cast<int32_t>(it->second);
    } else {
      static Pdu pdu;  // ~2 KB: load-time only, single thread
      size_t off = 0;
      for (size_t i = 0; i < shape.pdus; ++i) {
        off = decode_pdu_at(payload, len, off, 0, opt, &pdu);
        const v5::Header& hd = pdu.header;
        auto [it, fresh] = stream_index.try_emplace({d.source, hd.engine_type, hd.engine_id},
                                                    static_cast<uint32_t>(out->streams.size()));
        if (fresh) {
          CaptureStream cs;
          cs.source = d.source;
          cs.engine_type = hd.engine_type;
          cs.engine_id = hd.engine_id;
          cs.sampling_raw = hd.sampling_raw;
          out->streams.push_back(cs);
        }
        out->streams[it->second].span += pdu.count;
        if (i == 0) {
          d.stream = static_cast<int32_t>(it->second);
          d.first_seq = hd.flow_sequence;
        }
        d.next_seq = hd.flow_sequence + pdu.count;
        d.flows += pdu.count;
        for (uint16_t r = 0; r < pdu.count; ++r) {
          d.packets += pdu.records[r].packets;
          d.bytes += pdu.records[r].octets;
        }
      }
    }
    out->datagrams.push_back(d);
  }
  if (rc == -1) return false;
  out->skipped += reader.skipped();
  if (out->datagrams.empty()) {
    *error = path + ": no UDP datagrams in the capture";
    return false;
  }
  return true;
}

void shift_sequences(Capture* c, const CapturedDatagram& d, const std::vector<uint32_t>& delta) {
  if (d.malformed >= 0) return;
  uint8_t* p = c->data.data() + d.offset;
  const CaptureStream& st = c->streams[static_cast<size_t>(d.stream)];
  if (st.version != 5) {
    const size_t off = st.version == 9 ? v9::hdr::kSequence : ipfix::hdr::kSequence;
    wire::store_be32(p + off, wire::load_be32(p + off) + delta[static_cast<size_t>(d.stream)]);
    return;
  }
  size_t off = 0, size = 0;
  // Walk the packed PDUs (validated at load, so check_pdu succeeds on each).
  while (off < d.len && check_pdu(p + off, d.len - off, &size) == Reject::kNone) {
    uint8_t* pdu = p + off;
    uint8_t et = pdu[v5::hdr::kEngineType], ei = pdu[v5::hdr::kEngineId];
    for (size_t s = 0; s < c->streams.size(); ++s) {
      const CaptureStream& cs = c->streams[s];
      if (cs.source == d.source && cs.engine_type == et && cs.engine_id == ei) {
        v5::patch_v5_sequence(pdu, size, wire::load_be32(pdu + v5::hdr::kFlowSequence) + delta[s]);
        break;
      }
    }
    off += size;
  }
}

RunResult run_replay(const GenConfig& cfg, const std::atomic<bool>* stop) {
  RunResult out;
  Capture cap;
  if (!load_capture(cfg.replay_path, &cap, &out.error)) return out;
  const ExporterMode mode = cfg.resolved_mode();
  std::vector<IpAddr> sources;
  for (size_t i = 0; i < cap.sources.size(); ++i)
    sources.push_back(IpAddr::from_v4(0x7F000001u + static_cast<uint32_t>(i)));
  UdpSender sender;
  const size_t batch_cap = cfg.batch;
  if (!sender.open(cfg.target, mode, sources, batch_cap, &out.error)) return out;
  PcapWriter pcap;
  if (!cfg.pcap_path.empty() && !pcap.open(cfg.pcap_path, &out.error)) return out;

  out.streams.resize(cap.streams.size());
  for (size_t s = 0; s < cap.streams.size(); ++s) {
    StreamTruth& t = out.streams[s];
    t.exporter = sender.source_addr(cap.streams[s].source);
    t.port = sender.source_port(cap.streams[s].source);
    t.engine_type = cap.streams[s].engine_type;
    t.engine_id = cap.streams[s].engine_id;
    t.sampling_raw = cap.streams[s].sampling_raw;
    t.version = cap.streams[s].version;
    t.domain = cap.streams[s].domain;
  }

  const auto& dg = cap.datagrams;
  const int64_t t0 = dg.front().ts_ns;
  const int64_t span_ns = dg.back().ts_ns - t0;
  // One loop lasts the capture plus one average gap, so loops do not collide.
  const int64_t loop_ns =
      span_ns + (dg.size() > 1 ? span_ns / static_cast<int64_t>(dg.size() - 1) : 1000000);
  const bool original = cfg.pps <= 0 && cfg.replay_speed > 0;
  std::vector<uint32_t> delta(cap.streams.size());
  for (size_t s = 0; s < delta.size(); ++s) delta[s] = cap.streams[s].span;

  SendBatch batch(batch_cap);
  std::vector<uint8_t> failed(batch_cap);
  int64_t next_report = 0;
  uint64_t last_report_items = 0;
  const int64_t start = monotonic_ns();
  Pacer sched(cfg.pps, start);
  const int64_t end = cfg.duration_s > 0 ? start + static_cast<int64_t>(cfg.duration_s * 1e9) : 0;
  auto due = [&](uint64_t loop, size_t i) {
    double rel = static_cast<double>(dg[i].ts_ns - t0 + static_cast<int64_t>(loop) * loop_ns);
    return start + static_cast<int64_t>(rel / cfg.replay_speed);
  };
  uint64_t sent_items = 0;
  int64_t last_send = 0;
  bool stopped = false;
  for (uint64_t loop = 0; (cfg.loop == 0 || loop < cfg.loop) && !stopped; ++loop) {
    if (cfg.rewrite_seq && loop > 0)
      for (const auto& d : dg) shift_sequences(&cap, d, delta);
    size_t i = 0;
    while (i < dg.size()) {
      if (stop->load(std::memory_order_relaxed) || (end > 0 && monotonic_ns() >= end) ||
          (cfg.count > 0 && sent_items >= cfg.count)) {
        stopped = true;
        break;
      }
      size_t limit = batch_cap;
      if (cfg.count > 0) limit = std::min<uint64_t>(limit, cfg.count - sent_items);
      if (original) {
        int64_t d0 = due(loop, i);
        if (end > 0 && d0 >= end) {
          stopped = true;
          break;
        }
        // Captures can have long silences: sleep in slices to notice a stop.
        while (monotonic_ns() < d0 && !stop->load(std::memory_order_relaxed))
          sleep_until_ns(std::min(d0, monotonic_ns() + 100000000));
        out.max_lateness_ns = std::max(out.max_lateness_ns, monotonic_ns() - d0);
      } else if (sched.paced()) {
        if (end > 0 && sched.due_ns(sent_items) >= end) {
          stopped = true;
          break;
        }
        out.max_lateness_ns = std::max(out.max_lateness_ns, sched.wait(sent_items));
        limit = std::min<size_t>(limit, batch_for_rate(cfg.pps, cfg.batch));
      }
      batch.clear();
      const int64_t now = monotonic_ns();
      size_t j = i;
      while (j < dg.size() && batch.size() < limit &&
             (!original || j == i || due(loop, j) <= now)) {
        const CapturedDatagram& d = dg[j];
        Outgoing& o = batch.push(cap.data.data() + d.offset, d.len, d.source);
        o.malformed = d.malformed;
        o.flows = d.flows;
        o.packets = d.packets;
        o.bytes = d.bytes;
        ++j;
      }
      std::fill(failed.begin(), failed.end(), 0);
      uint64_t sent;
      if (!cfg.pcap_path.empty()) {
        const int64_t ts = wall_ns();
        for (size_t k = 0; k < batch.size(); ++k)
          pcap.write(sender.source_addr(batch[k].stream), sender.source_port(batch[k].stream),
                     cfg.target.addr, cfg.target.port, batch[k].data, batch[k].len, ts);
        sent = batch.size();
      } else {
        sent = sender.send(
            batch, [&](const Outgoing& o) { failed[static_cast<size_t>(&o - &batch[0])] = 1; });
      }
      for (size_t k = i; k < j; ++k) {
        const CapturedDatagram& d = dg[k];
        const bool fail = failed[k - i] != 0;
        StreamTruth& t = out.streams[static_cast<size_t>(d.stream)];
        if (fail) {
          if (d.malformed >= 0) continue;  // not sent: not in the truth
          ++t.send_errors;
          t.send_error_flows += d.flows;
          continue;
        }
        if (d.malformed >= 0) {
          ++t.malformed[static_cast<size_t>(d.malformed)];
          continue;
        }
        uint32_t shift = cfg.rewrite_seq
                             ? static_cast<uint32_t>(loop) * delta[static_cast<size_t>(d.stream)]
                             : 0;
        if (!t.started) {
          t.started = true;
          t.first_seq = d.first_seq + shift;
        }
        t.next_seq = d.next_seq + shift;
        ++t.generated;
        ++t.datagrams;
        t.flows += d.flows;
        t.packets += d.packets;
        t.bytes += d.bytes;
        out.wire_bytes += d.len;
      }
      out.wire_datagrams += sent;
      sent_items += j - i;
      out.slots += j - i;
      last_send = monotonic_ns();
      i = j;
      if (next_report == 0) next_report = start + 1000000000;
      if (last_send >= next_report) {
        if (!cfg.quiet && cfg.progress)
          std::fprintf(stderr,
                       "ringflow-gen: %6.1f s  sent %" PRIu64 " datagrams  rate %" PRIu64
                       " datagrams/s  loop %" PRIu64 "\n",
                       static_cast<double>(last_send - start) / 1e9, out.wire_datagrams,
                       sent_items - last_report_items, loop + 1);
        last_report_items = sent_items;
        next_report += 1000000000;
      }
    }
  }
  if (!cfg.pcap_path.empty() && !pcap.close(&out.error)) return out;
  out.syscalls = sender.syscalls();
  out.retries = sender.retries();
  out.elapsed_s = last_send > 0 ? static_cast<double>(last_send - start) / 1e9 : 0;
  if (!cfg.quiet)
    std::fprintf(stderr,
                 "ringflow-gen: replayed %s: %zu datagrams per loop, %zu source(s), %" PRIu64
                 " frames skipped\n",
                 cfg.replay_path.c_str(), dg.size(), cap.sources.size(), cap.skipped);
  out.ok = true;
  return out;
}

}  // namespace ringflow::gen
