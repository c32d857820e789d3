// NetFlow v9 wire format (RFC 3954): the one place that states the layout,
// shared by the decoder (src/decode/) and the encoder of ringflow-gen
// (src/gen/). See docs/architecture.md, "v9 and IPFIX".
//
// Datagram = Header (20 bytes) followed by FlowSets, all fields big-endian.
//
//  Header                              FlowSet header
//  off size field                      off size field
//   0   2   version (= 9)               0   2   flowset id: 0 templates,
//   2   2   count: records of every                1 options templates,
//           kind in the datagram                   2..255 reserved,
//   4   4   sys_uptime (ms since boot)             >= 256 data (= template id)
//   8   4   unix_secs                    2   2   length, header included,
//  12   4   package_sequence: export                multiple of 4 by padding
//           datagrams of this source_id
//  16   4   source_id (observation domain)
//
// Template record (in flowset 0): template_id (2), field_count (2), then
// field_count x {type (2), length (2)}. Options template record (flowset 1):
// template_id (2), option_scope_length (2, bytes), option_length (2, bytes),
// then the scope fields and the option fields as {type, length} pairs, and
// padding to a 4-byte boundary. Data records (flowset = template id) are the
// fields' values back to back; the set ends with padding shorter than a
// record. Field types below 128 share their numbers with IPFIX IEs
// (src/wire/ie.h); a v9 field never carries an enterprise number and its
// length is never variable (65535 is an ordinary, if absurd, length).
//
// Thread safety: constants only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringflow::v9 {

inline constexpr uint16_t kVersion = 9;
inline constexpr size_t kHeaderSize = 20;
inline constexpr size_t kSetHeaderSize = 4;
inline constexpr size_t kTemplateHeaderSize = 4;         // id, field count
inline constexpr size_t kOptionsTemplateHeaderSize = 6;  // id, scope length, option length
inline constexpr size_t kFieldSpecSize = 4;              // type, length

inline constexpr uint16_t kTemplateSetId = 0;
inline constexpr uint16_t kOptionsTemplateSetId = 1;
inline constexpr uint16_t kMinDataSetId = 256;

// Header field offsets.
namespace hdr {
inline constexpr size_t kVersion = 0, kCount = 2, kSysUptime = 4, kUnixSecs = 8, kSequence = 12,
                        kSourceId = 16;
}

// Scope field types of an options template (RFC 3954 section 6.1).
inline constexpr uint16_t kScopeSystem = 1, kScopeInterface = 2, kScopeLineCard = 3,
                          kScopeCache = 4, kScopeTemplate = 5;

}  // namespace ringflow::v9
