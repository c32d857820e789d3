#include "receive/uring_reactor.h"

#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/log.h"

namespace ringflow {
namespace {

constexpr int kBufferGroup = 0;
// user_data = kind << 32 | socket index.
constexpr uint64_t kRecv = 1, kWake = 2, kCancel = 3;
constexpr uint64_t tag(uint64_t kind, uint32_t socket) { return kind << 32 | socket; }

constexpr int64_t kMs = 1000000;
constexpr int64_t kDryWaitNs = 1 * kMs;      // ring dry: come back soon for returns
constexpr int64_t kIdleWaitNs = 100 * kMs;   // housekeeping tick when idle
constexpr int64_t kDrainWaitNs = 10 * kMs;   // draining: how often quiet() is brought up to date
constexpr int64_t kProcRefreshNs = 1000 * kMs;
constexpr int64_t kStopDeadlineNs = 1000 * kMs;


uint32_t pow2_at_least(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

std::string errstr(const char* what, int neg_errno) {
  return std::string(what) + ": " + std::strerror(-neg_errno);
}

std::string setup_error(int neg_errno) {
  std::string s = errstr("io_uring_setup", neg_errno);
  switch (-neg_errno) {
    case EPERM:
      return s + " (Docker's default seccomp profile, or sysctl kernel.io_uring_disabled)";
    case ENOSYS:
      return s + " (kernel without io_uring, or a seccomp filter)";
    case ENOMEM:
      return s + " (RLIMIT_MEMLOCK too low; kernels before 5.12 charge rings to it)";
    default:
      return s;
  }
}

// liburing 2.4's io_uring_setup_buf_ring(), by hand: page-aligned ring
// memory registered as buffer group `bgid`, tail initialised to 0.
int setup_buf_ring(io_uring* ring, Mapping* mem, uint32_t entries, int bgid,
                   io_uring_buf_ring** out) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t size = (entries * sizeof(io_uring_buf) + page - 1) / page * page;
  if (!mem->map(size)) return -errno;
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(mem->get());
  reg.ring_entries = entries;
  reg.bgid = static_cast<uint16_t>(bgid);
  int r = io_uring_register_buf_ring(ring, &reg, 0);
  if (r != 0) return r;
  *out = static_cast<io_uring_buf_ring*>(mem->get());
  io_uring_buf_ring_init(*out);
  return 0;
}

void prep_multishot(io_uring_sqe* sqe, int fd, msghdr* msg, uint64_t user_data) {
  // MSG_TRUNC: report the datagram's full length (and flag it) rather than
  // what fitted, so that an oversized datagram is never silently cut.
  io_uring_prep_recvmsg_multishot(sqe, fd, msg, MSG_TRUNC);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, user_data);
}

}  // namespace

