#include "decode/decode_plan.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <tuple>

#include "decode/packet_parser.h"
#include "wire/bytes.h"
#include "wire/ie.h"
#include "wire/ipfix.h"

namespace ringflow {
namespace {

// What a template field becomes, decided once per field at compile time.
struct Role {
  bool used = false;
  PlanOpKind kind = PlanOpKind::kUint;
  PlanTarget target = PlanTarget::kRecord;
  uint8_t width = 0;
  uint16_t dst = 0;
};

constexpr uint16_t rec(size_t off) { return static_cast<uint16_t>(off); }

#define RF_REC(field) rec(offsetof(FlowRecord, field)), static_cast<uint8_t>(sizeof(FlowRecord::field))
#define RF_SCR(field) rec(offsetof(DecodeScratch, field))

// A FlowRecord integer field, and the elements that may fill it, most
// preferred first. Only the first element the template has is used.
struct IntTarget {
  uint16_t dst;
  uint8_t width;
  std::array<uint16_t, 2> ids;
};

// RFC 3954 6.1: the v9 options scope types; 2 = an interface (its ifIndex).
constexpr uint16_t kV9ScopeInterface = 2;

const IntTarget kIntTargets[] = {
    {RF_REC(src_port), {ie::kSourceTransportPort, 0}},
    {RF_REC(dst_port), {ie::kDestinationTransportPort, 0}},
    {RF_REC(protocol), {ie::kProtocolIdentifier, 0}},
    {RF_REC(tos), {ie::kIpClassOfService, 0}},
    {RF_REC(tcp_flags), {ie::kTcpControlBits, 0}},
    {RF_REC(input), {ie::kIngressInterface, ie::kIngressPhysicalInterface}},
    {RF_REC(output), {ie::kEgressInterface, ie::kEgressPhysicalInterface}},
    {RF_REC(src_as), {ie::kBgpSourceAsNumber, 0}},
    {RF_REC(dst_as), {ie::kBgpDestinationAsNumber, 0}},
    {RF_REC(src_mask), {ie::kSourceIPv4PrefixLength, ie::kSourceIPv6PrefixLength}},
    {RF_REC(dst_mask), {ie::kDestinationIPv4PrefixLength, ie::kDestinationIPv6PrefixLength}},
    {RF_REC(direction), {ie::kFlowDirection, 0}},
    {RF_REC(vlan), {ie::kVlanId, ie::kDot1qVlanId}},
    {RF_REC(sampler_id), {ie::kSamplerId, ie::kSelectorId}},
};

// Scratch integers (finalized into the record, or read from options).
struct ScratchTarget {
  uint16_t dst;
  std::array<uint16_t, 3> ids;
};
const ScratchTarget kScratchTargets[] = {
    {RF_SCR(icmp), {ie::kIcmpTypeCodeIPv4, ie::kIcmpTypeCodeIPv6, 0}},
    {RF_SCR(rate), {ie::kSamplingInterval, ie::kSamplerRandomInterval, 0}},
    {RF_SCR(packet_interval), {ie::kSamplingPacketInterval, 0, 0}},
    {RF_SCR(packet_space), {ie::kSamplingPacketSpace, 0, 0}},
    {RF_SCR(size), {ie::kSamplingSize, 0, 0}},
    {RF_SCR(population), {ie::kSamplingPopulation, 0, 0}},
    {RF_SCR(system_init), {ie::kSystemInitTimeMilliseconds, 0, 0}},
    {RF_SCR(algorithm), {ie::kSamplingAlgorithm, ie::kSamplerMode, ie::kSelectorAlgorithm}},
    {RF_SCR(ip_version), {ie::kIpVersion, 0, 0}},
};

// Time element pairs (start, end), most preferred first: absolute forms
// before uptimes, which depend on the header (v9) or on options data (IPFIX).
struct TimePair {
  uint16_t start, end;
  TimeSource src;
};
const TimePair kTimePairs[] = {
    {ie::kFlowStartMilliseconds, ie::kFlowEndMilliseconds, TimeSource::kMillis},
    {ie::kFlowStartMicroseconds, ie::kFlowEndMicroseconds, TimeSource::kNtp},
    {ie::kFlowStartNanoseconds, ie::kFlowEndNanoseconds, TimeSource::kNtp},
    {ie::kFlowStartSeconds, ie::kFlowEndSeconds, TimeSource::kSeconds},
    {ie::kFlowStartDeltaMicroseconds, ie::kFlowEndDeltaMicroseconds, TimeSource::kDeltaUs},
    {ie::kFlowStartSysUpTime, ie::kFlowEndSysUpTime, TimeSource::kUptime},
};

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

namespace {

bool permuted(const DecodePlan& plan, unsigned i) {
  return (plan.perm_mask[i / 64] >> (i % 64)) & 1;
}

// The 16-byte-shuffle form of plan->perm (see DecodePlan::shuf).
void build_shuffle(DecodePlan* plan) {
  std::memcpy(plan->shuf_base, &plan->prototype, 128);
  unsigned src_len = 0;
  for (unsigned c = 0; c < 8; ++c) {
    plan->shuf_begin[c] = static_cast<uint8_t>(plan->shuf.size());
    unsigned pieces = 0;  // bit s: draws from fixed bytes [16s, 16s + 16)
    for (unsigned i = 16 * c; i < 16 * c + 16; ++i) {
      if (!permuted(*plan, i)) continue;
      pieces |= 1u << (plan->perm[i] / 16);
      plan->shuf_base[i] = 0;
    }
    for (unsigned s = 0; s < 8; ++s) {
      if (!(pieces >> s & 1)) continue;
      DecodePlan::ShuffleOp op;
      op.src_off = static_cast<uint8_t>(16 * s);
      for (unsigned k = 0; k < 16; ++k) {
        const unsigned i = 16 * c + k;
        op.ctrl[k] = permuted(*plan, i) && plan->perm[i] / 16 == s
                         ? static_cast<uint8_t>(plan->perm[i] % 16)
                         : uint8_t{0x80};
      }
      plan->shuf.push_back(op);
      src_len = std::max(src_len, 16 * s + 16);
    }
  }
  plan->shuf_begin[8] = static_cast<uint8_t>(plan->shuf.size());
  plan->shuf_src_len = static_cast<uint16_t>(src_len);
}

}  // namespace

namespace {

// Elements that count traffic (octets, packets), by IANA number. A template
// that carries one of these under a PEN ringflow does not decode loses
// traffic: such fields are counted per template (unknown_counter_fields).
bool is_counter_id(uint16_t id) {
  switch (id) {
    case ie::kOctetDeltaCount:
    case ie::kPacketDeltaCount:
    case ie::kOctetTotalCount:
    case ie::kPacketTotalCount:
    case ie::kPostOctetDeltaCount:
    case ie::kPostPacketDeltaCount:
    case ie::kInitiatorOctets:
    case ie::kResponderOctets:
    case ie::kInitiatorPackets:
    case ie::kResponderPackets:
      return true;
    default:
      return false;
  }
}

// The counters the reverse plan of a biflow template decodes.
bool is_reverse_counter(const TemplateField& f) {
  return f.pen == kReversePen &&
         (f.id == ie::kOctetDeltaCount || f.id == ie::kPacketDeltaCount ||
          f.id == ie::kOctetTotalCount || f.id == ie::kPacketTotalCount);
}

// The element of the other endpoint: what a reverse record takes its source
// from is the forward record's destination, and so on.
uint16_t swap_endpoint(uint16_t id) {
  constexpr std::pair<uint16_t, uint16_t> kPairs[] = {
      {ie::kSourceIPv4Address, ie::kDestinationIPv4Address},
      {ie::kSourceIPv6Address, ie::kDestinationIPv6Address},
      {ie::kSourceTransportPort, ie::kDestinationTransportPort},
      {ie::kIngressInterface, ie::kEgressInterface},
      {ie::kIngressPhysicalInterface, ie::kEgressPhysicalInterface},
      {ie::kBgpSourceAsNumber, ie::kBgpDestinationAsNumber},
      {ie::kSourceIPv4PrefixLength, ie::kDestinationIPv4PrefixLength},
      {ie::kSourceIPv6PrefixLength, ie::kDestinationIPv6PrefixLength},
  };
  for (auto [a, b] : kPairs) {
    if (id == a) return b;
    if (id == b) return a;
  }
  return id;
}

// Rewrites a biflow template's fields so that the ordinary compile decodes
// its reverse direction (RFC 5103 5: reverse elements are the forward
// elements' numbers under PEN 29305): each reverse element becomes its
// forward element; the forward counters, and every forward element that has
// a reverse counterpart (times, flags, ...), are hidden; endpoints swap.
// Elements without a reverse counterpart (protocol, times unless reversed)
// are shared by both directions.
void reverse_fields(std::vector<TemplateField>* fields) {
  constexpr uint32_t kHidden = 0xFFFFFFFF;  // a PEN no element is looked up under
  std::vector<uint16_t> reversed;
  for (const TemplateField& f : *fields)
    if (f.pen == kReversePen) reversed.push_back(f.id);
  for (TemplateField& f : *fields) {
    if (f.pen == 0) {
      const bool has_reverse =
          std::find(reversed.begin(), reversed.end(), f.id) != reversed.end();
      if (is_counter_id(f.id) || has_reverse) {
        f.pen = kHidden;
      } else {
        f.id = swap_endpoint(f.id);
      }
    } else if (f.pen == kReversePen) {
      f.pen = 0;
    }
  }
}

std::unique_ptr<DecodePlan> compile_direction(WireVersion v, const TemplateRecordView& t,
                                              bool reverse) {
  auto plan = std::make_unique<DecodePlan>();
  plan->version = v;
  plan->options = t.options;
  plan->template_id = t.template_id;
  plan->field_count = t.field_count;
  plan->scope_count = t.scope_count;
  plan->raw.assign(t.raw, t.raw + t.raw_len);

  std::vector<TemplateField> fields;
  fields.reserve(t.field_count);
  for_each_template_field(v, t, [&](const TemplateField& f) { fields.push_back(f); });
  if (reverse) {
    plan->is_reverse = true;
    reverse_fields(&fields);
  }
  std::vector<Role> roles(fields.size());

  // Index of the first field carrying IANA element `id` (v9 scope fields are
  // scope types, not elements), or -1.
  auto find = [&](uint16_t id) -> int {
    if (id == 0) return -1;
    for (size_t i = 0; i < fields.size(); ++i) {
      const TemplateField& f = fields[i];
      if (f.id == id && f.pen == 0 && !(v == WireVersion::kV9 && f.scope) && !roles[i].used)
        return static_cast<int>(i);
    }
    return -1;
  };
  auto int_ok = [&](int i) { return i >= 0 && fields[i].length >= 1 && fields[i].length <= 8; };
  auto set_uint = [&](int i, PlanTarget target, uint16_t dst, uint8_t width, PlanOpKind kind) {
    roles[i] = Role{true, kind, target, width, dst};
  };
  // Addresses: exact lengths only.
  auto pick_addr = [&](uint16_t dst, std::initializer_list<uint16_t> ids) -> uint8_t {
    for (uint16_t id : ids) {
      int i = find(id);
      if (i < 0) continue;
      const ie::Info* info = ie::find(id);
      const bool v6 = info && info->type == ie::Type::kIpv6;
      if (fields[i].length != (v6 ? 16 : 4)) {
        ++plan->skipped_fields;
        continue;
      }
      roles[i] = Role{true, v6 ? PlanOpKind::kAddr6 : PlanOpKind::kAddr4, PlanTarget::kRecord, 16,
                      dst};
      return v6 ? 6 : 4;
    }
    return 0;
  };
  // Source and destination from one family: the IPv4 pair when the template
  // has both (tshark does the same with tunnel templates that carry both), else
  // the IPv6 pair, else whichever single element there is.
  const bool v4_pair = find(ie::kSourceIPv4Address) >= 0 && find(ie::kDestinationIPv4Address) >= 0;
  const bool v6_pair =
      find(ie::kSourceIPv6Address) >= 0 && find(ie::kDestinationIPv6Address) >= 0;
  const bool prefer_v6 = v6_pair && !v4_pair;
  const uint8_t src_family = prefer_v6
      ? pick_addr(rec(offsetof(FlowRecord, src)), {ie::kSourceIPv6Address})
      : pick_addr(rec(offsetof(FlowRecord, src)), {ie::kSourceIPv4Address, ie::kSourceIPv6Address});
  const uint8_t dst_family = prefer_v6
      ? pick_addr(rec(offsetof(FlowRecord, dst)), {ie::kDestinationIPv6Address})
      : pick_addr(rec(offsetof(FlowRecord, dst)),
                  {ie::kDestinationIPv4Address, ie::kDestinationIPv6Address});
  pick_addr(rec(offsetof(FlowRecord, nexthop)),
            {ie::kIpNextHopIPv4Address, ie::kIpNextHopIPv6Address, ie::kBgpNextHopIPv4Address,
             ie::kBgpNextHopIPv6Address});
  plan->ip_version = src_family ? src_family : dst_family;

  for (const IntTarget& it : kIntTargets) {
    for (uint16_t id : it.ids) {
      int i = find(id);
      if (!int_ok(i)) continue;
      set_uint(i, PlanTarget::kRecord, it.dst, it.width, PlanOpKind::kUint);
      if (it.dst == offsetof(FlowRecord, sampler_id)) plan->has_sampler_id = true;
      break;
    }
  }
  // Options: the interface table's ifIndex. A v9 "interface" scope (type 2)
  // is the ingress ifIndex when no element gives one.
  int if_name_field = -1, if_desc_field = -1;
  if (t.options && !reverse) {
    auto assigned = [&](size_t dst) {
      for (const Role& r : roles)
        if (r.used && r.target == PlanTarget::kRecord && r.dst == dst) return true;
      return false;
    };
    if (v == WireVersion::kV9 && !assigned(offsetof(FlowRecord, input)) &&
        !assigned(offsetof(FlowRecord, output))) {
      for (size_t i = 0; i < fields.size(); ++i) {
        const TemplateField& f = fields[i];
        if (f.scope && f.id == kV9ScopeInterface && f.length >= 1 && f.length <= 8 &&
            !roles[i].used) {
          set_uint(static_cast<int>(i), PlanTarget::kRecord, rec(offsetof(FlowRecord, input)), 4,
                   PlanOpKind::kUint);
          break;
        }
      }
    }
    plan->has_input_index = assigned(offsetof(FlowRecord, input));
    plan->has_output_index = assigned(offsetof(FlowRecord, output));
    if_name_field = find(ie::kInterfaceName);
    if_desc_field = find(ie::kInterfaceDescription);
  }
  // Counters: delta, else total, else initiator + responder (summed).
  auto pick_counter = [&](uint16_t dst, uint16_t delta, uint16_t total, uint16_t init,
                          uint16_t resp) {
    for (uint16_t id : {delta, total}) {
      int i = find(id);
      if (int_ok(i)) {
        set_uint(i, PlanTarget::kRecord, dst, 8, PlanOpKind::kUint);
        return;
      }
    }
    for (uint16_t id : {init, resp}) {
      int i = find(id);
      if (int_ok(i)) set_uint(i, PlanTarget::kRecord, dst, 8, PlanOpKind::kAddUint);
    }
  };
  pick_counter(rec(offsetof(FlowRecord, packets)), ie::kPacketDeltaCount, ie::kPacketTotalCount,
               ie::kInitiatorPackets, ie::kResponderPackets);
  pick_counter(rec(offsetof(FlowRecord, bytes)), ie::kOctetDeltaCount, ie::kOctetTotalCount,
               ie::kInitiatorOctets, ie::kResponderOctets);

  for (const ScratchTarget& st : kScratchTargets) {
    for (uint16_t id : st.ids) {
      int i = find(id);
      if (!int_ok(i)) continue;
      set_uint(i, PlanTarget::kScratch, st.dst, 8, PlanOpKind::kUint);
      if (st.dst == offsetof(DecodeScratch, icmp)) plan->has_icmp = true;
      if (st.dst == offsetof(DecodeScratch, ip_version)) plan->has_ip_version = true;
      if (st.dst == offsetof(DecodeScratch, system_init)) plan->has_system_init = true;
      if (st.dst == offsetof(DecodeScratch, rate) ||
          st.dst == offsetof(DecodeScratch, packet_interval) ||
          st.dst == offsetof(DecodeScratch, size))
        plan->has_rate = true;
      break;
    }
  }
  // Split ICMP type/code, when no combined element was found.
  if (!plan->has_icmp) {
    for (auto [type_id, code_id] : {std::pair{ie::kIcmpTypeIPv4, ie::kIcmpCodeIPv4},
                                    std::pair{ie::kIcmpTypeIPv6, ie::kIcmpCodeIPv6}}) {
      int ti = find(type_id), ci = find(code_id);
      if (!int_ok(ti) && !int_ok(ci)) continue;
      if (int_ok(ti)) set_uint(ti, PlanTarget::kScratch, RF_SCR(icmp_type), 8, PlanOpKind::kUint);
      if (int_ok(ci)) set_uint(ci, PlanTarget::kScratch, RF_SCR(icmp_code), 8, PlanOpKind::kUint);
      plan->has_icmp_split = true;
      break;
    }
  }
  {
    int i = find(ie::kSamplingProbability);
    if (i >= 0 && fields[i].length == 8) {
      set_uint(i, PlanTarget::kScratch, RF_SCR(probability_bits), 8, PlanOpKind::kUint);
      plan->has_rate = true;
    }
  }
  for (const TimePair& tp : kTimePairs) {
    int s = find(tp.start), e = find(tp.end);
    const bool s_ok = int_ok(s) && (tp.src != TimeSource::kNtp || fields[s].length == 8);
    const bool e_ok = int_ok(e) && (tp.src != TimeSource::kNtp || fields[e].length == 8);
    if (!s_ok && !e_ok) continue;
    if (s_ok) {
      set_uint(s, PlanTarget::kRecord, rec(offsetof(FlowRecord, start_ms)), 8, PlanOpKind::kUint);
      plan->start_src = tp.src;
    }
    if (e_ok) {
      set_uint(e, PlanTarget::kRecord, rec(offsetof(FlowRecord, end_ms)), 8, PlanOpKind::kUint);
      plan->end_src = tp.src;
    }
    break;
  }

  // Packet sections (data templates, forward direction only): the section
  // element, the frame size and offset into SectionScratch, and which
  // FlowRecord fields the template's own elements set.
  int section_field = -1;
  if (!t.options && !reverse) {
    PacketSectionPlan& sp = plan->section;
    constexpr std::pair<uint16_t, SectionKind> kSections[] = {
        {ie::kDataLinkFrameSection, SectionKind::kFrame},
        {ie::kLayer2PacketSectionData, SectionKind::kFrame},
        {ie::kIpHeaderPacketSection, SectionKind::kIpHeader},
        {ie::kMplsLabelStackSection, SectionKind::kMpls},
    };
    for (auto [id, kind] : kSections) {
      const int i = find(id);
      if (i < 0 || fields[i].length == 0) continue;
      section_field = i;
      sp.kind = kind;
      break;
    }
    for (uint16_t id : {ie::kDataLinkFrameSize, ie::kLayer2PacketSectionSize, ie::kIpTotalLength}) {
      const int i = find(id);
      if (!int_ok(i)) continue;
      set_uint(i, PlanTarget::kScratch, rec(offsetof(SectionScratch, frame_size)), 8,
               PlanOpKind::kUint);
      sp.has_size = true;
      sp.size_is_frame = id != ie::kIpTotalLength;
      break;
    }
    if (sp.kind != SectionKind::kNone) {
      const int i = find(ie::kLayer2PacketSectionOffset);
      if (int_ok(i)) {
        set_uint(i, PlanTarget::kScratch, rec(offsetof(SectionScratch, section_offset)), 8,
                 PlanOpKind::kUint);
        sp.has_offset = true;
      }
    }
    sp.active = sp.kind != SectionKind::kNone || sp.has_size;
    if (sp.active) {
      auto own = [&](size_t dst) {
        for (size_t i = 0; i < fields.size(); ++i)
          if (roles[i].used && roles[i].target == PlanTarget::kRecord && roles[i].dst == dst)
            return true;
        return false;
      };
      sp.own_addr = src_family != 0 || dst_family != 0;
      sp.own_src_port = own(offsetof(FlowRecord, src_port));
      sp.own_dst_port =
          own(offsetof(FlowRecord, dst_port)) || plan->has_icmp || plan->has_icmp_split;
      sp.own_protocol = own(offsetof(FlowRecord, protocol));
      sp.own_tos = own(offsetof(FlowRecord, tos));
      sp.own_tcp_flags = own(offsetof(FlowRecord, tcp_flags));
      sp.own_vlan = own(offsetof(FlowRecord, vlan));
      sp.has_bytes = own(offsetof(FlowRecord, bytes));
      if (!own(offsetof(FlowRecord, packets))) plan->prototype.packets = 1;
    }
  }

  // Lay out the ops in wire order, at offsets within the fixed bytes.
  uint32_t seg_len = 0, fixed_off = 0, min_len = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const TemplateField& f = fields[i];
    for (auto [field, ps] : {std::pair{if_name_field, &plan->if_name},
                             std::pair{if_desc_field, &plan->if_description}}) {
      if (static_cast<int>(i) != field || f.length == 0) continue;
      ps->present = true;
      ps->segment = static_cast<uint16_t>(plan->segments.size());
      ps->variable = is_variable_length(t, f.length);
      ps->seg_off = static_cast<uint16_t>(seg_len);
      ps->len = f.length;
    }
    if (static_cast<int>(i) == section_field) {
      plan->section.segment = static_cast<uint16_t>(plan->segments.size());
      plan->section.variable = is_variable_length(t, f.length);
      plan->section.seg_off = static_cast<uint16_t>(seg_len);
      plan->section.len = f.length;
    }
    if (is_variable_length(t, f.length)) {
      plan->segments.push_back(PlanSegment{static_cast<uint16_t>(seg_len)});
      plan->variable = true;
      seg_len = 0;
      min_len += 1;
      continue;
    }
    if (roles[i].used) {
      const Role& r = roles[i];
      plan->ops.push_back(PlanOp{static_cast<uint16_t>(fixed_off), static_cast<uint8_t>(f.length),
                                 r.kind, r.target, r.width, r.dst});
    }
    seg_len += f.length;
    fixed_off += f.length;
    min_len += f.length;
  }
  plan->segments.push_back(PlanSegment{static_cast<uint16_t>(seg_len)});
  plan->min_record_len = static_cast<uint16_t>(min_len);
  plan->fixed_len = static_cast<uint16_t>(fixed_off);

