// Every UDP datagram of a capture file, copied out: for tests that check the
// decoders against real exporters' captures (../shared/captures/) and for the
// fuzz corpus tool. Reading is gen/pcap_reader.h (libpcap), the same reader
// ringflow-gen's replay uses, so there is one capture reader in the tree.
//
// Thread safety: a pure function of the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gen/pcap_reader.h"

namespace ringflow::testing {

struct UdpDatagram {
  int64_t ts_ns = 0;  // capture time, ns since the epoch
  IpAddr src, dst;
  uint16_t src_port = 0, dst_port = 0;
  std::vector<uint8_t> payload;
};

struct CaptureFile {
  std::vector<UdpDatagram> datagrams;
  uint64_t skipped = 0;  // frames that were not complete UDP datagrams
  std::string error;     // empty = read to the end
  bool ok() const { return error.empty(); }
};

inline CaptureFile read_capture(const std::string& path) {
  CaptureFile f;
  gen::PcapReader reader;
  if (!reader.open(path, &f.error)) return f;
  gen::CapturedUdp u;
  while (reader.next(&u, &f.error) == 1) {
    UdpDatagram d;
    d.ts_ns = u.ts_ns;
    d.src = u.src;
    d.dst = u.dst;
    d.src_port = u.src_port;
    d.dst_port = u.dst_port;
    d.payload.assign(u.payload, u.payload + u.len);
    f.datagrams.push_back(std::move(d));
  }
  f.skipped = reader.skipped();
  return f;
}

}  // namespace ringflow::testing
