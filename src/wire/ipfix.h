// IPFIX wire format (RFC 7011): the one place that states the layout, shared
// by the decoder (src/decode/) and the encoder of ringflow-gen (src/gen/).
// See docs/architecture.md, "v9 and IPFIX".
//
// Message = Header (16 bytes) followed by Sets, all fields big-endian.
//
//  Header                              Set header
//  off size field                      off size field
//   0   2   version (= 10)              0   2   set id: 2 templates,
//   2   2   length of the message               3 options templates,
//           (header included)                   4..255 reserved,
//   4   4   export time (s since epoch)         >= 256 data (= template id)
//   8   4   sequence: data records       2   2   length, header included
//           sent in this domain before
//           this message (mod 2^32)
//  12   4   observation domain id
//
// Field specifier: {E bit + IE id (2), length (2)} and, when E is set, the
// Private Enterprise Number (4). Length 65535 means variable length: each
// value is preceded by its length in one byte, or by 255 and the length in
// two bytes.
// Template record (set 2): template_id (2), field_count (2), fields.
// Options template record (set 3): template_id (2), field_count (2),
// scope_field_count (2, >= 1), fields (scope fields first).
// Withdrawal: a template record with field_count 0 (4 bytes, also in set 3);
// template id 2 in set 2 withdraws every template, id 3 in set 3 every
// options template, of the observation domain.
// A set may end with padding shorter than its smallest record.
//
// Thread safety: constants only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringflow::ipfix {

inline constexpr uint16_t kVersion = 10;
inline constexpr size_t kHeaderSize = 16;
inline constexpr size_t kSetHeaderSize = 4;
inline constexpr size_t kTemplateHeaderSize = 4;         // id, field count
inline constexpr size_t kOptionsTemplateHeaderSize = 6;  // id, field count, scope field count
inline constexpr size_t kFieldSpecSize = 4;              // E bit + id, length
inline constexpr size_t kEnterpriseSize = 4;             // PEN after an E-bit specifier

inline constexpr uint16_t kTemplateSetId = 2;
inline constexpr uint16_t kOptionsTemplateSetId = 3;
inline constexpr uint16_t kMinDataSetId = 256;
// Template ids 2 and 3 in a withdrawal record: every (options) template.
inline constexpr uint16_t kWithdrawAllTemplates = 2;
inline constexpr uint16_t kWithdrawAllOptionsTemplates = 3;

inline constexpr uint16_t kEnterpriseBit = 0x8000;
inline constexpr uint16_t kVariableLength = 65535;
// A variable-length value whose one-byte length is this carries its real
// length in the next two bytes.
inline constexpr uint8_t kLongVarLength = 255;

// Header field offsets.
namespace hdr {
inline constexpr size_t kVersion = 0, kLength = 2, kExportTime = 4, kSequence = 8, kDomain = 12;
}

// Seconds between the NTP epoch (1900) and the Unix epoch, for the
// dateTimeMicroseconds / dateTimeNanoseconds encodings (RFC 7011 6.1.9/10).
inline constexpr uint64_t kNtpToUnixSeconds = 2208988800ull;

}  // namespace ringflow::ipfix
