#include "gen/pcap_reader.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <cstring>

#include "wire/bytes.h"

namespace ringflow::gen {
namespace {

using wire::load_be16;

// Finds the UDP payload of one frame. Returns false when the frame is not a
// complete, unfragmented UDP datagram.
bool udp_payload(int linktype, const uint8_t* p, size_t caplen, CapturedUdp* out) {
  size_t off = 0;
  uint16_t ethertype = 0;
  switch (linktype) {
    case DLT_EN10MB:
      if (caplen < 14) return false;
      ethertype = load_be16(p + 12);
      off = 14;
      while ((ethertype == 0x8100 || ethertype == 0x88A8) && caplen >= off + 4) {
        ethertype = load_be16(p + off + 2);
        off += 4;
      }
      break;
    case DLT_LINUX_SLL:
      if (caplen < 16) return false;
      ethertype = load_be16(p + 14);
      off = 16;
      break;
    case DLT_NULL:
    case DLT_LOOP: {
      if (caplen < 4) return false;
      uint32_t fam;
      std::memcpy(&fam, p, 4);
      if (linktype == DLT_LOOP) fam = ntohl(fam);
      ethertype = fam == 2 ? 0x0800 : 0x86DD;
      off = 4;
      break;
    }
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
      if (caplen < 1) return false;
      ethertype = (p[0] >> 4) == 4 ? 0x0800 : 0x86DD;
      break;
    default:
      return false;
  }
  const uint8_t* ip = p + off;
  size_t avail = caplen - off;
  const uint8_t* udp = nullptr;
  size_t udp_avail = 0;
  if (ethertype == 0x0800) {
    if (avail < 20 || (ip[0] >> 4) != 4) return false;
    size_t ihl = size_t{ip[0] & 0x0Fu} * 4;
    if (ihl < 20 || avail < ihl || ip[9] != 17) return false;
    if ((load_be16(ip + 6) & 0x3FFF) != 0) return false;  // fragment (MF or offset)
    size_t total = load_be16(ip + 2);
    if (total < ihl || total > avail) return false;
    uint32_t a;
    std::memcpy(&a, ip + 12, 4);
    out->src = IpAddr::from_v4(ntohl(a));
    std::memcpy(&a, ip + 16, 4);
    out->dst = IpAddr::from_v4(ntohl(a));
    udp = ip + ihl;
    udp_avail = total - ihl;
  } else if (ethertype == 0x86DD) {
    if (avail < 40 || (ip[0] >> 4) != 6 || ip[6] != 17) return false;  // no extension headers
    size_t plen = load_be16(ip + 4);
    if (40 + plen > avail) return false;
    out->src = IpAddr::from_v6(ip + 8);
    out->dst = IpAddr::from_v6(ip + 24);
    udp = ip + 40;
    udp_avail = plen;
  } else {
    return false;
  }
  if (udp_avail < 8) return false;
  size_t ulen = load_be16(udp + 4);
  if (ulen < 8 || ulen > udp_avail) return false;
  out->src_port = load_be16(udp);
  out->dst_port = load_be16(udp + 2);
  out->payload = udp + 8;
  out->len = ulen - 8;
  return true;
}

}  // namespace

void PcapReader::Close::operator()(pcap* p) const { pcap_close(p); }

bool PcapReader::open(const std::string& path, std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pc_.reset(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf));
  if (!pc_) {
    *error = path + ": " + errbuf;
    return false;
  }
  path_ = path;
  linktype_ = pcap_datalink(pc_.get());
  skipped_ = 0;
  return true;
}

int PcapReader::next(CapturedUdp* out, std::string* error) {
  pcap_pkthdr* h;
  const u_char* frame;
  int rc;
  while ((rc = pcap_next_ex(pc_.get(), &h, &frame)) == 1) {
    if (h->caplen < h->len || !udp_payload(linktype_, frame, h->caplen, out)) {
      ++skipped_;
      continue;
    }
    out->ts_ns =
        int64_t{h->ts.tv_sec} * 1000000000 + h->ts.tv_usec;  // tv_usec holds ns (NANO precision)
    return 1;
  }
  if (rc == -1) {
    *error = path_ + ": " + pcap_geterr(pc_.get());
    return -1;
  }
  return 0;
}

}  // namespace ringflow::gen
