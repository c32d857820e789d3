// sFlow v5 decoder: see sflow_decoder.h for the contract.
#include "decode/sflow_decoder.h"

#include <cstring>

#include "wire/bytes.h"

namespace ringflow {
namespace {

using wire::load_be32;
using wire::load_be64;
namespace sf = sflow;

// `n` bytes at `off` of [0, end). REQUIRES off <= end, which every caller
// below meets: its offset starts at 0 and moves only past bytes this check
// has just found (so `end - off` cannot wrap and one comparison is the bound).
bool have(size_t off, size_t n, size_t end) { return n <= end - off; }

// An sFlow address (type word, then 0, 4 or 16 bytes) at b[*off]; false when
// the type is unknown or the bytes are not there. Reads nothing past b + n.
SflowReject check_address(const uint8_t* b, size_t n, size_t* off) {
  if (!have(*off, 4, n)) return SflowReject::kRecordTooShort;
  const uint32_t type = load_be32(b + *off);
  size_t size;
  switch (type) {
    case 0:
      size = 0;
      break;
    case sf::kAddressIPv4:
      size = 4;
      break;
    case sf::kAddressIPv6:
      size = 16;
      break;
    default:
      return SflowReject::kBadAddressType;
  }
  if (!have(*off + 4, size, n)) return SflowReject::kRecordTooShort;
  *off += 4 + size;
  return SflowReject::kNone;
}

// REQUIRES: check_address accepted the same bytes.
size_t read_address(const uint8_t* b, size_t off, uint32_t* type, IpAddr* a) {
  *type = load_be32(b + off);
  if (*type == sf::kAddressIPv4) {
    load_v4_addr(a, b + off + 4);
    return off + 8;
  }
  if (*type == sf::kAddressIPv6) {
    load_v6_addr(a, b + off + 4);
    return off + 20;
  }
  *a = IpAddr{};
  return off + 4;
}

// A counted list of 32-bit words at b[*off]: the count, then count words.
SflowReject check_list(const uint8_t* b, size_t n, size_t* off) {
  if (!have(*off, 4, n)) return SflowReject::kListPastRecord;
  const uint64_t words = load_be32(b + *off);
  if (words * 4 > n - *off - 4) return SflowReject::kListPastRecord;
  *off += 4 + words * 4;
  return SflowReject::kNone;
}

// The inner lengths of a flow record this decoder reads ([b, b + n) = body).
// Inlined into both validate_walk instantiations: called once per record.
[[gnu::always_inline]] inline SflowReject check_flow_record(uint32_t data_format, const uint8_t* b,
                                                            size_t n) {
  if (sf::enterprise_of(data_format) != 0) return SflowReject::kNone;
  switch (sf::format_of(data_format)) {
    case sf::kRawHeader:
      if (n < sf::kRawHeaderFixed) return SflowReject::kRecordTooShort;
      if (load_be32(b + 12) > n - sf::kRawHeaderFixed) return SflowReject::kHeaderPastRecord;
      return SflowReject::kNone;
    case sf::kSampledEthernet:
      return n < sf::kSampledEthernetSize ? SflowReject::kRecordTooShort : SflowReject::kNone;
    case sf::kSampledIPv4:
      return n < sf::kSampledIPv4Size ? SflowReject::kRecordTooShort : SflowReject::kNone;
    case sf::kSampledIPv6:
      return n < sf::kSampledIPv6Size ? SflowReject::kRecordTooShort : SflowReject::kNone;
    case sf::kExtendedSwitch:
      return n < sf::kExtendedSwitchSize ? SflowReject::kRecordTooShort : SflowReject::kNone;
    case sf::kExtendedRouter: {
      size_t off = 0;
      if (auto r = check_address(b, n, &off); r != SflowReject::kNone) return r;
      return have(off, 8, n) ? SflowReject::kNone : SflowReject::kRecordTooShort;
    }
    case sf::kExtendedGateway: {
      size_t off = 0;
      if (auto r = check_address(b, n, &off); r != SflowReject::kNone) return r;
      if (!have(off, 16, n)) return SflowReject::kRecordTooShort;  // 3 AS + segment count
      const uint32_t segments = load_be32(b + off + 12);
      off += 16;
      for (uint32_t s = 0; s < segments; ++s) {
        if (!have(off, 4, n)) return SflowReject::kListPastRecord;  // segment type
        off += 4;
        if (auto r = check_list(b, n, &off); r != SflowReject::kNone) return r;
      }
      if (auto r = check_list(b, n, &off); r != SflowReject::kNone) return r;      // communities
      return have(off, 4, n) ? SflowReject::kNone : SflowReject::kRecordTooShort;  // localpref
    }
    case sf::kExtendedMpls: {
      size_t off = 0;
      if (auto r = check_address(b, n, &off); r != SflowReject::kNone) return r;
      if (auto r = check_list(b, n, &off); r != SflowReject::kNone) return r;
      return check_list(b, n, &off);
    }
    default:
      return SflowReject::kNone;  // skipped by its length
  }
}

SflowReject check_counter_record(uint32_t data_format, size_t n) {
  if (sf::enterprise_of(data_format) != 0) return SflowReject::kNone;
  switch (sf::format_of(data_format)) {
    case sf::kGenericInterface:
      return n < sf::kGenericInterfaceSize ? SflowReject::kRecordTooShort : SflowReject::kNone;
    case sf::kEthernetInterface:
      return n < sf::kEthernetInterfaceSize ? SflowReject::kRecordTooShort : SflowReject::kNone;
    default:
      return SflowReject::kNone;
  }
}

// The datagram header: *off = first sample.
SflowReject read_header(const uint8_t* p, size_t len, SflowDatagram* d, size_t* off) {
  if (len < 8) return SflowReject::kTooShort;
  if (load_be32(p) != sf::kVersion5) return SflowReject::kBadVersion;
  const uint32_t type = load_be32(p + 4);
  size_t at;
  if (type == sf::kAddressIPv4) {
    if (len < sf::kHeaderV4Size) return SflowReject::kTooShort;
    d->agent = IpAddr::from_v4(load_be32(p + 8));
    at = 12;
  } else if (type == sf::kAddressIPv6) {
    if (len < sf::kHeaderV6Size) return SflowReject::kTooShort;
    d->agent = IpAddr::from_v6(p + 8);
    at = 24;
  } else {
    return SflowReject::kBadAgentType;
  }
  d->agent_type = type;
  d->sub_agent = load_be32(p + at);
  d->sequence = load_be32(p + at + 4);
  d->uptime_ms = load_be32(p + at + 8);
  d->num_samples = load_be32(p + at + 12);
  *off = at + 16;
  return SflowReject::kNone;
}

// Fixed part of a known sample: its size, or 0 for a sample this decoder skips.
uint32_t sample_fixed(uint32_t data_format, bool* flow) {
  if (sf::enterprise_of(data_format) != 0) return 0;
  switch (sf::format_of(data_format)) {
    case sf::kFlowSample:
      *flow = true;
      return sf::kFlowSampleFixed;
    case sf::kFlowSampleExpanded:
      *flow = true;
      return sf::kFlowSampleExpandedFixed;
    case sf::kCountersSample:
      *flow = false;
      return sf::kCountersSampleFixed;
    case sf::kCountersSampleExpanded:
      *flow = false;
      return sf::kCountersSampleExpandedFixed;
    default:
      return 0;
  }
}

PacketStart packet_start(uint32_t header_protocol, bool* known) {
  *known = true;
  switch (header_protocol) {
    case sf::kHeaderEthernet:
      return PacketStart::kEthernet;
    case sf::kHeaderIPv4:
      return PacketStart::kIPv4;
    case sf::kHeaderIPv6:
      return PacketStart::kIPv6;
    case sf::kHeaderMpls:
      return PacketStart::kMpls;
    default:
      *known = false;
      return PacketStart::kEthernet;
  }
}

[[gnu::always_inline]] inline void read_flow_sample(const uint8_t* s, uint32_t format,
                                                    SflowFlowSample* fs) {
  fs->format = format;
  fs->sequence = load_be32(s);
  if (format == sf::kFlowSample) {
    const uint32_t source = load_be32(s + 4);
    fs->source_type = sf::source_type_of(source);
    fs->source_index = sf::source_index_of(source);
    fs->rate = load_be32(s + 8);
    fs->pool = load_be32(s + 12);
    fs->drops = load_be32(s + 16);
    const uint32_t in = load_be32(s + 20), out = load_be32(s + 24);
    fs->input_format = sf::if_format_of(in);
    fs->input = sf::if_value_of(in);
    fs->output_format = sf::if_format_of(out);
    fs->output = sf::if_value_of(out);
    fs->num_records = load_be32(s + 28);
  } else {
    fs->source_type = load_be32(s + 4);
    fs->source_index = load_be32(s + 8);
    fs->rate = load_be32(s + 12);
    fs->pool = load_be32(s + 16);
    fs->drops = load_be32(s + 20);
    fs->input_format = load_be32(s + 24);
    fs->input = load_be32(s + 28);
    fs->output_format = load_be32(s + 32);
    fs->output = load_be32(s + 36);
    fs->num_records = load_be32(s + 40);
  }
}

void read_counter_sample(const uint8_t* s, uint32_t format, SflowCounterSample* cs) {
  cs->format = format;
  cs->sequence = load_be32(s);
  if (format == sf::kCountersSample) {
    const uint32_t source = load_be32(s + 4);
    cs->source_type = sf::source_type_of(source);
    cs->source_index = sf::source_index_of(source);
    cs->num_records = load_be32(s + 8);
  } else {
    cs->source_type = load_be32(s + 4);
    cs->source_index = load_be32(s + 8);
    cs->num_records = load_be32(s + 12);
  }
}

uint32_t num_records_of(const uint8_t* s, uint32_t format) {
  switch (format) {
    case sf::kFlowSample:
      return load_be32(s + 28);
    case sf::kFlowSampleExpanded:
      return load_be32(s + 40);
    case sf::kCountersSample:
      return load_be32(s + 8);
    default:
      return load_be32(s + 12);  // kCountersSampleExpanded
  }
}

// Decodes a known flow record's body (validated) into *r.
void read_flow_record(const uint8_t* b, const SflowOptions& opt, SflowFlowRecord* r) {
  switch (r->format) {
    case sf::kRawHeader: {
      r->header_protocol = load_be32(b);
      r->frame_length = load_be32(b + 4);
      r->stripped = load_be32(b + 8);
      r->header_length = load_be32(b + 12);
      r->header = b + 16;
      bool known;
      const PacketStart start = packet_start(r->header_protocol, &known);
      if (known) {
        parse_packet(r->header, r->header_length, start, opt.packet, &r->packet);
      } else {
        r->packet = ParsedPacket{};
        r->packet.status = PacketStatus::kUnsupported;
      }
      return;
    }
    case sf::kSampledEthernet:
      r->eth_length = load_be32(b);
      std::memcpy(r->eth_src, b + 4, 6);
      std::memcpy(r->eth_dst, b + 12, 6);
      r->eth_type = load_be32(b + 20);
      return;
    case sf::kSampledIPv4:
    case sf::kSampledIPv6: {
      const bool v6 = r->format == sf::kSampledIPv6;
      r->ip.length = load_be32(b);
      r->ip.protocol = load_be32(b + 4);
      size_t off = 8;
      if (v6) {
        load_v6_addr(&r->ip.src, b + 8);
        load_v6_addr(&r->ip.dst, b + 24);
        off = 40;
      } else {
        load_v4_addr(&r->ip.src, b + 8);
        load_v4_addr(&r->ip.dst, b + 12);
        off = 16;
      }
      r->ip.src_port = load_be32(b + off);
      r->ip.dst_port = load_be32(b + off + 4);
      r->ip.tcp_flags = load_be32(b + off + 8);
      r->ip.tos = load_be32(b + off + 12);
      return;
    }
    case sf::kExtendedSwitch:
      r->src_vlan = load_be32(b);
      r->src_priority = load_be32(b + 4);
      r->dst_vlan = load_be32(b + 8);
      r->dst_priority = load_be32(b + 12);
      return;
    case sf::kExtendedRouter: {
      const size_t off = read_address(b, 0, &r->nexthop_type, &r->nexthop);
      r->src_mask = load_be32(b + off);
      r->dst_mask = load_be32(b + off + 4);
      return;
    }
    case sf::kExtendedGateway: {
      size_t off = read_address(b, 0, &r->nexthop_type, &r->nexthop);
      r->as = load_be32(b + off);
      r->src_as = load_be32(b + off + 4);
      r->src_peer_as = load_be32(b + off + 8);
      r->path_segments = load_be32(b + off + 12);
      off += 16;
      r->path_length = r->first_as = r->last_as = 0;
      for (uint32_t s = 0; s < r->path_segments; ++s) {
        const uint32_t count = load_be32(b + off + 4);
        off += 8;
        if (count > 0) {
          if (r->path_length == 0) r->first_as = load_be32(b + off);
          r->last_as = load_be32(b + off + (size_t{count} - 1) * 4);
        }
        r->path_length += count;
        off += size_t{count} * 4;
      }
      r->communities = load_be32(b + off);
      off += 4 + size_t{r->communities} * 4;
      r->localpref = load_be32(b + off);
      return;
    }
    case sf::kExtendedMpls: {
      size_t off = read_address(b, 0, &r->nexthop_type, &r->nexthop);
      r->mpls_in_count = load_be32(b + off);
      r->mpls_in_top = r->mpls_in_count ? load_be32(b + off + 4) : 0;
      off += 4 + size_t{r->mpls_in_count} * 4;
      r->mpls_out_count = load_be32(b + off);
      r->mpls_out_top = r->mpls_out_count ? load_be32(b + off + 4) : 0;
      return;
    }
    default:
      return;
  }
}

void read_counter_record(const uint8_t* b, SflowCounterRecord* r) {
  if (r->format == sf::kGenericInterface) {
    namespace g = sf::generic;
    GenericIfCounters& c = r->generic;
    c.if_index = load_be32(b + g::kIfIndex);
    c.if_type = load_be32(b + g::kIfType);
    c.if_speed = load_be64(b + g::kIfSpeed);
    c.if_direction = load_be32(b + g::kIfDirection);
    c.if_status = load_be32(b + g::kIfStatus);
    c.in_octets = load_be64(b + g::kInOctets);
    c.in_ucast = load_be32(b + g::kInUcast);
    c.in_mcast = load_be32(b + g::kInMcast);
    c.in_bcast = load_be32(b + g::kInBcast);
    c.in_discards = load_be32(b + g::kInDiscards);
    c.in_errors = load_be32(b + g::kInErrors);
    c.in_unknown = load_be32(b + g::kInUnknown);
    c.out_octets = load_be64(b + g::kOutOctets);
    c.out_ucast = load_be32(b + g::kOutUcast);
    c.out_mcast = load_be32(b + g::kOutMcast);
    c.out_bcast = load_be32(b + g::kOutBcast);
    c.out_discards = load_be32(b + g::kOutDiscards);
    c.out_errors = load_be32(b + g::kOutErrors);
    c.promisc = load_be32(b + g::kPromisc);
  } else if (r->format == sf::kEthernetInterface) {
    uint32_t v[13];
    for (size_t k = 0; k < 13; ++k) v[k] = load_be32(b + 4 * k);
    EthernetCounters& e = r->ethernet;
    e.alignment_errors = v[0];
    e.fcs_errors = v[1];
    e.single_collision_frames = v[2];
    e.multiple_collision_frames = v[3];
    e.sqe_test_errors = v[4];
    e.deferred_transmissions = v[5];
    e.late_collisions = v[6];
    e.excessive_collisions = v[7];
    e.internal_mac_transmit_errors = v[8];
    e.carrier_sense_errors = v[9];
    e.frame_too_longs = v[10];
    e.internal_mac_receive_errors = v[11];
    e.symbol_errors = v[12];
  }
}

void set_key_from_packet(const ParsedPacket& pk, FlowRecord* f) {
  f->ip_version = pk.ip_version;
  f->src = pk.src;
  f->dst = pk.dst;
  f->protocol = pk.protocol;
  f->tos = pk.tos;
  f->tcp_flags = static_cast<uint8_t>(pk.tcp_flags);
  if (pk.has_ports) {
    f->src_port = pk.src_port;
    f->dst_port = pk.dst_port;
  } else if (pk.has_icmp) {
    f->src_port = 0;
    f->dst_port = static_cast<uint16_t>(pk.icmp_type << 8 | pk.icmp_code);
  }
}

void set_key_from_sampled(const SampledIp& ip, bool v6, FlowRecord* f) {
  f->ip_version = v6 ? 6 : 4;
  f->src = ip.src;
  f->dst = ip.dst;
  f->protocol = static_cast<uint8_t>(ip.protocol);
  f->tos = static_cast<uint8_t>(ip.tos);
  f->tcp_flags = static_cast<uint8_t>(ip.tcp_flags);
  f->src_port = static_cast<uint16_t>(ip.src_port);
  f->dst_port = static_cast<uint16_t>(ip.dst_port);
}

// What the records of one flow sample have told so far.
// 28 bytes: the flags together, the lengths as wide as their fields.
struct FlowState {
  bool key_from_header = false, key_from_sampled = false;
  bool have_raw = false, have_eth = false, have_sampled = false, have_switch = false;
  bool have_router_nexthop = false, header_has_vlan = false;
  uint16_t header_vlan = 0;
  uint32_t raw_len = 0, raw_ip_len = 0, eth_len = 0, sampled_len = 0;
};

void fold_record(const SflowFlowRecord& r, const SflowOptions& opt, FlowState* st, FlowRecord* f) {
  switch (r.format) {
    case sf::kRawHeader: {
      const ParsedPacket& pk = r.packet;
      if (!st->have_raw) {
        st->have_raw = true;
        switch (opt.bytes) {
          case SflowBytes::kFrameLength:
            st->raw_len = r.frame_length;
            break;
          case SflowBytes::kFrameMinusStripped:
            st->raw_len = r.frame_length > r.stripped ? r.frame_length - r.stripped : 0;
            break;
          case SflowBytes::kIpLength:
            st->raw_len = 0;
            break;
        }
        if (pk.vlan_count > 0) {
          st->header_has_vlan = true;
          st->header_vlan = pk.vlans[0];
        }
      }
      if (!st->key_from_header && pk.ip_version != 0) {
        st->key_from_header = true;
        st->raw_ip_len = pk.ip_len;
        set_key_from_packet(pk, f);
      }
      return;
    }
    case sf::kSampledEthernet:
      if (!st->have_eth) {
        st->have_eth = true;
        st->eth_len = r.eth_length;
      }
      return;
    case sf::kSampledIPv4:
    case sf::kSampledIPv6:
      if (!st->have_sampled) {
        st->have_sampled = true;
        st->sampled_len = r.ip.length;
        if (!st->key_from_header) {
          st->key_from_sampled = true;
          set_key_from_sampled(r.ip, r.format == sf::kSampledIPv6, f);
        }
      }
      return;
    case sf::kExtendedSwitch:
      if (r.src_vlan <= 4095) {  // agents send 0xFFFFFFFF for "unknown"
        st->have_switch = true;
        f->vlan = static_cast<uint16_t>(r.src_vlan);
      }
      return;
    case sf::kExtendedRouter:
      st->have_router_nexthop = true;
      f->nexthop = r.nexthop;
      f->src_mask = static_cast<uint8_t>(r.src_mask);
      f->dst_mask = static_cast<uint8_t>(r.dst_mask);
      return;
    case sf::kExtendedGateway:
      if (!st->have_router_nexthop) f->nexthop = r.nexthop;
      f->src_as = r.src_as;
      f->dst_as = r.last_as;
      return;
    default:
      return;
  }
}

void finish_flow(const SflowFlowSample& fs, const FlowState& st, const SflowOptions& opt,
                 FlowRecord* f) {
  f->packets = 1;
  uint64_t bytes = 0;
  if (opt.bytes == SflowBytes::kIpLength) {
    bytes = st.key_from_header ? st.raw_ip_len : st.have_sampled ? st.sampled_len : 0;
  } else if (st.have_raw) {
    bytes = st.raw_len;
  } else if (st.have_eth) {
    bytes = st.eth_len;
  } else if (st.have_sampled) {
    bytes = st.sampled_len;
  }
  f->bytes = bytes;
  f->sampling = fs.rate == 0 ? 1 : fs.rate;
  f->flags = kFlowHasRate | kFlowTimeUnknown;
  f->start_ms = f->end_ms = opt.now_ms;
  f->input = fs.input_format == 0 ? fs.input : 0;
  f->output = fs.output_format == 0 ? fs.output : 0;
  if (!st.have_switch && st.header_has_vlan) f->vlan = st.header_vlan;
}

}  // namespace

SflowBytes sflow_bytes_mode(std::string_view name) {
  if (name == kSflowBytesNames[1]) return SflowBytes::kFrameMinusStripped;
  if (name == kSflowBytesNames[2]) return SflowBytes::kIpLength;
  return SflowBytes::kFrameLength;
}

const char* sflow_reject_name(SflowReject r) {
  switch (r) {
    case SflowReject::kNone:
      return "none";
    case SflowReject::kTooShort:
      return "too_short";
    case SflowReject::kBadVersion:
      return "bad_version";
    case SflowReject::kBadAgentType:
      return "bad_agent_type";
    case SflowReject::kSampleCountMismatch:
      return "sample_count_mismatch";
    case SflowReject::kSamplePastDatagram:
      return "sample_past_datagram";
    case SflowReject::kSampleTooShort:
      return "sample_too_short";
    case SflowReject::kRecordCountMismatch:
      return "record_count_mismatch";
    case SflowReject::kRecordPastSample:
      return "record_past_sample";
    case SflowReject::kRecordTooShort:
      return "record_too_short";
    case SflowReject::kHeaderPastRecord:
      return "header_past_record";
    case SflowReject::kBadAddressType:
      return "bad_address_type";
    case SflowReject::kListPastRecord:
      return "list_past_record";
  }
  return "unknown";
}

namespace {

bool known_flow_record(uint32_t e, uint32_t f) {
  return e == 0 && (f == sf::kRawHeader || f == sf::kSampledEthernet || f == sf::kSampledIPv4 ||
                    f == sf::kSampledIPv6 || f == sf::kExtendedSwitch || f == sf::kExtendedRouter ||
                    f == sf::kExtendedGateway || f == sf::kExtendedMpls);
}

// validate_sflow's walk; with kHeads, also the heads of the flow samples
// (see SflowHeads), read from the bytes each check has just accepted.
template <bool kHeads>
SflowReject validate_walk(const uint8_t* p, size_t len, SflowDatagram* d, uint32_t* trailing_bytes,
                          SflowHeads* heads) {
  size_t off;
  if (auto r = read_header(p, len, d, &off); r != SflowReject::kNone) return r;
  if constexpr (kHeads) {
    heads->n = 0;
    heads->complete = d->num_samples <= SflowHeads::kMax;
  }
  // Invariant: off <= len here, and roff <= end in the record loop (every
  // step forward was checked against them), so each bound below is the one
  // subtraction `bytes left < bytes needed`.
  for (uint32_t s = 0; s < d->num_samples; ++s) {
    if (len - off < 8) return SflowReject::kSampleCountMismatch;
    const uint32_t data_format = load_be32(p + off);
    const uint32_t slen = load_be32(p + off + 4);
    off += 8;
    if (len - off < slen) return SflowReject::kSamplePastDatagram;
    const size_t end = off + slen;
    bool flow = false;
    const uint32_t fixed = sample_fixed(data_format, &flow);
    if (fixed != 0) {
      if (slen < fixed) return SflowReject::kSampleTooShort;
      const uint32_t format = sf::format_of(data_format);
      const uint32_t records = num_records_of(p + off, format);
      SflowSampleHead* h = nullptr;
      // The layer-2 length by precedence: raw header, sampled Ethernet, sampled IP.
      uint32_t raw_len = 0, eth_len = 0, ip_len = 0;
      bool has_raw = false, has_eth = false, has_ip = false;
      if constexpr (kHeads) {
        if (!flow) heads->complete = false;  // counter records: the full walk decodes them
        if (heads->complete) {
          h = &heads->heads[heads->n++];
          SflowFlowSample fs;
          read_flow_sample(p + off, format, &fs);
          h->enterprise = 0;
          h->format = format;
          h->flow = true;
          h->counters = false;
          h->sequence = fs.sequence;
          h->source_type = fs.source_type;
          h->source_index = fs.source_index;
          h->rate = fs.rate;
          h->pool = fs.pool;
          h->drops = fs.drops;
          h->input = fs.input_format == 0 ? fs.input : 0;
          h->output = fs.output_format == 0 ? fs.output : 0;
        }
      }
      size_t roff = off + fixed;
      for (uint32_t k = 0; k < records; ++k) {
        if (end - roff < 8) return SflowReject::kRecordCountMismatch;
        const uint32_t rformat = load_be32(p + roff);
        const uint32_t rlen = load_be32(p + roff + 4);
        roff += 8;
        if (end - roff < rlen) return SflowReject::kRecordPastSample;
        const SflowReject r =
            flow ? check_flow_record(rformat, p + roff, rlen) : check_counter_record(rformat, rlen);
        if (r != SflowReject::kNone) return r;
        if constexpr (kHeads) {
          if (h != nullptr) {
            const uint32_t e = sf::enterprise_of(rformat), f = sf::format_of(rformat);
            if (!known_flow_record(e, f)) {
              heads->complete = false;                     // reported one by one by the full walk
            } else if (f == sf::kRawHeader && !has_raw) {  // checked: the fixed fields are there
              raw_len = load_be32(p + roff + 4);
              has_raw = true;
            } else if (f == sf::kSampledEthernet && !has_eth) {
              eth_len = load_be32(p + roff);
              has_eth = true;
            } else if ((f == sf::kSampledIPv4 || f == sf::kSampledIPv6) && !has_ip) {
              ip_len = load_be32(p + roff);  // the first, as the decoder's bytes
              has_ip = true;
            }
          }
        }
        roff += rlen;
      }
      if constexpr (kHeads) {
        if (h != nullptr) h->length = has_raw ? raw_len : has_eth ? eth_len : ip_len;
      }
    } else if constexpr (kHeads) {
      heads->complete = false;  // an unknown sample: reported by the full walk
    }
    off = end;
  }
  *trailing_bytes = static_cast<uint32_t>(len - off);
  return SflowReject::kNone;
}

}  // namespace

SflowReject validate_sflow(const uint8_t* p, size_t len, SflowDatagram* d,
                           uint32_t* trailing_bytes) {
  return validate_walk<false>(p, len, d, trailing_bytes, nullptr);
}

SflowReject validate_sflow(const uint8_t* p, size_t len, SflowDatagram* d, uint32_t* trailing_bytes,
                           SflowHeads* heads) {
  return validate_walk<true>(p, len, d, trailing_bytes, heads);
}

SflowResult decode_sflow(const uint8_t* p, size_t len, const SflowOptions& opt, SflowSink* sink) {
  SflowResult res;
  SflowDatagram d;
  size_t off;
  if (opt.validated) {
    res.reject = read_header(p, len, &d, &off);  // accepted before: kNone
  } else {
    res.reject = validate_sflow(p, len, &d, &res.trailing_bytes);
    off = d.agent_type == sf::kAddressIPv4 ? sf::kHeaderV4Size : sf::kHeaderV6Size;
  }
  if (res.reject != SflowReject::kNone) return res;

  // Per-thread scratch, not locals: value-initialising these 700 bytes on
  // every call (GCC's `rep stos`) cost a quarter of the decode time of a
  // 7-sample datagram. Their stale contents are never read (each field group
  // is written before the sink sees it; see SflowFlowRecord).
  thread_local SflowFlowSample fs;
  thread_local SflowCounterSample cs;
  thread_local SflowFlowRecord fr;
  thread_local SflowCounterRecord cr;
  thread_local FlowRecord f;
  uint32_t emitted = 0;
  for (uint32_t s = 0; s < d.num_samples; ++s) {
    const uint32_t data_format = load_be32(p + off);
    const uint32_t slen = load_be32(p + off + 4);
    const uint8_t* body = p + off + 8;
    off += 8 + size_t{slen};
    bool flow = false;
    const uint32_t fixed = sample_fixed(data_format, &flow);
    if (flow && fixed != 0) {
      if (res.flow_samples < opt.skip_flows) {
        ++res.flow_samples;
        continue;
      }
      if (emitted == opt.max_flows) {
        res.more = true;
        break;
      }
      ++emitted;
    }
    if (fixed == 0) {
      ++res.unknown_samples;
      sink->unknown(d, SflowUnknown::kSample, sf::enterprise_of(data_format),
                    sf::format_of(data_format));
      continue;
    }
    const uint32_t format = sf::format_of(data_format);
    const uint8_t* rec = body + fixed;
    if (flow) {
      ++res.flow_samples;
      read_flow_sample(body, format, &fs);
      fs.index = s;
      f = kEmptyFlow;  // a copy: value-initialising compiles to a slow `rep stos`
      FlowState st;
      for (uint32_t k = 0; k < fs.num_records; ++k) {
        const uint32_t rformat = load_be32(rec);
        fr.index = k;
        fr.enterprise = sf::enterprise_of(rformat);
        fr.format = sf::format_of(rformat);
        fr.length = load_be32(rec + 4);
        fr.body = rec + 8;
        rec += 8 + size_t{fr.length};
        ++res.flow_records;
        if (fr.enterprise == 0) {
          read_flow_record(fr.body, opt, &fr);
          fold_record(fr, opt, &st, &f);
          if (fr.format == sf::kRawHeader && fr.packet.status == PacketStatus::kCut)
            ++res.cut_headers;
          switch (fr.format) {
            case sf::kRawHeader:
            case sf::kSampledEthernet:
            case sf::kSampledIPv4:
            case sf::kSampledIPv6:
            case sf::kExtendedSwitch:
            case sf::kExtendedRouter:
            case sf::kExtendedGateway:
            case sf::kExtendedMpls:
              break;
            default:
              ++res.unknown_records;
              sink->unknown(d, SflowUnknown::kFlowRecord, fr.enterprise, fr.format);
          }
        } else {
          ++res.unknown_records;
          sink->unknown(d, SflowUnknown::kFlowRecord, fr.enterprise, fr.format);
        }
        if (opt.flow_record_views) sink->flow_record(d, fs, fr);
      }
      finish_flow(fs, st, opt, &f);
      sink->flow(d, fs, f);
    } else {
      ++res.counter_samples;
      read_counter_sample(body, format, &cs);
      cs.index = s;
      for (uint32_t k = 0; k < cs.num_records; ++k) {
        const uint32_t rformat = load_be32(rec);
        cr.index = k;
        cr.enterprise = sf::enterprise_of(rformat);
        cr.format = sf::format_of(rformat);
        cr.length = load_be32(rec + 4);
        cr.body = rec + 8;
        rec += 8 + size_t{cr.length};
        ++res.counter_records;
        if (cr.enterprise == 0 &&
            (cr.format == sf::kGenericInterface || cr.format == sf::kEthernetInterface)) {
          read_counter_record(cr.body, &cr);
        } else {
          ++res.unknown_records;
          sink->unknown(d, SflowUnknown::kCounterRecord, cr.enterprise, cr.format);
        }
        sink->counters(d, cs, cr);
      }
    }
  }
  return res;
}

void walk_sflow_samples(const uint8_t* p, size_t len, const SflowDatagram& d, SflowWalk* w) {
  (void)len;  // validated: every length below lies inside [p, p + len)
  size_t off = d.agent_type == sf::kAddressIPv4 ? sf::kHeaderV4Size : sf::kHeaderV6Size;
  SflowFlowSample fs;
  SflowCounterSample cs;
  SflowCounterRecord cr;
  for (uint32_t s = 0; s < d.num_samples; ++s) {
    const uint32_t data_format = load_be32(p + off);
    const uint32_t slen = load_be32(p + off + 4);
    const uint8_t* body = p + off + 8;
    off += 8 + size_t{slen};
    SflowSampleHead h;
    h.enterprise = sf::enterprise_of(data_format);
    h.format = sf::format_of(data_format);
    bool flow = false;
    const uint32_t fixed = sample_fixed(data_format, &flow);
    if (fixed == 0) {
      w->sample(h);
      continue;
    }
    const uint8_t* rec = body + fixed;
    if (flow) {
      read_flow_sample(body, h.format, &fs);
      h.flow = true;
      h.sequence = fs.sequence;
      h.source_type = fs.source_type;
      h.source_index = fs.source_index;
      h.rate = fs.rate;
      h.pool = fs.pool;
      h.drops = fs.drops;
      h.input = fs.input_format == 0 ? fs.input : 0;
      h.output = fs.output_format == 0 ? fs.output : 0;
      // The layer-2 length by precedence: raw header, sampled Ethernet, sampled IP.
      uint32_t raw_len = 0, eth_len = 0, ip_len = 0;
      bool has_raw = false, has_eth = false, has_ip = false;
      for (uint32_t k = 0; k < fs.num_records; ++k) {
        const uint32_t rformat = load_be32(rec);
        const uint32_t rlen = load_be32(rec + 4);
        const uint8_t* rbody = rec + 8;
        rec += 8 + size_t{rlen};
        const uint32_t e = sf::enterprise_of(rformat), f = sf::format_of(rformat);
        if (!known_flow_record(e, f)) {
          w->unknown_record(SflowUnknown::kFlowRecord, e, f);
          continue;
        }
        // Validated: each known record holds at least its fixed fields.
        if (f == sf::kRawHeader && !has_raw) {
          raw_len = load_be32(rbody + 4);
          has_raw = true;
        } else if (f == sf::kSampledEthernet && !has_eth) {
          eth_len = load_be32(rbody);
          has_eth = true;
        } else if ((f == sf::kSampledIPv4 || f == sf::kSampledIPv6) && !has_ip) {
          ip_len = load_be32(rbody);  // the first, as the decoder's bytes
          has_ip = true;
        }
      }
      h.length = has_raw ? raw_len : has_eth ? eth_len : ip_len;
      w->sample(h);
    } else {
      read_counter_sample(body, h.format, &cs);
      cs.index = s;
      h.counters = true;
      h.sequence = cs.sequence;
      h.source_type = cs.source_type;
      h.source_index = cs.source_index;
      w->sample(h);
      for (uint32_t k = 0; k < cs.num_records; ++k) {
        const uint32_t rformat = load_be32(rec);
        cr.index = k;
        cr.enterprise = sf::enterprise_of(rformat);
        cr.format = sf::format_of(rformat);
        cr.length = load_be32(rec + 4);
        cr.body = rec + 8;
        rec += 8 + size_t{cr.length};
        if (cr.enterprise == 0 &&
            (cr.format == sf::kGenericInterface || cr.format == sf::kEthernetInterface)) {
          read_counter_record(cr.body, &cr);
          w->counters(cs, cr);
        } else {
          w->unknown_record(SflowUnknown::kCounterRecord, cr.enterprise, cr.format);
        }
      }
    }
  }
}

}  // namespace ringflow
