// ForwardAdmission: the reactor's Admission when forwarding is configured
// ([[forward]] or receive.forwarded_from; docs/cluster.md). Around the
// ordered stage (SessionAdmission), on every datagram, before decode:
//   1. a ringflow-encapsulated datagram (src/forward/encapsulation.h) is
//      unwrapped when its sender is in receive.forwarded_from: from then on
//      it is the exporter's datagram, with the exporter's address and port;
//      a probe is counted and consumed; from another sender, or malformed,
//      it is rejected and counted (EncapCounters);
//   2. every forwarder is offered the datagram (Forwarder::offer: a copy
//      into a bounded ring, never a wait); a templates-only copy received
//      from a front node is not forwarded again;
//   3. the ordered stage admits it (a templates-only copy with its sequence
//      untracked: Sessions::set_sequence_untracked), unless the node only
//      forwards (no sink configured): then it is consumed here, undecoded.
//
// Thread safety: the reactor's thread only (as Admission); the counters are
// single-writer (this reactor), read by the metrics thread.
#pragma once

#include <vector>

#include <ringflow/ip.h>
#include <ringflow/stats.h>

#include "decode/sessions.h"
#include "forward/encapsulation.h"
#include "forward/forwarder.h"
#include "receive/admission.h"

namespace ringflow {

struct EncapCounters {
  Counter unwrapped;  // encapsulated datagrams taken as from the exporter inside
  Counter copies;     // of which templates-only copies (sequence untracked)
  Counter probes;     // liveness probes from a forwarder: consumed
  Counter refused;    // from a sender not in receive.forwarded_from: rejected
  Counter invalid;    // too short, unknown version or flags: rejected
};

class ForwardAdmission final : public Admission {
 public:
  // inner: the ordered stage, or null (forward only); sessions: the one inner
  // runs (for templates-only copies), or null.
  ForwardAdmission(uint32_t reactor, Admission* inner, Sessions* sessions,
                   std::vector<Forwarder*> forwarders, const std::vector<Cidr>& forwarded_from,
                   EncapCounters& counters)
      : reactor_(reactor),
        inner_(inner),
        sessions_(sessions),
        forwarders_(std::move(forwarders)),
        from_(forwarded_from),
        c_(counters) {}

  Verdict admit(DatagramRef& d, int64_t now_ms) override {
    bool copy = false;
    if (encap::is_encapsulated(d.data, d.len)) {
      if (!from_allowed(d.exporter)) {
        c_.refused.add();
        return Verdict::kRejected;
      }
      encap::Header h;
      if (encap::parse_header(d.data, d.len, &h) != encap::ParseResult::kOk) {
        c_.invalid.add();
        return Verdict::kRejected;
      }
      if (h.flags & encap::kFlagProbe) {
        c_.probes.add();
        return Verdict::kConsumed;
      }
      d.exporter = h.exporter;
      d.exporter_port = h.port;
      d.data += encap::kHeaderSize;
      d.len -= static_cast<uint32_t>(encap::kHeaderSize);
      c_.unwrapped.add();
      copy = (h.flags & encap::kFlagTemplatesOnly) != 0;
      if (copy) c_.copies.add();
    }
    if (!copy)
      for (Forwarder* f : forwarders_)
        f->offer(reactor_, d.data, d.len, d.exporter, d.exporter_port);
    if (inner_ == nullptr) return Verdict::kConsumed;
    if (copy && sessions_) sessions_->set_sequence_untracked(true);
    const Verdict v = inner_->admit(d, now_ms);
    if (copy && sessions_) sessions_->set_sequence_untracked(false);
    return v;
  }
  void release(uint16_t buf_id) override {
    if (inner_) inner_->release(buf_id);
  }
  size_t take_ready(DatagramRef* out, size_t max) override {
    return inner_ ? inner_->take_ready(out, max) : 0;
  }
  void tick(int64_t now_ms) override {
    if (inner_) inner_->tick(now_ms);
  }
  uint32_t extra_buffers() const override { return inner_ ? inner_->extra_buffers() : 0; }

 private:
  bool from_allowed(const IpAddr& a) const {
    for (const Cidr& c : from_)
      if (c.contains(a)) return true;
    return false;
  }

  const uint32_t reactor_;
  Admission* const inner_;
  Sessions* const sessions_;
  const std::vector<Forwarder*> forwarders_;
  const std::vector<Cidr> from_;
  EncapCounters& c_;
};

}  // namespace ringflow
