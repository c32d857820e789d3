#include "forward/forwarder.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "common/clock.h"
#include "common/cpu_list.h"
#include "common/log.h"
#include "decode/wire_formats.h"
#include "forward/encapsulation.h"
#include "forward/rendezvous.h"
#include "forward/transparent.h"

namespace ringflow {
namespace {

constexpr int64_t kHealthEveryMs = 100;
constexpr int64_t kProbeWaitMs = 100;

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

// The longest datagram a UDP_SEGMENT run to this connected socket may carry
// (path MTU less the IP and UDP headers), or 0 when the kernel has no UDP GSO
// or the MTU is not known.
uint32_t gso_limit(int fd, int family) {
  int seg = 0;
  socklen_t len = sizeof seg;
  if (getsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, &len) != 0) return 0;
  int mtu = 0;
  len = sizeof mtu;
  const bool v6 = family == AF_INET6;
  if (getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &len) != 0)
    return 0;
  const int room = mtu - (v6 ? 40 : 20) - 8;
  return room > 0 ? static_cast<uint32_t>(room) : 0;
}

int64_t mono_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

std::unique_ptr<Forwarder> Forwarder::create(const ForwardConfig& cfg, uint32_t reactors,
                                             uint32_t buffer_size, std::string* error) {
  std::unique_ptr<Forwarder> f(new Forwarder(cfg));
  f->balance_ = cfg.mode == "balance";
  f->encap_ = cfg.encapsulation == "ringflow";
  f->transparent_ = cfg.encapsulation == "transparent";
  if (f->transparent_ && !transparent::has_cap_net_raw()) {
    *error = "forward " + cfg.name + ": forward.encapsulation = \"transparent\" needs "
             "CAP_NET_RAW (a raw socket sends with the exporter's source address), and this "
             "process does not have it (capget: not in the effective set); run ringflow as root "
             "or grant it (systemd: AmbientCapabilities=CAP_NET_RAW), or use encapsulation = "
             "\"ringflow\" (a ringflow target unwraps it) or \"none\"";
    return nullptr;
  }
  // [] (the default) = every format the registry knows.
  f->formats_mask_ = cfg.versions.empty() ? ~0u : enabled_formats_mask(cfg.versions);
  const uint32_t slot =
      buffer_size + static_cast<uint32_t>(std::max(encap::kHeaderSize, transparent::kHeaderSize));
  for (size_t i = 0; i < cfg.targets.size(); ++i) {
    auto t = std::make_unique<Target>();
    t->endpoint = cfg.targets[i];
    t->label = t->endpoint.str();
    // The seed depends on the target's address only: the same targets in
    // another order (or another node's config) hash the same.
    t->seed = hrw_mix(hash_addr(t->endpoint.addr) ^ (uint64_t{t->endpoint.port} << 1 | 1));
    if (f->transparent_) {
      std::string why;
      t->fd = UniqueFd(transparent::open_socket(t->endpoint, &why));
      if (t->fd.get() < 0) {
        *error = "forward " + cfg.name + ": encapsulation \"transparent\" to " + t->label +
                 " needs " + why;
        return nullptr;
      }
    }
    sockaddr_storage sa;
    const unsigned salen = t->endpoint.to_sockaddr(&sa);
    if (!f->transparent_) t->fd = UniqueFd(socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!f->transparent_ &&
        (t->fd.get() < 0 || connect(t->fd.get(), reinterpret_cast<sockaddr*>(&sa), salen) != 0)) {
      *error = "forward " + cfg.name + ": cannot open a UDP socket to " + t->label + ": " +
               std::strerror(errno);
      return nullptr;
    }
    if (!f->transparent_) t->gso_max = gso_limit(t->fd.get(), sa.ss_family);
    int sndbuf = 4 << 20;
    setsockopt(t->fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    for (uint32_t r = 0; r < reactors; ++r)
      t->rings.push_back(std::make_unique<ForwardRing>(cfg.queue, slot));
    f->seeds_.push_back(t->seed);
    f->targets_.push_back(std::move(t));
  }
  for (uint32_t r = 0; r < reactors; ++r) {
    auto pr = std::make_unique<PerReactor>();
    pr->scratch.resize(slot);
    f->reactors_.push_back(std::move(pr));
  }
  return f;
}

Forwarder::~Forwarder() { stop(); }

uint64_t Forwarder::selected() const {
  uint64_t n = 0;
  for (const auto& r : reactors_) n += r->selected.load();
  return n;
}

uint64_t Forwarder::stream_hash(const uint8_t* p, size_t len, const IpAddr& exporter) {
  // The exporter address and the format's stream (v5 engine, v9 source id,
  // IPFIX observation domain, sFlow agent): the registry's route_key.
  return hrw_mix(hash_addr(exporter) ^ (uint64_t{route_key(p, len)} << 1));
}

size_t Forwarder::pick(uint64_t stream) const {
  return hrw_pick(stream, seeds_.data(), seeds_.size(),
                  [this](size_t i) { return targets_[i]->up.load(std::memory_order_relaxed); });
}

bool Forwarder::selected_by(const uint8_t* p, size_t len, const IpAddr& exporter) const {
  if (!cfg_.exporters.empty()) {
    bool in = false;
    for (const Cidr& c : cfg_.exporters) in = in || c.contains(exporter);
    if (!in) return false;
  }
  const WireFormat* f = find_wire_format(p, len);
  if (f == nullptr) return false;
  return (formats_mask_ >> (f - kWireFormats)) & 1u;
}

void Forwarder::push(Target& t, uint32_t r, const uint8_t* p, size_t len, const IpAddr& exporter,
                     uint16_t port, uint8_t flags) {
  uint8_t head[std::max(encap::kHeaderSize, transparent::kHeaderSize)];
  size_t hlen = 0;
  ForwardRing& ring = *t.rings[r];
  if (encap_) {
    encap::write_header(head, exporter, port, flags);
    hlen = encap::kHeaderSize;
  } else if (transparent_) {
    if (!transparent::write_header(head, exporter, port, t.endpoint, len)) {
      ring.not_ipv4.add();
      return;
    }
    hlen = transparent::kHeaderSize;
  }
  if (!ring.push(head, hlen, p, len)) ring.queue_full.add();
}

void Forwarder::offer(uint32_t r, const uint8_t* p, size_t len, const IpAddr& exporter,
                      uint16_t port) {
  if (!selected_by(p, len, exporter)) return;
  PerReactor& pr = *reactors_[r];
  pr.selected.add();
  const size_t n = targets_.size();
  if (!balance_) {
    for (auto& t : targets_) {
      if (!t->up.load(std::memory_order_relaxed)) {
        t->rings[r]->target_down.add();
        continue;
      }
      push(*t, r, p, len, exporter, port, 0);
    }
    return;
  }
  const uint64_t stream = stream_hash(p, len, exporter);
  const size_t first = hrw_pick(stream, seeds_.data(), n);
  size_t owner = first;
  if (!targets_[first]->up.load(std::memory_order_relaxed)) {
    owner = pick(stream);
    if (owner == n) {  // every target down
      targets_[first]->rings[r]->target_down.add();
      return;
    }
    targets_[owner]->rings[r]->moved.add();
  }
  push(*targets_[owner], r, p, len, exporter, port, 0);
  // Templates to all: the others get the template, options-template and
  // options-data sets (template_copy.h), when the datagram has any.
  if (n < 2) return;
  const WireFormat* f = find_wire_format(p, len);
  const size_t room = pr.scratch.size() - (encap_ ? encap::kHeaderSize : 0);
  const size_t c = f ? pr.copier.copy(p, len, f->decoder, exporter, pr.scratch.data(), room) : 0;
  if (c == 0) return;
  for (size_t i = 0; i < n; ++i) {
    if (i == owner || !targets_[i]->up.load(std::memory_order_relaxed)) continue;
    targets_[i]->rings[r]->copies.add();
    push(*targets_[i], r, pr.scratch.data(), c, exporter, port, encap::kFlagTemplatesOnly);
  }
}

size_t Forwarder::drain(Target& t) {
  const uint8_t* data[kBatch];
  uint32_t len[kBatch];
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  uint32_t count[kBatch];  // datagrams in message i
  union Ctl {
    cmsghdr align;
    char buf[CMSG_SPACE(sizeof(uint16_t))];
  } ctl[kBatch];
  size_t total = 0;
  for (auto& ring : t.rings) {
    for (;;) {
      const size_t n = ring->peek(data, len, kBatch);
      if (n == 0) break;
      if (!t.up.load(std::memory_order_relaxed)) {
        t.down_drops.add(n);
        ring->pop(n);
        total += n;
        continue;
      }
      // Messages: a run of equal lengths (the last may be shorter) as one
      // UDP_SEGMENT message when GSO is on, else one datagram each.
      size_t m = 0;
      for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        if (len[i] <= t.gso_max) {
          size_t bytes = len[i];
          while (j < n && j - i < kGsoSegments && len[j] <= len[i] && bytes + len[j] <= kGsoBytes) {
            bytes += len[j];
            if (len[j++] < len[i]) break;  // a shorter one ends the run
          }
        }
        for (size_t k = i; k < j; ++k) {
          iov[k].iov_base = const_cast<uint8_t*>(data[k]);
          iov[k].iov_len = len[k];
        }
        std::memset(&msgs[m], 0, sizeof msgs[m]);
        msgs[m].msg_hdr.msg_iov = &iov[i];
        msgs[m].msg_hdr.msg_iovlen = j - i;
        if (j - i > 1) {
          msgs[m].msg_hdr.msg_control = ctl[m].buf;
          msgs[m].msg_hdr.msg_controllen = sizeof ctl[m].buf;
          cmsghdr* c = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
          c->cmsg_level = SOL_UDP;
          c->cmsg_type = UDP_SEGMENT;
          c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
          const uint16_t seg = static_cast<uint16_t>(len[i]);
          std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
        }
        count[m++] = static_cast<uint32_t>(j - i);
        i = j;
      }
      const int k = sendmmsg(t.fd.get(), msgs, static_cast<unsigned>(m), 0);
      if (k > 0) {
        size_t d = 0;
        for (int i = 0; i < k; ++i) {
          d += count[i];
          if (count[i] > 1) t.gso_messages.add();
        }
        t.sent.add(d);
        ring->pop(d);
        total += d;
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && count[0] > 1 && (errno == EINVAL || errno == EIO || errno == EMSGSIZE)) {
        // This kernel or route refuses UDP GSO: one datagram per message from
        // now on (the run is still queued and goes again).
        RF_LOG_WARN("forward %s: UDP GSO to %s refused (%s); sending one datagram per message",
                    cfg_.name.c_str(), t.label.c_str(), std::strerror(errno));
        t.gso_max = 0;
        continue;
      }
      // The first message was refused: its datagrams are counted and
      // dropped; ECONNREFUSED (the target's port is closed) also marks the
      // target down.
      const int err = k < 0 ? errno : 0;
      t.send_error.add(count[0]);
      ring->pop(count[0]);
      total += count[0];
      if (err == ECONNREFUSED) mark_down(t, mono_ms());
    }
  }
  return total;
}

