#include "live/capture_pcap.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "live/exporters_json.h"

namespace ringflow {
namespace {

constexpr uint32_t kPcapMagicNs = 0xa1b23c4d;  // classic pcap, nanosecond timestamps
constexpr uint32_t kLinkTypeRaw = 101;         // LINKTYPE_RAW: IPv4 or IPv6 by its first nibble
constexpr uint32_t kSnapMax = 65535 + 48;      // IPv6 + UDP headers over the largest datagram

void put32le(std::string& o, uint32_t v) {  // the pcap headers: little-endian, as the magic says
  for (int i = 0; i < 4; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put16le(std::string& o, uint16_t v) {
  o.push_back(static_cast<char>(v & 0xff));
  o.push_back(static_cast<char>(v >> 8));
}

// RFC 1071 sum of 16-bit words, not yet folded or complemented.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) acc += uint32_t{p[n - 1]} << 8;
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc & 0xffff);
}

void ip_header(std::string& o, const IpAddr& src, const IpAddr& dst, uint32_t udp_len,
               uint32_t* pseudo_sum) {
  if (src.is_v4()) {
    uint8_t h[20] = {0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0};  // DF, TTL 64, UDP
    const uint32_t total = 20 + udp_len;
    h[2] = static_cast<uint8_t>(total >> 8);
    h[3] = static_cast<uint8_t>(total & 0xff);
    std::memcpy(h + 12, src.bytes.data() + 12, 4);
    std::memcpy(h + 16, dst.bytes.data() + 12, 4);
    const uint16_t c = fold(sum16(h, sizeof h));
    h[10] = static_cast<uint8_t>(c >> 8);
    h[11] = static_cast<uint8_t>(c & 0xff);
    o.append(reinterpret_cast<const char*>(h), sizeof h);
    *pseudo_sum = sum16(h + 12, 8, 17 + udp_len);
  } else {
    uint8_t h[40] = {0x60, 0, 0, 0, 0, 0, 17, 64};  // UDP, hop limit 64
    h[4] = static_cast<uint8_t>(udp_len >> 8);
    h[5] = static_cast<uint8_t>(udp_len & 0xff);
    std::memcpy(h + 8, src.bytes.data(), 16);
    std::memcpy(h + 24, dst.bytes.data(), 16);
    o.append(reinterpret_cast<const char*>(h), sizeof h);
    *pseudo_sum = sum16(h + 8, 32, 17 + udp_len);
  }
}

std::string json_str(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) o.push_back(c);
  }
  return o + "\"";
}

}  // namespace

std::string capture_stream_name(const CaptureStreamId& id) {
  const WireFormat* f = format_by_id(id.format);
  return id.exporter.str() + "-" + std::string(f ? f->label : "unknown") + "-" +
         std::to_string(id.domain);
}

std::string capture_pcap(const std::vector<CapturedDatagram>& datagrams,
                         const std::vector<Endpoint>& listen) {
  std::string o;
  size_t size = 24;
  for (const CapturedDatagram& d : datagrams) size += 16 + 48 + d.data.size();
  o.reserve(size);
  put32le(o, kPcapMagicNs);
  put16le(o, 2);  // version 2.4
  put16le(o, 4);
  put32le(o, 0);  // thiszone
  put32le(o, 0);  // sigfigs
  put32le(o, kSnapMax);
  put32le(o, kLinkTypeRaw);
  for (const CapturedDatagram& d : datagrams) {
    IpAddr dst;  // ::, the wildcard, unless the socket's address is of the source's family
    uint16_t dport = 0;
    if (d.socket < listen.size()) {
      dport = listen[d.socket].port;
      if (listen[d.socket].addr.is_v4() == d.source.is_v4()) dst = listen[d.socket].addr;
    }
    if (d.source.is_v4() && !dst.is_v4()) dst = IpAddr::from_v4(0);
    const uint32_t hdr = d.source.is_v4() ? 28 : 48;
    const uint32_t udp_len = 8 + d.orig_len;
    const int64_t ns = d.recv_ns < 0 ? 0 : d.recv_ns;
    put32le(o, static_cast<uint32_t>(ns / 1000000000));
    put32le(o, static_cast<uint32_t>(ns % 1000000000));
    put32le(o, static_cast<uint32_t>(hdr + d.data.size()));
    put32le(o, hdr + d.orig_len);
    uint32_t pseudo = 0;
    ip_header(o, d.source, dst, udp_len, &pseudo);
    uint8_t u[8] = {static_cast<uint8_t>(d.source_port >> 8),
                    static_cast<uint8_t>(d.source_port & 0xff),
                    static_cast<uint8_t>(dport >> 8),
                    static_cast<uint8_t>(dport & 0xff),
                    static_cast<uint8_t>(udp_len >> 8),
                    static_cast<uint8_t>(udp_len & 0xff),
                    0,
                    0};
    if (d.data.size() == d.orig_len) {  // uncut: the real checksum
      uint16_t c = fold(sum16(d.data.data(), d.data.size(), sum16(u, 8, pseudo)));
      if (c == 0) c = 0xffff;  // 0 means "no checksum"
      u[6] = static_cast<uint8_t>(c >> 8);
      u[7] = static_cast<uint8_t>(c & 0xff);
    }
    o.append(reinterpret_cast<const char*>(u), sizeof u);
    o.append(reinterpret_cast<const char*>(d.data.data()), d.data.size());
  }
  return o;
}

