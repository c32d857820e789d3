// PcapWriter: ringflow-gen's --write-pcap. Writes each datagram it is given
// as one raw-IP frame (LINKTYPE_RAW: an IPv4 or IPv6 header, UDP, the
// payload) with libpcap's pcap_dump, so a capture of what the generator would
// send exists without capture privileges (tshark reads it, and --replay and
// the tests' PcapReader read it back).
//
// Headers: IPv4 with a correct header checksum, TTL 64, DF; IPv6 hop limit
// 64; UDP with its checksum (mandatory over IPv6). Addresses and ports are
// the ones the datagram would carry on the wire. Timestamps: the caller's
// (CLOCK_REALTIME, microsecond pcap).
//
// Thread safety: write() locks an internal mutex, so sender threads may
// share one writer. Owns the pcap_t and pcap_dumper_t (closed by close() or
// the destructor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ringflow/ip.h>

struct pcap;
struct pcap_dumper;

namespace ringflow::gen {

class PcapWriter {
 public:
  PcapWriter() = default;
  ~PcapWriter() { close(); }
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Creates (truncates) path. False and "path: reason" in *error on failure.
  bool open(const std::string& path, std::string* error);
  // One datagram from src:sport to dst:dport (both of one family).
  void write(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport,
             const uint8_t* payload, size_t len, int64_t ts_ns);
  // Flushes and closes; false and a reason in *error when the file could not
  // be written completely.
  bool close(std::string* error = nullptr);
  uint64_t frames() const { return frames_; }

 private:
  std::mutex mu_;
  pcap* pc_ = nullptr;
  pcap_dumper* dump_ = nullptr;
  std::string path_;
  std::vector<uint8_t> frame_;
  uint64_t frames_ = 0;
};

}  // namespace ringflow::gen
