// SessionAdmission: the decode stage's ordered stage (src/decode/sessions.h)
// as the receive stage's Admission (src/receive/admission.h). One per
// reactor; the collector creates it with the reactor's Sessions and installs
// it before the reactor runs. It translates, nothing more: the receive stage
// does not know NetFlow, and the decode stage does not know DatagramRef.
//
// With a CaptureRing (metrics.capture_datagrams), every datagram the ordered
// stage is given, accepted or rejected, is first copied into it: here the
// reactor still owns the buffer (src/decode/capture_ring.h).
//
// Thread safety: the reactor's thread only (as Admission).
#pragma once

#include "decode/capture_ring.h"
#include "decode/sessions.h"
#include "decode/wire_formats.h"
#include "receive/admission.h"

namespace ringflow {

class SessionAdmission final : public Admission {
 public:
  explicit SessionAdmission(Sessions& s, CaptureRing* capture = nullptr)
      : s_(s), capture_(capture) {}

  Verdict admit(DatagramRef& d, int64_t now_ms) override {
    if (capture_) capture_->capture(d.data, d.len, d.exporter, d.exporter_port, d.socket, d.recv_ns);
    switch (s_.admit(d.data, d.len, d.exporter, d.buf_id, now_ms)) {
      case Admit::kHandOff:
        d.stream_key = route_key(d.data, d.len);  // the format's stream (wire_formats.h)
        return Verdict::kHandOff;
      case Admit::kConsumed: return Verdict::kConsumed;
      case Admit::kRejected: break;
    }
    return Verdict::kRejected;
  }
  void release(uint16_t buf_id) override { s_.release(buf_id); }
  size_t take_ready(DatagramRef* out, size_t max) override {
    ReadyDatagram r[64];
    size_t n = s_.take_ready(r, max < 64 ? max : 64);
    for (size_t i = 0; i < n; ++i) {
      out[i] = DatagramRef{};
      out[i].data = r[i].data;
      out[i].len = r[i].len;
      out[i].buf_id = r[i].buf;
      out[i].exporter = r[i].exporter;
      const DatagramMeta& m = s_.meta(r[i].buf);
      const WireFormat* f = format_by_id(m.format);
      out[i].stream_key = f ? route_key(*f, m.domain) : 0;
    }
    return n;
  }
  void tick(int64_t now_ms) override { s_.tick(now_ms); }
  uint32_t extra_buffers() const override { return s_.hold_slots(); }

 private:
  Sessions& s_;
  CaptureRing* capture_;  // null: metrics.capture_datagrams = 0
};

}  // namespace ringflow
