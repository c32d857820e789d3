// The template state file (decode.persist_templates,
// <output.directory>/templates.state): what the ordered stage learnt from
// the exporters (templates, sampling rates, IPFIX init times), kept across a
// restart. This file holds only the format and the bounded file read;
// Sessions (src/decode/sessions.h) exports and imports a TemplateState.
//
// Format 3, all integers big-endian:
//   "ringflow-templates 3\n"          the magic line, with the format number
//   u32 body length, u32 CRC32C(body)  so that a damaged or cut file is
//                                      detected whole, never parsed as a prefix
//   body: records, each a type byte then a stream key (16-byte address,
//   version byte, u32 domain):
//     1 template: u8 options, u16 length, the template record's bytes
//     2 stream:   u8 has_init, u64 init_ms, u32 default rate, u8 n, n x (u32 id, u32 rate)
//     3 interface: u32 ifIndex, u8 name length, name, u8 description length,
//                 description (learnt from options data: interface_names.h)
// Format 2 (before interface names; records 1 and 2 only) is still read.
// decode_state() accepts a file only whole: any other magic, format, length,
// checksum or record is refused with its reason and nothing is restored.
// Format 1 (no length, no checksum; ringflow before the codec was split out)
// is refused as kOldFormat: the templates are then learnt again from the
// exporters' refreshes.
//
// Thread safety: pure functions; read_state_file does file I/O only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decode/sampler_set.h"
#include "decode/sequence_tracker.h"

namespace ringflow {

// Largest state file read or written (a real one is kilobytes: a template
// record is tens of bytes).
inline constexpr size_t kMaxStateBytes = size_t{64} << 20;

struct StateTemplate {
  StreamKey key;
  bool options = false;
  std::string raw;  // the template record as received (read_template_record's input)
};
struct StateStream {
  StreamKey key;
  bool has_init = false;
  int64_t init_ms = 0;
  SamplerSet rates;  // refs unused
};
struct StateInterface {
  StreamKey key;
  uint32_t if_index = 0;
  std::string name, description;  // at most 255 bytes each
};
struct TemplateState {
  std::vector<StateTemplate> templates;
  std::vector<StateStream> streams;
  std::vector<StateInterface> interfaces;
};

enum class StateError : uint8_t {
  kNone,
  kNotState,     // no "ringflow-templates N\n" line
  kOldFormat,    // format 1: no checksum
  kNewFormat,    // a format this build does not know
  kTruncated,    // shorter than its header says
  kTrailing,     // longer than its header says
  kChecksum,     // the body does not match its CRC32C
  kMalformed,    // checksum right, records wrong (a record cut, an unknown type or version)
};
const char* state_error_text(StateError e);

// The file's bytes for `st`.
std::string encode_state(const TemplateState& st);
// Parses a whole file into *out (cleared first); kNone or why it was refused.
StateError decode_state(std::string_view data, TemplateState* out);

// CRC32C (Castagnoli), as used by iSCSI and ext4; exposed for tests.
uint32_t crc32c(const uint8_t* p, size_t n, uint32_t crc = 0);

// Reads the state file without blocking and within bounds: opened with
// O_NONBLOCK (a FIFO or device in its place does not hang start-up), then
// refused unless a regular file of at most max_bytes.
enum class StateFile { kMissing, kRead, kRefused };
StateFile read_state_file(const std::string& path, size_t max_bytes, std::string* out,
                          std::string* why);

}  // namespace ringflow
