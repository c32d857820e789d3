// A tiny classic-pcap reader for the decoder's tests, fuzz corpus tool and
// benchmark: extracts the UDP payloads of Ethernet/IPv4 frames.
//
// Kept out of the decoder on purpose (the collector never reads pcaps and must
// not depend on libpcap), and small enough to read in one sitting:
//   global header 24 bytes: magic (a1b2c3d4 = us, a1b23c4d = ns; byte-swapped
//     when the writer's byte order differs from ours), version, zone, sigfigs,
//     snaplen, linktype (1 = Ethernet)
//   per packet 16 bytes: ts_sec, ts_frac, incl_len, orig_len, then incl_len bytes
//   Ethernet 14 bytes (+4 per 802.1Q tag), IPv4 (IHL*4 bytes), UDP 8 bytes.
// Frames that are not IPv4/UDP, or are fragments, are skipped. Truncated
// files are reported, never read past.
//
// Thread safety: pure function; no shared state.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ringflow::testing {

struct UdpDatagram {
  uint32_t src_ip = 0, dst_ip = 0;  // host order
  uint16_t src_port = 0, dst_port = 0;
  int64_t ts_us = 0;  // capture time, microseconds since the epoch
  std::vector<uint8_t> payload;
};

struct PcapResult {
  std::vector<UdpDatagram> datagrams;
  std::string error;  // empty = ok
  bool ok() const { return error.empty(); }
};

namespace pcap_detail {
inline uint32_t rd32(const uint8_t* p, bool swap) {
  uint32_t v = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
  return swap ? __builtin_bswap32(v) : v;
}
inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
}  // namespace pcap_detail

// Parses a whole pcap held in memory.
inline PcapResult parse_pcap(const std::vector<uint8_t>& f) {
  using namespace pcap_detail;
  PcapResult res;
  if (f.size() < 24) {
    res.error = "shorter than a pcap global header";
    return res;
  }
  // The file stores the magic in its writer's byte order; read it little-endian.
  const uint32_t magic = rd32(f.data(), false);
  bool swap = false, nanos = false;
  switch (magic) {
    case 0xa1b2c3d4:
      break;
    case 0xd4c3b2a1:
      swap = true;
      break;
    case 0xa1b23c4d:
      nanos = true;
      break;
    case 0x4d3cb2a1:
      swap = nanos = true;
      break;
    default:
      res.error = "not a classic pcap file (bad magic)";
      return res;
  }
  const uint32_t linktype = rd32(f.data() + 20, swap);
  if (linktype != 1) {
    res.error = "link type " + std::to_string(linktype) + " is not Ethernet (1)";
    return res;
  }
  size_t off = 24;
  while (off < f.size()) {
    if (f.size() - off < 16) {
      res.error = "truncated packet header at offset " + std::to_string(off);
      return res;
    }
    const uint8_t* rh = f.data() + off;
    const uint32_t ts_sec = rd32(rh, swap), ts_frac = rd32(rh + 4, swap);
    const uint32_t incl = rd32(rh + 8, swap);
    off += 16;
    if (f.size() - off < incl) {
      res.error = "truncated packet data at offset " + std::to_string(off);
      return res;
    }
    const uint8_t* p = f.data() + off;
    const size_t n = incl;
    off += incl;

    size_t l3 = 14;
    if (n < l3) continue;
    uint16_t ethertype = be16(p + 12);
    while (ethertype == 0x8100 && n >= l3 + 4) {  // 802.1Q tags
      ethertype = be16(p + l3 + 2);
      l3 += 4;
    }
    if (ethertype != 0x0800 || n < l3 + 20) continue;
    const uint8_t* ip = p + l3;
    if ((ip[0] >> 4) != 4) continue;
    const size_t ihl = size_t{ip[0] & 0x0Fu} * 4;
    const uint16_t total = be16(ip + 2);
    const uint16_t frag = be16(ip + 6);
    if (ihl < 20 || ip[9] != 17 || (frag & 0x3FFF) != 0) continue;  // UDP, unfragmented
    if (total < ihl + 8 || n < l3 + total) continue;
    const uint8_t* udp = ip + ihl;
    const uint16_t ulen = be16(udp + 4);
    if (ulen < 8 || ulen > total - ihl) continue;

    UdpDatagram d;
    d.src_ip = be32(ip + 12);
    d.dst_ip = be32(ip + 16);
    d.src_port = be16(udp);
    d.dst_port = be16(udp + 2);
    d.ts_us = int64_t{ts_sec} * 1000000 + (nanos ? ts_frac / 1000 : ts_frac);
    d.payload.assign(udp + 8, udp + ulen);
    res.datagrams.push_back(std::move(d));
  }
  return res;
}

inline PcapResult read_pcap(const std::string& path) {
  PcapResult res;
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) {
    res.error = "cannot open " + path;
    return res;
  }
  std::vector<uint8_t> buf;
  uint8_t chunk[65536];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof chunk, fp)) > 0)
    buf.insert(buf.end(), chunk, chunk + got);
  std::fclose(fp);
  return parse_pcap(buf);
}

}  // namespace ringflow::testing