  // Group the ops for the fast path.
  auto log2_1248 = [](unsigned n) -> int {
    return n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : n == 8 ? 3 : -1;
  };
  std::vector<std::vector<FastOp>> classes(kFastClasses);
  for (const PlanOp& op : plan->ops) {
    if (op.target == PlanTarget::kScratch) plan->uses_scratch = true;
    int cls = -1;
    if (op.target == PlanTarget::kRecord) {
      if (op.kind == PlanOpKind::kAddr4) cls = 16;
      if (op.kind == PlanOpKind::kAddr6) cls = 17;
      if (op.kind == PlanOpKind::kUint) {
        const int l = log2_1248(op.len), w = log2_1248(op.width);
        if (l >= 0 && w >= 0) cls = l * 4 + w;
      }
    }
    if (cls < 0) {
      plan->slow.push_back(op);
    } else {
      classes[static_cast<size_t>(cls)].push_back(FastOp{op.offset, op.dst});
    }
  }
  for (size_t c = 0; c < kFastClasses; ++c) {
    plan->fast_begin[c] = static_cast<uint16_t>(plan->fast.size());
    plan->fast.insert(plan->fast.end(), classes[c].begin(), classes[c].end());
  }
  plan->fast_begin[kFastClasses] = static_cast<uint16_t>(plan->fast.size());
  const uint64_t proto_packets = plan->prototype.packets;  // 1 for a section template
  plan->prototype = kEmptyFlow;
  plan->prototype.packets = proto_packets;
  plan->prototype.ip_version = plan->ip_version;
  if (plan->has_sampler_id) plan->prototype.flags |= kFlowHasSamplerId;

