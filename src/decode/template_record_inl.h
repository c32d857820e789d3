// Inline part of src/decode/template_record.h (the field walk is a template so
// that its callers' lambdas inline). Include template_record.h, not this.
#pragma once

#include "wire/bytes.h"
#include "wire/ipfix.h"
#include "wire/netflow9.h"

namespace ringflow {

template <class F>
void for_each_template_field(WireVersion v, const TemplateRecordView& t, F&& f) {
  const uint8_t* p = t.raw;
  size_t off;
  if (v == WireVersion::kV9) {
    off = t.options ? v9::kOptionsTemplateHeaderSize : v9::kTemplateHeaderSize;
    for (uint16_t i = 0; i < t.field_count; ++i, off += v9::kFieldSpecSize) {
      TemplateField fd;
      fd.id = wire::load_be16(p + off);
      fd.length = wire::load_be16(p + off + 2);
      fd.scope = i < t.scope_count;
      f(fd);
    }
    return;
  }
  off = t.options ? ipfix::kOptionsTemplateHeaderSize : ipfix::kTemplateHeaderSize;
  for (uint16_t i = 0; i < t.field_count; ++i) {
    TemplateField fd;
    const uint16_t id = wire::load_be16(p + off);
    fd.id = id & static_cast<uint16_t>(~ipfix::kEnterpriseBit);
    fd.length = wire::load_be16(p + off + 2);
    off += ipfix::kFieldSpecSize;
    if (id & ipfix::kEnterpriseBit) {
      fd.pen = wire::load_be32(p + off);
      off += ipfix::kEnterpriseSize;
    }
    fd.scope = i < t.scope_count;
    f(fd);
  }
}

}  // namespace ringflow
