// Admission: the ordered step a reactor runs on every datagram before it
// hands the datagram to a worker. receive/ defines what it needs; the
// implementation is the decode stage's ordered stage (src/decode/sessions.h),
// wired in by the collector (src/pipeline/session_admission.h), so that the
// receive stage knows nothing of NetFlow.
//
// Why on the reactor: the ordered stage keeps every per-stream state (exporter
// sequence numbers, templates, options sampling, held data) and must see each
// stream's datagrams in arrival order. Done once, on the thread that already
// has them in that order, it leaves the datagrams free to go to any worker:
// one busy exporter is spread over every worker (docs/architecture.md).
//
// Buffer ids: a reactor's receive buffers are [0, ring_entries); an Admission
// may hand out further ids [ring_entries, ring_entries + extra_buffers()) for
// datagrams of its own (held data released by its template), which return
// through the same queue and must not be put back into the ring.
//
// Thread safety: every member on the reactor thread, the only caller.
#pragma once

#include <cstddef>
#include <cstdint>

#include "receive/handoff.h"

namespace ringflow {

class Admission {
 public:
  enum class Verdict : uint8_t {
    kHandOff,   // give the buffer to a worker
    kConsumed,  // valid, nothing for a worker (counted): recycle the buffer
    kRejected,  // counted by reason: recycle the buffer
  };

  virtual ~Admission() = default;

  // d: a datagram just received into buffer d.buf_id (< ring_entries), with
  // exporter and receive time filled in. On kHandOff the admission may set
  // d.stream_key (the stream within the exporter address, for routing).
  virtual Verdict admit(DatagramRef& d, int64_t now_ms) = 0;
  // The datagram in buffer `buf_id` (admitted with kHandOff, or from
  // take_ready) is done with: a worker returned it, or it could not be
  // enqueued. Called before the buffer is reused.
  virtual void release(uint16_t buf_id) = 0;
  // Datagrams of the admission's own to hand to workers (data, len, buf_id,
  // exporter and stream_key filled in); returns how many, at most max.
  virtual size_t take_ready(DatagramRef* out, size_t max) = 0;
  // Housekeeping (expiry, publishing statistics); at least every 100 ms.
  virtual void tick(int64_t now_ms) = 0;
  // Ids beyond the ring the admission may hand out (see above).
  virtual uint32_t extra_buffers() const = 0;
};

}  // namespace ringflow