  // The byte permutation of the fast ops (see DecodePlan::perm). A field's
  // bytes beyond its wire length keep the prototype's, which is zero for
  // every integer field the fast ops write (only `direction` and `sampling`
  // default to non-zero, and a 1-byte direction needs no extension).
  if (plan->fixed_len <= 128) {
    plan->permutable = true;
    uint32_t off = 0;
    for (const PlanSegment& seg : plan->segments) {
      DecodePlan::SegmentMask m;
      m.fixed_off = static_cast<uint16_t>(off);
      for (uint32_t b = off; b < off + seg.len; ++b) (b < 64 ? m.lo : m.hi) |= uint64_t{1} << (b % 64);
      plan->segment_masks.push_back(m);
      off += seg.len;
    }
    auto map = [&](uint16_t dst, uint16_t src) {
      plan->perm[dst] = static_cast<uint8_t>(src);
      plan->perm_mask[dst / 64] |= uint64_t{1} << (dst % 64);
    };
    for (size_t c = 0; c < 16; ++c) {
      const unsigned len = 1u << (c / 4), width = 1u << (c % 4);
      for (uint16_t i = plan->fast_begin[c]; i != plan->fast_begin[c + 1]; ++i) {
        const FastOp& f = plan->fast[i];
        // Little-endian destination byte k is wire byte len - 1 - k; a wider
        // destination's upper bytes stay zero (prototype).
        for (unsigned k = 0; k < width && k < len; ++k)
          map(static_cast<uint16_t>(f.dst + k), static_cast<uint16_t>(f.src + len - 1 - k));
      }
    }
    for (uint16_t i = plan->fast_begin[16]; i != plan->fast_begin[17]; ++i) {
      const FastOp& f = plan->fast[i];
      // The v4-mapped prefix is constant: set it in the prototype.
      uint8_t* proto = reinterpret_cast<uint8_t*>(&plan->prototype) + f.dst;
      std::memcpy(proto, kV4MappedPrefix, 12);
      for (unsigned k = 0; k < 4; ++k)
        map(static_cast<uint16_t>(f.dst + 12 + k), static_cast<uint16_t>(f.src + k));
    }
    for (uint16_t i = plan->fast_begin[17]; i != plan->fast_begin[18]; ++i) {
      const FastOp& f = plan->fast[i];
      for (unsigned k = 0; k < 16; ++k)
        map(static_cast<uint16_t>(f.dst + k), static_cast<uint16_t>(f.src + k));
    }
    build_shuffle(plan.get());
  }
  return plan;
}

}  // namespace

std::unique_ptr<DecodePlan> compile_plan(WireVersion v, const TemplateRecordView& t) {
  std::unique_ptr<DecodePlan> plan = compile_direction(v, t, false);
  bool biflow = false;
  for_each_template_field(v, t, [&](const TemplateField& f) {
    if (v != WireVersion::kIpfix || t.options) return;
    if (is_reverse_counter(f)) {
      biflow = true;
    } else if (f.pen != 0 && is_counter_id(f.id)) {
      if (plan->unknown_counter_fields++ == 0) {
        plan->unknown_counter_pen = f.pen;
        plan->unknown_counter_id = f.id;
      }
    }
  });
  if (biflow) plan->reverse = compile_direction(v, t, true);
  return plan;
}

#undef RF_REC
#undef RF_SCR

namespace {

constexpr std::array<uint8_t, 12> kV4Mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

inline void store_width(uint8_t* dst, uint64_t v, uint8_t width) {
  switch (width) {
    case 1: *dst = static_cast<uint8_t>(v); break;
    case 2: {
      uint16_t x = static_cast<uint16_t>(v);
      std::memcpy(dst, &x, 2);
      break;
    }
    case 4: {
      uint32_t x = static_cast<uint32_t>(v);
      std::memcpy(dst, &x, 4);
      break;
    }
    default: std::memcpy(dst, &v, 8); break;
  }
}

inline void apply_ops(const PlanOp* op, const PlanOp* end, const uint8_t* base, uint8_t* rec,
                      uint8_t* scratch) {
  for (; op != end; ++op) {
    const uint8_t* q = base + op->offset;
    uint8_t* dst = (op->target == PlanTarget::kRecord ? rec : scratch) + op->dst;
    switch (op->kind) {
      case PlanOpKind::kUint: store_width(dst, wire::load_be_n(q, op->len), op->width); break;
      case PlanOpKind::kAddUint: {
        uint64_t cur;
        std::memcpy(&cur, dst, 8);
        cur += wire::load_be_n(q, op->len);
        std::memcpy(dst, &cur, 8);
        break;
      }
      case PlanOpKind::kAddr4:
        std::memcpy(dst, kV4Mapped.data(), 12);
        std::memcpy(dst + 12, q, 4);
        break;
      case PlanOpKind::kAddr6: std::memcpy(dst, q, 16); break;
    }
  }
}

template <unsigned L>
inline uint64_t load_be(const uint8_t* p) {
  if constexpr (L == 1) return p[0];
  if constexpr (L == 2) return wire::load_be16(p);
  if constexpr (L == 4) return wire::load_be32(p);
  if constexpr (L == 8) return wire::load_be64(p);
}

// One class of the fast path: every op loads L bytes and stores W bytes.
template <unsigned L, unsigned W>
inline void run_class(const FastOp* op, const FastOp* end, const uint8_t* src, uint8_t* rec) {
  for (; op != end; ++op) {
    const uint64_t v = load_be<L>(src + op->src);
    if constexpr (W == 1) {
      rec[op->dst] = static_cast<uint8_t>(v);
    } else if constexpr (W == 2) {
      const uint16_t x = static_cast<uint16_t>(v);
      std::memcpy(rec + op->dst, &x, 2);
    } else if constexpr (W == 4) {
      const uint32_t x = static_cast<uint32_t>(v);
      std::memcpy(rec + op->dst, &x, 4);
    } else {
      std::memcpy(rec + op->dst, &v, 8);
    }
  }
}

template <unsigned L>
inline void run_len(const DecodePlan& plan, size_t base_class, const uint8_t* src, uint8_t* rec) {
  const FastOp* f = plan.fast.data();
  const uint16_t* b = plan.fast_begin + base_class;
  if (b[0] != b[1]) run_class<L, 1>(f + b[0], f + b[1], src, rec);
  if (b[1] != b[2]) run_class<L, 2>(f + b[1], f + b[2], src, rec);
  if (b[2] != b[3]) run_class<L, 4>(f + b[2], f + b[3], src, rec);
  if (b[3] != b[4]) run_class<L, 8>(f + b[3], f + b[4], src, rec);
}

// Decodes the fixed-length record at src by class.
inline void run_fast(const DecodePlan& plan, const uint8_t* src, uint8_t* rec, uint8_t* scratch) {
  run_len<1>(plan, 0, src, rec);
  run_len<2>(plan, 4, src, rec);
  run_len<4>(plan, 8, src, rec);
  run_len<8>(plan, 12, src, rec);
  const FastOp* f = plan.fast.data();
  for (uint16_t i = plan.fast_begin[16]; i != plan.fast_begin[17]; ++i) {
    std::memcpy(rec + f[i].dst, kV4Mapped.data(), 12);
    std::memcpy(rec + f[i].dst + 12, src + f[i].src, 4);
  }
  for (uint16_t i = plan.fast_begin[17]; i != plan.fast_begin[18]; ++i)
    std::memcpy(rec + f[i].dst, src + f[i].src, 16);
  if (!plan.slow.empty())
    apply_ops(plan.slow.data(), plan.slow.data() + plan.slow.size(), src, rec, scratch);
}


// Reads the variable-length prefix at body[*p]; false when it or its value
// runs past len.
inline bool skip_variable(const uint8_t* body, size_t len, size_t* p) {
  if (*p >= len) return false;
  size_t n = body[*p];
  *p += 1;
  if (n == ipfix::kLongVarLength) {
    if (len - *p < 2) return false;
    n = wire::load_be16(body + *p);
    *p += 2;
  }
  if (len - *p < n) return false;
  *p += n;
  return true;
}

// Finds the end of the record at body + pos and, when `staging` is not null,
// gathers its fixed bytes there (segments concatenated). Returns the record's
// end, or 0 when a field runs past len.
inline size_t walk_record(const DecodePlan& plan, const uint8_t* body, size_t len, size_t pos,
                          uint8_t* staging) {
  const size_t nseg = plan.segments.size();
  size_t staged = 0;
  for (size_t i = 0; i < nseg; ++i) {
    const size_t seg = plan.segments[i].len;
    if (len - pos < seg) return 0;
    if (staging) std::memcpy(staging + staged, body + pos, seg);
    staged += seg;
    pos += seg;
    if (i + 1 < nseg && !skip_variable(body, len, &pos)) return 0;
  }
  return pos;
}

int64_t ntp_to_ms(uint64_t raw) {
  const int64_t secs = static_cast<int64_t>(raw >> 32) - static_cast<int64_t>(ipfix::kNtpToUnixSeconds);
  return secs * 1000 + static_cast<int64_t>(((raw & 0xFFFFFFFFull) * 1000) >> 32);
}

// The largest raw time value taken (2^53 ms, some 285,000 years). An exporter
// may send a time IE in up to 8 bytes; a value past this is garbage, and
// converting it would overflow int64 arithmetic, so it counts as not sent.
constexpr uint64_t kMaxTimeMs = uint64_t{1} << 53;

// ms since the epoch of raw time value `raw`; false when it cannot be known
// (no reference for it, or a value out of range).
inline bool time_ms(const DecodePlan& plan, TimeSource src, uint64_t raw, const TimeContext& tc,
                    int64_t* out) {
  switch (src) {
    case TimeSource::kNone: return false;
    case TimeSource::kUptime:
      if (plan.version == WireVersion::kV9) {
        *out = tc.export_ms + static_cast<int32_t>(static_cast<uint32_t>(raw) - tc.sys_uptime_ms);
        return true;
      }
      // init_ms is the exporter's own 8-byte value: the sum may overflow too.
      return tc.has_init && raw <= kMaxTimeMs &&
             !__builtin_add_overflow(tc.init_ms, static_cast<int64_t>(raw), out);
    case TimeSource::kSeconds:
      if (raw > kMaxTimeMs / 1000) return false;
      *out = static_cast<int64_t>(raw) * 1000;
      return true;
    case TimeSource::kMillis:
      if (raw > kMaxTimeMs) return false;
      *out = static_cast<int64_t>(raw);
      return true;
    case TimeSource::kNtp: *out = ntp_to_ms(raw); return true;
    case TimeSource::kDeltaUs: *out = tc.export_ms - static_cast<int64_t>(raw / 1000); return true;
  }
  return false;
}

inline void finalize(const DecodePlan& plan, const TimeContext& tc, const DecodeScratch& s,
                     FlowRecord* r) {
  if (plan.ip_version == 0 && plan.has_ip_version && (s.ip_version == 4 || s.ip_version == 6))
    r->ip_version = static_cast<uint8_t>(s.ip_version);
  int64_t start = 0, end = 0;
  const bool has_start =
      time_ms(plan, plan.start_src, static_cast<uint64_t>(r->start_ms), tc, &start);
  const bool has_end = time_ms(plan, plan.end_src, static_cast<uint64_t>(r->end_ms), tc, &end);
  if (has_start && has_end) {
    r->start_ms = start;
    r->end_ms = end;
  } else if (has_start || has_end) {
    r->start_ms = r->end_ms = has_start ? start : end;
  } else {
    r->start_ms = r->end_ms = tc.export_ms;
    r->flags |= kFlowTimeUnknown;
  }
  if (plan.has_icmp | plan.has_icmp_split) {
    const uint64_t icmp = plan.has_icmp ? s.icmp : (s.icmp_type << 8 | (s.icmp_code & 0xFF));
    if ((r->protocol == 1 || r->protocol == 58) && r->dst_port == 0)
      r->dst_port = static_cast<uint16_t>(icmp);
  }
  if (plan.has_rate) {
    const uint32_t rate = rate_of(s);
    if (rate != 0) {
      r->sampling = rate;
      r->flags |= kFlowHasRate;
    }
  }
}

// Records whose fixed bytes are gathered into a staging buffer on the
// stack; a template with variable-length fields and more fixed bytes than
// this (none seen in the wild) takes decode_loop_wide.
constexpr size_t kMaxStaged = 1024;

// The fixed bytes of the record at body + p: in place for fixed-length
// templates, else gathered into staging. Returns the record's end (0: a
// variable-length field runs past len).
inline size_t record_source(const DecodePlan& plan, const uint8_t* body, size_t len, size_t p,
                            uint8_t* staging, const uint8_t** src) {
  if (!plan.variable) {
    *src = body + p;
    return p + plan.min_record_len;
  }
  *src = staging;
  return walk_record(plan, body, len, p, staging);
}

size_t decode_loop_portable(const DecodePlan& plan, const uint8_t* body, size_t len, size_t* pos,
                            const TimeContext& tc, FlowRecord* out, size_t max, SetStatus* status) {
  alignas(64) uint8_t staging[kMaxStaged];
  DecodeScratch scratch;
  size_t n = 0, p = *pos;
  while (n < max && len - p >= plan.min_record_len) {
    const uint8_t* src;
    const size_t next = record_source(plan, body, len, p, staging, &src);
    if (next == 0) {
      *pos = p;
      *status = SetStatus::kVarOverflow;
      return n;
    }
    FlowRecord& r = out[n];
    r = plan.prototype;
    if (plan.uses_scratch) scratch = DecodeScratch{};
    run_fast(plan, src, reinterpret_cast<uint8_t*>(&r), reinterpret_cast<uint8_t*>(&scratch));
    finalize(plan, tc, scratch, &r);
    p = next;
    ++n;
  }
  *pos = p;
  *status = len - p >= plan.min_record_len ? SetStatus::kMore : SetStatus::kDone;
  return n;
}

// One record at body + p, each op read from its segment where the record has
// it (no staging). Returns the record's end, or 0 (nothing decoded) when a
// variable-length field runs past len.
size_t decode_one_wide(const DecodePlan& plan, const uint8_t* body, size_t len, size_t p,
                       FlowRecord* r, DecodeScratch* scratch) {
  const size_t end = walk_record(plan, body, len, p, nullptr);
  if (end == 0) return 0;
  *r = plan.prototype;
  *scratch = DecodeScratch{};
  // Segment by segment: ops are sorted by fixed offset.
  size_t q = p, fixed = 0, op = 0;
  for (size_t i = 0; i < plan.segments.size(); ++i) {
    const size_t seg = plan.segments[i].len;
    size_t last = op;
    while (last < plan.ops.size() && plan.ops[last].offset < fixed + seg) ++last;
    for (; op < last; ++op) {
      PlanOp o = plan.ops[op];
      o.offset = static_cast<uint16_t>(o.offset - fixed);
      apply_ops(&o, &o + 1, body + q, reinterpret_cast<uint8_t*>(r),
                reinterpret_cast<uint8_t*>(scratch));
    }
    q += seg;
    fixed += seg;
    if (i + 1 < plan.segments.size()) skip_variable(body, len, &q);
  }
  return end;
}

// Variable-length templates with more than kMaxStaged fixed bytes.
size_t decode_loop_wide(const DecodePlan& plan, const uint8_t* body, size_t len, size_t* pos,
                        const TimeContext& tc, FlowRecord* out, size_t max, SetStatus* status) {
  DecodeScratch scratch;
  size_t n = 0, p = *pos;
  while (n < max && len - p >= plan.min_record_len) {
    const size_t next = decode_one_wide(plan, body, len, p, &out[n], &scratch);
    if (next == 0) {
      *pos = p;
      *status = SetStatus::kVarOverflow;
      return n;
    }
    finalize(plan, tc, scratch, &out[n]);
    p = next;
    ++n;
  }
  *pos = p;
  *status = len - p >= plan.min_record_len ? SetStatus::kMore : SetStatus::kDone;
  return n;
}

// A field of the record at body + p, which walk_record accepted (so every
// length read here is inside [body, body + len)): fixed (`seg_off`, `flen`
// in segment `segment`) or the variable-length field after segment
// `segment`.
inline void locate_field(const DecodePlan& plan, const uint8_t* body, size_t p, uint16_t segment,
                         bool variable, uint16_t seg_off, uint16_t flen, const uint8_t** sec,
                         size_t* n) {
  const size_t nseg = plan.segments.size();
  size_t q = p;
  for (size_t i = 0; i < nseg; ++i) {
    if (i == segment && !variable) {
      *sec = body + q + seg_off;
      *n = flen;
      return;
    }
    q += plan.segments[i].len;
    if (i + 1 == nseg) break;
    size_t vlen = body[q];  // the variable-length field after segment i
    q += 1;
    if (vlen == ipfix::kLongVarLength) {
      vlen = wire::load_be16(body + q);
      q += 2;
    }
    if (i == segment) {
      *sec = body + q;
      *n = vlen;
      return;
    }
    q += vlen;
  }
  *sec = body + p;
  *n = 0;
}

// Fills what the template's own elements left unset from the parsed section,
// and bytes (see the file comment of decode_plan.h).
void apply_section(const DecodePlan& plan, const uint8_t* sec, size_t n, const SectionScratch& ss,
                   FlowRecord* r) {
  const PacketSectionPlan& sp = plan.section;
  // A frame section never holds more than the frame (v9 pads fixed ones).
  if (sp.size_is_frame && sp.kind != SectionKind::kIpHeader && ss.frame_size != 0 &&
      ss.frame_size < n)
    n = static_cast<size_t>(ss.frame_size);
  uint64_t section_bytes = n;
  if (sp.kind == SectionKind::kNone) {
    section_bytes = 0;
  } else if (sp.has_offset && ss.section_offset != 0) {
    r->flags |= kFlowSectionUnsupported;  // not the frame's start: its layers are unknown
  } else {
    PacketStart start = PacketStart::kEthernet;
    if (sp.kind == SectionKind::kMpls) start = PacketStart::kMpls;
    if (sp.kind == SectionKind::kIpHeader)
      start = n > 0 && sec[0] >> 4 == 6 ? PacketStart::kIPv6 : PacketStart::kIPv4;
    ParsedPacket pk;
    parse_packet(sec, n, start, PacketOptions{}, &pk);
    switch (pk.status) {
      case PacketStatus::kComplete:
        break;
      case PacketStatus::kCut:
        r->flags |= kFlowSectionCut;
        break;
      case PacketStatus::kUnsupported:
        r->flags |= kFlowSectionUnsupported;
        break;
      case PacketStatus::kMalformed:
        r->flags |= kFlowSectionMalformed;
        break;
    }
    if (pk.ip_version != 0) {
      if (!sp.own_addr) {
        r->src = pk.src;
        r->dst = pk.dst;
        r->ip_version = pk.ip_version;
      }
      if (!sp.own_protocol) r->protocol = pk.protocol;
      if (!sp.own_tos) r->tos = pk.tos;
      section_bytes = uint64_t{pk.l3_offset} + pk.ip_len;
    }
    if (pk.has_ports) {
      if (!sp.own_src_port) r->src_port = pk.src_port;
      if (!sp.own_dst_port) r->dst_port = pk.dst_port;
      if (!sp.own_tcp_flags) r->tcp_flags = static_cast<uint8_t>(pk.tcp_flags);
    } else if (pk.has_icmp && !sp.own_dst_port) {
      r->dst_port = static_cast<uint16_t>(pk.icmp_type << 8 | pk.icmp_code);
    }
    if (pk.vlan_count > 0 && !sp.own_vlan) r->vlan = pk.vlans[0];
  }
  if (!sp.has_bytes) r->bytes = ss.frame_size != 0 ? ss.frame_size : section_bytes;
}

// Templates with a packet section or a frame size (PacketSectionPlan::
// active): each record read in place op by op, then its section parsed.
size_t decode_loop_section(const DecodePlan& plan, const uint8_t* body, size_t len, size_t* pos,
                           const TimeContext& tc, FlowRecord* out, size_t max, SetStatus* status) {
  SectionScratch ss;
  size_t n = 0, p = *pos;
  while (n < max && len - p >= plan.min_record_len) {
    FlowRecord& r = out[n];
    ss = SectionScratch{};
    // decode_one_wide zeroes and fills ss.base; the section's own values
    // (SectionScratch offsets past it) are written through the same pointer.
    const size_t next = decode_one_wide(plan, body, len, p, &r, &ss.base);
    if (next == 0) {
      *pos = p;
      *status = SetStatus::kVarOverflow;
      return n;
    }
    const uint8_t* sec = body + p;
    size_t sec_len = 0;
    if (plan.section.kind != SectionKind::kNone) {
      const PacketSectionPlan& sp = plan.section;
      locate_field(plan, body, p, sp.segment, sp.variable, sp.seg_off, sp.len, &sec, &sec_len);
    }
    apply_section(plan, sec, sec_len, ss, &r);
    finalize(plan, tc, ss.base, &r);
    p = next;
    ++n;
  }
  *pos = p;
  *status = len - p >= plan.min_record_len ? SetStatus::kMore : SetStatus::kDone;
  return n;
}

#if defined(__x86_64__)
// AVX-512 VBMI: every fast op of one record as two byte permutes of its
// fixed bytes. They are loaded with byte masks, so nothing past them is read.
template <bool kVariable>
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) size_t decode_loop_vbmi(
    const DecodePlan& plan, const uint8_t* body, size_t len, size_t* pos, const TimeContext& tc,
    FlowRecord* out, size_t max, SetStatus* status) {
  const size_t fl = plan.fixed_len;
  const __mmask64 lo_mask = fl >= 64 ? ~__mmask64{0} : ((__mmask64{1} << fl) - 1);
  const __mmask64 hi_mask =
      fl <= 64 ? 0 : (fl >= 128 ? ~__mmask64{0} : ((__mmask64{1} << (fl - 64)) - 1));
  const __m512i idx0 = _mm512_load_si512(plan.perm);
  const __m512i idx1 = _mm512_load_si512(plan.perm + 64);
  const __m512i proto0 = _mm512_load_si512(&plan.prototype);
  const __m512i proto1 = _mm512_load_si512(reinterpret_cast<const uint8_t*>(&plan.prototype) + 64);
  const __mmask64 m0 = plan.perm_mask[0], m1 = plan.perm_mask[1];
  alignas(64) uint8_t staging[128];
  DecodeScratch scratch;
  size_t n = 0, p = *pos;
  const size_t min_len = plan.min_record_len;
  const size_t nseg = plan.segment_masks.size();
  while (n < max && len - p >= min_len) {
    const uint8_t* src = body + p;
    size_t next = p + min_len;
    __m512i lo, hi;
    if constexpr (kVariable) {
      // Gather the fixed bytes into lo:hi, segment by segment: lane i of a
      // masked load from (segment - fixed_off) is the segment's byte
      // i - fixed_off, and lanes outside the segment are neither read nor
      // changed.
      lo = _mm512_setzero_si512();
      hi = _mm512_setzero_si512();
      size_t q = p;
      bool ok = true;
      for (size_t i = 0; i < nseg; ++i) {
        const DecodePlan::SegmentMask& m = plan.segment_masks[i];
        const size_t seg = plan.segments[i].len;
        if (len - q < seg) {
          ok = false;
          break;
        }
        const uintptr_t base = reinterpret_cast<uintptr_t>(body + q) - m.fixed_off;
        lo = _mm512_mask_loadu_epi8(lo, m.lo, reinterpret_cast<const void*>(base));
        hi = _mm512_mask_loadu_epi8(hi, m.hi, reinterpret_cast<const void*>(base + 64));
        q += seg;
        if (i + 1 < nseg && !skip_variable(body, len, &q)) {
          ok = false;
          break;
        }
      }
      if (!ok) {
        *pos = p;
        *status = SetStatus::kVarOverflow;
        return n;
      }
      next = q;
      if (!plan.slow.empty()) {
        _mm512_store_si512(staging, lo);
        _mm512_store_si512(staging + 64, hi);
        src = staging;
      }
    } else {
      lo = _mm512_maskz_loadu_epi8(lo_mask, src);
      hi = _mm512_maskz_loadu_epi8(hi_mask, src + 64);
    }
    FlowRecord& r = out[n];
    _mm512_store_si512(&r, _mm512_mask_blend_epi8(m0, proto0, _mm512_permutex2var_epi8(lo, idx0, hi)));
    _mm512_store_si512(reinterpret_cast<uint8_t*>(&r) + 64,
                       _mm512_mask_blend_epi8(m1, proto1, _mm512_permutex2var_epi8(lo, idx1, hi)));
    if (!plan.slow.empty()) {
      if (plan.uses_scratch) scratch = DecodeScratch{};
      apply_ops(plan.slow.data(), plan.slow.data() + plan.slow.size(), src,
                reinterpret_cast<uint8_t*>(&r), reinterpret_cast<uint8_t*>(&scratch));
    }
    finalize(plan, tc, scratch, &r);
    p = next;
    ++n;
  }
  *pos = p;
  *status = len - p >= min_len ? SetStatus::kMore : SetStatus::kDone;
  return n;
}

// SSSE3: each 16 bytes of the record as the prototype's ORed with one byte
// shuffle per 16-byte piece of fixed bytes they draw from. A record whose
// pieces would read past the set, and every record with variable-length
// fields, is first gathered into staging.
template <bool kVariable>
__attribute__((target("ssse3"))) size_t decode_loop_shuffle(
    const DecodePlan& plan, const uint8_t* body, size_t len, size_t* pos, const TimeContext& tc,
    FlowRecord* out, size_t max, SetStatus* status) {
  alignas(64) uint8_t staging[kMaxStaged];
  DecodeScratch scratch;
  const DecodePlan::ShuffleOp* ops = plan.shuf.data();
  // A local copy, so that the record stores cannot alias it and the loop
  // bounds stay in registers.
  uint8_t b[9];
  std::memcpy(b, plan.shuf_begin, sizeof b);
  const size_t min_len = plan.min_record_len, src_len = plan.shuf_src_len;
  size_t n = 0, p = *pos;
  while (n < max && len - p >= min_len) {
    const uint8_t* src;
    size_t next;
    if constexpr (kVariable) {
      next = walk_record(plan, body, len, p, staging);
      if (next == 0) {
        *pos = p;
        *status = SetStatus::kVarOverflow;
        return n;
      }
      src = staging;
    } else {
      next = p + min_len;
      src = body + p;
      if (len - p < src_len) {
        std::memcpy(staging, src, min_len);
        src = staging;
      }
    }
    FlowRecord& r = out[n];
    uint8_t* rb = reinterpret_cast<uint8_t*>(&r);
    for (unsigned c = 0; c < 8; ++c) {
      __m128i acc = _mm_load_si128(reinterpret_cast<const __m128i*>(plan.shuf_base + 16 * c));
      for (unsigned o = b[c]; o != b[c + 1]; ++o) {
        const __m128i piece = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + ops[o].src_off));
        acc = _mm_or_si128(
            acc, _mm_shuffle_epi8(piece, _mm_load_si128(reinterpret_cast<const __m128i*>(ops[o].ctrl))));
      }
      _mm_store_si128(reinterpret_cast<__m128i*>(rb + 16 * c), acc);
    }
    if (!plan.slow.empty()) {
      if (plan.uses_scratch) scratch = DecodeScratch{};
      apply_ops(plan.slow.data(), plan.slow.data() + plan.slow.size(), src, rb,
                reinterpret_cast<uint8_t*>(&scratch));
    }
    finalize(plan, tc, scratch, &r);
    p = next;
    ++n;
  }
  *pos = p;
  *status = len - p >= min_len ? SetStatus::kMore : SetStatus::kDone;
  return n;
}

