// libFuzzer target for the sFlow v5 decoder and the packet-header parser
// (scripts/fuzz.sh runs it under ASan+UBSan). Beyond "does not crash", it
// checks their contracts on every input and traps on any violation:
//   - decoding in chunks (skip_flows / max_flows, as the worker's RecordReader
//     does) hands out every flow sample and cut header exactly once;
//   - decode_sflow rejects exactly when validate_sflow does, with the same
//     reason, and then hands the sink nothing;
//   - an accepted datagram gives the sink at most num_samples samples (flow +
//     counters + unknown; every flow and unknown one), each sample's records in order with every
//     record body and raw header inside the datagram, and one FlowRecord per flow sample with
//     packets 1 and sampling >= 1; the result's counts agree;
//   - the layer-2 / layer-3 / decapsulating decodes agree on everything but
//     bytes and the key;
//   - the ordered stage's walk (walk_sflow_samples) gives every flow sample
//     with the decoder's input, output and layer-2 length, in order; its
//     counter records fed to an SflowIfTable (with the flow bytes) never give
//     more flow bytes than were fed, and each interface's last sample fed
//     again is no delta;
//   - validate_sflow with SflowHeads (the ordered stage's one pass) rejects
//     exactly as without, and when it says complete its heads are the walk's
//     samples, field by field, with nothing else walked; decode_sflow with
//     SflowOptions::validated (the worker's) gives the same samples, records
//     and FlowRecords as the validating decode;
//   - parse_packet on the raw input (byte 0 picks the start layer and
//     decapsulation) reports a cut offset inside the buffer, an IP header
//     only where 20 / 40 bytes fit, and ports only with an IP header.
// The input is copied into an exact-size heap buffer, so ASan catches any read
// past the datagram.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "decode/packet_parser.h"
#include "decode/sflow_decoder.h"
#include "decode/sflow_if_table.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace ringflow;

struct Checker : SflowSink {
  const uint8_t* begin = nullptr;
  const uint8_t* end = nullptr;
  uint32_t samples = 0, flows = 0, flow_records = 0, counter_records = 0, unknown_samples = 0;
  uint32_t unknown_records = 0;
  int64_t last_sample = -1;
  uint32_t next_record = 0;
  bool views = true;  // SflowOptions::flow_record_views: flow_record() is called
  uint64_t bytes_sum = 0;
  // (input, output, bytes) of each FlowRecord, in order (mode 0 only).
  uint32_t kept = 0;
  uint32_t in[64] = {}, out[64] = {};
  uint64_t len[64] = {};

  bool inside(const uint8_t* p, size_t n) const {
    return p >= begin && p <= end && n <= static_cast<size_t>(end - p);
  }
  void enter_sample(uint32_t index) {
    if (static_cast<int64_t>(index) != last_sample) {
      FUZZ_CHECK(static_cast<int64_t>(index) > last_sample);
      last_sample = index;
      next_record = 0;
      ++samples;
    }
  }
  void flow_record(const SflowDatagram&, const SflowFlowSample& fs,
                   const SflowFlowRecord& r) override {
    enter_sample(fs.index);
    FUZZ_CHECK(r.index == next_record++);
    FUZZ_CHECK(r.index < fs.num_records);
    FUZZ_CHECK(inside(r.body, r.length));
    if (r.enterprise == 0 && r.format == sflow::kRawHeader) {
      FUZZ_CHECK(inside(r.header, r.header_length));
      FUZZ_CHECK(r.packet.cut_offset <= r.header_length);
    }
    ++flow_records;
  }
  void flow(const SflowDatagram&, const SflowFlowSample& fs, const FlowRecord& f) override {
    enter_sample(fs.index);
    // Every record was seen first, unless the views were turned off.
    FUZZ_CHECK(!views || next_record == fs.num_records);
    FUZZ_CHECK(f.packets == 1);
    FUZZ_CHECK(f.sampling >= 1);
    FUZZ_CHECK(f.ip_version == 0 || f.ip_version == 4 || f.ip_version == 6);
    bytes_sum += f.bytes;
    if (kept < 64) {
      in[kept] = f.input;
      out[kept] = f.output;
      len[kept] = f.bytes;
      ++kept;
    }
    ++flows;
  }
  void counters(const SflowDatagram&, const SflowCounterSample& cs,
                const SflowCounterRecord& r) override {
    enter_sample(cs.index);
    FUZZ_CHECK(r.index == next_record++);
    FUZZ_CHECK(r.index < cs.num_records);
    FUZZ_CHECK(inside(r.body, r.length));
    ++counter_records;
  }
  void unknown(const SflowDatagram&, SflowUnknown kind, uint32_t enterprise,
               uint32_t format) override {
    FUZZ_CHECK(enterprise < (1u << 20) && format < (1u << 12));
    if (kind == SflowUnknown::kSample) {
      ++unknown_samples;
      ++samples;
      last_sample = -2;  // an unknown sample has no index: the next known one is new
    } else {
      ++unknown_records;
    }
  }
};

