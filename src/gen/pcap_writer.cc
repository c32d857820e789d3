#include "gen/pcap_writer.h"

#include <pcap/pcap.h>

#include <cstring>

#include "wire/bytes.h"

namespace ringflow::gen {
namespace {

using wire::store_be16;

// RFC 1071 one's-complement sum of [p, p + n), added to `sum`.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += wire::load_be16(p + i);
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

bool PcapWriter::open(const std::string& path, std::string* error) {
  close();
  pc_ = pcap_open_dead(DLT_RAW, 65535);
  if (!pc_) {
    *error = path + ": cannot create a pcap handle";
    return false;
  }
  dump_ = pcap_dump_open(pc_, path.c_str());
  if (!dump_) {
    *error = path + ": " + pcap_geterr(pc_);
    pcap_close(pc_);
    pc_ = nullptr;
    return false;
  }
  path_ = path;
  frames_ = 0;
  return true;
}

void PcapWriter::write(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport,
                       const uint8_t* payload, size_t len, int64_t ts_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dump_) return;
  const bool v4 = src.is_v4() && dst.is_v4();
  const size_t ip = v4 ? 20 : 40;
  const size_t udp_len = 8 + len;
  frame_.assign(ip + udp_len, 0);
  uint8_t* f = frame_.data();
  uint8_t* u = f + ip;
  // Pseudo-header sum for the UDP checksum.
  uint32_t ps = 17 + static_cast<uint32_t>(udp_len);
  if (v4) {
    f[0] = 0x45;
    store_be16(f + 2, static_cast<uint16_t>(ip + udp_len));
    store_be16(f + 6, 0x4000);  // DF
    f[8] = 64;
    f[9] = 17;
    wire::store_be32(f + 12, src.v4());
    wire::store_be32(f + 16, dst.v4());
    store_be16(f + 10, fold(sum16(f, 20, 0)));
    ps = sum16(f + 12, 8, ps);
  } else {
    f[0] = 0x60;
    store_be16(f + 4, static_cast<uint16_t>(udp_len));
    f[6] = 17;
    f[7] = 64;
    std::memcpy(f + 8, src.bytes.data(), 16);
    std::memcpy(f + 24, dst.bytes.data(), 16);
    ps = sum16(f + 8, 32, ps);
  }
  store_be16(u, sport);
  store_be16(u + 2, dport);
  store_be16(u + 4, static_cast<uint16_t>(udp_len));
  std::memcpy(u + 8, payload, len);
  uint16_t ck = fold(sum16(u, udp_len, ps));
  store_be16(u + 6, ck == 0 ? 0xFFFF : ck);

  pcap_pkthdr h{};
  h.ts.tv_sec = ts_ns / 1000000000;
  h.ts.tv_usec = static_cast<suseconds_t>((ts_ns % 1000000000) / 1000);
  h.caplen = h.len = static_cast<bpf_u_int32>(frame_.size());
  pcap_dump(reinterpret_cast<u_char*>(dump_), &h, f);
  ++frames_;
}

bool PcapWriter::close(std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  bool ok = true;
  if (dump_) {
    if (pcap_dump_flush(dump_) != 0) {
      ok = false;
      if (error) *error = path_ + ": write failed";
    }
    pcap_dump_close(dump_);
    dump_ = nullptr;
  }
  if (pc_) {
    pcap_close(pc_);
    pc_ = nullptr;
  }
  return ok;
}

}  // namespace ringflow::gen
