// PcapReader: the one reader of capture files, for replay (gen/replay.cc), the
// decoder's capture tests and the fuzz corpus tool. It opens a pcap or pcapng
// file with libpcap (offline, nanosecond timestamps) and yields the UDP
// datagrams in it, one at a time, with their addresses and ports.
//
// Link types: Ethernet (with 802.1Q / 802.1ad tags), Linux cooked (SLL), raw
// IP and BSD loopback; IPv4 and IPv6 (no extension headers); UDP only. Other
// frames, IP fragments and truncated frames (caplen < wire length) are
// skipped and counted, never read past.
//
// Kept in gen, not in the collector: the collector never reads captures and
// does not link libpcap.
//
// Thread safety: one thread per reader. Owns its pcap_t (closed on
// destruction); the payload of a datagram stays valid until the next call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <ringflow/ip.h>

struct pcap;

namespace ringflow::gen {

struct CapturedUdp {
  int64_t ts_ns = 0;  // capture timestamp, ns since the epoch
  IpAddr src, dst;
  uint16_t src_port = 0, dst_port = 0;
  const uint8_t* payload = nullptr;  // into libpcap's buffer: valid until the next next()
  size_t len = 0;
};

class PcapReader {
 public:
  // Opens `path`; false and "path: reason" in *error when it cannot be read.
  bool open(const std::string& path, std::string* error);

  // The next UDP datagram: 1 and *out filled; 0 at the end of the file;
  // -1 on a read error ("path: reason" in *error).
  int next(CapturedUdp* out, std::string* error);

  // Frames skipped so far (not UDP, fragments, truncated, unknown link type).
  uint64_t skipped() const { return skipped_; }

 private:
  struct Close {
    void operator()(pcap* p) const;
  };
  std::unique_ptr<pcap, Close> pc_;
  std::string path_;
  int linktype_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace ringflow::gen
