// IPFIX template and options template records (RFC 7011 3.4) as bytes, and
// what the decode stage makes of them, for the tests of the ordered stage's
// pieces (tests/decode_template_store_test.cc, decode_stream_options_test.cc,
// decode_held_data_test.cc, decode_datagram_pins_test.cc) that exercise one
// piece without a whole datagram. Header only: include it as
// "support/template_bytes.h" from a test that links ringflow_decode.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "decode/decode_plan.h"
#include "decode/template_record.h"

namespace ringflow::test {

struct FieldBytes {
  uint16_t id;
  uint16_t length;
};

// Appends an IPFIX (options) template record: template id, field count,
// (options: scope field count,) then each field's element id and length.
inline void append_template(std::vector<uint8_t>* out, uint16_t id,
                            std::initializer_list<FieldBytes> fields, uint16_t scope_count = 0) {
  auto put16 = [out](uint16_t v) {
    out->push_back(static_cast<uint8_t>(v >> 8));
    out->push_back(static_cast<uint8_t>(v));
  };
  put16(id);
  put16(static_cast<uint16_t>(fields.size()));
  if (scope_count) put16(scope_count);
  for (const FieldBytes& f : fields) {
    put16(f.id);
    put16(f.length);
  }
}

inline std::vector<uint8_t> template_bytes(uint16_t id, std::initializer_list<FieldBytes> fields,
                                           uint16_t scope_count = 0) {
  std::vector<uint8_t> out;
  append_template(&out, id, fields, scope_count);
  return out;
}

// The record at the start of `bytes` as read_template_record() reads it;
// *problem says whether it was accepted.
inline TemplateRecordView read_template(const std::vector<uint8_t>& bytes, bool options,
                                        TemplateProblem* problem) {
  TemplateRecordView t;
  read_template_record(WireVersion::kIpfix, options, bytes.data(), bytes.size(), &t, problem);
  return t;
}

// The plan of an accepted IPFIX (options) template record.
inline std::unique_ptr<DecodePlan> plan_of(const std::vector<uint8_t>& bytes, bool options) {
  TemplateProblem problem;
  const TemplateRecordView t = read_template(bytes, options, &problem);
  if (problem != TemplateProblem::kNone) return nullptr;
  return compile_plan(WireVersion::kIpfix, t);
}

}  // namespace ringflow::test
