#include "decode/record_reader.h"

#include "decode/wire_formats.h"

namespace ringflow {

size_t RecordReader::next(FlowRecord* out, size_t max, RecordChunk* chunk) {
  *chunk = RecordChunk{};
  chunk->format = m_.format;
  chunk->domain = m_.domain;
  const WireFormat* f = format_by_id(m_.format);
  if (f == nullptr) return 0;  // not admitted by the ordered stage: cannot happen
  chunk->version = static_cast<uint8_t>(f->version);
  size_t n = 0;
  const IpAddr* sampling_by = exporter_;
  IpAddr agent;
  switch (f->decoder) {  // no default: -Wswitch names a new decoder here
    case WireDecoder::kV5: n = next_v5(out, chunk); break;
    case WireDecoder::kV9:
    case WireDecoder::kIpfix:
      n = next_sets(out, max, chunk);
      check_times(out, n, chunk);
      if (chunk->sections) {  // only templates with a packet section
        for (size_t i = 0; i < n; ++i) {
          const size_t reason = section_reason(out[i].flags);
          if (reason < kSectionReasons) ++chunk->section_records[reason];
        }
      }
      break;
    case WireDecoder::kSflow:
      n = next_sflow(out, max, chunk, &agent);
      check_times(out, n, chunk);
      // decode.sampling_overrides name sFlow agents by their agent address
      // (the stream's), else by the address the datagram came from.
      if (n > 0 && sampling_ != nullptr && sampling_->policy().override_for(agent) != 0)
        sampling_by = &agent;
      break;
  }
  if (n > 0 && sampling_ != nullptr)
    sampling_->resolve(out, n, m_.sampling, *sampling_by, chunk->v5,
                       &chunk->unknown_sampling_records, &chunk->sampling_too_high_records);
  return n;
}

void RecordReader::check_times(const FlowRecord* r, size_t n, RecordChunk* chunk) const {
  // The same checks v5's decoder makes per PDU (src/decode/v5_decoder.h).
  const int64_t future_limit = now_ms_ + v5_opts_.future_tolerance_ms;
  uint32_t future = 0, inverted = 0, unknown = 0;
  for (size_t i = 0; i < n; ++i) {
    future += r[i].end_ms > future_limit;
    inverted += r[i].start_ms > r[i].end_ms;
    unknown += (r[i].flags & kFlowTimeUnknown) != 0;
  }
  chunk->future_records = static_cast<uint16_t>(future);
  chunk->inverted_records = static_cast<uint16_t>(inverted);
  chunk->unknown_time_records = static_cast<uint16_t>(unknown);
}

size_t RecordReader::next_v5(FlowRecord* out, RecordChunk* chunk) {
  if (unit_ >= m_.v5_pdus) return 0;
  uint16_t future = 0, inverted = 0, unknown = 0;
  chunk->unit = unit_;
  const size_t next = decode_pdu_flows(p_, len_, offset_, now_ms_, v5_opts_, &v5_header_, out,
                                       &future, &inverted, &unknown);
  ++unit_;
  if (next == 0) {  // not a valid PDU: cannot happen for an admitted datagram
    unit_ = m_.v5_pdus;
    return 0;
  }
  offset_ = next;
  chunk->v5 = &v5_header_;
  chunk->domain = uint32_t{v5_header_.engine_type} << 8 | v5_header_.engine_id;
  chunk->future_records = future;
  chunk->inverted_records = inverted;
  chunk->unknown_time_records = unknown;
  return v5_header_.count;
}

namespace {

// Collects the FlowRecords of one decode_sflow call.
class SflowCollect final : public SflowSink {
 public:
  explicit SflowCollect(FlowRecord* out) : out_(out) {}
  void flow(const SflowDatagram& d, const SflowFlowSample&, const FlowRecord& r) override {
    out_[n++] = r;
    agent = d.agent;
  }
  size_t n = 0;
  IpAddr agent;

 private:
  FlowRecord* out_;
};

}  // namespace

size_t RecordReader::next_sflow(FlowRecord* out, size_t max, RecordChunk* chunk, IpAddr* agent) {
  if (sflow_done_) return 0;
  SflowOptions opt = sflow_ ? *sflow_ : SflowOptions{};
  opt.now_ms = now_ms_;
  opt.flow_record_views = false;
  opt.validated = true;  // the ordered stage's validate_sflow accepted this datagram
  opt.skip_flows = static_cast<uint32_t>(offset_);  // flow samples already returned
  opt.max_flows = static_cast<uint32_t>(max);
  SflowCollect sink(out);
  const SflowResult r = decode_sflow(p_, len_, opt, &sink);
  chunk->unit = unit_++;
  chunk->cut_headers = static_cast<uint16_t>(r.cut_headers);
  offset_ += sink.n;
  if (!r.more) sflow_done_ = true;
  *agent = sink.agent;
  return sink.n;
}

size_t RecordReader::next_sets(FlowRecord* out, size_t max, RecordChunk* chunk) {
  while (unit_ < m_.nsets) {
    const SetRef& set = m_.sets[unit_];
    const DecodePlan& plan = reverse_ ? *set.plan->reverse : *set.plan;
    chunk->unit = unit_;
    chunk->template_id = set.plan->template_id;
    chunk->biflow = !reverse_ && set.plan->reverse != nullptr;
    chunk->reverse = reverse_;
    chunk->unknown_counters = set.plan->unknown_counter_fields != 0;
    chunk->sections = plan.section.active;
    size_t n = decode_records(plan, p_ + set.offset, set.length, &offset_, m_.time, out, max,
                              &chunk->status);
    if (chunk->status != SetStatus::kMore) {
      offset_ = 0;
      // A biflow set: its reverse direction next, then the next set.
      if (!reverse_ && set.plan->reverse) {
        reverse_ = true;
      } else {
        reverse_ = false;
        ++unit_;
      }
    }
    if (chunk->reverse || chunk->biflow) {
      // A biflow seen one way only: no record for the empty direction.
      size_t kept = 0;
      for (size_t i = 0; i < n; ++i) {
        if ((out[i].packets | out[i].bytes) == 0) continue;
        if (kept != i) out[kept] = out[i];
        ++kept;
      }
      empty_directions_ += n - kept;
      n = kept;
    }
    if (n > 0) return n;
  }
  return 0;
}

}  // namespace ringflow
