// DecodePlan: a v9 or IPFIX template compiled once, when it arrives, into what
// decoding one of its data records needs: for each field that ringflow uses,
// where it sits in the record, how many bytes it has and where its value goes
// in a FlowRecord. Fields ringflow does not use (unknown elements, enterprise
// elements, MAC addresses, ...) cost nothing per record: they only move the
// offsets of the fields after them.
//
// Layout of a record: segments of fixed-length fields, each but the last
// followed by one variable-length field (1-byte length, or 255 + 2-byte
// length). Field offsets are counted in the record's fixed bytes only (the
// segments concatenated), so they are constant even when variable-length
// fields move the segments: a record with variable-length fields is first
// gathered into a staging buffer, segment by segment, and then decoded
// exactly like a fixed-length one. A template without variable-length fields
// is one segment and is decoded in place.
//
// Mapping onto FlowRecord (first occurrence of an element wins; where several
// elements can carry a value, the first listed that the template has):
//   src/dst           sourceIPv4Address 8 / destinationIPv4Address 12, else
//                     sourceIPv6Address 27 / destinationIPv6Address 28
//   nexthop           15, else 62, else bgpNextHop 18, else 63
//   ports             7 / 11; ICMP type/code (32, 139, 176-179) goes into
//                     dst_port when the record's protocol is ICMP or ICMPv6 and
//                     its destination port is 0 (the convention of v5 and nfdump)
//   protocol tos tcp_flags   4 / 5 / 6 (tcpControlBits: low 8 bits)
//   packets           packetDeltaCount 2, else packetTotalCount 86, else
//                     initiatorPackets 298 + responderPackets 299
//   bytes             octetDeltaCount 1, else octetTotalCount 85, else
//                     initiatorOctets 231 + responderOctets 232 (Cisco ASA NSEL)
//   input/output      10 / 14, else 252 / 253 (physical interfaces)
//   src_as dst_as src_mask dst_mask   16 / 17 / 9 or 29 / 13 or 30
//   direction 61, vlan 58 else 243, ip_version from the addresses else 60
//   sampler_id        samplerId 48, else selectorId 302 (low 32 bits)
//   sampling (in-record rate)  samplingInterval 34, else samplerRandomInterval
//                     50, else (305 + 306) / 305, else 310 / 309, else 1 / 311
//   start/end         the first pair the template has of: 22/21 sysUpTime
//                     (v9: relative to the header's sys_uptime, signed 32-bit
//                     difference as for v5; IPFIX: relative to
//                     systemInitTimeMilliseconds 160 from options data), 150/151
//                     seconds, 152/153 ms, 154/155 and 156/157 NTP-format micro-
//                     and nanoseconds, 158/159 microseconds before export time.
//                     Only one of start/end: both take it. Neither, or IPFIX
//                     uptimes without a known system init time: both are the
//                     export time and kFlowTimeUnknown is set.
// Integers accept any length 1..8 (reduced-size encoding) and keep the low
// bits that fit their FlowRecord field; addresses only their exact length (a
// field of another length is skipped and counted in skipped_fields).
//
// Packet sections (RFC 7133 / PSAMP, NetFlow-Lite): a record may carry the
// first bytes of one sampled packet instead of (or beside) flow fields:
//   section           dataLinkFrameSection 315, else v9
//                     layer2packetSectionData 104 (both from the Ethernet
//                     header), else ipHeaderPacketSection 313 (from the IP
//                     header; version by its first nibble), else
//                     mplsLabelStackSection 316 (from the top label); fixed
//                     or variable length. Only the first is parsed.
//   frame size        dataLinkFrameSize 312, else layer2packetSectionSize 103
//                     (IANA: deprecated in favour of 312), else
//                     ipTotalLength 224: bytes when no octet counter is sent;
//                     312/103 also bound the section (a v9 exporter pads a
//                     fixed-length 104 with zeros past the frame's end).
//   section offset    layer2packetSectionOffset 102: a section that does not
//                     start at the frame's first byte is not parsed
//                     (reason `offset`).
// The section is parsed by src/decode/packet_parser.h (no decapsulation) and
// fills what the template's own elements do not: explicit flow elements win,
// field by field (addresses and ip_version as one; ports, protocol, tos,
// tcp_flags, vlan each). ICMP type/code from the section go into dst_port
// as for v5. packets = 1 unless a packet counter is sent; bytes = the octet
// counter, else the frame size element, else what the section says: for a
// frame (315/104/316) the bytes before the IP header plus its total length,
// for an IP header section the total length, and the section's length when
// no IP header was reached. A section that was cut, or whose headers this
// parser does not follow, or that is malformed, yields the fields it reached
// and marks the record (FlowRecord::flags, kFlowSection*), which the reader
// counts by reason. Only templates with a section or frame-size element take
// this path (decode_records checks one plan byte per set); every other
// template keeps its fixed-layout fast path.
//
// Biflows (RFC 5103): an IPFIX template with reverse counters (octets or
// packets, delta or total, under PEN 29305) also gets a `reverse` plan that
// decodes the same records as their reverse direction: source and
// destination (addresses, ports, interfaces, AS, masks) swapped, the reverse
// counters, and each element sent in reverse form (times, flags, ...) in
// place of its forward form; what has no reverse form (protocol, times when
// only the forward ones are sent) is shared. RecordReader decodes a biflow
// set twice and drops each direction without packets and bytes (a flow seen
// one way). A counter element under any other PEN (or a PEN 29305 counter
// other than these) is not decoded: unknown_counter_fields counts them, so
// the traffic the template's records carry there is reported, not silently
// lost.
//
// Options templates compile into the same form; their records are read with
// decode_options_record(): sampler/selector id, the sampling rate, the
// algorithm and systemInitTimeMilliseconds, and the interface table
// (interfaceName 82, interfaceDescription 83, fixed or variable length, with
// the ifIndex of ingressInterface 10, else egressInterface 14, else their
// physical forms 252 / 253, scope or not; OptionsPlanStrings). v9 scope
// fields are scope types (system, interface, ...), not elements, and are
// skipped, except the "interface" scope (type 2, 1..8 bytes), which is the
// record's ifIndex when no element gives one.
//
// Hot path: decode_records() and count_records() never allocate, throw or
// read outside [body, body + len). compile_plan() allocates the plan (once per
// new or changed template, never for a refresh with the same bytes).
//
// Thread safety: a DecodePlan is immutable after compile_plan() returns (the
// reference count is its owner's, see src/decode/sessions.h); any number of
// threads may decode with it concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <ringflow/flow_record.h>

