// The wire-format registry: every export format ringflow recognises, in one
// table (kWireFormats), with what the rest of the pipeline needs to know of
// it. Nothing outside this table, a format's own decoder and its encoder in
// src/gen/ compares a version number (tests/docs_architecture_test.sh checks
// it); docs/architecture.md, "Where to add a wire format", lists the edits.
//
// Each row says
//   - how a datagram is recognised (`recognise`: the version field, 16 bits in
//     NetFlow and IPFIX, 32 bits in sFlow, plus whatever else the format
//     needs to be told apart);
//   - where its stream key comes from (`stream_key`: v5 engine type/id, v9
//     source_id, IPFIX observation domain; sFlow would be the agent address
//     and sub-agent id), which receive.spread = "stream" routes by
//     (src/receive/handoff.h) without reading the datagram itself;
//   - its decoder (`decoder`): the ordered stage (Sessions::admit) and the
//     worker's RecordReader::next switch over WireDecoder without a default,
//     so a new decoder is pointed at by -Wswitch in both;
//   - its name in decode.versions (`config_name`; empty = cannot be enabled,
//     as for a format that is recognised but not decoded) and its label in
//     the metrics' `version` label (`label`).
//
// Counter slots: every decoded format has a slot (its row index; decoded rows
// come first), and one more slot, "other", counts datagrams of no format and
// of formats recognised but not decoded. kFormatSlots of them are used; the
// counter blocks of include/ringflow/stats.h hold kMaxFormatSlots.
//
// Lookups cost a few compares per datagram on the reactor (find_wire_format)
// and one per chunk of records on a worker; nothing allocates.
//
// Thread safety: constant data and pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>
#include <string>

#include <ringflow/stats.h>

namespace ringflow {

// Which decoder takes a format's datagrams.
enum class WireDecoder : uint8_t {
  kV5,     // NetFlow v5 PDUs (src/decode/v5_decoder.h)
  kV9,     // NetFlow v9 sets and templates (src/decode/decode_plan.h)
  kIpfix,  // IPFIX sets and templates (src/decode/decode_plan.h)
  kSflowNotDecoded,  // recognised, not decoded: rejected as sflow_not_decoded and
                     // logged once per exporter (src/decode/sflow_notice.h)
};

struct WireFormat {
  std::string_view config_name;  // in decode.versions; "" = cannot be enabled
  std::string_view label;        // metrics `version` label
  uint32_t version = 0;          // the version field's value (FlowContext::version)
  uint8_t version_bytes = 2;     // width of the version field at offset 0
  // True when [p, p + len) is a datagram of this format (len >= version_bytes);
  // nullptr: a 16-bit version field equal to `version` is enough (NetFlow,
  // IPFIX: no call on the reactor's path).
  bool (*recognise)(const uint8_t* p, size_t len) = nullptr;
  // The stream (domain) part of the format's stream key, 0 when the datagram
  // is too short to carry it. Mixed with the exporter address for routing.
  uint64_t (*stream_key)(const uint8_t* p, size_t len) = nullptr;
  WireDecoder decoder = WireDecoder::kV5;

