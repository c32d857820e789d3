#include "aggregate/key_codec.h"

#include <algorithm>
#include <charconv>

#include "enrich/catalogue.h"
#include "enrich/names.h"

namespace ringflow {
namespace {

// ORs the low `width` bytes of v in at byte `offset` of the little-endian
// word array (the same bytes a memcpy of v at that offset would write).
inline void place_bytes(uint64_t* w, unsigned offset, uint64_t v, unsigned width) {
  const unsigned i = offset / 8, shift = (offset % 8) * 8;
  w[i] |= v << shift;
  if (shift + width * 8 > 64) w[i + 1] |= v >> (64 - shift);
}

inline void place_addr16(uint64_t* w, unsigned offset, const uint8_t* b) {
  uint64_t lo, hi;
  std::memcpy(&lo, b, 8);
  std::memcpy(&hi, b + 8, 8);
  place_bytes(w, offset, lo, 8);
  place_bytes(w, offset + 8u, hi, 8);
}

uint64_t load(const uint8_t* p, unsigned width) {
  switch (width) {
    case 1: return *p;
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
  }
  return 0;
}

const enrich::IfaceEntry kNoIface{};
const enrich::ExporterEntry kNoExporter{};

bool is_v4_mapped(const uint8_t* b) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b, kPrefix, 12) == 0;
}

}  // namespace

void mask_bits(uint8_t* d, unsigned bits) {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bit = i * 8;
    if (bit >= bits) {
      d[i] = 0;
    } else if (bit + 8 > bits) {
      d[i] &= static_cast<uint8_t>(0xFF00u >> (bits - bit));
    }
  }
}

KeyPacker::KeyPacker(const KeySchema& schema)
    : words_{schema.key_words(kNarrow), schema.key_words(kWide)} {
  for (const KeyFieldSpec& f : schema.fields())
    ops_.push_back(Op{f.field, {f.offset[0], f.offset[1]}, f.prefix4, f.prefix6, v4_mask(f.prefix4)});
  five_tuple_ = schema.str() == KeySchema().str();
}

