// DatagramMeta: what the ordered stage (src/decode/sessions.h, on the reactor
// thread) learnt about one datagram and hands to the worker that decodes its
// records: the format, the stream, the times its records are relative to,
// the compiled plan of each data set and the sampling rates that applied
// when it arrived.
//
// There is one DatagramMeta per receive buffer (and per held-data slot),
// indexed by buffer id: it travels with the buffer's ownership. The reactor
// writes it before handing the buffer to a worker; the worker reads it until
// it returns the buffer; the reactor then releases the plans and the sampler
// set it pins. So a worker never sees a plan change or disappear under it,
// and no lock is taken (the hand-off queue orders the writes before the
// reads).
//
// Thread safety: see above; the owner of the buffer owns its meta.
#pragma once

#include <cstddef>
#include <cstdint>

#include "decode/decode_plan.h"
#include "decode/sampler_set.h"

namespace ringflow {

// One data set of the datagram, to be decoded with `plan`.
struct SetRef {
  const DecodePlan* plan = nullptr;  // pinned (refs) until the buffer returns
  uint16_t offset = 0;               // of the set body (after the 4-byte set header)
  uint16_t length = 0;               // of the set body
};

inline constexpr size_t kMaxDataSets = 24;

// DatagramMeta::flags
inline constexpr uint8_t kMetaLate = 1;      // held data set decoded after its template arrived
inline constexpr uint8_t kMetaTrailing = 2;  // v5 datagram accepted with trailing bytes

struct DatagramMeta {
  uint8_t format = 0;    // the format id (row of kWireFormats, src/decode/wire_formats.h)
  uint8_t nsets = 0;     // v9/IPFIX: sets[0..nsets)
  uint8_t v5_pdus = 0;   // v5: PDUs validated (1..44)
  uint8_t flags = 0;
  uint32_t domain = 0;   // v9 source_id / IPFIX observation domain
  TimeContext time;
  const SamplerSet* sampling = nullptr;  // pinned; nullptr = none announced
  SetRef sets[kMaxDataSets];
};

}  // namespace ringflow