// The ordered stage's view of the same datagram, against the decoder's.
// Every sample and everything else walk_sflow_samples reports.
struct WalkAll : SflowWalk {
  uint32_t n = 0, others = 0;
  SflowSampleHead heads[SflowHeads::kMax];
  void sample(const SflowSampleHead& h) override {
    if (n < SflowHeads::kMax) heads[n] = h;
    ++n;
  }
  void unknown_record(SflowUnknown, uint32_t, uint32_t) override { ++others; }
  void counters(const SflowCounterSample&, const SflowCounterRecord&) override { ++others; }
};

bool same_head(const SflowSampleHead& a, const SflowSampleHead& b) {
  return a.enterprise == b.enterprise && a.format == b.format && a.flow == b.flow &&
         a.counters == b.counters && a.sequence == b.sequence && a.source_type == b.source_type &&
         a.source_index == b.source_index && a.rate == b.rate && a.pool == b.pool &&
         a.drops == b.drops && a.input == b.input && a.output == b.output && a.length == b.length;
}

struct WalkChecker : SflowWalk {
  const Checker* dec = nullptr;
  SflowIfTable* table = nullptr;
  uint32_t uptime = 0;
  uint32_t flows = 0;
  uint64_t flow_bytes = 0, delta_flow_bytes = 0;
  uint32_t generic = 0;
  uint32_t seqs[32] = {};
  GenericIfCounters recs[32];
  void sample(const SflowSampleHead& h) override {
    if (!h.flow) return;
    if (flows < dec->kept) {
      FUZZ_CHECK(h.input == dec->in[flows] && h.output == dec->out[flows]);
      FUZZ_CHECK(h.length == dec->len[flows]);
    }
    ++flows;
    const uint64_t b = uint64_t{h.length} * h.rate;
    flow_bytes += b;
    table->flow(0, h.input, h.output, b);
  }
  void counters(const SflowCounterSample& cs, const SflowCounterRecord& r) override {
    if (r.enterprise != 0 || r.format != sflow::kGenericInterface) return;
    SflowIfDelta d;
    if (table->counters(0, uptime, cs.sequence, r.generic, &d) == SflowIfTable::Seen::kDelta)
      delta_flow_bytes += d.flow_in_bytes + d.flow_out_bytes;
    if (generic < 32) {
      seqs[generic] = cs.sequence;
      recs[generic] = r.generic;
      ++generic;
    }
  }
};

