// RecordReader: the records of one admitted datagram, decoded into
// FlowRecords in chunks, as a worker consumes them. The datagram's
// DatagramMeta (written by the ordered stage, src/decode/sessions.h) says what
// to decode: v5's validated PDUs, or v9/IPFIX data sets with their compiled
// plans. A chunk never spans two PDUs or two sets, so every record of a chunk
// shares the chunk's version, template and set.
//
// Biflows (RFC 5103, src/decode/decode_plan.h): a set whose plan has a
// reverse plan is read twice, forward records first, then the reverse
// direction of the same records (RecordChunk::reverse). A direction with
// neither packets nor bytes (a biflow seen one way only; either way round:
// softflowd sends some with an empty forward direction) gives no record
// (empty_directions() counts them).
//
// Hot path: no allocation, no exception; reads only [p, p + len).
//
// Thread safety: one reader per thread; it only reads the datagram, the
// meta and the plans, which the reader's thread owns until it returns the
// buffer.
#pragma once

#include <cstddef>
#include <cstdint>

#include <ringflow/flow_record.h>

#include "decode/datagram_meta.h"
#include "decode/v5_decoder.h"

namespace ringflow {

struct RecordChunk {
  uint8_t version = 0;
  size_t unit = 0;                 // index of the v5 PDU / data set in the datagram
  uint16_t template_id = 0;        // v9/IPFIX; 0 for v5
  const v5::Header* v5 = nullptr;  // v5: the PDU's header
  uint16_t future_records = 0;     // v5: end beyond now + tolerance (counted, kept)
  uint16_t inverted_records = 0;   // v5: start after end (counted, kept)
  uint16_t unknown_time_records = 0;  // v5: a time before 1993 (kFlowTimeUnknown, kept)
  SetStatus status = SetStatus::kDone;  // v9/IPFIX: how the set ended (kVarOverflow: rest dropped)
  bool biflow = false;             // IPFIX: forward records of a biflow template
  bool reverse = false;            // IPFIX: the reverse direction of biflow records
  bool unknown_counters = false;   // the template has counter elements not decoded
};

class RecordReader {
 public:
  // REQUIRES: m describes [p, p + len) (the ordered stage admitted it).
  RecordReader(const DatagramMeta& m, const uint8_t* p, size_t len, int64_t now_ms,
               const DecodeOptions& v5_opts)
      : m_(m), p_(p), len_(len), now_ms_(now_ms), v5_opts_(v5_opts) {}

  // Decodes up to max (>= 30) records into out; 0 when the datagram is
  // exhausted. *chunk describes them.
  size_t next(FlowRecord* out, size_t max, RecordChunk* chunk);

  // Biflow directions left out so far (no packets, no bytes).
  size_t empty_directions() const { return empty_directions_; }

 private:
  const DatagramMeta& m_;
  const uint8_t* p_;
  size_t len_;
  int64_t now_ms_;
  const DecodeOptions& v5_opts_;
  size_t unit_ = 0;    // v5 PDU index / v9-IPFIX set index
  size_t offset_ = 0;  // v5: byte offset of the next PDU; sets: offset within the set body
  bool reverse_ = false;  // reading the current set's reverse direction
  size_t empty_directions_ = 0;
  v5::Header v5_header_;
};

}  // namespace ringflow
