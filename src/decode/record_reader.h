// RecordReader: the records of one admitted datagram, decoded into
// FlowRecords in chunks, as a worker consumes them. The datagram's
// DatagramMeta (written by the ordered stage, src/decode/sessions.h) says what
// to decode: v5's validated PDUs, v9/IPFIX data sets with their compiled
// plans, or an sFlow datagram's flow samples. A chunk never spans two PDUs or
// two sets, so every record of a chunk shares the chunk's format, template
// and set; an sFlow chunk is up to `max` flow samples of one datagram.
//
// sFlow (src/decode/sflow_decoder.h): one FlowRecord per flow sample, its
// `sampling` the sample's rate (kFlowHasRate, so RecordSampling's rule 2
// takes it; a decode.sampling_override for the agent address, else for the
// datagram's source address, comes first), bytes as SflowOptions::bytes
// (decode.sflow_bytes) says, times = now (an sFlow sample carries no time:
// counted in unknown_time_records, as the decoder sets kFlowTimeUnknown).
// Raw headers cut before the fields they should carry are counted per chunk
// (cut_headers).
//
// Biflows (RFC 5103, src/decode/decode_plan.h): a set whose plan has a
// reverse plan is read twice, forward records first, then the reverse
// direction of the same records (RecordChunk::reverse). A direction with
// neither packets nor bytes (a biflow seen one way only; either way round:
// softflowd sends some with an empty forward direction) gives no record
// (empty_directions() counts them).
//
// Finished records: given a RecordSampling (the worker's), each chunk's
// records leave the reader finished, as decode's rules say: their times
// checked (end beyond now + decode.future_tolerance, start after end, no
// usable time: counted in the chunk, records kept; v5's decoder makes these
// checks per PDU, the reader the same ones for v9/IPFIX sets) and their
// `sampling` set to the multiplier aggregation applies
// (src/decode/sampling.h: RecordSampling, with its precedence). Without one
// (tests and benchmarks of the decoder alone) `sampling` keeps what the
// decoder left; the time counts are made either way.
//
// Packet sections (src/decode/decode_plan.h): a chunk of a template with a
// packet section counts its records whose section did not parse to its end,
// by reason (RecordChunk::section_records); other chunks cost one flag test.
//
// Hot path: no allocation, no exception; reads only [p, p + len).
//
// Thread safety: one reader per thread; it only reads the datagram, the
// meta and the plans, which the reader's thread owns until it returns the
// buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <ringflow/flow_record.h>

#include <ringflow/ip.h>

#include "decode/datagram_meta.h"
#include "decode/decode_plan.h"
#include "decode/sampling.h"
#include "decode/sflow_decoder.h"
#include "decode/v5_decoder.h"

namespace ringflow {

struct RecordChunk {
  uint8_t format = 0;              // format id (src/decode/wire_formats.h)
  uint8_t version = 0;             // the format's version number as sent (5, 9, 10; sFlow 5)
  uint32_t domain = 0;             // the stream's domain (v5: engine type << 8 | id of the PDU)
  size_t unit = 0;                 // index of the v5 PDU / data set in the datagram
  uint16_t template_id = 0;        // v9/IPFIX; 0 for v5
  const v5::Header* v5 = nullptr;  // v5: the PDU's header
  uint16_t future_records = 0;     // end beyond now + tolerance (counted, kept)
  uint16_t inverted_records = 0;   // start after end (counted, kept)
  uint16_t unknown_time_records = 0;  // kFlowTimeUnknown (v5: a time before 1993), kept
  uint16_t unknown_sampling_records = 0;  // finished: sampler unknown (RecordSampling)
  uint16_t sampling_too_high_records = 0; // finished: rate above decode.max_sampling_rate
  SetStatus status = SetStatus::kDone;  // v9/IPFIX: how the set ended (kVarOverflow: rest dropped)
  bool biflow = false;             // IPFIX: forward records of a biflow template
  bool reverse = false;            // IPFIX: the reverse direction of biflow records
  bool unknown_counters = false;   // the template has counter elements not decoded
  uint16_t cut_headers = 0;        // sFlow: raw headers cut inside the fields they carry
  bool sections = false;           // the template has a packet section (decode_plan.h)
  std::array<uint16_t, kSectionReasons> section_records{};  // sections not parsed to their end
};

class RecordReader {
 public:
  // REQUIRES: m describes [p, p + len) (the ordered stage admitted it).
  // sampling, exporter: finish the records (above); both or neither.
  // sflow: the sFlow decode options (nullptr: the defaults).
  RecordReader(const DatagramMeta& m, const uint8_t* p, size_t len, int64_t now_ms,
               const DecodeOptions& v5_opts, const RecordSampling* sampling = nullptr,
               const IpAddr* exporter = nullptr, const SflowOptions* sflow = nullptr)
      : m_(m),
        p_(p),
        len_(len),
        now_ms_(now_ms),
        v5_opts_(v5_opts),
        sampling_(sampling),
        exporter_(exporter),
        sflow_(sflow) {}

  // Decodes up to max (>= 30) records into out; 0 when the datagram is
  // exhausted. *chunk describes them.
  size_t next(FlowRecord* out, size_t max, RecordChunk* chunk);

  // Biflow directions left out so far (no packets, no bytes).
  size_t empty_directions() const { return empty_directions_; }

 private:
  // One decoder's chunk (next() picks by the registry, src/decode/wire_formats.h).
  size_t next_v5(FlowRecord* out, RecordChunk* chunk);
  size_t next_sets(FlowRecord* out, size_t max, RecordChunk* chunk);
  size_t next_sflow(FlowRecord* out, size_t max, RecordChunk* chunk, IpAddr* agent);
  // Counts the time checks of decoded set records into *chunk.
  void check_times(const FlowRecord* r, size_t n, RecordChunk* chunk) const;

  const DatagramMeta& m_;
  const uint8_t* p_;
  size_t len_;
  int64_t now_ms_;
  const DecodeOptions& v5_opts_;
  const RecordSampling* sampling_;
  const IpAddr* exporter_;
  const SflowOptions* sflow_;
  bool sflow_done_ = false;
  size_t unit_ = 0;    // v5 PDU index / v9-IPFIX set index
  size_t offset_ = 0;  // v5: byte offset of the next PDU; sets: offset within the set body
  bool reverse_ = false;  // reading the current set's reverse direction
  size_t empty_directions_ = 0;
  v5::Header v5_header_;
};

}  // namespace ringflow
