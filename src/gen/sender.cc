#include "gen/sender.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace ringflow::gen {
namespace {

constexpr size_t kCmsgSize = CMSG_SPACE(sizeof(in_pktinfo));

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

int64_t Pacer::wait(uint64_t item) const {
  if (!paced()) return 0;
  const int64_t due = due_ns(item);
  const int64_t now = monotonic_ns();
  if (now >= due) return now - due;
  sleep_until_ns(due);
  return 0;
}

uint32_t batch_for_rate(double rate, uint32_t max_batch) {
  if (rate <= 0) return max_batch;
  double b = rate / 1000.0;
  if (b < 1) return 1;
  if (b > max_batch) return max_batch;
  return static_cast<uint32_t>(b);
}

bool UdpSender::open(const Endpoint& target, ExporterMode mode, const std::vector<IpAddr>& sources,
                     size_t batch_capacity, std::string* error) {
  mode_ = mode == ExporterMode::kAuto ? ExporterMode::kAddr : mode;
  target_len_ = target.to_sockaddr(&target_);
  const int family = target_.ss_family;
  const size_t streams = sources.size();
  src_addr_.assign(streams, IpAddr{});
  src_port_.assign(streams, 0);
  pkt_src_.assign(streams, in_addr{});

  auto open_socket = [&](const sockaddr_storage& bind_to, socklen_t len, UniqueFd* out) {
    UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      *error = errno_text("socket");
      return false;
    }
    // A bigger send buffer lets a batch of full datagrams queue without
    // ENOBUFS when the target is remote; on loopback it is moot.
    int sndbuf = 4 << 20;
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&bind_to), len) != 0) {
      *error = errno_text("bind " +
                          IpAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&bind_to)).str());
      return false;
    }
    *out = std::move(fd);
    return true;
  };
  auto local_of = [&](int fd, IpAddr* addr, uint16_t* port) {
    sockaddr_storage ss{};
    socklen_t l = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &l);
    *addr = IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), port);
  };

  fds_.clear();
  if (mode_ == ExporterMode::kAddr) {
    if (family != AF_INET) {
      *error = "exporter mode addr needs an IPv4 target";
      return false;
    }
    bool single = true;
    for (const auto& s : sources) single = single && s == sources.front();
    pktinfo_ = !single;
    sockaddr_storage b{};
    auto* in = reinterpret_cast<sockaddr_in*>(&b);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(single && !sources.empty() ? sources.front().v4() : INADDR_ANY);
    UniqueFd fd;
    if (!open_socket(b, sizeof(sockaddr_in), &fd)) return false;
    IpAddr bound;
    uint16_t port = 0;
    local_of(fd.get(), &bound, &port);
    fds_.push_back(std::move(fd));
    for (size_t i = 0; i < streams; ++i) {
      src_addr_[i] = sources[i];
      src_port_[i] = port;
      pkt_src_[i].s_addr = htonl(sources[i].v4());
    }
  } else {
    pktinfo_ = false;
    const bool loop = is_loopback(target.addr);
    for (size_t i = 0; i < streams; ++i) {
      sockaddr_storage b{};
      socklen_t len;
      if (family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&b);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(loop ? 0x7F000001u : INADDR_ANY);
        len = sizeof(sockaddr_in);
      } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&b);
        in6->sin6_family = AF_INET6;
        if (loop) in6->sin6_addr = in6addr_loopback;
        len = sizeof(sockaddr_in6);
      }
      UniqueFd fd;
      if (!open_socket(b, len, &fd)) return false;
      local_of(fd.get(), &src_addr_[i], &src_port_[i]);
      fds_.push_back(std::move(fd));
    }
  }

  msgs_.assign(batch_capacity, mmsghdr{});
  iov_.assign(batch_capacity, iovec{});
  cmsg_.assign(pktinfo_ ? batch_capacity * kCmsgSize : 0, 0);
  for (size_t i = 0; i < batch_capacity; ++i) {
    msghdr& h = msgs_[i].msg_hdr;
    h.msg_name = &target_;
    h.msg_namelen = target_len_;
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    if (pktinfo_) {
      uint8_t* c = &cmsg_[i * kCmsgSize];
      h.msg_control = c;
      h.msg_controllen = kCmsgSize;
      cmsghdr* cm = CMSG_FIRSTHDR(&h);
      cm->cmsg_level = IPPROTO_IP;
      cm->cmsg_type = IP_PKTINFO;
      cm->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    }
  }
  return true;
}

IpAddr UdpSender::source_addr(size_t stream) const { return src_addr_[stream]; }
uint16_t UdpSender::source_port(size_t stream) const { return src_port_[stream]; }

size_t UdpSender::prepare(const SendBatch& batch, size_t i) {
  const size_t sock = mode_ == ExporterMode::kPort ? batch[i].stream : 0;
  run_fd_ = fds_[sock].get();
  size_t j = i;
  for (; j < batch.size(); ++j) {
    const Outgoing& o = batch[j];
    if (mode_ == ExporterMode::kPort && o.stream != sock) break;
    iov_[j].iov_base = const_cast<uint8_t*>(o.data);
    iov_[j].iov_len = o.len;
    if (pktinfo_) {
      in_pktinfo pi{};
      pi.ipi_spec_dst = pkt_src_[o.stream];
      std::memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msgs_[j].msg_hdr)), &pi, sizeof pi);
    }
  }
  return j - i;
}

size_t UdpSender::send_run(size_t i, size_t run) {
  size_t done = 0;
  int transient = 0;
  while (done < run) {
    ++syscalls_;
    int k = ::sendmmsg(run_fd_, &msgs_[i + done], static_cast<unsigned>(run - done), 0);
    if (k > 0) {
      done += static_cast<size_t>(k);
      continue;
    }
    if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) && transient < 10000) {
      // The kernel is momentarily out of buffers: back off 100 us and retry
      // rather than lose a datagram the truth says was sent.
      ++transient;
      ++retries_;
      if (errno != EINTR) sleep_until_ns(monotonic_ns() + 100000);
      continue;
    }
    break;  // hard error on message i + done
  }
  return done;
}

}  // namespace ringflow::gen
