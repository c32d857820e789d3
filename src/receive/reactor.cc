#include "receive/reactor.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/log.h"

#include "receive/recvmmsg_reactor.h"
#include "receive/uring_reactor.h"

namespace ringflow {

Reactor::Reactor(const ReceiveConfig& cfg, uint32_t index, size_t nsockets, Handoff& handoff,
                 ReactorCounters& counters)
    : cfg_(cfg),
      index_(index),
      counters_(counters),
      dispatch_(cfg, index, cfg.batch, handoff, counters),
      drops_(nsockets) {}

Reactor::~Reactor() = default;

void Reactor::seal_sockets() {
  for (UdpSocket& s : sockets_) {
    if (s.inherited()) continue;  // systemd keeps it for the next instance: no filter on it
    std::string error;
    if (!s.seal(&error)) RF_LOG_WARN("reactor %u: cannot seal the socket at stop: %s", index_, error.c_str());
  }
}

void Reactor::close_sockets() {
  bool disconnected = false;
  for (UdpSocket& s : sockets_) {
    if (!s.valid() || s.inherited()) continue;
    s.disconnect();
    disconnected = true;
  }
  // A datagram whose socket lookup the kernel did just before the
  // disconnect is still dropped by the seal's filter, microseconds later:
  // let it land in the counter before reading it.
  if (disconnected) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  for (size_t s = 0; s < sockets_.size(); ++s) {
    if (sockets_[s].valid()) drops_.set_final(s, sockets_[s].close_final());
  }
  drops_.publish(counters_.kernel_drops);
}

bool Reactor::all_inherited() const {
  return std::all_of(sockets_.begin(), sockets_.end(),
                     [](const UdpSocket& s) { return s.inherited(); });
}

int64_t Reactor::empty_bound_ns() const {
  return int64_t{std::max<uint32_t>(1, cfg_.drain_timeout_s)} * 1000000000;
}

void Reactor::log_left_in_sockets() const {
  RF_LOG_WARN("reactor %u: datagrams still queued in the sockets after %lld s of emptying at stop "
              "(workers not returning buffers); they are lost",
              index_, static_cast<long long>(empty_bound_ns() / 1000000000));
}

std::unique_ptr<Reactor> make_reactor(const ReceiveConfig& cfg, uint32_t index,
                                      std::vector<UdpSocket> sockets, Handoff& handoff,
                                      ReactorCounters& counters, std::string* why,
                                      std::string* error) {
  why->clear();
  if (index >= handoff.reactors() || sockets.empty() || sockets.size() > 255) {
    *error = "reactor " + std::to_string(index) + ": needs 1..255 sockets and an index below " +
             std::to_string(handoff.reactors());
    return nullptr;
  }
  // Buffer ids travel as uint16_t and the kernel caps a buffer ring at 32768.
  if (cfg.ring_entries < 1 || cfg.ring_entries > 32768 ||
      (cfg.ring_entries & (cfg.ring_entries - 1)) != 0 || cfg.batch < 1) {
    *error = "receive.ring_entries must be a power of two in 1..32768 and receive.batch >= 1";
    return nullptr;
  }
  if (cfg.backend == Backend::kRecvmmsg)
    return RecvmmsgReactor::create(cfg, index, std::move(sockets), handoff, counters, error);

  std::string reason;
  if (probe_io_uring(&reason)) {
    if (cfg.backend == Backend::kIoUring)
      return UringReactor::create(cfg, index, &sockets, handoff, counters, error);
    // auto: a setup failure after a good probe (e.g. out of memory) still
    // falls back; create() leaves the sockets to us when it fails.
    if (auto r = UringReactor::create(cfg, index, &sockets, handoff, counters, &reason)) return r;
  }
  if (cfg.backend == Backend::kIoUring) {
    *error = "receive.backend = \"io_uring\", but io_uring is unusable: " + reason;
    return nullptr;
  }
  *why = "io_uring unavailable: " + reason + "; using recvmmsg";
  return RecvmmsgReactor::create(cfg, index, std::move(sockets), handoff, counters, error);
}

}  // namespace ringflow