#include "decode/template_record.h"

namespace ringflow {

// RFC 5103: reverse information elements are the forward elements' numbers
// under this Private Enterprise Number.
inline constexpr uint32_t kReversePen = 29305;

// What the decoder does with one field's bytes.
enum class PlanOpKind : uint8_t {
  kUint,    // big-endian unsigned of `len` bytes, stored in `width` bytes at dst
  kAddUint, // the same, added to the 64-bit value at dst (initiator + responder)
  kAddr4,   // 4 bytes, stored v4-mapped in the IpAddr at dst
  kAddr6,   // 16 bytes, copied to the IpAddr at dst
};

// Where kUint / kAddUint values go: the FlowRecord, or the plan's scratch
// (times, ICMP, rate components), which finalize turns into FlowRecord fields.
enum class PlanTarget : uint8_t { kRecord, kScratch };

struct PlanOp {
  uint16_t offset;   // within the record's fixed bytes
  uint8_t len;       // bytes on the wire (1..16)
  PlanOpKind kind;
  PlanTarget target;
  uint8_t width;     // bytes of the destination integer (1, 2, 4, 8)
  uint16_t dst;      // byte offset in FlowRecord or DecodeScratch
};

// Scratch values of one record, finalized into the FlowRecord.
struct DecodeScratch {
  uint64_t icmp = 0;            // type << 8 | code
  uint64_t icmp_type = 0, icmp_code = 0;
  uint64_t rate = 0;            // samplingInterval / samplerRandomInterval
  uint64_t packet_interval = 0, packet_space = 0;  // 305 / 306
  uint64_t size = 0, population = 0;               // 309 / 310
  uint64_t probability_bits = 0;                   // 311 (float64 bits)
  uint64_t system_init = 0;                        // 160 (options)
  uint64_t algorithm = 0;                          // 35 / 49 / 304 (options)
  uint64_t ip_version = 0;                         // 60
};

// What templates with a packet section read beside DecodeScratch (its own
// struct, so that every other template's per-record scratch stays as small).
struct SectionScratch {
  DecodeScratch base;
  uint64_t frame_size = 0;      // 312 / 103 / 224
  uint64_t section_offset = 0;  // 102
};

enum class TimeSource : uint8_t {
  kNone,
  kUptime,   // 21/22
  kSeconds,  // 150/151
  kMillis,   // 152/153
  kNtp,      // 154-157
  kDeltaUs,  // 158/159
};

// Fast path of fixed-length templates: record-target integer and address ops
// grouped by (wire length, destination width), so that decoding runs one
// tight loop per group instead of dispatching on every field.
struct FastOp {
  uint16_t src;  // offset in the record
  uint16_t dst;  // offset in FlowRecord
};
// Classes 0..15: integer of 1/2/4/8 wire bytes (class / 4) into a 1/2/4/8-byte
// field (class % 4); 16: IPv4 address; 17: IPv6 address.
inline constexpr size_t kFastClasses = 18;

// A run of fixed-length fields; a variable-length field follows it unless it
// is the record's last segment.
struct PlanSegment {
  uint16_t len;  // bytes of the fixed-length fields
};

// Why a record's packet section did not parse to its end (the
// kFlowSection* value of FlowRecord::flags, shifted: 1..3), for
// ringflow_decode_packet_section_records_total{reason}.
inline constexpr size_t kSectionReasons = 3;
constexpr const char* section_reason_name(size_t i) {
  constexpr const char* kNames[kSectionReasons] = {"cut", "unsupported", "malformed"};
  return i < kSectionReasons ? kNames[i] : "unknown";
}
// The reason index of a record's flags, or kSectionReasons when it has none.
constexpr size_t section_reason(uint8_t flags) {
  const unsigned v = (flags & kFlowSectionMask) / kFlowSectionCut;
  return v == 0 ? kSectionReasons : v - 1;
}

// Which packet section a template carries (see the file comment).
enum class SectionKind : uint8_t { kNone, kFrame, kIpHeader, kMpls };

// An active plan's scratch ops write SectionScratch, past DecodeScratch:
// decode_records() must run such a plan through decode_loop_section only
// (options plans and reverse plans are never active).
struct PacketSectionPlan {
  SectionKind kind = SectionKind::kNone;
  bool active = false;         // a section or a frame-size element: decode_loop_section
  bool variable = false;       // the section is a variable-length field
  uint16_t segment = 0;        // variable: the one after segment `segment`; fixed: in it
  uint16_t seg_off = 0;        // fixed: offset in that segment
  uint16_t len = 0;            // fixed: its length
  bool has_size = false;       // 312 / 103 / 224 (SectionScratch::frame_size)
  bool size_is_frame = false;  // the size is the frame's (312 / 103): bounds a frame section
  bool has_offset = false;     // 102 (SectionScratch::section_offset)
  bool has_bytes = false;      // an octet counter element: bytes are not the section's
  // Elements the template sets itself: the section does not overwrite them.
  bool own_addr = false, own_src_port = false, own_dst_port = false, own_protocol = false,
       own_tos = false, own_tcp_flags = false, own_vlan = false;
};

// Where a string element of an options record sits (interfaceName /
// interfaceDescription): in segment `segment` at `seg_off` (fixed length
// `len`), or, when `variable`, the variable-length field after segment
// `segment`.
struct PlanString {
  bool present = false;
  bool variable = false;
  uint16_t segment = 0;
  uint16_t seg_off = 0;
  uint16_t len = 0;
};

struct DecodePlan {
  WireVersion version = WireVersion::kV9;
  bool options = false;
  uint16_t template_id = 0;
  uint16_t field_count = 0;
  uint16_t scope_count = 0;
  uint16_t min_record_len = 0;  // fixed fields + 1 per variable-length field (>= 1)
  uint16_t fixed_len = 0;       // bytes of the fixed-length fields
  bool variable = false;        // has variable-length fields
  uint16_t skipped_fields = 0;  // address elements of an unexpected length (ignored)