bool probe_io_uring(std::string* why) {
  // Declared before the ring so they outlive it (destroyed in reverse).
  Mapping br_mem;
  alignas(16) uint8_t buf[2][256];
  UringRing owner;
  int r = owner.init(8, 16, false);
  if (r != 0) {
    *why = setup_error(r);
    return false;
  }
  io_uring* ring = owner.get();
  if (!(ring->features & IORING_FEAT_EXT_ARG)) {
    *why = "io_uring lacks IORING_FEAT_EXT_ARG (timed waits; needs Linux >= 5.11)";
    return false;
  }
  io_uring_buf_ring* br = nullptr;
  r = setup_buf_ring(ring, &br_mem, 2, kBufferGroup, &br);
  if (r != 0) {
    *why = errstr("io_uring_register_buf_ring", r) + " (provided-buffer rings need Linux >= 5.19)";
    return false;
  }
  for (uint16_t i = 0; i < 2; ++i) io_uring_buf_ring_add(br, buf[i], sizeof buf[i], i, 1, i);
  io_uring_buf_ring_advance(br, 2);

  // A real round trip on loopback: arm, send one datagram, expect a data
  // completion that keeps the request armed (IORING_CQE_F_MORE).
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in self{};
  self.sin_family = AF_INET;
  self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t self_len = sizeof self;
  if (!sock.valid() || ::bind(sock.get(), reinterpret_cast<sockaddr*>(&self), sizeof self) != 0 ||
      getsockname(sock.get(), reinterpret_cast<sockaddr*>(&self), &self_len) != 0) {
    *why = errstr("probe socket on 127.0.0.1", -errno);
    return false;
  }
  msghdr msg{};
  msg.msg_namelen = sizeof(sockaddr_in);
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  prep_multishot(sqe, sock.get(), &msg, 1);
  r = io_uring_submit(ring);
  if (r < 0) {
    *why = errstr("io_uring_submit", r);
    return false;
  }
  const char ping[] = "ringflow-probe";
  if (::sendto(sock.get(), ping, sizeof ping, 0, reinterpret_cast<sockaddr*>(&self), self_len) < 0) {
    *why = errstr("probe sendto 127.0.0.1", -errno);
    return false;
  }
  __kernel_timespec ts{1, 0};
  io_uring_cqe* cqe = nullptr;
  r = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
  if (r != 0) {
    *why = errstr("waiting for the probe's multishot recvmsg", r);
    return false;
  }
  const int res = cqe->res;
  const unsigned cflags = cqe->flags;
  io_uring_cqe_seen(ring, cqe);
  if (res == -EINVAL) {
    *why = "multishot recvmsg not supported (needs Linux >= 6.0)";
    return false;
  }
  if (res < 0) {
    *why = errstr("multishot recvmsg", res);
    return false;
  }
  if (!(cflags & IORING_CQE_F_BUFFER) || !(cflags & IORING_CQE_F_MORE)) {
    *why = "multishot recvmsg did not stay armed with a provided buffer";
    return false;
  }
  return true;
}

UringReactor::UringReactor(const ReceiveConfig& cfg, uint32_t index, size_t nsockets,
                           Handoff& handoff, ReactorCounters& counters)
    : Reactor(cfg, index, nsockets, handoff, counters) {}

std::unique_ptr<UringReactor> UringReactor::create(const ReceiveConfig& cfg, uint32_t index,
                                                   std::vector<UdpSocket>* sockets,
                                                   Handoff& handoff, ReactorCounters& counters,
                                                   std::string* error) {
  const uint32_t nsock = static_cast<uint32_t>(sockets->size());
  std::unique_ptr<UringReactor> r(new UringReactor(cfg, index, nsock, handoff, counters));
  const uint32_t entries = cfg.ring_entries;

  // SQ: a re-arm per socket, the wake-up read and stop()'s cancels.
  const uint32_t sq = pow2_at_least(std::max<uint32_t>(8, 2 * nsock + 4));
  // CQ: every data completion holds a buffer, so ring_entries of them at
  // most, plus a final completion per socket, the wake-up and the cancels.
  const uint32_t cq = std::min<uint32_t>(65536, pow2_at_least(entries + 2 * nsock + 8));
  int e = r->ring_.init(sq, cq, true);
  if (e != 0) {
    *error = setup_error(e);
    return nullptr;
  }
  const unsigned flags = r->ring_.flags();
  r->ring_disabled_ = (flags & IORING_SETUP_R_DISABLED) != 0;
  if (!(r->ring_.get()->features & IORING_FEAT_EXT_ARG)) {
    *error = "io_uring lacks IORING_FEAT_EXT_ARG (timed waits; needs Linux >= 5.11)";
    return nullptr;
  }
  e = setup_buf_ring(r->ring_.get(), &r->buf_ring_, entries, kBufferGroup, &r->br_);
  if (e != 0) {
    *error = errstr("io_uring_register_buf_ring", e);
    return nullptr;
  }
  r->mask_ = static_cast<uint32_t>(io_uring_buf_ring_mask(entries));
  // 64-byte stride: each buffer starts on its own cache line.
  r->stride_ = (kHeaderLen + cfg.buffer_size + 63) / 64 * 64;
  if (!r->buffers_.map(size_t{entries} * r->stride_, /*populate=*/true)) {
    *error = errstr("mmap of the receive buffers", -errno);
    return nullptr;
  }
  for (uint32_t bid = 0; bid < entries; ++bid)
    io_uring_buf_ring_add(r->br_, r->buffer(static_cast<uint16_t>(bid)),
                          kHeaderLen + cfg.buffer_size, static_cast<uint16_t>(bid),
                          static_cast<int>(r->mask_), static_cast<int>(bid));
  io_uring_buf_ring_advance(r->br_, static_cast<int>(entries));
  r->in_ring_ = entries;
  r->home_.store(entries, std::memory_order_relaxed);
  // Blocking eventfd: io_uring would answer EAGAIN on an O_NONBLOCK file
  // instead of waiting for it to become readable.
  r->wake_ = UniqueFd(eventfd(0, EFD_CLOEXEC));
  if (!r->wake_.valid()) {
    *error = errstr("eventfd", -errno);
    return nullptr;
  }
  r->msg_.msg_namelen = kNameLen;
  r->msg_.msg_controllen = kControlLen;
  r->cqes_.resize(cfg.batch);
  r->returns_.resize(entries);
  r->armed_.assign(nsock, 0);
  r->rearm_threshold_ = std::max<uint32_t>(1, std::min<uint32_t>(cfg.batch, entries / 8));
  r->sockets_ = std::move(*sockets);
  RF_LOG_DEBUG("reactor %u: io_uring ring flags 0x%x (%s), sq %u, cq %u, %u buffers of %u bytes",
               index, flags,
               (flags & IORING_SETUP_DEFER_TASKRUN)  ? "SINGLE_ISSUER|DEFER_TASKRUN"
               : (flags & IORING_SETUP_SINGLE_ISSUER) ? "SINGLE_ISSUER|COOP_TASKRUN"
               : (flags & IORING_SETUP_COOP_TASKRUN)  ? "COOP_TASKRUN"
                                                                : "no task-run flags",
               r->ring_.get()->sq.ring_entries, r->ring_.get()->cq.ring_entries, entries, cfg.buffer_size);
  return r;
}

