#include "support/counting_receiver.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "decode/wire_formats.h"
#include "decode/record_reader.h"
#include "decode/sessions.h"
#include "decode/v5_decoder.h"

namespace ringflow::gen {

CountingReceiver::CountingReceiver()
    : sessions_(std::make_unique<Sessions>(DecodeConfig{}, 1, 65536, sessions_counters)) {}

CountingReceiver::~CountingReceiver() { stop(); }

std::vector<StreamStats> CountingReceiver::templated_stats() const {
  sessions_->tick(wall_ns() / 1000000 + 2000);
  std::vector<StreamStats> out;
  sessions_->streams_snapshot(&out);
  return out;
}

void CountingReceiver::decode_templated(uint16_t buf, const uint8_t* p, size_t len,
                                        const IpAddr& src) {
  const DatagramMeta& m = sessions_->meta(buf);
  ReceivedStream& s = templated[TemplatedId{src, static_cast<uint8_t>(kWireFormats[m.format].version), m.domain}];
  DecodeOptions opt;
  RecordReader r(m, p, len, wall_ns() / 1000000, opt);
  FlowRecord out[64];
  RecordChunk c;
  size_t n;
  while ((n = r.next(out, 64, &c)) > 0)
    for (size_t i = 0; i < n; ++i) {
      const FlowRecord& f = out[i];
      ++s.flows;
      s.packets += f.packets;
      s.bytes += f.bytes;
      if (keep_keys_) {
        KeyCount& kc = keys6[Key6Id{f.src, f.dst, f.src_port, f.dst_port, f.protocol}];
        ++kc.flows;
        kc.packets += f.packets;
        kc.bytes += f.bytes;
      }
    }
}

bool CountingReceiver::open(const Endpoint& at, bool keep_keys, bool keep_times,
                            std::string* error) {
  keep_keys_ = keep_keys;
  keep_times_ = keep_times;
  sockaddr_storage ss;
  socklen_t len = at.to_sockaddr(&ss);
  UniqueFd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  // As much buffer as the host allows (FORCE needs CAP_NET_ADMIN): the test
  // must not lose datagrams to a slow thread start.
  int want = 64 << 20;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0)
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  timeval tv{0, 20000};  // 20 ms: lets the loop notice stop()
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    *error = "bind " + at.str() + ": " + std::strerror(errno);
    return false;
  }
  sockaddr_storage bound{};
  socklen_t bl = sizeof bound;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bl);
  endpoint_ = at;
  endpoint_.addr = IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), &endpoint_.port);
  fd_ = std::move(fd);
  return true;
}

void CountingReceiver::start() {
  stopping_ = false;
  last_rx_ns_ = monotonic_ns();
  thread_ = std::thread([this] { loop(); });
}

void CountingReceiver::stop(int idle_ms) {
  if (!thread_.joinable()) return;
  const int64_t idle = int64_t{idle_ms} * 1000000;
  // Quiet for idle_ms and nothing left on the socket (a receiver thread kept
  // off the CPU, e.g. under TSan, can be "quiet" with datagrams still queued),
  // or 30 s at most.
  const int64_t deadline = monotonic_ns() + 30000000000LL;
  auto queued = [this] {
    int n = 0;
    return ::ioctl(fd_.get(), SIOCINQ, &n) == 0 && n > 0;
  };
  while ((monotonic_ns() - last_rx_ns_.load() < idle || queued()) && monotonic_ns() < deadline)
    sleep_until_ns(monotonic_ns() + 10000000);
  stopping_ = true;
  thread_.join();
}

void CountingReceiver::loop() {
  constexpr size_t kBatch = 64;
  std::vector<uint8_t> bufs(kBatch * 65536);
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  sockaddr_storage from[kBatch];
  alignas(cmsghdr) uint8_t ctrl[kBatch][CMSG_SPACE(sizeof(uint32_t))];
  static Pdu pdu;
  DecodeOptions opt;
  while (!stopping_.load()) {
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {&bufs[i * 65536], 65536};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_control = ctrl[i];
      msgs[i].msg_hdr.msg_controllen = sizeof ctrl[i];
    }
    int n = recvmmsg(fd_.get(), msgs, kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;  // timeout (EAGAIN) or EINTR: check stopping_
    const int64_t now = monotonic_ns();
    last_rx_ns_ = now;
    for (int i = 0; i < n; ++i) {
      ++datagrams;
      if (keep_times_) times.push_back(now);
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          uint32_t drops;
          std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
          kernel_drops = drops;  // cumulative per socket
        }
      }
      const uint8_t* p = iov[i].iov_base ? static_cast<uint8_t*>(iov[i].iov_base) : nullptr;
      const size_t len = msgs[i].msg_len;
      IpAddr src = IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&from[i]));
      const uint16_t version = len >= 2 ? static_cast<uint16_t>(p[0] << 8 | p[1]) : 0;
      if (version == 9 || version == 10) {
        const Admit a = sessions_->admit(p, len, src, 0, wall_ns() / 1000000);
        if (a != Admit::kRejected) {
          const uint32_t domain = len >= 16 ? static_cast<uint32_t>(
              p[version == 9 ? 16 : 12] << 24 | p[version == 9 ? 17 : 13] << 16 |
              p[version == 9 ? 18 : 14] << 8 | p[version == 9 ? 19 : 15]) : 0;
          ++templated[TemplatedId{src, static_cast<uint8_t>(version), domain}].datagrams;
        }
        if (a == Admit::kHandOff) {
          decode_templated(0, p, len, src);
          sessions_->release(0);
        }
        ReadyDatagram ready[16];
        size_t k;
        while ((k = sessions_->take_ready(ready, 16)) > 0)
          for (size_t j = 0; j < k; ++j) {
            decode_templated(ready[j].buf, ready[j].data, ready[j].len, ready[j].exporter);
            sessions_->release(ready[j].buf);
          }
        continue;
      }
      DatagramShape shape = validate_datagram(p, len, opt);
      if (shape.reject != Reject::kNone) {
        ++rejects[static_cast<size_t>(shape.reject)];
        continue;
      }
      size_t off = 0;
      for (size_t k = 0; k < shape.pdus; ++k) {
        off = decode_pdu_at(p, len, off, 0, opt, &pdu);
        const v5::Header& h = pdu.header;
        ReceivedStream& s = streams[StreamId{src, h.engine_type, h.engine_id}];
        ++s.datagrams;
        s.flows += pdu.count;
        s.sampling_raw = h.sampling_raw;
        s.arrivals.push_back(Arrival{h.flow_sequence, pdu.count, h.sys_uptime_ms});
        for (uint16_t r = 0; r < pdu.count; ++r) {
          const v5::Record& rec = pdu.records[r];
          s.packets += rec.packets;
          s.bytes += rec.octets;
          if (keep_keys_) {
            KeyCount& kc =
                keys[KeyId{rec.src_addr, rec.dst_addr, rec.src_port, rec.dst_port, rec.protocol}];
            ++kc.flows;
            kc.packets += rec.packets;
            kc.bytes += rec.octets;
          }
        }
      }
    }
  }
}

}  // namespace ringflow::gen
