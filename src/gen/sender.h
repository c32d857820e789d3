// Puts a SendBatch on the wire with sendmmsg(2), from the right source for
// each exporter stream, and paces batches against an absolute schedule.
//
// Sources (ExporterMode):
//   addr  one socket per sender thread, bound to 0.0.0.0:0; each message
//         carries an IP_PKTINFO control message naming its exporter's source
//         address 127.0.0.1 + i (every 127/8 address is local on Linux, so the
//         kernel accepts it). One sendmmsg sends all exporters' datagrams,
//         interleaved. With a single source the socket is bound to it and no
//         control message is needed (cheaper per datagram).
//   port  one socket per exporter, bound to the loopback address of the
//         target's family (or the wildcard for a remote target) and an
//         ephemeral port; a batch is split into one sendmmsg per run of
//         entries of the same socket.
// Messages go only to the configured target (msg_name is fixed at open()).
//
// Errors: EINTR, EAGAIN and ENOBUFS are retried (bounded: ~1 s in total per
// batch), any other error fails that one datagram, which is reported through
// the callback (the ground truth moves it to send_errors) and skipped.
//
// Thread safety: a UdpSender belongs to one sender thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include <ringflow/ip.h>

#include "common/clock.h"
#include "common/unique_fd.h"
#include "gen/gen_config.h"
#include "gen/send_batch.h"

namespace ringflow::gen {

class UdpSender {
 public:
  // Opens the sockets for `streams` exporter streams whose addr-mode sources
  // are `sources[i]` (ignored in port mode). batch_capacity = the largest
  // SendBatch that will be passed to send(). On failure returns false with
  // "what failed: strerror" in *error.
  bool open(const Endpoint& target, ExporterMode mode, const std::vector<IpAddr>& sources,
            size_t batch_capacity, std::string* error);

  // The source address/port stream i's datagrams carry.
  IpAddr source_addr(size_t stream) const;
  uint16_t source_port(size_t stream) const;

  // Sends every entry of `batch`; on_fail(entry) for each one the kernel
  // refused. Returns the number sent.
  template <class OnFail>
  size_t send(const SendBatch& batch, OnFail&& on_fail) {
    size_t sent = 0, i = 0;
    while (i < batch.size()) {
      size_t run = prepare(batch, i);
      size_t k = send_run(i, run);
      sent += k;
      i += k;
      if (k < run) {  // entry i failed hard: report and skip it
        on_fail(batch[i]);
        ++i;
      }
    }
    return sent;
  }

  uint64_t syscalls() const { return syscalls_; }
  uint64_t retries() const { return retries_; }

 private:
  // Fills mmsghdr entries [i, i + run) for the run of entries sharing a
  // socket starting at i; returns run.
  size_t prepare(const SendBatch& batch, size_t i);
  // Sends the prepared run; returns how many went out before a hard error.
  size_t send_run(size_t i, size_t run);

  ExporterMode mode_ = ExporterMode::kAddr;
  bool pktinfo_ = false;  // addr mode with several sources
  sockaddr_storage target_{};
  socklen_t target_len_ = 0;
  std::vector<UniqueFd> fds_;       // addr: 1, port: one per stream
  std::vector<IpAddr> src_addr_;    // per stream
  std::vector<uint16_t> src_port_;  // per stream
  std::vector<in_addr> pkt_src_;    // per stream (pktinfo)
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<uint8_t> cmsg_;  // CMSG_SPACE(in_pktinfo) per message
  int run_fd_ = -1;
  uint64_t syscalls_ = 0, retries_ = 0;
};

// Absolute-deadline pacing: item k is due at start + k / rate. Sleeping to
// the deadline of the next batch (clock_nanosleep TIMER_ABSTIME) instead of
// sleeping a fixed amount means oversleeping never accumulates: a late batch
// is followed by early ones until the schedule is met.
class Pacer {
 public:
  // rate <= 0: no pacing. start_ns on CLOCK_MONOTONIC.
  Pacer(double rate, int64_t start_ns) : rate_(rate), start_ns_(start_ns) {}
  bool paced() const { return rate_ > 0; }
  int64_t due_ns(uint64_t item) const {
    return start_ns_ + static_cast<int64_t>(static_cast<double>(item) * 1e9 / rate_);
  }
  // Sleeps until due_ns(item) if that is in the future. Returns how late
  // (ns) the call is relative to the deadline, 0 if on time.
  int64_t wait(uint64_t item) const;

 private:
  double rate_;
  int64_t start_ns_;
};

// Datagrams per batch at a given per-thread slot rate: ~1 ms worth, so even a
// paced stream never bursts more than a millisecond of traffic at once.
uint32_t batch_for_rate(double rate, uint32_t max_batch);

}  // namespace ringflow::gen
