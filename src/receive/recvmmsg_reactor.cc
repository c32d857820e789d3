#include "receive/recvmmsg_reactor.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/log.h"

namespace ringflow {
namespace {

constexpr int kDryWaitMs = 1;     // free list empty: come back soon for returns
constexpr int kIdleWaitMs = 100;  // housekeeping tick when idle
constexpr int kDrainWaitMs = 10;  // draining: how often quiet() is brought up to date
constexpr int64_t kProcRefreshNs = 1000000000;


}  // namespace

RecvmmsgReactor::RecvmmsgReactor(const ReceiveConfig& cfg, uint32_t index,
                                 std::vector<UdpSocket> sockets, Handoff& handoff,
                                 ReactorCounters& counters)
    : Reactor(cfg, index, sockets.size(), handoff, counters) {
  sockets_ = std::move(sockets);
}

std::unique_ptr<RecvmmsgReactor> RecvmmsgReactor::create(const ReceiveConfig& cfg,
                                                         uint32_t index,
                                                         std::vector<UdpSocket> sockets,
                                                         Handoff& handoff,
                                                         ReactorCounters& counters,
                                                         std::string* error) {
  std::unique_ptr<RecvmmsgReactor> r(
      new RecvmmsgReactor(cfg, index, std::move(sockets), handoff, counters));
  const uint32_t entries = cfg.ring_entries;
  r->stride_ = (cfg.buffer_size + 63) / 64 * 64;  // each buffer on its own cache lines
  if (!r->slab_.map(size_t{entries} * r->stride_, /*populate=*/true)) {
    *error = std::string("mmap of the receive buffers: ") + std::strerror(errno);
    return nullptr;
  }
  r->free_.resize(entries);
  // Lowest ids on top of the stack.
  for (uint32_t i = 0; i < entries; ++i) r->free_[i] = static_cast<uint16_t>(entries - 1 - i);
  r->nfree_ = entries;
  r->home_.store(entries, std::memory_order_relaxed);
  r->wake_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!r->wake_.valid()) {
    *error = std::string("eventfd: ") + std::strerror(errno);
    return nullptr;
  }
  r->msgs_.resize(cfg.batch);
  r->iov_.resize(cfg.batch);
  r->names_.resize(cfg.batch);
  r->control_.resize(cfg.batch);
  r->slot_buf_.resize(cfg.batch);
  r->pfds_.push_back({r->wake_.get(), POLLIN, 0});
  for (const auto& s : r->sockets_) r->pfds_.push_back({s.fd(), POLLIN, 0});
  return r;
}

void RecvmmsgReactor::stop() {
  stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void RecvmmsgReactor::begin_drain() {
  drain_.request();
  // Wake an idle poll so that the shorter drain tick starts now.
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void RecvmmsgReactor::take_returns() {
  // The free list has room for every buffer, so this never overflows.
  const size_t room = free_.size() - nfree_;
  if (room == 0) return;
  nfree_ += static_cast<uint32_t>(dispatch_.take_returns(free_.data() + nfree_, room));
}

bool RecvmmsgReactor::receive(uint32_t s) {
  const uint32_t n = std::min(cfg_.batch, nfree_);
  for (uint32_t i = 0; i < n; ++i) {
    const uint16_t bid = free_[--nfree_];
    slot_buf_[i] = bid;
    iov_[i] = {buffer(bid), cfg_.buffer_size};
    msghdr& h = msgs_[i].msg_hdr;
    h.msg_name = &names_[i];
    h.msg_namelen = sizeof names_[i];
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    h.msg_control = control_[i].bytes;
    h.msg_controllen = sizeof control_[i].bytes;
    h.msg_flags = 0;
    msgs_[i].msg_len = 0;
  }
  counters_.syscalls.add();
  int got = ::recvmmsg(sockets_[s].fd(), msgs_.data(), n, MSG_DONTWAIT | MSG_TRUNC, nullptr);
  if (got < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errors_logged_ < 10) {
      ++errors_logged_;
      RF_LOG_WARN("reactor %u: recvmmsg on %s: %s", index_, sockets_[s].endpoint().str().c_str(),
                  std::strerror(errno));
    }
    got = 0;
  }
  // Give back the buffers of unused slots, last lent first so the stack
  // order is unchanged.
  for (uint32_t i = n; i-- > static_cast<uint32_t>(got);) free_[nfree_++] = slot_buf_[i];
  if (got == 0) return false;

  dispatch_.begin_batch();
  for (int i = 0; i < got; ++i) {
    const msghdr& h = msgs_[i].msg_hdr;
    const uint16_t bid = slot_buf_[i];
    // With MSG_TRUNC, msg_len is the datagram's full length.
    const uint32_t len = msgs_[i].msg_len;
    counters_.datagrams.add();
    counters_.bytes.add(len);
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
          c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
        uint32_t d;
        std::memcpy(&d, CMSG_DATA(c), sizeof d);
        drops_.from_cmsg(s, d);
      }
    }
    if ((h.msg_flags & MSG_TRUNC) || len > cfg_.buffer_size) {
      counters_.oversize.add();
      free_[nfree_++] = bid;
      continue;
    }
    DatagramRef d;
    d.data = buffer(bid);
    d.len = len;
    d.buf_id = bid;
    d.socket = static_cast<uint8_t>(s);
    d.exporter = IpAddr::from_sockaddr(static_cast<const sockaddr*>(h.msg_name), &d.exporter_port);
    dispatch_.offer(d);
  }
  dispatch_.flush();
  for (size_t i = 0; i < dispatch_.dropped_count(); ++i) free_[nfree_++] = dispatch_.dropped()[i];
  return true;
}

