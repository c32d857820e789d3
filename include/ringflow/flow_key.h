// The aggregation key: which fields of a flow record (and of its exporter)
// identify a row of the per-interval tables, and how they are laid out as
// packed bytes.
//
// aggregate.key is a list of field names, in the order the sinks print them:
//   src_addr dst_addr nexthop   IPv4 or IPv6. "/N" keeps N bits of IPv4
//                               addresses (0..32) and IPv6 ones whole;
//                               "/N/M" keeps N bits of IPv4, M of IPv6 (0..128)
//   exporter                    the datagram's source address. "/N" (0..128):
//                               IPv4 exporters keep min(N, 32) bits, IPv6 N
//                               bits; "/N/M" as above
//   src_port dst_port input output src_as dst_as protocol tos tcp_flags
//   src_mask dst_mask           as the record carries them
//   engine_type engine_id       v5's engine; v9/IPFIX: bytes 3 and 4 of the
//                               domain (Cisco's convention for source_id)
//   domain                      v5 engine_type << 8 | engine_id, v9
//                               source_id, IPFIX observation domain
//   version                     5, 9 or 10
//   ip_version                  4 or 6 (0: the record has no address)
//   direction                   flowDirection: 0 ingress, 1 egress, 255 not sent
//   vlan sampler                vlanId; samplerId / selectorId
//   sampling                    the sampling rate applied to the record (1 = none)
//   src_net dst_net             enrichment (docs/enrichment.md; [enrich] in the
//   src_net_role dst_net_role   config): the name, role, site, region and
//   src_net_site dst_net_site   tenant of the longest networks-file prefix
//   src_net_region dst_net_region  holding the address; interned ids (4 bytes),
//   src_net_tenant dst_net_tenant  printed as the strings, empty when none
//   src_as_name dst_as_name     the AS organisation of src_as / dst_as (from the
//                               ASN MMDB), an interned id
//   src_country dst_country     ISO 3166 code from the country MMDB (2 bytes)
//   src_as_source dst_as_source which source gave src_as / dst_as: record,
//                               networks, mmdb or empty
//   exporter_name exporter_site exporter_region exporter_role exporter_tenant
//                               the exporter catalogue (enrich.catalogue,
//                               src/enrich/catalogue.h): interned ids
//   in_if_name out_if_name in_if_description out_if_description
//   in_if_boundary out_if_boundary in_if_provider out_if_provider
//   in_if_connectivity out_if_connectivity
//                               the catalogue's (or its rules') entry for
//                               (exporter, input / output): interned ids
//   in_if_speed out_if_speed    its speed in Mbit/s, 0 when unknown
// e.g. ["src_addr/24/64", "dst_addr/24/64", "protocol"]. The default is the
// 5-tuple (src_addr, dst_addr, src_port, dst_port, protocol); an empty list
// gives one row per interval (the totals).
//
// Two layouts: a key is packed into 8-byte words at the offsets computed
// here, unused bytes zero, so the table can hash and compare it as whole
// words. The narrow layout holds src_addr, dst_addr and nexthop as 4-byte
// IPv4 addresses; the wide layout as 16 bytes (IPv4 v4-mapped). A record all
// of whose key addresses are IPv4 (or absent) is packed narrow, any other
// wide, and the two go to separate tables: IPv4 traffic keeps the compact key
// it always had (the 5-tuple is 2 words, one cache line per table slot), and
// IPv6 costs only when it is there. A key without those three fields has one
// layout (both are the same). Packing itself is in src/aggregate/key_codec.h
// (hot path); parsing lives here, inline, so that the config validator can
// call KeySchema::parse without linking the aggregate stage.
//
// Thread safety: KeySchema is a value built at start-up and then only read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/ip.h>

