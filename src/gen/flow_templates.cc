#include "gen/flow_templates.h"

#include <algorithm>
#include <cstring>

#include "wire/bytes.h"
#include "wire/ie.h"
#include "wire/ipfix.h"
#include "wire/netflow9.h"
#include "wire/v5.h"

namespace ringflow::gen {
namespace {

TemplateSpec data_spec(const GenConfig& cfg, bool v6, bool layout_b, bool sampling) {
  const bool ipfix = cfg.protocol == Protocol::kIpfix;
  const uint16_t counter = ipfix ? 8 : 4;
  TemplateSpec t;
  t.id = v6 ? kTemplateV6 : kTemplateV4;
  auto add = [&](uint16_t id, uint16_t len, uint32_t pen = 0) { t.fields.push_back({id, len, pen}); };
  if (v6) {
    add(ie::kSourceIPv6Address, 16);
    add(ie::kDestinationIPv6Address, 16);
  } else {
    add(ie::kSourceIPv4Address, 4);
    add(ie::kDestinationIPv4Address, 4);
  }
  add(ie::kSourceTransportPort, 2);
  add(ie::kDestinationTransportPort, 2);
  add(ie::kProtocolIdentifier, 1);
  add(ie::kIpClassOfService, 1);
  add(ie::kTcpControlBits, 1);
  add(ie::kIngressInterface, 4);
  add(ie::kEgressInterface, 4);
  add(ie::kPacketDeltaCount, counter);
  add(ie::kOctetDeltaCount, counter);
  if (!ipfix) {
    add(ie::kFlowStartSysUpTime, 4);
    add(ie::kFlowEndSysUpTime, 4);
  } else if (cfg.ipfix_delta_time) {
    add(ie::kFlowStartDeltaMicroseconds, 4);
    add(ie::kFlowEndDeltaMicroseconds, 4);
  } else {
    add(ie::kFlowStartMilliseconds, 8);
    add(ie::kFlowEndMilliseconds, 8);
  }
  add(ie::kBgpSourceAsNumber, 4);
  add(ie::kBgpDestinationAsNumber, 4);
  if (v6) {
    add(ie::kSourceIPv6PrefixLength, 1);
    add(ie::kDestinationIPv6PrefixLength, 1);
    add(ie::kIpNextHopIPv6Address, 16);
  } else {
    add(ie::kSourceIPv4PrefixLength, 1);
    add(ie::kDestinationIPv4PrefixLength, 1);
    add(ie::kIpNextHopIPv4Address, 4);
  }
  add(ie::kFlowDirection, 1);
  if (sampling && !cfg.no_sampler_id) {
    if (ipfix) add(ie::kSelectorId, 4); else add(ie::kSamplerId, 1);
  }
  if (cfg.enterprise) add(kEnterpriseElement, 4, kEnterprisePen);
  if (cfg.varlen) add(ie::kApplicationName, ipfix::kVariableLength);
  if (layout_b) add(ie::kFlowEndReason, 1);
  return t;
}

// Byte offset of element `id` in a data record of t (fixed fields before it).
uint16_t offset_of(const TemplateSpec& t, uint16_t id) {
  size_t off = 0;
  for (const FieldSpec& f : t.fields) {
    if (f.id == id && f.pen == 0) return static_cast<uint16_t>(off);
    off += f.length;
  }
  return 0;
}

constexpr std::string_view kAppNames[] = {"https", "http", "dns", "ssh", "smtp", "ntp",
                                          "sip", "imaps", "http-alt", "quic", "icmp",
                                          "unclassified-application"};

}  // namespace

std::string if_name(uint32_t idx) { return "xe-0/0/" + std::to_string(idx); }
std::string if_description(uint32_t idx) { return "ringflow-gen port " + std::to_string(idx); }
std::string if_names_truth() {
  std::string s;
  for (uint32_t i = kIfNamesFirst; i <= kIfNamesLast; ++i) {
    if (i != kIfNamesFirst) s += ';';
    s += std::to_string(i) + "=" + if_name(i) + "=" + if_description(i);
  }
  return s;
}

namespace {
constexpr uint16_t kV9NameLen = 16, kV9DescriptionLen = 32;
constexpr uint16_t kV9ScopeInterface = 2;

// Bytes of the interface table's data set (header and padding included).
size_t if_names_set_size(bool ipfix) {
  size_t n = 4;
  for (uint32_t i = kIfNamesFirst; i <= kIfNamesLast; ++i)
    n += ipfix ? 4 + 1 + if_name(i).size() + 1 + if_description(i).size()
               : 4 + kV9NameLen + kV9DescriptionLen;
  return (n + 3) & ~size_t{3};
}
}  // namespace

FlowTemplates::FlowTemplates(const GenConfig& cfg, const TrafficModel& model)
    : version_(cfg.protocol == Protocol::kIpfix ? WireVersion::kIpfix : WireVersion::kV9),
      rates_(cfg.sampler_rates) {
  const bool ipfix = version_ == WireVersion::kIpfix;
  const bool sampling = !rates_.empty();
  has_[1] = model.v6_keys() > 0;
  has_[0] = model.v6_keys() < model.size();
  for (int v6 = 0; v6 < 2; ++v6) {
    for (int b = 0; b < 2; ++b) data_[v6][b] = data_spec(cfg, v6 != 0, b != 0, sampling);
    const TemplateSpec& t = data_[v6][0];
    Patch& p = patch_[v6];
    p.counter_len = ipfix ? 8 : 4;
    p.packets = offset_of(t, ie::kPacketDeltaCount);
    p.bytes = offset_of(t, ie::kOctetDeltaCount);
    p.tcp_flags = offset_of(t, ie::kTcpControlBits);
    if (!ipfix) {
      p.first = offset_of(t, ie::kFlowStartSysUpTime);
      p.last = offset_of(t, ie::kFlowEndSysUpTime);
      p.time_len = 4;
    } else if (cfg.ipfix_delta_time) {
      p.first = offset_of(t, ie::kFlowStartDeltaMicroseconds);
      p.last = offset_of(t, ie::kFlowEndDeltaMicroseconds);
      p.time_len = 4;
    } else {
      p.first = offset_of(t, ie::kFlowStartMilliseconds);
      p.last = offset_of(t, ie::kFlowEndMilliseconds);
      p.time_len = 8;
    }
  }

  options_.id = kTemplateOptions;
  options_.options = true;
  options_.scope_count = 1;
  if (ipfix) {
    options_.fields = {{ie::kSelectorId, 4},
                       {ie::kSelectorAlgorithm, 2},
                       {ie::kSamplingPacketInterval, 4},
                       {ie::kSamplingPacketSpace, 4}};
  } else {
    options_.fields = {{v9::kScopeSystem, 4},
                       {ie::kSamplerId, 1},
                       {ie::kSamplerMode, 1},
                       {ie::kSamplerRandomInterval, 4}};
  }
  var_probe_.id = kTemplateVarProbe;
  var_probe_.fields = {{ie::kApplicationName, ipfix::kVariableLength}};

  // Images: the fixed part of each family's record, plus the longest name.
  size_t longest = 0;
  for (auto n : kAppNames) longest = std::max(longest, n.size());
  stride_ = std::max(data_[0][0].fixed_record_len(), data_[1][0].fixed_record_len()) +
            (cfg.varlen ? 1 + longest : 0);
  stride_ = (stride_ + 7) & ~size_t{7};
  const uint32_t n = model.size();
  for (int v6 = 0; v6 < 2; ++v6) {
    const size_t longest_record =
        data_[v6][0].fixed_record_len() + (cfg.varlen ? 1 + longest : 0) + 1;
    copy_[v6] = longest_record <= 64 ? 64 : longest_record <= 128 ? 128 : 256;
  }
  images_.assign(size_t{n} * stride_ + 256, 0);
  len_.assign(n, 0);
  v6_.assign(n, 0);
  for (uint32_t k = 0; k < n; ++k) {
    const FlowKey& key = model.key(k);
    const uint8_t* v5r = model.record_template(k);
    FlowRecord r;
    r.src = model.src_addr(k);
    r.dst = model.dst_addr(k);
    r.src_port = key.sport;
    r.dst_port = key.dport;
    r.protocol = key.proto;
    r.tos = v5r[v5::rec::kTos];
    r.input = wire::load_be16(v5r + v5::rec::kInput);
    r.output = wire::load_be16(v5r + v5::rec::kOutput);
    r.src_as = wire::load_be16(v5r + v5::rec::kSrcAs);
    r.dst_as = wire::load_be16(v5r + v5::rec::kDstAs);
    const uint32_t nh = wire::load_be32(v5r + v5::rec::kNextHop);
    if (key.v6) {
      r.src_mask = static_cast<uint8_t>(48 + (v5r[v5::rec::kSrcMask] - 16) * 2);
      r.dst_mask = 64;
      r.nexthop = TrafficModel::v6_of(nh);
    } else {
      r.src_mask = v5r[v5::rec::kSrcMask];
      r.dst_mask = v5r[v5::rec::kDstMask];
      r.nexthop = IpAddr::from_v4(nh);
    }
    r.direction = static_cast<uint8_t>(k & 1);
    r.sampler_id = sampler_id(k);
    RecordValues vals;
    vals.flow = &r;
    vals.enterprise_value = 0x5EED0000u + (k & 0xFFFF);
    if (cfg.varlen) {
      size_t a;
      switch (key.dport) {
        case 443: a = key.proto == 17 ? 9 : 0; break;
        case 80: a = 1; break;
        case 53: a = 2; break;
        case 22: a = 3; break;
        case 25: a = 4; break;
        case 123: a = 5; break;
        case 5060: a = 6; break;
        case 993: a = 7; break;
        case 8080: a = 8; break;
        default: a = key.proto == 1 ? 10 : 11;
      }
      vals.variable = kAppNames[a];
    }
    const size_t len =
        encode_record(data_[key.v6][0], vals, &images_[size_t{k} * stride_], stride_);
    len_[k] = static_cast<uint8_t>(len);
    v6_[k] = key.v6;
  }

  send_if_names_ = cfg.interface_names;
  if (send_if_names_) {
    if_names_.id = kTemplateIfNames;
    if_names_.options = true;
    if_names_.scope_count = 1;
    if (ipfix) {
      if_names_.fields = {{ie::kIngressInterface, 4},
                          {ie::kInterfaceName, ipfix::kVariableLength},
                          {ie::kInterfaceDescription, ipfix::kVariableLength}};
    } else {
      if_names_.fields = {{kV9ScopeInterface, 4},
                          {ie::kInterfaceName, kV9NameLen},
                          {ie::kInterfaceDescription, kV9DescriptionLen}};
    }
  }
  for (int b = 0; b < 2; ++b) {
    size_t sz = 0;
    if (send_if_names_) {
      sz += (4 + MessageBuilder::template_record_size(version_, if_names_) + 3) & ~size_t{3};
      sz += if_names_set_size(ipfix);
    }
    if (sampling) {
      sz += 4 + MessageBuilder::template_record_size(version_, options_);
      sz = (sz + 3) & ~size_t{3};
      sz += (4 + rates_.size() * options_.fixed_record_len() + 3) & ~size_t{3};
    }
    size_t t = 4;
    for (int v6 = 0; v6 < 2; ++v6)
      if (has_[v6]) t += MessageBuilder::template_record_size(version_, data_[v6][b]);
    sz += (t + 3) & ~size_t{3};
    templates_size_[b] = sz;
  }
}

FlowTemplates::Written FlowTemplates::write_templates(MessageBuilder& m, int b) const {
  const bool ipfix = version_ == WireVersion::kIpfix;
  Written w;
  if (!rates_.empty()) {
    m.begin_set(ipfix ? ipfix::kOptionsTemplateSetId : v9::kOptionsTemplateSetId);
    m.template_record(options_);
    ++w.templates;
    m.begin_set(kTemplateOptions);
    for (size_t i = 0; i < rates_.size(); ++i) {
      FlowRecord r;
      r.sampler_id = static_cast<uint32_t>(i + 1);
      RecordValues v;
      v.flow = &r;
      v.rate = rates_[i];
      const size_t len = options_.fixed_record_len();
      uint8_t* p = m.reserve_record(len);
      encode_record(options_, v, p, len);
      // samplerMode 49 (v9) 2 = random; selectorAlgorithm 304 (IPFIX) 1 =
      // systematic count-based: written here, the encoder leaves them zero.
      if (ipfix) {
        wire::store_be16(p + 4, 1);
      } else {
        p[5] = 2;
      }
      ++w.options_records;
    }
    m.end_set();
  }
  if (send_if_names_) {
    m.begin_set(ipfix ? ipfix::kOptionsTemplateSetId : v9::kOptionsTemplateSetId);
    m.template_record(if_names_);
    ++w.templates;
    m.begin_set(kTemplateIfNames);
    for (uint32_t i = kIfNamesFirst; i <= kIfNamesLast; ++i) {
      const std::string name = if_name(i), desc = if_description(i);
      const size_t len = ipfix ? 4 + 1 + name.size() + 1 + desc.size()
                               : 4 + kV9NameLen + kV9DescriptionLen;
      uint8_t* p = m.reserve_record(len);
      std::memset(p, 0, len);
      wire::store_be32(p, i);
      if (ipfix) {
        p[4] = static_cast<uint8_t>(name.size());
        std::memcpy(p + 5, name.data(), name.size());
        p[5 + name.size()] = static_cast<uint8_t>(desc.size());
        std::memcpy(p + 6 + name.size(), desc.data(), desc.size());
      } else {
        std::memcpy(p + 4, name.data(), name.size());
        std::memcpy(p + 4 + kV9NameLen, desc.data(), desc.size());
      }
      ++w.options_records;
    }
    m.end_set();
  }
  m.begin_set(ipfix ? ipfix::kTemplateSetId : v9::kTemplateSetId);
  for (int v6 = 0; v6 < 2; ++v6)
    if (has_[v6]) {
      m.template_record(data_[v6][b]);
      ++w.templates;
    }
  m.end_set();
  return w;
}

}  // namespace ringflow::gen