void check_parse(const uint8_t* p, size_t n, uint8_t selector) {
  PacketOptions opt;
  opt.decapsulate = selector & 4;
  const PacketStart start = static_cast<PacketStart>(selector & 3);
  ParsedPacket pk;
  parse_packet(p, n, start, opt, &pk);
  FUZZ_CHECK(pk.cut_offset <= n);
  if (pk.ip_version == 4) FUZZ_CHECK(size_t{pk.l3_offset} + 20 <= n);
  if (pk.ip_version == 6) FUZZ_CHECK(size_t{pk.l3_offset} + 40 <= n);
  if (pk.has_ports || pk.has_icmp) FUZZ_CHECK(pk.ip_version != 0);
  if (pk.inner) FUZZ_CHECK(pk.encap != Encap::kNone);
  FUZZ_CHECK(pk.vlan_count == 0 || pk.has_ethernet);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[size ? size : 1]);
  if (size) std::memcpy(buf.get(), data, size);
  const uint8_t* p = buf.get();

  if (size > 0) check_parse(p + 1, size - 1, data[0]);

  SflowDatagram d;
  uint32_t trailing = 0;
  const SflowReject v = validate_sflow(p, size, &d, &trailing);
  {
    static SflowHeads heads;
    SflowDatagram hd;
    uint32_t htrailing = 0;
    FUZZ_CHECK(validate_sflow(p, size, &hd, &htrailing, &heads) == v);
    if (v == SflowReject::kNone) {
      FUZZ_CHECK(htrailing == trailing && heads.n <= SflowHeads::kMax);
      WalkAll all;
      walk_sflow_samples(p, size, d, &all);
      if (heads.complete) {
        FUZZ_CHECK(all.others == 0 && all.n == heads.n);
        for (uint32_t i = 0; i < heads.n; ++i)
          FUZZ_CHECK(heads.heads[i].flow && same_head(heads.heads[i], all.heads[i]));
      }
    }
  }

  SflowResult first;
  uint64_t flows = 0;
  for (int mode = 0; mode < 3; ++mode) {
    SflowOptions opt;
    opt.bytes = mode == 1 ? SflowBytes::kIpLength : SflowBytes::kFrameLength;
    opt.packet.decapsulate = mode == 2;
    Checker c;
    c.begin = p;
    c.end = p + size;
    const SflowResult r = decode_sflow(p, size, opt, &c);
    FUZZ_CHECK(r.reject == v);
    if (r.reject != SflowReject::kNone) {
      FUZZ_CHECK(c.samples == 0 && c.flow_records == 0 && c.counter_records == 0);
      continue;
    }
    FUZZ_CHECK(r.trailing_bytes == trailing && trailing <= size);
    // A counter sample without records calls nothing, so <= rather than ==.
    FUZZ_CHECK(c.samples <= d.num_samples && c.samples >= r.flow_samples + r.unknown_samples);
    FUZZ_CHECK(r.flow_samples + r.counter_samples + r.unknown_samples == d.num_samples);
    FUZZ_CHECK(c.flows == r.flow_samples && c.unknown_samples == r.unknown_samples);
    FUZZ_CHECK(c.flow_records == r.flow_records && c.counter_records == r.counter_records);
    FUZZ_CHECK(r.unknown_records <= r.flow_records + r.counter_records);
    FUZZ_CHECK(r.cut_headers <= r.flow_records);
    {  // the worker's decode of the datagram the ordered stage validated
      SflowOptions vopt = opt;
      vopt.validated = true;
      Checker vc;
      vc.begin = p;
      vc.end = p + size;
      const SflowResult vr = decode_sflow(p, size, vopt, &vc);
      FUZZ_CHECK(vr.reject == SflowReject::kNone && vr.trailing_bytes == 0);
      FUZZ_CHECK(vr.flow_samples == r.flow_samples && vr.counter_samples == r.counter_samples &&
                 vr.unknown_samples == r.unknown_samples && vr.flow_records == r.flow_records &&
                 vr.counter_records == r.counter_records &&
                 vr.unknown_records == r.unknown_records && vr.cut_headers == r.cut_headers);
      FUZZ_CHECK(vc.samples == c.samples && vc.flows == c.flows && vc.bytes_sum == c.bytes_sum);
      for (uint32_t i = 0; i < c.kept && i < vc.kept; ++i)
        FUZZ_CHECK(vc.in[i] == c.in[i] && vc.out[i] == c.out[i] && vc.len[i] == c.len[i]);
    }
    if (mode == 0) {
      first = r;
      flows = c.flows;
      // The walk (what the ordered stage reads) against the decoder, and the
      // interface table over it: twice, so the second pass meets every
      // counter sample again.
      SflowIfTable table(8);
      WalkChecker w;
      w.dec = &c;
      w.table = &table;
      w.uptime = d.uptime_ms;
      walk_sflow_samples(p, size, d, &w);
      FUZZ_CHECK(w.flows == r.flow_samples);
      // A flow sample feeds both its interfaces, so the deltas can hand out
      // at most twice the bytes fed.
      FUZZ_CHECK(w.delta_flow_bytes <= 2 * w.flow_bytes);
      // The last sample of each interface, fed again, is a duplicate.
      for (uint32_t i = 0; i < w.generic; ++i) {
        bool last = true;
        for (uint32_t j = i + 1; j < w.generic; ++j)
          last = last && w.recs[j].if_index != w.recs[i].if_index;
        if (!last) continue;
        SflowIfDelta again;
        FUZZ_CHECK(table.counters(0, d.uptime_ms, w.seqs[i], w.recs[i], &again) !=
                   SflowIfTable::Seen::kDelta);
      }
      FUZZ_CHECK(table.size() <= table.capacity());
      // Chunked as the worker's RecordReader reads it (skip_flows /
      // max_flows): every flow sample exactly once, cut headers likewise.
      uint64_t chunked = 0, cut = 0;
      for (uint32_t step = 0; step < 100000; ++step) {
        SflowOptions copt = opt;
        copt.skip_flows = static_cast<uint32_t>(chunked);
        copt.max_flows = 1 + data[0] % 7;
        copt.flow_record_views = false;
        Checker cc;
        cc.views = false;
        cc.begin = p;
        cc.end = p + size;
        const SflowResult cr = decode_sflow(p, size, copt, &cc);
        FUZZ_CHECK(cr.reject == SflowReject::kNone);
        FUZZ_CHECK(cc.flows <= copt.max_flows);
        chunked += cc.flows;
        cut += cr.cut_headers;
        if (!cr.more) break;
        FUZZ_CHECK(cc.flows == copt.max_flows);
      }
      FUZZ_CHECK(chunked == r.flow_samples);
      FUZZ_CHECK(cut == r.cut_headers);
    } else {
      FUZZ_CHECK(r.flow_samples == first.flow_samples && c.flows == flows);
      FUZZ_CHECK(r.counter_records == first.counter_records);
    }
  }
  return 0;
}