  // Time elements are decoded as raw integers into FlowRecord::start_ms /
  // end_ms and converted there by kind.
  TimeSource start_src = TimeSource::kNone, end_src = TimeSource::kNone;
  uint8_t ip_version = 0;       // 4 / 6 from the address elements; 0 = none (see has_ip_version)
  bool has_ip_version = false;  // element 60 present
  bool has_icmp = false, has_icmp_split = false;
  bool has_rate = false;        // the record carries a sampling rate
  bool has_sampler_id = false;
  bool has_system_init = false;

  std::vector<PlanOp> ops;
  std::vector<PlanSegment> segments;
  PacketSectionPlan section;  // packet sections (see the file comment)
  // Options templates: the interface table's strings, and whether the
  // record gives an ingress / egress ifIndex (FlowRecord::input / output).
  PlanString if_name, if_description;
  bool has_input_index = false, has_output_index = false;

  // The ops split into grouped record-target ops (fast[fast_begin[c] ..
  // fast_begin[c + 1]) for class c) and the rest (scratch targets, sums, odd
  // lengths), run one by one.
  std::vector<FastOp> fast;
  uint16_t fast_begin[kFastClasses + 1] = {};
  std::vector<PlanOp> slow;
  bool uses_scratch = false;
  // Byte-permutation form of the fast ops, for CPUs with AVX-512 VBMI and
  // at most 128 fixed bytes: FlowRecord byte i (of 128) is fixed byte
  // perm[i] (0..127) where mask bit i is set, else the prototype's byte. One
  // two-register byte permute per 64 bytes decodes every integer and
  // address field of such a record at once (src/decode/decode_plan.cc).
  bool permutable = false;
  alignas(64) uint8_t perm[128] = {};
  uint64_t perm_mask[2] = {0, 0};
  // Per segment, which of the 128 fixed-byte positions it fills (low and
  // high 64): a record with variable-length fields is gathered straight into
  // registers, one masked load per segment and half, never through memory.
  struct SegmentMask {
    uint64_t lo = 0, hi = 0;
    uint16_t fixed_off = 0;
  };
  std::vector<SegmentMask> segment_masks;
  // The same permutation in 16-byte pieces, for CPUs without VBMI (SSSE3
  // pshufb, which every x86-64 server since 2006 has): FlowRecord bytes
  // [16c, 16c + 16) are shuf_base's, ORed with one byte shuffle of each
  // 16-byte piece of the fixed bytes they draw from (shuf[shuf_begin[c] ..
  // shuf_begin[c + 1])). shuf_base is the prototype with the permuted bytes
  // zeroed; control bytes 0x80 select zero. Reading a piece may touch up to
  // shuf_src_len bytes of the record (fixed_len rounded up to 16).
  struct ShuffleOp {
    alignas(16) uint8_t ctrl[16];
    uint8_t src_off;  // 16 x piece
  };
  std::vector<ShuffleOp> shuf;
  uint8_t shuf_begin[9] = {};
  uint16_t shuf_src_len = 0;
  alignas(64) uint8_t shuf_base[128] = {};
  // What every record of this template starts as: kEmptyFlow with the
  // per-template constants (ip_version from the address elements, the
  // sampler-id flag) already set.
  FlowRecord prototype;
  std::vector<uint8_t> raw;     // the template record as received (refresh check)