void Forwarder::mark_down(Target& t, int64_t now_ms) {
  if (!t.up.load(std::memory_order_relaxed)) return;
  t.up.store(false, std::memory_order_relaxed);
  t.went_down.add();
  t.retry_at_ms = now_ms + cfg_.retry_ms;
  t.probe_at_ms = 0;
  RF_LOG_WARN(
      "forward %s: target %s is down (ECONNREFUSED); its streams go to the others, "
      "probed again in %u ms",
      cfg_.name.c_str(), t.label.c_str(), cfg_.retry_ms);
}

void Forwarder::check_health(Target& t, int64_t now_ms) {
  int err = 0;
  socklen_t elen = sizeof err;
  const bool up = t.up.load(std::memory_order_relaxed);
  if (up || t.probe_at_ms != 0) {
    // Reading SO_ERROR takes (clears) a pending ICMP error.
    if (getsockopt(t.fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen) != 0) err = 0;
  }
  if (up) {
    if (err == ECONNREFUSED) mark_down(t, now_ms);
    return;
  }
  if (t.probe_at_ms != 0) {
    if (err == ECONNREFUSED) {
      t.probe_at_ms = 0;
      t.retry_at_ms = now_ms + cfg_.retry_ms;
    } else if (now_ms - t.probe_at_ms >= kProbeWaitMs) {
      t.probe_at_ms = 0;
      t.up.store(true, std::memory_order_relaxed);
      RF_LOG_INFO("forward %s: target %s is up again", cfg_.name.c_str(), t.label.c_str());
    }
    return;
  }
  if (now_ms >= t.retry_at_ms) {
    uint8_t probe[encap::kHeaderSize];
    size_t plen = 0;
    if (encap_) {
      encap::write_header(probe, IpAddr{}, 0, encap::kFlagProbe);
      plen = sizeof probe;
    }
    if (send(t.fd.get(), probe, plen, MSG_DONTWAIT) >= 0 || errno != ECONNREFUSED) {
      t.probes.add();
      t.probe_at_ms = now_ms;
    } else {
      t.retry_at_ms = now_ms + cfg_.retry_ms;
    }
  }
}

void Forwarder::run() {
  int64_t next_health = 0;
  for (;;) {
    const bool stopping = stop_.load(std::memory_order_acquire);
    size_t moved = 0;
    for (auto& t : targets_) moved += drain(*t);
    const int64_t now = mono_ms();
    if (now >= next_health) {
      for (auto& t : targets_) check_health(*t, now);
      next_health = now + kHealthEveryMs;
    }
    if (stopping && moved == 0) return;  // the reactors stopped before: nothing more comes
    if (moved == 0) {
      timespec ts{0, 500 * 1000};  // idle: 0.5 ms
      nanosleep(&ts, nullptr);
    }
  }
}

void Forwarder::start(const std::vector<uint32_t>& cpus) {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "rf-fwd");
  if (cpus.empty()) return;
  std::string error;
  if (pin_thread(thread_.native_handle(), cpus, &error))
    RF_LOG_INFO("forward %s: its thread is pinned to CPU %s", cfg_.name.c_str(),
                format_cpu_list(cpus).c_str());
  else
    RF_LOG_WARN("forward %s: %s (runs unpinned)", cfg_.name.c_str(), error.c_str());
}

void Forwarder::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

}  // namespace ringflow
