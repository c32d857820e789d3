#include "decode/record_reader.h"

namespace ringflow {

size_t RecordReader::next(FlowRecord* out, size_t max, RecordChunk* chunk) {
  *chunk = RecordChunk{};
  chunk->version = m_.version;
  if (m_.version == 5) {
    if (unit_ >= m_.v5_pdus) return 0;
    uint16_t future = 0, inverted = 0;
    chunk->unit = unit_;
    const size_t next = decode_pdu_flows(p_, len_, offset_, now_ms_, v5_opts_, &v5_header_, out,
                                         &future, &inverted);
    ++unit_;
    if (next == 0) {  // not a valid PDU: cannot happen for an admitted datagram
      unit_ = m_.v5_pdus;
      return 0;
    }
    offset_ = next;
    chunk->v5 = &v5_header_;
    chunk->future_records = future;
    chunk->inverted_records = inverted;
    return v5_header_.count;
  }
  while (unit_ < m_.nsets) {
    const SetRef& set = m_.sets[unit_];
    chunk->unit = unit_;
    chunk->template_id = set.plan->template_id;
    const size_t n = decode_records(*set.plan, p_ + set.offset, set.length, &offset_, m_.time, out,
                                    max, &chunk->status);
    if (chunk->status != SetStatus::kMore) {
      ++unit_;
      offset_ = 0;
    }
    if (n > 0) return n;
  }
  return 0;
}

}  // namespace ringflow