uint8_t KeyPacker::pack_general(const FlowRecord& r, const FlowContext& ctx, uint64_t* out) const {
  // The layout first: narrow unless a key address of the record is IPv6.
  uint8_t layout = kNarrow;
  uint32_t v4[3] = {0, 0, 0};  // src, dst, nexthop (host order) when narrow
  for (const Op& op : ops_) {
    const IpAddr* a = op.field == KeyField::kSrcAddr   ? &r.src
                      : op.field == KeyField::kDstAddr ? &r.dst
                      : op.field == KeyField::kNextHop ? &r.nexthop
                                                       : nullptr;
    if (a && !narrow_v4(*a, &v4[a == &r.src ? 0 : a == &r.dst ? 1 : 2])) layout = kWide;
  }
  uint64_t w[kMaxKeyWords + 1] = {};  // +1: a field may straddle into the next word
  // The catalogue's interface entries, looked up once per record when a
  // field needs them (CatalogueStage sets ctx.catalogue; without it, empty).
  const enrich::ExporterEntry& ex = ctx.catalogue ? *ctx.catalogue : kNoExporter;
  const enrich::IfaceEntry* in_if = nullptr;
  const enrich::IfaceEntry* out_if = nullptr;
  auto in_iface = [&]() -> const enrich::IfaceEntry& {
    if (!in_if) in_if = ctx.catalogue ? &ex.iface(r.input) : &kNoIface;
    return *in_if;
  };
  auto out_iface = [&]() -> const enrich::IfaceEntry& {
    if (!out_if) out_if = ctx.catalogue ? &ex.iface(r.output) : &kNoIface;
    return *out_if;
  };
  for (const Op& op : ops_) {
    const unsigned off = op.offset[layout];
    auto put = [&](uint64_t v) { place_bytes(w, off, v, key_field_width(op.field, layout)); };
    auto put_addr = [&](const IpAddr& a, uint32_t host4) {
      if (layout == kNarrow) {
        put(host4 & op.mask4);
        return;
      }
      uint8_t b[16];
      std::memcpy(b, a.bytes.data(), 16);
      mask_bits(b, is_v4_mapped(b) ? 96u + op.prefix4 : op.prefix6);
      place_addr16(w, off, b);
    };
    switch (op.field) {
      case KeyField::kSrcAddr: put_addr(r.src, v4[0]); break;
      case KeyField::kDstAddr: put_addr(r.dst, v4[1]); break;
      case KeyField::kNextHop: put_addr(r.nexthop, v4[2]); break;
      case KeyField::kSrcPort: put(r.src_port); break;
      case KeyField::kDstPort: put(r.dst_port); break;
      case KeyField::kProtocol: put(r.protocol); break;
      case KeyField::kTos: put(r.tos); break;
      case KeyField::kTcpFlags: put(r.tcp_flags); break;
      case KeyField::kInput: put(r.input); break;
      case KeyField::kOutput: put(r.output); break;
      case KeyField::kSrcAs: put(r.src_as); break;
      case KeyField::kDstAs: put(r.dst_as); break;
      case KeyField::kSrcMask: put(r.src_mask); break;
      case KeyField::kDstMask: put(r.dst_mask); break;
      case KeyField::kExporter: {
        uint8_t b[16];
        std::memcpy(b, ctx.exporter.bytes.data(), 16);
        mask_bits(b, ctx.exporter.is_v4() ? 96u + op.prefix4 : op.prefix6);
        place_addr16(w, off, b);
        break;
      }
      case KeyField::kEngineType: put((ctx.domain >> 8) & 0xFF); break;
      case KeyField::kEngineId: put(ctx.domain & 0xFF); break;
      case KeyField::kIpVersion: put(r.ip_version); break;
      case KeyField::kDirection: put(r.direction); break;
      case KeyField::kVlan: put(r.vlan); break;
      case KeyField::kDomain: put(ctx.domain); break;
      case KeyField::kSampler: put(r.sampler_id); break;
      case KeyField::kVersion: put(ctx.version); break;
      case KeyField::kSampling: put(r.sampling); break;
      // Enrichment (src/pipeline/enrich_stage.h): names as interned ids.
      case KeyField::kSrcNet: put(enrich::net_tuple(r.enrich[kEnrichSrcNet]).name); break;
      case KeyField::kDstNet: put(enrich::net_tuple(r.enrich[kEnrichDstNet]).name); break;
      case KeyField::kSrcNetRole: put(enrich::net_tuple(r.enrich[kEnrichSrcNet]).role); break;
      case KeyField::kDstNetRole: put(enrich::net_tuple(r.enrich[kEnrichDstNet]).role); break;
      case KeyField::kSrcNetSite: put(enrich::net_tuple(r.enrich[kEnrichSrcNet]).site); break;
      case KeyField::kDstNetSite: put(enrich::net_tuple(r.enrich[kEnrichDstNet]).site); break;
      case KeyField::kSrcNetRegion: put(enrich::net_tuple(r.enrich[kEnrichSrcNet]).region); break;
      case KeyField::kDstNetRegion: put(enrich::net_tuple(r.enrich[kEnrichDstNet]).region); break;
      case KeyField::kSrcNetTenant: put(enrich::net_tuple(r.enrich[kEnrichSrcNet]).tenant); break;
      case KeyField::kDstNetTenant: put(enrich::net_tuple(r.enrich[kEnrichDstNet]).tenant); break;
      case KeyField::kSrcAsName: put(enrich::as_names().get(r.src_as)); break;
      case KeyField::kDstAsName: put(enrich::as_names().get(r.dst_as)); break;
      case KeyField::kSrcCountry: put(r.enrich[kEnrichSrcCountry]); break;
      case KeyField::kDstCountry: put(r.enrich[kEnrichDstCountry]); break;
      case KeyField::kSrcAsSource: put((r.as_sources >> kFlowSrcAsSourceShift) & 3u); break;
      case KeyField::kDstAsSource: put((r.as_sources >> kFlowDstAsSourceShift) & 3u); break;
      // The exporter catalogue (src/pipeline/catalogue_stage.h).
      case KeyField::kExporterName: put(ex.name); break;
      case KeyField::kExporterSite: put(ex.site); break;
      case KeyField::kExporterRegion: put(ex.region); break;
      case KeyField::kExporterRole: put(ex.role); break;
      case KeyField::kExporterTenant: put(ex.tenant); break;
      case KeyField::kInIfName: put(in_iface().name); break;
      case KeyField::kOutIfName: put(out_iface().name); break;
      case KeyField::kInIfDescription: put(in_iface().description); break;
      case KeyField::kOutIfDescription: put(out_iface().description); break;
      case KeyField::kInIfSpeed: put(in_iface().speed); break;
      case KeyField::kOutIfSpeed: put(out_iface().speed); break;
      case KeyField::kInIfBoundary: put(in_iface().boundary); break;
      case KeyField::kOutIfBoundary: put(out_iface().boundary); break;
      case KeyField::kInIfProvider: put(in_iface().provider); break;
      case KeyField::kOutIfProvider: put(out_iface().provider); break;
      case KeyField::kInIfConnectivity: put(in_iface().connectivity); break;
      case KeyField::kOutIfConnectivity: put(out_iface().connectivity); break;
    }
  }
  for (uint32_t i = 0; i < words_[layout]; ++i) out[i] = w[i];
  return layout;
}