void RecvmmsgReactor::sleep(int timeout_ms, bool watch_sockets) {
  const nfds_t n = watch_sockets ? pfds_.size() : 1;
  int r = ::poll(pfds_.data(), n, timeout_ms);
  if (r > 0 && (pfds_[0].revents & POLLIN)) {
    // Consume the wake-up, or every later poll would return at once.
    uint64_t v;
    [[maybe_unused]] ssize_t got = ::read(wake_.get(), &v, sizeof v);
  }
  if (r == 0 && monotonic_ns() - last_proc_ns_ >= kProcRefreshNs) {
    // Idle: SO_RXQ_OVFL only moves with traffic; read the socket table.
    drops_.refresh_from_proc(sockets_);
    last_proc_ns_ = monotonic_ns();
  }
}

void RecvmmsgReactor::run() {
  dispatch_.attach();
  drops_.set_bases(sockets_);
  last_proc_ns_ = monotonic_ns();
  while (!stop_.load(std::memory_order_acquire)) {
    take_returns();
    dispatch_.tick(wall_ms_coarse());
    const bool draining = drain_.requested();
    if (nfree_ == 0) {
      home_.store(0, std::memory_order_relaxed);
      if (draining) drain_.observe(true, monotonic_ns(), sockets_);
      sleep(kDryWaitMs, false);
      continue;
    }
    bool got = false;
    for (uint32_t s = 0; s < sockets_.size() && nfree_ > 0; ++s) got |= receive(s);
    drops_.publish(counters_.kernel_drops);
    home_.store(nfree_, std::memory_order_relaxed);
    if (draining) drain_.observe(got, monotonic_ns(), sockets_);
    if (!got) sleep(draining ? kDrainWaitMs : kIdleWaitMs, true);
  }
  empty_sockets();
  // Everything received was handed off (or counted) inside receive().
  take_returns();
  // Nothing more is taken: close the sockets now, reading their final drop
  // counts, so that no datagram is dropped after the count uncounted.
  close_sockets();
  home_.store(nfree_, std::memory_order_relaxed);
}

void RecvmmsgReactor::empty_sockets() {
  seal_sockets();
  // Sealed: the queues only shrink now. Read until one round with free
  // buffers finds every socket empty.
  const int64_t deadline = monotonic_ns() + empty_bound_ns();
  for (;;) {
    take_returns();
    dispatch_.tick(wall_ms_coarse());
    if (nfree_ > 0) {
      bool got = false;
      // An inherited socket keeps its queue for the next instance.
      for (uint32_t s = 0; s < sockets_.size() && nfree_ > 0; ++s)
        if (!sockets_[s].inherited()) got |= receive(s);
      home_.store(nfree_, std::memory_order_relaxed);
      if (!got) return;
    }
    if (monotonic_ns() >= deadline) break;
    if (nfree_ == 0) sleep(kDryWaitMs, false);
  }
  log_left_in_sockets();
}

}  // namespace ringflow