bool cpu_has_vbmi() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vbmi");
}
const bool kHasVbmi = cpu_has_vbmi();
const bool kHasSsse3 = (__builtin_cpu_init(), __builtin_cpu_supports("ssse3"));
#else
constexpr bool kHasVbmi = false;
constexpr bool kHasSsse3 = false;
#endif

DecodePath best_path() {
  return kHasVbmi ? DecodePath::kVbmi : kHasSsse3 ? DecodePath::kShuffle : DecodePath::kScalar;
}
// Written only by set_decode_path() before decoding starts (tests, benches).
DecodePath g_path = best_path();

}  // namespace

bool decode_path_available(DecodePath path) {
  switch (path) {
    case DecodePath::kScalar: return true;
    case DecodePath::kShuffle: return kHasSsse3;
    case DecodePath::kVbmi: return kHasVbmi;
  }
  return false;
}
bool set_decode_path(DecodePath path) {
  if (!decode_path_available(path)) return false;
  g_path = path;
  return true;
}
DecodePath decode_path() { return g_path; }
const char* decode_path_name(DecodePath path) {
  switch (path) {
    case DecodePath::kScalar: return "scalar";
    case DecodePath::kShuffle: return "ssse3";
    case DecodePath::kVbmi: return "avx512vbmi";
  }
  return "?";
}

