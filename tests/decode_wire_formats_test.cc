// The wire-format registry (src/decode/wire_formats.h): each format is
// recognised by its own version field (sFlow's is 32 bits, where NetFlow's
// 16-bit sniff reads 0), its stream key comes from its own header fields,
// and the counter slots, labels and decode.versions names are the table's.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "decode/wire_formats.h"

namespace ringflow {
namespace {

std::vector<uint8_t> bytes(size_t n) { return std::vector<uint8_t>(n, 0); }
void be16(std::vector<uint8_t>& d, size_t at, uint16_t v) {
  d[at] = static_cast<uint8_t>(v >> 8);
  d[at + 1] = static_cast<uint8_t>(v);
}
void be32(std::vector<uint8_t>& d, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) d[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// An sFlow v5 header: version, agent address type and address, sub-agent.
std::vector<uint8_t> sflow(uint32_t agent_type, uint8_t agent_last, uint32_t sub_agent) {
  const size_t alen = agent_type == 2 ? 16 : 4;
  std::vector<uint8_t> d = bytes(8 + alen + 16);
  be32(d, 0, 5);
  be32(d, 4, agent_type);
  d[8] = 192;
  d[8 + alen - 1] = agent_last;
  be32(d, 8 + alen, sub_agent);
  return d;
}

}  // namespace

TEST_CASE("wire formats: each datagram is recognised by its own version field",
          "[decode][formats]") {
  std::vector<uint8_t> d = bytes(64);
  be16(d, 0, 5);
  REQUIRE(find_wire_format(d.data(), d.size()) != nullptr);
  CHECK(find_wire_format(d.data(), d.size())->decoder == WireDecoder::kV5);
  be16(d, 0, 9);
  CHECK(find_wire_format(d.data(), d.size())->decoder == WireDecoder::kV9);
  be16(d, 0, 10);
  CHECK(find_wire_format(d.data(), d.size())->decoder == WireDecoder::kIpfix);
  be16(d, 0, 6);
  CHECK(find_wire_format(d.data(), d.size()) == nullptr);
  CHECK(find_wire_format(d.data(), 1) == nullptr);

  // sFlow v5: 32-bit version 5 (its first 16 bits read 0), then agent type.
  const std::vector<uint8_t> s = sflow(1, 1, 0);
  const WireFormat* f = find_wire_format(s.data(), s.size());
  REQUIRE(f != nullptr);
  CHECK(f->decoder == WireDecoder::kSflow);
  CHECK(f->version_bytes == 4);
  CHECK(wire_version(*f, s.data()) == 5);
  CHECK(format_slot(f) == kFormatSflow);  // its own slot, though its version is v5's number
  CHECK(format_slot(f) != kFormatV5);
  CHECK(format_slot_label(format_slot(f)) == "sflow");
  std::vector<uint8_t> bad_agent = s;
  be32(bad_agent, 4, 3);  // agent address type 3: sFlow v5, rejected as bad_agent_type
  CHECK(find_wire_format(bad_agent.data(), bad_agent.size()) == f);
  std::vector<uint8_t> not_sflow = s;
  be32(not_sflow, 0, 4);  // sFlow v4 needs a valid agent type to be told from noise
  be32(not_sflow, 4, 3);
  CHECK(find_wire_format(not_sflow.data(), not_sflow.size()) == nullptr);
}

TEST_CASE("wire formats: the stream key comes from each format's own header",
          "[decode][formats]") {
  std::vector<uint8_t> d = bytes(64);
  be16(d, 0, 5);
  d[20] = 3;  // engine type
  d[21] = 7;  // engine id
  CHECK(stream_key_v5(d.data(), d.size()) == (3u << 8 | 7u));
  CHECK(stream_key_v5(d.data(), 21) == 0);  // too short for the engine fields
  be16(d, 0, 9);
  be32(d, 16, 0xA1B2C3D4);  // source_id
  CHECK(stream_key_v9(d.data(), d.size()) == 0xA1B2C3D4);
  be16(d, 0, 10);
  be32(d, 12, 4242);  // observation domain
  CHECK(stream_key_ipfix(d.data(), d.size()) == 4242);

  // The same domain in two formats routes apart.
  std::vector<uint8_t> a = bytes(64), b = bytes(64);
  be16(a, 0, 9);
  be32(a, 16, 77);
  be16(b, 0, 10);
  be32(b, 12, 77);
  CHECK(route_key(a.data(), a.size()) != route_key(b.data(), b.size()));
  CHECK(route_key(a.data(), a.size()) == route_key(kWireFormats[kFormatV9], 77));
  std::vector<uint8_t> junk = bytes(64);
  CHECK(route_key(junk.data(), junk.size()) == 0);

  // sFlow: (agent address, sub-agent id), IPv4 or IPv6 agents.
  CHECK(stream_key_sflow(sflow(1, 1, 0).data(), 28) == stream_key_sflow(sflow(1, 1, 0).data(), 28));
  CHECK(stream_key_sflow(sflow(1, 1, 0).data(), 28) != stream_key_sflow(sflow(1, 1, 1).data(), 28));
  CHECK(stream_key_sflow(sflow(1, 1, 0).data(), 28) != stream_key_sflow(sflow(1, 2, 0).data(), 28));
  CHECK(stream_key_sflow(sflow(2, 1, 0).data(), 40) != stream_key_sflow(sflow(2, 2, 0).data(), 40));
  CHECK(stream_key_sflow(sflow(2, 1, 0).data(), 27) == 0);  // cut before the sub-agent id
}

TEST_CASE("wire formats: slots, labels and decode.versions come from the table",
          "[decode][formats]") {
  CHECK(kDecodedFormats == 4);
  CHECK(kFormatV5 == 0);
  CHECK(kFormatV9 == 1);
  CHECK(kFormatIpfix == 2);
  CHECK(kFormatSflow == 3);
  CHECK(id_slot(4) == kOtherFormatSlot);
  // The rules other pieces take from the row, not from a version number.
  CHECK(kWireFormats[kFormatV5].engine_domain);
  CHECK(kWireFormats[kFormatV9].sequence_in_datagrams);
  CHECK(kWireFormats[kFormatSflow].sequence_in_datagrams);
  CHECK(kWireFormats[kFormatIpfix].sequence_quirk_includes_current);
  CHECK_FALSE(kWireFormats[kFormatSflow].engine_domain);
  // templates.state keeps version numbers: only v9 and IPFIX map back.
  CHECK(templated_format(9) == kFormatV9);
  CHECK(templated_format(10) == kFormatIpfix);
  CHECK(templated_format(5) == kWireFormatCount);
  CHECK(format_slot_label(0) == "5");
  CHECK(format_slot_label(2) == "10");
  CHECK(format_slot_label(kOtherFormatSlot) == "other");
  CHECK(format_slot_label(kFormatSflow) == "sflow");
  REQUIRE(kWireFormatConfigNames.size() == 4);
  CHECK(std::strcmp(kWireFormatConfigNames[3], "sflow") == 0);
  CHECK(std::strcmp(kWireFormatConfigNames[0], "v5") == 0);
  CHECK(std::strcmp(kWireFormatConfigNames[2], "ipfix") == 0);
  CHECK(enabled_formats_mask({"v9"}) == 1u << 1);
  CHECK(enabled_formats_mask({"v5", "ipfix"}) == (1u | 1u << 2));
  CHECK(enabled_formats_mask({"sflow"}) == 1u << kFormatSflow);
}

}  // namespace ringflow
