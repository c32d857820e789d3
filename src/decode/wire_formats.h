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
//   - its name in decode.versions (`config_name`) and its label in the
//     metrics' `version` label (`label`);
//   - the few rules of its stream that other pieces apply without comparing
//     version numbers (`engine_domain`, `sequence_in_datagrams`,
//     `sequence_quirk_includes_current`).
//
// The format id: a format is named everywhere after recognition by its row
// index (FormatId: DatagramMeta::format, StreamKey::format,
// StreamStats::format, FlowContext::format), never by its version number,
// since two formats may share one (sFlow v5 and NetFlow v5 both send 5).
//
// Counter slots: every format has a slot (its row index), and one more slot,
// "other", counts datagrams of no format. kFormatSlots of them are used; the
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
  kSflow,  // sFlow v5 samples (src/decode/sflow_decoder.h; sources: sflow_sources.h)
};

// A format's row index in kWireFormats.
using FormatId = uint8_t;

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
  // The stream's domain is v5's engine type << 8 | engine id (StreamStats'
  // engine_type / engine_id are filled from it).
  bool engine_domain = false;
  // The sequence counts export datagrams (loss is reported in datagrams),
  // not records.
  bool sequence_in_datagrams = false;
  // The sequence tracker may detect an exporter whose sequence includes the
  // message's own records (IPFIX, softflowd 1.1.0; src/decode/sequence_tracker.h).
  bool sequence_quirk_includes_current = false;
};

// Recognisers and stream keys of the rows below (wire_formats.cc).
bool recognise_sflow(const uint8_t* p, size_t len);
uint64_t stream_key_v5(const uint8_t* p, size_t len);
uint64_t stream_key_v9(const uint8_t* p, size_t len);
uint64_t stream_key_ipfix(const uint8_t* p, size_t len);
uint64_t stream_key_sflow(const uint8_t* p, size_t len);

// THE registry. Decoded formats first (their index is their counter slot).
// sFlow and NetFlow v5 share the version 5 but not its width: an sFlow
// datagram starts 00 00 00 05 (its 16-bit version reads 0), a v5 one 00 05.
inline constexpr WireFormat kWireFormats[] = {
    {"v5", "5", 5, 2, nullptr, stream_key_v5, WireDecoder::kV5, true, false, false},
    {"v9", "9", 9, 2, nullptr, stream_key_v9, WireDecoder::kV9, false, true, false},
    {"ipfix", "10", 10, 2, nullptr, stream_key_ipfix, WireDecoder::kIpfix, false, false, true},
    {"sflow", "sflow", 5, 4, recognise_sflow, stream_key_sflow, WireDecoder::kSflow, false, true,
     false},
};
inline constexpr size_t kWireFormatCount = std::size(kWireFormats);

inline constexpr size_t kDecodedFormats = kWireFormatCount;
inline constexpr size_t kOtherFormatSlot = kDecodedFormats;  // no format
inline constexpr size_t kFormatSlots = kDecodedFormats + 1;
static_assert(kFormatSlots <= kMaxFormatSlots, "raise kMaxFormatSlots in ringflow/stats.h");
static_assert(kWireFormatCount <= 32, "enabled_formats_mask is 32 bits");

// The row of the format that uses `decoder` (each decoder has one row).
constexpr FormatId format_of(WireDecoder d) {
  for (size_t i = 0; i < kWireFormatCount; ++i)
    if (kWireFormats[i].decoder == d) return static_cast<FormatId>(i);
  return static_cast<FormatId>(kWireFormatCount);
}
inline constexpr FormatId kFormatV5 = format_of(WireDecoder::kV5);
inline constexpr FormatId kFormatV9 = format_of(WireDecoder::kV9);
inline constexpr FormatId kFormatIpfix = format_of(WireDecoder::kIpfix);
inline constexpr FormatId kFormatSflow = format_of(WireDecoder::kSflow);
static_assert(kFormatV5 < kWireFormatCount && kFormatV9 < kWireFormatCount &&
              kFormatIpfix < kWireFormatCount && kFormatSflow < kWireFormatCount);

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

// The format of id `id` (DatagramMeta::format, StreamKey::format), or nullptr.
constexpr const WireFormat* format_by_id(FormatId id) {
  return id < kWireFormatCount ? &kWireFormats[id] : nullptr;
}

// The template-based format (v9, IPFIX) whose version number is v, as
// templates.state stores a stream's format (src/decode/state_codec.cc), or
// kWireFormatCount.
constexpr FormatId templated_format(uint32_t v) {
  for (size_t i = 0; i < kWireFormatCount; ++i)
    if ((kWireFormats[i].decoder == WireDecoder::kV9 ||
         kWireFormats[i].decoder == WireDecoder::kIpfix) &&
        kWireFormats[i].version == v)
      return static_cast<FormatId>(i);
  return static_cast<FormatId>(kWireFormatCount);
}

// Counter slot of a format (nullptr: none), and of a format id.
constexpr size_t format_slot(const WireFormat* f) {
  if (f == nullptr) return kOtherFormatSlot;
  return static_cast<size_t>(f - kWireFormats);
}
constexpr size_t id_slot(FormatId id) { return id < kWireFormatCount ? id : kOtherFormatSlot; }
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