UringReactor::~UringReactor() = default;  // ring_ first, then the mappings

void UringReactor::stop() {
  stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  // A blocking eventfd write only blocks at 2^64-2; ignore the result.
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void UringReactor::begin_drain() {
  drain_.request();
  // Complete the wake-up read so that an idle wait ends and the drain tick
  // starts now (process_batch re-arms the read while not stopping).
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

io_uring_sqe* UringReactor::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (!sqe) {
    // The SQ is sized for every request we can have queued at once; submit
    // and retry in case that ever changes.
    io_uring_submit(ring_.get());
    counters_.syscalls.add();
    sqe = io_uring_get_sqe(ring_.get());
  }
  return sqe;
}

void UringReactor::arm(uint32_t s) {
  io_uring_sqe* sqe = get_sqe();
  if (!sqe) return;
  prep_multishot(sqe, sockets_[s].fd(), &msg_, tag(kRecv, s));
  armed_[s] = 1;
}

void UringReactor::arm_wake() {
  io_uring_sqe* sqe = get_sqe();
  if (!sqe) return;
  io_uring_prep_read(sqe, wake_.get(), &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(sqe, tag(kWake, 0));
}

void UringReactor::recycle(uint16_t bid) {
  io_uring_buf_ring_add(br_, buffer(bid), kHeaderLen + cfg_.buffer_size, bid,
                        static_cast<int>(mask_), static_cast<int>(staged_));
  ++staged_;
  ++in_ring_;
}

void UringReactor::commit_buffers() {
  if (staged_ == 0) return;
  io_uring_buf_ring_advance(br_, static_cast<int>(staged_));
  staged_ = 0;
}

void UringReactor::take_returns() {
  size_t n;
  while ((n = dispatch_.take_returns(returns_.data(), returns_.size())) > 0) {
    for (size_t i = 0; i < n; ++i) recycle(returns_[i]);
    if (n < returns_.size()) break;
  }
}

void UringReactor::on_recv(const io_uring_cqe* cqe, uint32_t s) {
  if (!(cqe->flags & IORING_CQE_F_MORE)) armed_[s] = 0;  // ended: re-armed by the loop
  const bool has_buffer = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
  const uint16_t bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
  if (has_buffer) --in_ring_;
  if (cqe->res < 0) {
    if (cqe->res == -ENOBUFS) {
      // The ring ran dry; the datagram stays in the socket buffer.
      counters_.enobufs.add();
    } else if (cqe->res != -ECANCELED) {
      if (errors_logged_ < 10) {
        ++errors_logged_;
        RF_LOG_WARN("reactor %u: recvmsg on %s: %s", index_, sockets_[s].endpoint().str().c_str(),
                    std::strerror(-cqe->res));
      }
      backoff_ = true;
    }
    if (has_buffer) recycle(bid);
    return;
  }
  if (!has_buffer) return;  // cannot happen with IOSQE_BUFFER_SELECT
  uint8_t* buf = buffer(bid);
  io_uring_recvmsg_out* o = io_uring_recvmsg_validate(buf, cqe->res, &msg_);
  counters_.datagrams.add();
  if (!o) {
    // Shorter than the header the kernel always writes: not expected, but a
    // datagram was consumed, so it is counted (as unusable) rather than lost.
    counters_.oversize.add();
    recycle(bid);
    return;
  }
  got_data_ = true;
  counters_.bytes.add(o->payloadlen);
  for (cmsghdr* c = io_uring_recvmsg_cmsg_firsthdr(o, &msg_); c;
       c = io_uring_recvmsg_cmsg_nexthdr(o, &msg_, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
        c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
      uint32_t d;
      std::memcpy(&d, CMSG_DATA(c), sizeof d);
      drops_.from_cmsg(s, d);
    }
  }
  if ((o->flags & MSG_TRUNC) || o->payloadlen > cfg_.buffer_size) {
    counters_.oversize.add();
    recycle(bid);
    return;
  }
  DatagramRef d;
  d.data = static_cast<const uint8_t*>(io_uring_recvmsg_payload(o, &msg_));
  d.len = o->payloadlen;
  d.buf_id = bid;
  d.socket = static_cast<uint8_t>(s);
  if (o->namelen >= sizeof(sa_family_t) && o->namelen <= kNameLen)
    d.exporter = IpAddr::from_sockaddr(static_cast<const sockaddr*>(io_uring_recvmsg_name(o)),
                                       &d.exporter_port);
  dispatch_.offer(d);
}

void UringReactor::process_batch() {
  const unsigned n = io_uring_peek_batch_cqe(ring_.get(), cqes_.data(), static_cast<unsigned>(cqes_.size()));
  // With IORING_FEAT_NODROP the kernel parks overflowed completions and sets
  // this flag; the CQ sizing should make it impossible, so count it.
  if (io_uring_cq_has_overflow(ring_.get())) counters_.cq_overflow.add();
  if (n == 0) return;
  dispatch_.begin_batch();
  for (unsigned i = 0; i < n; ++i) {
    const io_uring_cqe* cqe = cqes_[i];
    const uint64_t ud = io_uring_cqe_get_data64(cqe);
    const uint64_t kind = ud >> 32;
    if (kind == kRecv) {
      on_recv(cqe, static_cast<uint32_t>(ud));
    } else if (kind == kWake) {
      if (!stop_.load(std::memory_order_acquire)) arm_wake();
    }
    // kCancel: nothing to do; the cancelled request reports on its own.
  }
  io_uring_cq_advance(ring_.get(), n);
  dispatch_.flush();
  for (size_t i = 0; i < dispatch_.dropped_count(); ++i) recycle(dispatch_.dropped()[i]);
}

void UringReactor::wait(int64_t timeout_ns) {
  __kernel_timespec ts;
  ts.tv_sec = timeout_ns / 1000000000;
  ts.tv_nsec = timeout_ns % 1000000000;
  // liburing enters the kernel only if it has SQEs to submit or no
  // completion is ready; count what it will do.
  if (io_uring_sq_ready(ring_.get()) > 0 || io_uring_cq_ready(ring_.get()) == 0) counters_.syscalls.add();
  io_uring_cqe* cqe = nullptr;
  int r = io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, &ts, nullptr);
  if (r == -ETIME && monotonic_ns() - last_proc_ns_ >= kProcRefreshNs) {
    // Idle: the SO_RXQ_OVFL value only moves with traffic, so read the
    // socket table for drops that happened after the last datagram.
    drops_.refresh_from_proc(sockets_);
    last_proc_ns_ = monotonic_ns();
  }
}

void UringReactor::run() {
  if (ring_disabled_) {
    // Debian's liburing 2.3 declares io_uring_enable_rings() but does not
    // export it: issue the register call directly. The calling task becomes
    // the ring's single issuer.
    if (syscall(__NR_io_uring_register, ring_.get()->ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
        0) {
      RF_LOG_ERROR("reactor %u: io_uring_register(ENABLE_RINGS): %s", index_,
                   std::strerror(errno));
      return;
    }
  }
  dispatch_.attach();
  drops_.set_bases(sockets_);
  arm_wake();
  for (uint32_t s = 0; s < sockets_.size(); ++s) arm(s);
  last_proc_ns_ = monotonic_ns();
  for (;;) {
    const bool stopping = stop_.load(std::memory_order_acquire);
    take_returns();
    dispatch_.tick(wall_ms_coarse());
    // Re-arm only with enough buffers to make the request worth it; an
    // empty ring would end it again at once with ENOBUFS.
    const bool all_armed = stopping || (!backoff_ && rearm(rearm_threshold_));
    commit_buffers();
    drops_.publish(counters_.kernel_drops);
    home_.store(in_ring_, std::memory_order_relaxed);
    if (stopping) break;
    backoff_ = false;
    const bool draining = drain_.requested();
    if (draining) drain_.observe(got_data_ || !all_armed, monotonic_ns(), sockets_);
    got_data_ = false;
    wait(!all_armed ? kDryWaitNs : draining ? kDrainWaitNs : kIdleWaitNs);
    process_batch();
  }
  empty_sockets();
  shutdown();
}

bool UringReactor::rearm(uint32_t min_buffers) {
  bool all_armed = true;
  for (uint32_t s = 0; s < sockets_.size(); ++s) {
    if (armed_[s]) continue;
    if (in_ring_ >= min_buffers) {
      arm(s);
      counters_.rearms.add();
    } else {
      all_armed = false;
    }
  }
  return all_armed;
}

void UringReactor::empty_sockets() {
  seal_sockets();
  // Sealed: the queues only shrink now. Keep receiving (re-arming as buffers
  // come back) until every request is armed and a peek finds every socket
  // empty: with DEFER_TASKRUN a datagram stays in its socket until the task
  // work that copies it runs inside our wait, so "empty" means taken.
  const int64_t deadline = monotonic_ns() + empty_bound_ns();
  for (;;) {
    take_returns();
    dispatch_.tick(wall_ms_coarse());
    const bool all_armed = rearm(1);
    commit_buffers();
    home_.store(in_ring_, std::memory_order_relaxed);
    if (all_armed && io_uring_cq_ready(ring_.get()) == 0) {
      bool empty = true;
      for (const UdpSocket& s : sockets_) empty = empty && (s.inherited() || !s.pending());
      if (empty) return;
    }
    if (monotonic_ns() >= deadline) break;
    wait(all_armed ? kMs : kDryWaitNs);
    process_batch();
  }
  log_left_in_sockets();
}

void UringReactor::shutdown() {
  // Cancel the multishot requests and hand off whatever they still deliver
  // before the cancellation lands: after run() nothing more is taken from
  // the kernel, and everything taken was handed off or counted.
  for (uint32_t s = 0; s < sockets_.size(); ++s) {
    if (!armed_[s]) continue;
    io_uring_sqe* sqe = get_sqe();
    if (!sqe) continue;
    io_uring_prep_cancel64(sqe, tag(kRecv, s), 0);
    io_uring_sqe_set_data64(sqe, tag(kCancel, s));
  }
  const int64_t deadline = monotonic_ns() + kStopDeadlineNs;
  auto any_armed = [this] {
    return std::any_of(armed_.begin(), armed_.end(), [](uint8_t a) { return a != 0; });
  };
  while ((any_armed() || io_uring_cq_ready(ring_.get()) > 0) && monotonic_ns() < deadline) {
    wait(10 * kMs);
    process_batch();
  }
  take_returns();
  commit_buffers();
  // Nothing more is taken: close the sockets now, reading their final drop
  // counts, so that no datagram is dropped after the count uncounted.
  close_sockets();
  home_.store(in_ring_, std::memory_order_relaxed);
}

}  // namespace ringflow
