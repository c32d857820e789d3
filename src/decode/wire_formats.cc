#include "decode/wire_formats.h"

#include "wire/bytes.h"
#include "wire/ipfix.h"
#include "wire/netflow9.h"
#include "wire/sflow.h"
#include "wire/v5.h"

namespace ringflow {

static_assert(kWireFormats[kFormatV5].version == v5::kVersion &&
              kWireFormats[kFormatV9].version == v9::kVersion &&
              kWireFormats[kFormatIpfix].version == ipfix::kVersion &&
              kWireFormats[kFormatSflow].version == sflow::kVersion5);

bool recognise_sflow(const uint8_t* p, size_t len) {
  // A 32-bit version 5 is sFlow v5 whatever follows (NetFlow and IPFIX have
  // no version 0 for the first 16 bits to read), so that a broken agent
  // type or a cut header is rejected under sflow by its own reason. Versions
  // 2 and 4 need an agent address type of 1 or 2 as well, and are rejected
  // as bad_version under the sflow label.
  const uint32_t v = wire::load_be32(p);
  if (v == 5) return true;
  if (len < 8 || (v != 2 && v != 4)) return false;
  const uint32_t type = wire::load_be32(p + 4);
  return type == 1 || type == 2;
}

uint64_t stream_key_v5(const uint8_t* p, size_t len) {
  // engine_type << 8 | engine_id of the first PDU (packed PDUs of one
  // datagram come from one exporter; their engines route with the first).
  if (len < v5::kHeaderSize) return 0;
  return uint64_t{p[v5::hdr::kEngineType]} << 8 | p[v5::hdr::kEngineId];
}
uint64_t stream_key_v9(const uint8_t* p, size_t len) {
  return len < v9::kHeaderSize ? 0 : wire::load_be32(p + v9::hdr::kSourceId);
}
uint64_t stream_key_ipfix(const uint8_t* p, size_t len) {
  return len < ipfix::kHeaderSize ? 0 : wire::load_be32(p + ipfix::hdr::kDomain);
}
uint64_t stream_key_sflow(const uint8_t* p, size_t len) {
  // sFlow v5: version (4), agent address type (4: 1 = IPv4, 2 = IPv6), the
  // agent address (4 or 16), sub-agent id (4). The stream is (agent address,
  // sub-agent id), whichever source address the datagram came from.
  if (len < 8) return 0;
  const size_t alen = wire::load_be32(p + 4) == 2 ? 16 : 4;
  if (len < 8 + alen + 4) return 0;
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the address and the sub-agent id
  for (size_t i = 8; i < 8 + alen + 4; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

uint32_t wire_version(const WireFormat& f, const uint8_t* p) {
  return f.version_bytes == 4 ? wire::load_be32(p) : wire::load_be16(p);
}

uint32_t route_key(const uint8_t* p, size_t len) {
  const WireFormat* f = find_wire_format(p, len);
  return f == nullptr ? 0 : route_key(*f, f->stream_key(p, len));
}

uint32_t route_key(const WireFormat& f, uint64_t stream) {
  // The row and its stream, so that two formats' equal domains stay apart,
  // folded to 32 bits (DatagramRef::stream_key).
  const uint64_t k =
      (stream << 8 | static_cast<uint64_t>(&f - kWireFormats + 1)) * 0x9E3779B97F4A7C15ull;
  return static_cast<uint32_t>(k >> 32 ^ k);
}

uint32_t enabled_formats_mask(const std::vector<std::string>& names) {
  uint32_t m = 0;
  for (const std::string& n : names)
    for (size_t i = 0; i < kWireFormatCount; ++i)
      if (!kWireFormats[i].config_name.empty() && n == kWireFormats[i].config_name) m |= 1u << i;
  return m;
}

}  // namespace ringflow
