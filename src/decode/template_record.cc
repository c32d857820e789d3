#include "decode/template_record.h"

namespace ringflow {
namespace {

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

}  // namespace

SetWalk read_template_record(WireVersion v, bool options, const uint8_t* p, size_t avail,
                             TemplateRecordView* out, TemplateProblem* problem,
                             bool v9_variable_length) {
  *problem = TemplateProblem::kNone;
  *out = TemplateRecordView{};
  out->options = options;
  out->var65535 = v == WireVersion::kIpfix || v9_variable_length;
  out->raw = p;
  const bool v9 = v == WireVersion::kV9;
  // Padding: too short for the smallest record header, or zeros where the
  // next record would start (a zero template id is never valid).
  const size_t min_header = v9 && options ? v9::kOptionsTemplateHeaderSize : 4;
  if (avail < min_header || all_zero(p, avail)) return SetWalk::kEnd;

  const uint16_t id = wire::load_be16(p);
  out->template_id = id;
  size_t off;
  if (v9) {
    if (options) {
      const uint16_t scope_len = wire::load_be16(p + 2);
      const uint16_t opt_len = wire::load_be16(p + 4);
      off = v9::kOptionsTemplateHeaderSize;
      if (scope_len % v9::kFieldSpecSize != 0 || opt_len % v9::kFieldSpecSize != 0 ||
          scope_len + opt_len == 0) {
        out->raw_len = avail;
        *problem = TemplateProblem::kBadScope;
        return SetWalk::kRecord;
      }
      out->scope_count = static_cast<uint16_t>(scope_len / v9::kFieldSpecSize);
      out->field_count = static_cast<uint16_t>((scope_len + opt_len) / v9::kFieldSpecSize);
    } else {
      out->field_count = wire::load_be16(p + 2);
      off = v9::kTemplateHeaderSize;
    }
    if (size_t{out->field_count} * v9::kFieldSpecSize > avail - off) {
      out->raw_len = avail;
      *problem = TemplateProblem::kTruncated;
      return SetWalk::kRecord;
    }
    out->raw_len = off + size_t{out->field_count} * v9::kFieldSpecSize;
    if (id < v9::kMinDataSetId) {
      *problem = TemplateProblem::kBadId;
    } else if (out->field_count == 0) {
      *problem = TemplateProblem::kZeroFields;
    }
  } else {
    out->field_count = wire::load_be16(p + 2);
    off = ipfix::kTemplateHeaderSize;
    if (out->field_count == 0) {
      // Withdrawal: id + count only, in template and options template sets.
      out->raw_len = off;
      out->withdrawal = true;
      const uint16_t all = options ? ipfix::kWithdrawAllOptionsTemplates
                                   : ipfix::kWithdrawAllTemplates;
      if (id < ipfix::kMinDataSetId && id != all) *problem = TemplateProblem::kBadId;
      return SetWalk::kRecord;
    }
    if (options) {
      if (avail < ipfix::kOptionsTemplateHeaderSize) {
        out->raw_len = avail;
        *problem = TemplateProblem::kTruncated;
        return SetWalk::kRecord;
      }
      out->scope_count = wire::load_be16(p + 4);
      off = ipfix::kOptionsTemplateHeaderSize;
    }
    // Walk the specifiers: an enterprise bit adds 4 bytes.
    for (uint16_t i = 0; i < out->field_count; ++i) {
      if (avail - off < ipfix::kFieldSpecSize) {
        out->raw_len = avail;
        *problem = TemplateProblem::kTruncated;
        return SetWalk::kRecord;
      }
      const bool enterprise = (wire::load_be16(p + off) & ipfix::kEnterpriseBit) != 0;
      off += ipfix::kFieldSpecSize;
      if (enterprise) {
        if (avail - off < ipfix::kEnterpriseSize) {
          out->raw_len = avail;
          *problem = TemplateProblem::kTruncated;
          return SetWalk::kRecord;
        }
        off += ipfix::kEnterpriseSize;
      }
    }
    out->raw_len = off;
    if (id < ipfix::kMinDataSetId) {
      *problem = TemplateProblem::kBadId;
    } else if (options && (out->scope_count == 0 || out->scope_count > out->field_count)) {
      *problem = TemplateProblem::kBadScope;
    }
  }
  if (*problem != TemplateProblem::kNone) return SetWalk::kRecord;
  if (out->field_count > kMaxTemplateFields) {
    *problem = TemplateProblem::kTooManyFields;
    return SetWalk::kRecord;
  }
  // The data record it describes: fixed lengths add up; a variable-length
  // field (IPFIX only) takes at least its 1-byte length prefix.
  size_t min_len = 0;
  for_each_template_field(v, *out, [&](const TemplateField& f) {
    min_len += is_variable_length(*out, f.length) ? 1 : f.length;
  });
  if (min_len > 65535) {
    *problem = TemplateProblem::kRecordTooLong;
  } else if (min_len == 0) {
    *problem = TemplateProblem::kZeroLength;
  }
  return SetWalk::kRecord;
}

}  // namespace ringflow