namespace ringflow {
namespace enrich {
struct ExporterEntry;
}

// What the worker passes along with a run of records of one datagram, PDU or
// data set: who sent them, how, and when they arrived.
struct FlowContext {
  IpAddr exporter;            // source address of the datagram
  uint32_t domain = 0;        // v5 engine_type << 8 | engine_id; v9 source_id; IPFIX domain
  uint8_t version = 5;        // the version number as sent: 5, 9, 10; 5 for sFlow v5 too
                              // (the `version` key field; aggregate cannot see the registry)
  uint8_t format = 0;         // the format id (row of src/decode/wire_formats.h)
  uint16_t template_id = 0;   // v9/IPFIX template of the set (--print-flows)
  int64_t arrival_ms = 0;     // receive time, ms since the Unix epoch
  // Set per chunk by the catalogue stage (src/pipeline/catalogue_stage.h),
  // read by the key packer: the exporter's catalogue entry, valid until the
  // stage's next chunk; nullptr without enrich.catalogue. Mutable because
  // stages receive the context const (they only annotate it).
  mutable const enrich::ExporterEntry* catalogue = nullptr;
};

enum class KeyField : uint8_t {
  kSrcAddr,
  kDstAddr,
  kNextHop,
  kSrcPort,
  kDstPort,
  kProtocol,
  kTos,
  kTcpFlags,
  kInput,
  kOutput,
  kSrcAs,
  kDstAs,
  kSrcMask,
  kDstMask,
  kExporter,
  kEngineType,
  kEngineId,
  kIpVersion,
  kDirection,
  kVlan,
  kDomain,
  kSampler,
  kVersion,
  kSampling,
  // Enrichment (src/pipeline/enrich_stage.h): interned ids and codes.
  kSrcNet,
  kDstNet,
  kSrcNetRole,
  kDstNetRole,
  kSrcNetSite,
  kDstNetSite,
  kSrcNetRegion,
  kDstNetRegion,
  kSrcNetTenant,
  kDstNetTenant,
  kSrcAsName,
  kDstAsName,
  kSrcCountry,
  kDstCountry,
  kSrcAsSource,
  kDstAsSource,
  // The exporter and interface catalogue (src/pipeline/catalogue_stage.h).
  kExporterName,
  kExporterSite,
  kExporterRegion,
  kExporterRole,
  kExporterTenant,
  kInIfName,
  kOutIfName,
  kInIfDescription,
  kOutIfDescription,
  kInIfSpeed,
  kOutIfSpeed,
  kInIfBoundary,
  kOutIfBoundary,
  kInIfProvider,
  kOutIfProvider,
  kInIfConnectivity,
  kOutIfConnectivity,
};
inline constexpr size_t kKeyFieldCount = 57;
// Every field once: 72 + 54 + 68 bytes narrow, 108 + 54 + 68 wide.
inline constexpr uint32_t kMaxKeyWords = 29;

// Key layouts: 0 = narrow (IPv4 record addresses in 4 bytes), 1 = wide.
inline constexpr uint8_t kNarrow = 0, kWide = 1;

enum class AddrKind : uint8_t {
  kNone,      // not an address
  kRecord,    // src_addr, dst_addr, nexthop: 4 bytes narrow, 16 wide
  kExporter,  // 16 bytes in both layouts
};

// How a non-address field's packed value prints.
enum class TextKind : uint8_t {
  kNumber,    // decimal
  kName,      // an id of the process's Interner (src/enrich/names.h): its string
  kCountry,   // two ASCII letters (first in the low byte); 0 = empty
  kAsSource,  // kAsSourceNames below
};

struct KeyFieldInfo {
  std::string_view name;
  uint8_t width;  // packed bytes (narrow layout; address fields: 16 wide)
  AddrKind addr = AddrKind::kNone;
  TextKind text = TextKind::kNumber;
};

// Which source gave a resolved AS number (FlowRecord::flags, enrich stage).
inline constexpr std::string_view kAsSourceNames[] = {"", "record", "networks", "mmdb"};

inline constexpr KeyFieldInfo kKeyFieldInfo[kKeyFieldCount] = {
    {"src_addr", 4, AddrKind::kRecord}, {"dst_addr", 4, AddrKind::kRecord},
    {"nexthop", 4, AddrKind::kRecord},  {"src_port", 2},
    {"dst_port", 2},                    {"protocol", 1},
    {"tos", 1},                         {"tcp_flags", 1},
    {"input", 4},                       {"output", 4},
    {"src_as", 4},                      {"dst_as", 4},
    {"src_mask", 1},                    {"dst_mask", 1},
    {"exporter", 16, AddrKind::kExporter}, {"engine_type", 1},
    {"engine_id", 1},                   {"ip_version", 1},
    {"direction", 1},                   {"vlan", 2},
    {"domain", 4},                      {"sampler", 4},
    {"version", 1},                     {"sampling", 4},
    {"src_net", 4, AddrKind::kNone, TextKind::kName},
    {"dst_net", 4, AddrKind::kNone, TextKind::kName},
    {"src_net_role", 4, AddrKind::kNone, TextKind::kName},
    {"dst_net_role", 4, AddrKind::kNone, TextKind::kName},
    {"src_net_site", 4, AddrKind::kNone, TextKind::kName},
    {"dst_net_site", 4, AddrKind::kNone, TextKind::kName},
    {"src_net_region", 4, AddrKind::kNone, TextKind::kName},
    {"dst_net_region", 4, AddrKind::kNone, TextKind::kName},
    {"src_net_tenant", 4, AddrKind::kNone, TextKind::kName},
    {"dst_net_tenant", 4, AddrKind::kNone, TextKind::kName},
    {"src_as_name", 4, AddrKind::kNone, TextKind::kName},
    {"dst_as_name", 4, AddrKind::kNone, TextKind::kName},
    {"src_country", 2, AddrKind::kNone, TextKind::kCountry},
    {"dst_country", 2, AddrKind::kNone, TextKind::kCountry},
    {"src_as_source", 1, AddrKind::kNone, TextKind::kAsSource},
    {"dst_as_source", 1, AddrKind::kNone, TextKind::kAsSource},
    {"exporter_name", 4, AddrKind::kNone, TextKind::kName},
    {"exporter_site", 4, AddrKind::kNone, TextKind::kName},
    {"exporter_region", 4, AddrKind::kNone, TextKind::kName},
    {"exporter_role", 4, AddrKind::kNone, TextKind::kName},
    {"exporter_tenant", 4, AddrKind::kNone, TextKind::kName},
    {"in_if_name", 4, AddrKind::kNone, TextKind::kName},
    {"out_if_name", 4, AddrKind::kNone, TextKind::kName},
    {"in_if_description", 4, AddrKind::kNone, TextKind::kName},
    {"out_if_description", 4, AddrKind::kNone, TextKind::kName},
    {"in_if_speed", 4},
    {"out_if_speed", 4},
    {"in_if_boundary", 4, AddrKind::kNone, TextKind::kName},
    {"out_if_boundary", 4, AddrKind::kNone, TextKind::kName},
    {"in_if_provider", 4, AddrKind::kNone, TextKind::kName},
    {"out_if_provider", 4, AddrKind::kNone, TextKind::kName},
    {"in_if_connectivity", 4, AddrKind::kNone, TextKind::kName},
    {"out_if_connectivity", 4, AddrKind::kNone, TextKind::kName},
};
static_assert(sizeof(kKeyFieldInfo) / sizeof(kKeyFieldInfo[0]) == kKeyFieldCount);

inline constexpr const KeyFieldInfo& key_field_info(KeyField f) {
  return kKeyFieldInfo[static_cast<size_t>(f)];
}
inline constexpr bool key_field_is_address(KeyField f) {
  return key_field_info(f).addr != AddrKind::kNone;
}
// Whether the field prints as a string that is not an address (a name, a
// country code, an AS source): quoted in JSON, String in ClickHouse.
inline constexpr bool key_field_is_text(KeyField f) {
  return key_field_info(f).text != TextKind::kNumber;
}
// Whether the field is filled by an enrichment stage ([enrich] in the config).
inline constexpr bool key_field_is_enriched(KeyField f) {
  return static_cast<size_t>(f) >= static_cast<size_t>(KeyField::kSrcNet);
}
// Whether the field comes from the exporter catalogue (enrich.catalogue).
inline constexpr bool key_field_is_catalogue(KeyField f) {
  return static_cast<size_t>(f) >= static_cast<size_t>(KeyField::kExporterName);
}
// Packed bytes of field f in layout `layout`.
inline constexpr uint8_t key_field_width(KeyField f, uint8_t layout) {
  return key_field_info(f).addr == AddrKind::kRecord && layout == kWide ? 16
                                                                        : key_field_info(f).width;
}

struct KeyFieldSpec {
  KeyField field = KeyField::kSrcAddr;
  // Bits kept of IPv4 and of IPv6 addresses (address fields only).
  uint8_t prefix4 = 32, prefix6 = 128;
  bool has_prefix = false;   // "/N" was given (IPv4 rows print "/N")
  bool has_prefix6 = false;  // an IPv6 prefix was given ("/N/M", or exporter's "/N"): IPv6 rows print "/M"
  bool two_prefixes = false; // written "/N/M"
  uint8_t offset[2] = {0, 0};  // byte offset in the packed key, per layout
};

class KeySchema {
 public:
  // The default 5-tuple.
  KeySchema() { parse({"src_addr", "dst_addr", "src_port", "dst_port", "protocol"}, this, nullptr); }

