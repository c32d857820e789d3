// Template records of NetFlow v9 and IPFIX: finding where one ends inside a
// template set, checking it, and reading its field specifiers. A template
// record is parsed here once, when it arrives; src/decode/decode_plan.h
// compiles it into the plan that decodes its data records.
//
// Template sets (v9 flowset 0 / IPFIX set 2) hold template records, options
// template sets (v9 flowset 1 / IPFIX set 3) hold options template records;
// the layouts are in src/wire/netflow9.h and src/wire/ipfix.h. A set ends
// with padding: fewer bytes than a record header, or (v9 exporters do this)
// a zero template id where the next record would start.
//
// Checks, in order (the first that fails names the problem; the record is
// ignored and counted, the rest of the set is not read because its start is
// unknown):
//   kTruncated        header or field specifiers run past the set
//   kBadId            template id < 256 (other than an IPFIX withdraw-all)
//   kZeroFields       v9 template with no field (IPFIX: a withdrawal, valid)
//   kTooManyFields    more than kMaxTemplateFields specifiers
//   kBadScope         options template: IPFIX scope count 0 or > field count;
//                     v9 scope/option lengths not whole specifiers or both 0
//   kRecordTooLong    the data record it describes exceeds 65535 bytes
//   kZeroLength       every field has length 0: no data record could be told
//                     from the next
//
// Thread safety: pure functions on caller-owned memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringflow {

// The two template-based wire versions.
enum class WireVersion : uint8_t { kV9 = 9, kIpfix = 10 };

inline constexpr size_t kMaxTemplateFields = 512;

enum class TemplateProblem : uint8_t {
  kNone = 0,
  kTruncated,
  kBadId,
  kZeroFields,
  kTooManyFields,
  kBadScope,
  kRecordTooLong,
  kZeroLength,
};
inline constexpr size_t kTemplateProblems = 8;

constexpr std::string_view template_problem_name(TemplateProblem p) {
  switch (p) {
    case TemplateProblem::kNone: return "none";
    case TemplateProblem::kTruncated: return "truncated";
    case TemplateProblem::kBadId: return "bad_id";
    case TemplateProblem::kZeroFields: return "zero_fields";
    case TemplateProblem::kTooManyFields: return "too_many_fields";
    case TemplateProblem::kBadScope: return "bad_scope";
    case TemplateProblem::kRecordTooLong: return "record_too_long";
    case TemplateProblem::kZeroLength: return "zero_length";
  }
  return "unknown";
}

// One field specifier as received.
struct TemplateField {
  uint16_t id = 0;      // element id (E bit removed) or, in a v9 scope, the scope type
  uint16_t length = 0;  // 65535 = variable length (IPFIX only; see is_variable_length)
  uint32_t pen = 0;     // Private Enterprise Number, 0 = IANA
  bool scope = false;   // a scope field of an options template
};

// Where one template record sits and what it declares.
struct TemplateRecordView {
  uint16_t template_id = 0;
  uint16_t field_count = 0;  // 0: withdrawal (IPFIX)
  uint16_t scope_count = 0;  // options templates: scope fields first
  bool options = false;
  bool withdrawal = false;   // IPFIX field count 0 (template_id 2/3: withdraw all)
  bool var65535 = false;     // length 65535 is variable (IPFIX; v9 with decode.v9_variable_length)
  const uint8_t* raw = nullptr;  // the whole record, header included
  size_t raw_len = 0;
};

// A field length of 65535 is variable length in IPFIX (RFC 7011 7). NetFlow
// v9 (RFC 3954) has no variable-length fields: there 65535 is an ordinary
// fixed length, which no datagram can hold, so the template is refused
// (record_too_long) or its data sets dropped (too_short) instead of walked as
// length-prefixed values (a hostile template of one such field once turned
// each byte of a datagram into a record). H3C NetStream v9 does send
// IPFIX-style variable-length strings: decode.v9_variable_length opts in.
inline constexpr uint16_t kVariableLengthMarker = 65535;

enum class SetWalk : uint8_t { kRecord, kEnd };

// Reads the template record at the start of [p, p + avail) (the unread rest
// of a template set body). Returns kEnd when what remains is padding (nothing
// to read), else kRecord with *out filled and *problem set (kNone when valid).
// When *problem is not kNone the set cannot be walked further.
// v9_variable_length: decode.v9_variable_length (see kVariableLengthMarker).
SetWalk read_template_record(WireVersion v, bool options, const uint8_t* p, size_t avail,
                             TemplateRecordView* out, TemplateProblem* problem,
                             bool v9_variable_length = false);

// True when field length `length` of template t is variable.
constexpr bool is_variable_length(const TemplateRecordView& t, uint16_t length) {
  return t.var65535 && length == kVariableLengthMarker;
}

// Calls f(const TemplateField&) for each field specifier of a record that
// read_template_record accepted (in wire order, scope fields first).
template <class F>
void for_each_template_field(WireVersion v, const TemplateRecordView& t, F&& f);

}  // namespace ringflow

#include "decode/template_record_inl.h"