  // Biflows: the plan of the reverse direction (see the file comment), owned
  // by this one; nullptr when the template has no reverse counters.
  std::unique_ptr<DecodePlan> reverse;
  bool is_reverse = false;  // this plan is a biflow template's reverse plan
  // Counter elements (octets, packets) under a PEN that is not decoded: how
  // many, and the first (enterprise, element), for the exporter's page.
  uint16_t unknown_counter_fields = 0;
  uint32_t unknown_counter_pen = 0;
  uint16_t unknown_counter_id = 0;

  // Owner's reference count (src/decode/sessions.h): not touched by decoding.
  uint32_t refs = 0;
};

// Compiles a template record that read_template_record() accepted.
std::unique_ptr<DecodePlan> compile_plan(WireVersion v, const TemplateRecordView& t);

// The times a record's raw values are relative to.
struct TimeContext {
  int64_t export_ms = 0;       // header export time (v9 unix_secs, IPFIX export time) in ms
  uint32_t sys_uptime_ms = 0;  // v9 header sys_uptime
  int64_t init_ms = 0;         // IPFIX systemInitTimeMilliseconds
  bool has_init = false;
};

enum class SetStatus : uint8_t {
  kDone,        // every record of the set decoded (what remains is padding)
  kMore,        // `max` records decoded, more follow: call again with *pos
  kTooShort,    // the body is shorter than one record (and not empty)
  kVarOverflow, // a variable-length field runs past the set: the records
                // before it were decoded, the rest of the set is dropped
};

// Decodes records of the data set body [body, body + len) from offset *pos
// into out[0..max), advancing *pos. A remainder shorter than min_record_len is
// padding.
size_t decode_records(const DecodePlan& plan, const uint8_t* body, size_t len, size_t* pos,
                      const TimeContext& tc, FlowRecord* out, size_t max, SetStatus* status);

// Counts the records of a data set body without decoding them, with the same
// outcome decode_records() would reach (kDone, kTooShort or kVarOverflow;
// the count is of the records before the problem).
size_t count_records(const DecodePlan& plan, const uint8_t* body, size_t len, SetStatus* status);

// What an options record announces.
struct OptionsValues {
  bool has_sampler_id = false;
  uint32_t sampler_id = 0;   // samplerId 48 / selectorId 302
  uint32_t rate = 0;         // 1-in-N, 0 = none announced
  uint32_t algorithm = 0;    // as sent (35 / 49 / 304)
  bool has_system_init = false;
  int64_t system_init_ms = 0;
  bool sampling = false;     // the record carries any sampling element
  // The interface table (interfaceName 82 / interfaceDescription 83): the
  // bytes as sent, pointing into the set body (valid while it is), and the
  // ifIndex elements of the record.
  bool has_input = false, has_output = false;
  uint32_t input = 0, output = 0;
  const uint8_t* if_name = nullptr;
  const uint8_t* if_description = nullptr;
  uint16_t if_name_len = 0, if_description_len = 0;
  bool has_if_name = false, has_if_description = false;
};

// Reads the options record at body + *pos (advancing *pos). Returns false at
// the end of the set or on a problem (*status says which).
bool decode_options_record(const DecodePlan& plan, const uint8_t* body, size_t len, size_t* pos,
                           OptionsValues* out, SetStatus* status);

// How decode_records() moves the fields of a template of at most 128 fixed
// bytes: two 64-byte permutes (AVX-512 VBMI), 16-byte shuffles (SSSE3), or
// field by field (scalar, every CPU; also every template of more fixed
// bytes). The default is the fastest the CPU has; all three give the same
// records. Tests and benchmarks, which check and measure each, may choose one
// that is available, before decoding starts (not thread-safe).
// set_decode_path() of a path that is not available changes nothing and
// returns false: no silent fallback, so a caller that tests "each path"
// knows which one it ran.
enum class DecodePath : uint8_t { kScalar, kShuffle, kVbmi };
bool decode_path_available(DecodePath path);
bool set_decode_path(DecodePath path);
DecodePath decode_path();
const char* decode_path_name(DecodePath path);  // "scalar", "ssse3", "avx512vbmi"

// The 1-in-N rate of a record's or options record's rate components; 0 when
// none. Rounds to the nearest integer, at least 1.
uint32_t rate_of(const DecodeScratch& s);

}  // namespace ringflow