uint32_t rate_of(const DecodeScratch& s) {
  double rate = 0;
  if (s.rate != 0) {
    rate = static_cast<double>(s.rate);
  } else if (s.packet_interval != 0) {
    rate = static_cast<double>(s.packet_interval + s.packet_space) /
           static_cast<double>(s.packet_interval);
  } else if (s.size != 0 && s.population != 0) {
    rate = static_cast<double>(s.population) / static_cast<double>(s.size);
  } else if (s.probability_bits != 0) {
    double p;
    std::memcpy(&p, &s.probability_bits, 8);
    if (p > 0 && p <= 1) rate = 1.0 / p;
  }
  if (!(rate >= 0.5)) return 0;  // also NaN
  if (rate > 4294967295.0) return 4294967295u;
  return static_cast<uint32_t>(std::llround(rate));
}

size_t decode_records(const DecodePlan& plan, const uint8_t* body, size_t len, size_t* pos,
                      const TimeContext& tc, FlowRecord* out, size_t max, SetStatus* status) {
  if (*pos == 0 && len > 0 && len < plan.min_record_len) {
    *status = SetStatus::kTooShort;
    return 0;
  }
  if (plan.section.active) [[unlikely]]
    return decode_loop_section(plan, body, len, pos, tc, out, max, status);
#if defined(__x86_64__)
  if (plan.permutable && g_path == DecodePath::kVbmi) {
    return plan.variable ? decode_loop_vbmi<true>(plan, body, len, pos, tc, out, max, status)
                         : decode_loop_vbmi<false>(plan, body, len, pos, tc, out, max, status);
  }
  if (plan.permutable && g_path == DecodePath::kShuffle) {
    return plan.variable ? decode_loop_shuffle<true>(plan, body, len, pos, tc, out, max, status)
                         : decode_loop_shuffle<false>(plan, body, len, pos, tc, out, max, status);
  }
#endif
  if (plan.variable && plan.fixed_len > kMaxStaged)
    return decode_loop_wide(plan, body, len, pos, tc, out, max, status);
  return decode_loop_portable(plan, body, len, pos, tc, out, max, status);
}