  // Parses aggregate.key. On error returns false, leaves *out unchanged and
  // sets *error (if given) to a sentence naming the bad entry.
  static bool parse(const std::vector<std::string>& names, KeySchema* out, std::string* error) {
    KeySchema s(Empty{});
    uint64_t seen = 0;
    for (const std::string& entry : names) {
      std::string_view text = entry;
      std::string_view base = text.substr(0, text.find('/'));
      size_t idx = kKeyFieldCount;
      for (size_t i = 0; i < kKeyFieldCount; ++i)
        if (kKeyFieldInfo[i].name == base) idx = i;
      if (idx == kKeyFieldCount) {
        return fail(error, "unknown key field \"" + entry + "\" (expected one of: " +
                               all_names() + ", with /N or /N/M on address fields)");
      }
      if (seen & (uint64_t{1} << idx)) return fail(error, "key field \"" + std::string(base) + "\" listed twice");
      seen |= uint64_t{1} << idx;
      const KeyFieldInfo& info = kKeyFieldInfo[idx];
      KeyFieldSpec f;
      f.field = static_cast<KeyField>(idx);
      if (base.size() != text.size()) {
        if (info.addr == AddrKind::kNone) {
          return fail(error, "key field \"" + entry + "\": a /N prefix is only allowed on "
                             "src_addr, dst_addr, nexthop and exporter");
        }
        std::string_view rest = text.substr(base.size() + 1);
        const size_t slash = rest.find('/');
        unsigned a = 0, b = 0;
        if (!number(rest.substr(0, slash), &a)) return bad_prefix(error, entry, info);
        if (slash != std::string_view::npos) {
          if (!number(rest.substr(slash + 1), &b) || a > 32 || b > 128)
            return bad_prefix(error, entry, info);
          f.prefix4 = static_cast<uint8_t>(a);
          f.prefix6 = static_cast<uint8_t>(b);
          f.has_prefix6 = f.two_prefixes = true;
        } else if (info.addr == AddrKind::kExporter) {
          if (a > 128) return bad_prefix(error, entry, info);
          f.prefix4 = static_cast<uint8_t>(a < 32 ? a : 32);
          f.prefix6 = static_cast<uint8_t>(a);
          f.has_prefix6 = true;
        } else {
          if (a > 32) return bad_prefix(error, entry, info);
          f.prefix4 = static_cast<uint8_t>(a);
        }
        f.has_prefix = true;
      }
      for (uint8_t l : {kNarrow, kWide}) {
        f.offset[l] = s.bytes_[l];
        s.bytes_[l] = static_cast<uint8_t>(s.bytes_[l] + key_field_width(f.field, l));
      }
      if (info.addr == AddrKind::kRecord) s.two_layouts_ = true;
      s.fields_.push_back(f);
    }
    *out = std::move(s);
    return true;
  }