  constexpr bool decoded() const { return decoder != WireDecoder::kSflowNotDecoded; }
};

// Recognisers and stream keys of the rows below (wire_formats.cc).
bool recognise_sflow(const uint8_t* p, size_t len);
uint64_t stream_key_v5(const uint8_t* p, size_t len);
uint64_t stream_key_v9(const uint8_t* p, size_t len);
uint64_t stream_key_ipfix(const uint8_t* p, size_t len);
uint64_t stream_key_sflow(const uint8_t* p, size_t len);

// THE registry. Decoded formats first (their index is their counter slot).
inline constexpr WireFormat kWireFormats[] = {
    {"v5", "5", 5, 2, nullptr, stream_key_v5, WireDecoder::kV5},
    {"v9", "9", 9, 2, nullptr, stream_key_v9, WireDecoder::kV9},
    {"ipfix", "10", 10, 2, nullptr, stream_key_ipfix, WireDecoder::kIpfix},
    {"", "sflow", 5, 4, recognise_sflow, stream_key_sflow, WireDecoder::kSflowNotDecoded},
};
inline constexpr size_t kWireFormatCount = std::size(kWireFormats);

namespace detail {
constexpr size_t count_decoded() {
  size_t n = 0;
  while (n < kWireFormatCount && kWireFormats[n].decoded()) ++n;
  return n;
}
constexpr bool decoded_rows_first() {
  for (size_t i = count_decoded(); i < kWireFormatCount; ++i)
    if (kWireFormats[i].decoded()) return false;
  return true;
}
// A decoded format is found again by its version number (DatagramMeta,
// StreamKey and FlowContext carry the number), so the numbers must differ.
constexpr bool decoded_versions_unique() {
  for (size_t i = 0; i < count_decoded(); ++i)
    for (size_t j = i + 1; j < count_decoded(); ++j)
      if (kWireFormats[i].version == kWireFormats[j].version) return false;
  return true;
}
}  // namespace detail

inline constexpr size_t kDecodedFormats = detail::count_decoded();
inline constexpr size_t kOtherFormatSlot = kDecodedFormats;  // no format, or not decoded
inline constexpr size_t kFormatSlots = kDecodedFormats + 1;
static_assert(detail::decoded_rows_first(), "kWireFormats: decoded formats come first");
static_assert(detail::decoded_versions_unique(),
              "kWireFormats: two decoded formats share a version number; DatagramMeta::version, "
              "StreamKey::version and FlowContext::version need a format id instead");
static_assert(kFormatSlots <= kMaxFormatSlots, "raise kMaxFormatSlots in ringflow/stats.h");

// The format of the datagram [p, p + len), or nullptr (bad_version).
inline const WireFormat* find_wire_format(const uint8_t* p, size_t len) {
  if (len < 2) return nullptr;
  const uint32_t v16 = uint32_t{p[0]} << 8 | p[1];
  for (const WireFormat& f : kWireFormats) {
    if (len < f.version_bytes) continue;
    if (f.recognise ? f.recognise(p, len) : v16 == f.version) return &f;
  }
  return nullptr;
}

// The decoded format whose version number is v (as DatagramMeta::version and
// StreamKey::version hold it), or nullptr.
constexpr const WireFormat* decoded_format(uint32_t v) {
  for (size_t i = 0; i < kDecodedFormats; ++i)
    if (kWireFormats[i].version == v) return &kWireFormats[i];
  return nullptr;
}

// Counter slot of a format (nullptr: none), and of a decoded version number.
constexpr size_t format_slot(const WireFormat* f) {
  if (f == nullptr || !f->decoded()) return kOtherFormatSlot;
  return static_cast<size_t>(f - kWireFormats);
}
constexpr size_t version_slot(uint32_t v) { return format_slot(decoded_format(v)); }
constexpr std::string_view format_slot_label(size_t slot) {
  return slot < kDecodedFormats ? kWireFormats[slot].label : std::string_view("other");
}

// The version field of a datagram of format f, as wide as the format has it.
uint32_t wire_version(const WireFormat& f, const uint8_t* p);

// The key receive.spread = "stream" routes by (DatagramRef::stream_key): the
// format and its stream (domain), folded to 32 bits; 0 for a datagram of no
// format.
uint32_t route_key(const uint8_t* p, size_t len);
// The same from a format and a stream (domain) already read, as a held data
// set's DatagramMeta keeps them: it routes with its stream.
uint32_t route_key(const WireFormat& f, uint64_t stream);

// decode.versions: the names that can be enabled, in table order, and the
// rows they enable as a bit mask (bit i = kWireFormats[i]; unknown names are
// ignored: the config schema has refused them already).
namespace detail {
constexpr size_t count_config_names() {
  size_t n = 0;
  for (const WireFormat& f : kWireFormats) n += !f.config_name.empty();
  return n;
}
constexpr auto config_names() {
  std::array<const char*, count_config_names()> a{};
  size_t n = 0;
  for (const WireFormat& f : kWireFormats)
    if (!f.config_name.empty()) a[n++] = f.config_name.data();
  return a;
}
}  // namespace detail
inline constexpr auto kWireFormatConfigNames = detail::config_names();
uint32_t enabled_formats_mask(const std::vector<std::string>& names);

}  // namespace ringflow
