// Reference counts of the two shared objects of the ordered stage: a
// DecodePlan (one per installed template version, src/decode/decode_plan.h)
// and a SamplerSet (one per change of a stream's sampling rates,
// src/decode/sampler_set.h). Each is immutable once published; its owners
// are the table that installed it (TemplateStore, StreamOptions) and every
// DatagramMeta pointing at it (DatagramPins), each holding one reference.
// The last unpin() deletes it, so a redefined template's old plan lives
// until the last datagram decoded with it comes back.
//
// Thread safety: the counts are plain integers, changed only on the reactor
// thread that owns the Sessions (workers read plans and sets, never refs).
#pragma once

#include "decode/decode_plan.h"
#include "decode/sampler_set.h"

namespace ringflow {

inline void pin(const DecodePlan* p) { ++const_cast<DecodePlan*>(p)->refs; }
inline void pin(const SamplerSet* s) { ++const_cast<SamplerSet*>(s)->refs; }

inline void unpin(const DecodePlan* p) {
  auto* q = const_cast<DecodePlan*>(p);
  if (--q->refs == 0) delete q;
}
inline void unpin(const SamplerSet* s) {
  auto* q = const_cast<SamplerSet*>(s);
  if (--q->refs == 0) delete q;
}

}  // namespace ringflow
