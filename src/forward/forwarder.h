// Forwarder: one [[forward]] entry (docs/cluster.md). Reactors offer every
// datagram they receive, before the ordered stage decodes it; the forwarder
// selects it (exporter prefixes, format), picks its targets (replicate: all;
// balance: the stream's rendezvous target, src/forward/rendezvous.h, plus a
// templates-only copy for every other live target, src/forward/template_copy.h)
// and copies it into that target's ring for this reactor (forward_ring.h).
// Collection never waits: a full ring drops and counts.
//
// Thread contract:
//   - offer(r, ...) runs on reactor r's thread only (its rings and copier);
//     no allocation, lock, system call or exception.
//   - one forwarder thread per entry ("rf-fwd"), started by start() (pinned
//     to the CPUs it is given: forward.cpus, or the CPUs no reactor is pinned
//     to, src/pipeline/forward_stage.cc), drains every ring of every target
//     with sendmmsg (batches of up to kBatch datagrams, a ring drained until
//     empty) on one connected UDP socket per target, and keeps the targets'
//     health. UDP GSO: a run of datagrams of one length to one target (the
//     last of the run may be shorter) goes as one message with UDP_SEGMENT
//     (at most kGsoSegments datagrams, kGsoBytes bytes), which the kernel (or
//     the NIC) cuts into the same datagrams: one pass through the IP stack
//     for the run instead of one per datagram. Used when the target's path
//     MTU holds a whole datagram (IP_MTU / IPV6_MTU of the connected socket);
//     a kernel that refuses it (EINVAL, EIO) turns it off for that target
//     (logged) and the run is sent again one datagram per message.
//   - the datagrams are copies: a reactor copies each one into a ring slot
//     (receive buffers go back to io_uring as soon as the ordered stage has
//     them); the forwarder owns a slot from peek() until pop() after the
//     send returned.
//   - health:
//     an ECONNREFUSED from a send or from SO_ERROR (checked every 100 ms:
//     the ICMP port unreachable of a target that is gone) marks the target
//     down; after retry_ms it sends one probe (encapsulation ringflow: a
//     header with kFlagProbe, which a ringflow target counts and drops;
//     none: an empty datagram) and, when no ECONNREFUSED came back 100 ms
//     later, marks it up again. Reactors read the up flags (relaxed atomics):
//     a balance stream whose target is down goes to its next rendezvous
//     choice (counted as moved there) and comes back when it is up.
//   - encapsulation "transparent" (src/forward/transparent.h): the target's
//     socket is a raw IPv4 one and each queued datagram carries its IPv4 +
//     UDP header with the exporter's source address; create() refuses
//     without CAP_NET_RAW. Raw sockets get no ICMP error: never marked down.
//   - stop() (after the reactors have stopped offering) lets the thread send
//     what is queued, then joins it.
//   - counters: single writer each (the rings' by their reactor, the
//     targets' by the forwarder thread); metrics read them from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/ip.h>
#include <ringflow/stats.h>

#include "common/unique_fd.h"
#include "forward/forward_ring.h"
#include "forward/template_copy.h"

namespace ringflow {

class Forwarder {
 public:
  static constexpr size_t kBatch = 256;       // datagrams per drain step
  static constexpr size_t kGsoSegments = 64;  // the kernel's UDP_MAX_SEGMENTS (older kernels)
  static constexpr size_t kGsoBytes = 65000;  // a run's payload, under IP's 64 KiB

  struct Target {
    Endpoint endpoint;
    std::string label;  // "host:port"
    uint64_t seed = 0;  // rendezvous seed
    UniqueFd fd;
    std::atomic<bool> up{true};
    std::vector<std::unique_ptr<ForwardRing>> rings;  // one per reactor
    // The forwarder thread's.
    Counter sent;        // datagrams the kernel accepted for it
    Counter send_error;  // datagrams a send refused (ECONNREFUSED, ...)
    Counter down_drops;  // queued, then dropped: the target went down
    Counter went_down;   // times declared down
    Counter probes;      // probes sent while down
    uint32_t gso_max = 0;  // longest datagram sent in a UDP_SEGMENT run; 0 = no GSO
    Counter gso_messages;  // messages that carried a run of more than one datagram
    int64_t retry_at_ms = 0;
    int64_t probe_at_ms = 0;  // 0 = no probe pending
  };

  // Opens one connected UDP socket per target; nullptr and *error when one
  // cannot be opened. buffer_size: the largest datagram a reactor receives.
  static std::unique_ptr<Forwarder> create(const ForwardConfig& cfg, uint32_t reactors,
                                           uint32_t buffer_size, std::string* error);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Reactor r's thread: the datagram [p, p + len) from exporter:port.
  void offer(uint32_t r, const uint8_t* p, size_t len, const IpAddr& exporter, uint16_t port);

  // cpus: the thread's CPU set (empty = not pinned).
  void start(const std::vector<uint32_t>& cpus = {});
  void stop();

  const ForwardConfig& config() const { return cfg_; }
  const std::vector<std::unique_ptr<Target>>& targets() const { return targets_; }
  // Datagrams offered / selected, summed over reactors (relaxed).
  uint64_t selected() const;

  // Testing: the rendezvous target of a stream hash among the up targets,
  // and the stream hash offer() computes for a datagram.
  size_t pick(uint64_t stream) const;
  static uint64_t stream_hash(const uint8_t* p, size_t len, const IpAddr& exporter);

 private:
  explicit Forwarder(const ForwardConfig& cfg) : cfg_(cfg) {}
  void run();
  bool selected_by(const uint8_t* p, size_t len, const IpAddr& exporter) const;
  void push(Target& t, uint32_t r, const uint8_t* p, size_t len, const IpAddr& exporter,
            uint16_t port, uint8_t flags);
  size_t drain(Target& t);
  void check_health(Target& t, int64_t now_ms);
  void mark_down(Target& t, int64_t now_ms);

  ForwardConfig cfg_;
  bool balance_ = false;
  bool encap_ = false;
  bool transparent_ = false;  // encapsulation "transparent": raw IPv4 sockets (transparent.h)
  uint32_t formats_mask_ = 0;
  std::vector<std::unique_ptr<Target>> targets_;
  std::vector<uint64_t> seeds_;
  struct PerReactor {
    TemplateCopier copier;
    std::vector<uint8_t> scratch;
    Counter selected;
  };
  std::vector<std::unique_ptr<PerReactor>> reactors_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ringflow