char* format_ipv4(uint32_t v, char* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    unsigned b = (v >> shift) & 0xFF;
    if (b >= 100) {
      *out++ = static_cast<char>('0' + b / 100);
      *out++ = static_cast<char>('0' + b / 10 % 10);
    } else if (b >= 10) {
      *out++ = static_cast<char>('0' + b / 10);
    }
    *out++ = static_cast<char>('0' + b % 10);
    if (shift) *out++ = '.';
  }
  return out;
}

void key_field_address(const KeyFieldSpec& f, uint8_t layout, const uint8_t* key, uint8_t* out) {
  const uint8_t* p = key + f.offset[layout];
  if (key_field_width(f.field, layout) == 16) {
    std::memcpy(out, p, 16);
    return;
  }
  const uint32_t v = static_cast<uint32_t>(load(p, 4));
  IpAddr a = IpAddr::from_v4(v);
  std::memcpy(out, a.bytes.data(), 16);
}

std::string_view key_field_text(const KeyFieldSpec& f, uint8_t layout, const uint8_t* key,
                                char* tmp) {
  const uint64_t v = load(key + f.offset[layout], key_field_width(f.field, layout));
  switch (key_field_info(f.field).text) {
    case TextKind::kName: return enrich::names().str(static_cast<uint32_t>(v));
    case TextKind::kCountry:
      if (v == 0) return {};
      tmp[0] = static_cast<char>(v & 0xFF);
      tmp[1] = static_cast<char>(v >> 8);
      return {tmp, 2};
    case TextKind::kAsSource:
      return v < std::size(kAsSourceNames) ? kAsSourceNames[v] : std::string_view();
    case TextKind::kNumber: break;
  }
  return {};
}

char* format_key_field(const KeyFieldSpec& f, uint8_t layout, const uint8_t* key, char* out) {
  const uint8_t* p = key + f.offset[layout];
  if (key_field_is_text(f.field)) {
    char tmp[2];
    const std::string_view t = key_field_text(f, layout, key, tmp);
    const size_t n = std::min(t.size(), kMaxFieldText);
    std::memcpy(out, t.data(), n);
    return out + n;
  }
  if (!key_field_is_address(f.field))
    return std::to_chars(out, out + kMaxFieldText, load(p, key_field_width(f.field, layout))).ptr;
  bool v4;
  if (key_field_width(f.field, layout) == 4) {
    out = format_ipv4(static_cast<uint32_t>(load(p, 4)), out);
    v4 = true;
  } else {
    IpAddr a;
    std::memcpy(a.bytes.data(), p, 16);
    v4 = a.is_v4();
    if (v4) {
      out = format_ipv4(a.v4(), out);
    } else {
      const std::string s = a.str();
      std::memcpy(out, s.data(), s.size());
      out += s.size();
    }
  }
  if (v4 ? !f.has_prefix : !f.has_prefix6) return out;
  *out++ = '/';
  return std::to_chars(out, out + 4, unsigned{v4 ? f.prefix4 : f.prefix6}).ptr;
}

uint64_t key_field_number(const KeyFieldSpec& f, uint8_t layout, const uint8_t* key) {
  if (key_field_is_address(f.field)) return 0;
  return load(key + f.offset[layout], key_field_width(f.field, layout));
}

std::vector<std::string> key_field_texts(const KeySchema& schema, uint8_t layout,
                                         const uint8_t* key) {
  std::vector<std::string> v;
  char buf[kMaxFieldText];
  for (const KeyFieldSpec& f : schema.fields()) {
    if (key_field_is_text(f.field)) {
      v.emplace_back(key_field_text(f, layout, key, buf));
    } else {
      v.emplace_back(buf, format_key_field(f, layout, key, buf));
    }
  }
  return v;
}

}  // namespace ringflow