  const std::vector<KeyFieldSpec>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  // Whether records can pack wide (the key has src_addr, dst_addr or nexthop).
  bool two_layouts() const { return two_layouts_; }
  uint32_t key_bytes(uint8_t layout = kNarrow) const { return bytes_[layout]; }
  // Words a packed key occupies; at least 1 so that the empty key is one
  // all-zero word and needs no special case in the table.
  uint32_t key_words(uint8_t layout = kNarrow) const {
    return bytes_[layout] == 0 ? 1 : (bytes_[layout] + 7u) / 8u;
  }

  // Column name of field i (the base name, without "/N").
  std::string_view column(size_t i) const { return key_field_info(fields_[i].field).name; }

  // "src_addr/24,dst_addr,protocol" (the form accepted by parse, comma-joined).
  std::string str() const {
    std::string s;
    for (const KeyFieldSpec& f : fields_) {
      if (!s.empty()) s += ',';
      s += key_field_info(f.field).name;
      if (!f.has_prefix) continue;
      if (f.two_prefixes) {
        s += '/' + std::to_string(f.prefix4) + '/' + std::to_string(f.prefix6);
      } else {
        s += '/' + std::to_string(key_field_info(f.field).addr == AddrKind::kExporter ? f.prefix6
                                                                                     : f.prefix4);
      }
    }
    return s;
  }

 private:
  struct Empty {};
  explicit KeySchema(Empty) {}

  static bool number(std::string_view num, unsigned* v) {
    if (num.empty() || num.size() > 3) return false;
    *v = 0;
    for (char c : num) {
      if (c < '0' || c > '9') return false;
      *v = *v * 10 + static_cast<unsigned>(c - '0');
    }
    return true;
  }
  static bool bad_prefix(std::string* error, const std::string& entry, const KeyFieldInfo& info) {
    return fail(error, "key field \"" + entry + "\": prefix must be " +
                           (info.addr == AddrKind::kExporter ? std::string("0..128")
                                                             : std::string("0..32")) +
                           ", or N/M with N in 0..32 (IPv4) and M in 0..128 (IPv6)");
  }
  static bool fail(std::string* error, std::string msg) {
    if (error) *error = std::move(msg);
    return false;
  }
  static std::string all_names() {
    std::string s;
    for (const KeyFieldInfo& i : kKeyFieldInfo) {
      if (!s.empty()) s += ", ";
      s += i.name;
    }
    return s;
  }

  std::vector<KeyFieldSpec> fields_;
  uint8_t bytes_[2] = {0, 0};
  bool two_layouts_ = false;
};

}  // namespace ringflow