size_t count_records(const DecodePlan& plan, const uint8_t* body, size_t len, SetStatus* status) {
  const size_t min_len = plan.min_record_len;
  if (len > 0 && len < min_len) {
    *status = SetStatus::kTooShort;
    return 0;
  }
  *status = SetStatus::kDone;
  if (!plan.variable) return len / min_len;
  size_t n = 0, p = 0;
  while (len - p >= min_len) {
    const size_t next = walk_record(plan, body, len, p, nullptr);
    if (next == 0) {
      *status = SetStatus::kVarOverflow;
      return n;
    }
    p = next;
    ++n;
  }
  return n;
}

bool decode_options_record(const DecodePlan& plan, const uint8_t* body, size_t len, size_t* pos,
                           OptionsValues* out, SetStatus* status) {
  const size_t min_len = plan.min_record_len;
  *status = SetStatus::kDone;
  if (*pos == 0 && len > 0 && len < min_len) {
    *status = SetStatus::kTooShort;
    return false;
  }
  if (len - *pos < min_len) return false;
  FlowRecord r;
  DecodeScratch s;
  // Options records are rare: one record, read in place.
  const size_t next = decode_one_wide(plan, body, len, *pos, &r, &s);
  if (next == 0) {
    *status = SetStatus::kVarOverflow;
    return false;
  }
  *out = OptionsValues{};
  out->has_input = plan.has_input_index;
  out->has_output = plan.has_output_index;
  out->input = r.input;
  out->output = r.output;
  for (auto [ps, ptr, n, has] :
       {std::tuple{&plan.if_name, &out->if_name, &out->if_name_len, &out->has_if_name},
        std::tuple{&plan.if_description, &out->if_description, &out->if_description_len,
                   &out->has_if_description}}) {
    if (!ps->present) continue;
    size_t len_found = 0;
    locate_field(plan, body, *pos, ps->segment, ps->variable, ps->seg_off, ps->len, ptr,
                 &len_found);
    *n = static_cast<uint16_t>(len_found);
    *has = true;
  }
  *pos = next;
  out->has_sampler_id = plan.has_sampler_id;
  out->sampler_id = r.sampler_id;
  out->rate = plan.has_rate ? rate_of(s) : 0;
  out->algorithm = static_cast<uint32_t>(s.algorithm);
  out->sampling = plan.has_rate || plan.has_sampler_id;
  out->has_system_init = plan.has_system_init;
  out->system_init_ms = static_cast<int64_t>(s.system_init);
  return true;
}

}  // namespace ringflow