std::string capture_json(const std::vector<const CaptureRing*>& rings, int64_t now_ms) {
  uint64_t captured = 0, truncated = 0, skipped[static_cast<size_t>(CaptureSkip::kCount)] = {};
  uint32_t max_streams = 0;
  std::vector<CaptureStreamInfo> streams;
  for (const CaptureRing* r : rings) {
    r->streams(&streams);
    captured += r->captured();
    truncated += r->truncated();
    max_streams += r->max_streams();
    for (size_t i = 0; i < std::size(skipped); ++i) skipped[i] += r->skipped(CaptureSkip(i));
  }
  std::string o = "{\"now_ms\":" + std::to_string(now_ms);
  const CaptureRing* first = rings.empty() ? nullptr : rings.front();
  o += ",\"datagrams_per_stream\":" + std::to_string(first ? first->per_stream() : 0);
  o += ",\"snaplen\":" + std::to_string(first ? first->snaplen() : 0);
  o += ",\"max_streams\":" + std::to_string(max_streams);
  o += ",\"captured\":" + std::to_string(captured);
  o += ",\"truncated\":" + std::to_string(truncated);
  o += ",\"skipped\":{\"busy\":" + std::to_string(skipped[size_t(CaptureSkip::kBusy)]) +
       ",\"streams_full\":" + std::to_string(skipped[size_t(CaptureSkip::kStreamsFull)]) +
       ",\"unrecognised\":" + std::to_string(skipped[size_t(CaptureSkip::kUnrecognised)]) + "}";
  o += ",\"streams\":[";
  // Each name once (the comparator building two names per comparison took
  // 4 ms of CPU at 1,000 streams: docs/performance.md).
  std::vector<std::pair<std::string, const CaptureStreamInfo*>> named;
  named.reserve(streams.size());
  for (const CaptureStreamInfo& s : streams) named.emplace_back(capture_stream_name(s.id), &s);
  std::sort(named.begin(), named.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  bool comma = false;
  for (const auto& [name, sp] : named) {
    const CaptureStreamInfo& s = *sp;
    const WireFormat* f = format_by_id(s.id.format);
    o += comma ? ",{" : "{";
    comma = true;
    o += "\"id\":" + json_str(name);
    o += ",\"exporter\":" + json_str(s.id.exporter.str());
    o += ",\"version\":" + std::to_string(f ? f->version : 0);
    o += ",\"format\":" + json_str(format_name(s.id.format));
    o += ",\"domain\":" + std::to_string(s.id.domain);
    o += ",\"captured\":" + std::to_string(s.captured);
    o += ",\"kept\":" + std::to_string(s.kept);
    o += ",\"last_ms\":" + std::to_string(s.last_ns / 1000000);
    o += ",\"pcap\":" + json_str("/api/v1/capture/" + name + ".pcap");
    o += "}";
  }
  o += "]}\n";
  return o;
}

bool capture_find(const std::vector<const CaptureRing*>& rings, std::string_view name,
                  std::vector<CapturedDatagram>* out) {
  for (const CaptureRing* r : rings) {
    std::vector<CaptureStreamInfo> streams;
    r->streams(&streams);
    for (const CaptureStreamInfo& s : streams)
      if (capture_stream_name(s.id) == name) return r->copy(s.id, out);
  }
  return false;
}

}  // namespace ringflow
