// sFlow v5 decoder: one received datagram in; its header, every flow sample
// as one FlowRecord, every flow record and counter record as a view, out
// through a caller-supplied SflowSink; or the one reason it was rejected.
// Layout: src/wire/sflow.h (sflow.org, sflow_version_5.txt).
//
// Two steps, always in this order (decode_sflow does both):
//   1. validate_sflow() walks the whole datagram's framing before anything is
//      used: the header, every sample's format and length, every sample's
//      fixed fields, every record's format and length, and the inner lengths
//      of every record format this decoder reads (raw header length, address
//      types, AS path and label-stack counts). A datagram is accepted whole
//      or rejected whole under exactly one SflowReject reason;
//   2. the decode walk hands samples and records to the sink in wire order.
// Neither allocates, throws, or reads a byte outside [p, p + len): every
// field is a bounded big-endian load (src/wire/bytes.h).
//
// Validation, in order (the first failing rule names the reason):
//   len < 8, or < the header for its address type      -> kTooShort
//   version != 5                                        -> kBadVersion
//   agent address type not 1 (IPv4) or 2 (IPv6)         -> kBadAgentType
//   then for each of num_samples samples:
//     fewer than 8 bytes left for its format + length   -> kSampleCountMismatch
//     its length runs past the datagram                 -> kSamplePastDatagram
//     a known sample (0:1..0:4) shorter than its fixed
//     fields                                            -> kSampleTooShort
//     fewer than 8 bytes left in the sample for the
//     next of its num_records records                   -> kRecordCountMismatch
//     a record's length runs past its sample            -> kRecordPastSample
//     a known record shorter than its fixed fields      -> kRecordTooShort
//     raw header: header_length > record length - 16    -> kHeaderPastRecord
//     next-hop address type not 0, 1 or 2              -> kBadAddressType
//     AS path / communities / label stack past record   -> kListPastRecord
// Accepted and reported, not rejected (real agents do both): bytes after the
// declared samples (SflowResult::trailing_bytes), and bytes after a sample's
// declared records (padding; skipped). Records and samples of unknown
// (enterprise, format) are skipped by their length and reported to
// SflowSink::unknown.
//
// Flow samples -> FlowRecord (one per flow sample, whatever its records):
//   key (addresses, ports, protocol, tos, tcp_flags, ip_version): the first
//     raw packet header (0:1) that reached an IP header, else the first
//     sampled IPv4/IPv6 record (0:3/0:4). ICMP/ICMPv6 from a raw header:
//     src_port 0, dst_port = type << 8 | code (as NetFlow exporters send it).
//     With SflowOptions::packet.decapsulate the inner VXLAN/GRE packet's key.
//   packets = 1, bytes = the sampled packet's length (below), sampling = the
//     sample's rate (>= 1), flags kFlowHasRate: FlowRecord's contract is that
//     counters are as sent and aggregation multiplies by `sampling`, so the
//     aggregate is packets = 1 x rate, bytes = length x rate.
//   length (SflowOptions::bytes):
//     kFrameLength (default): the first raw header's frame_length as sent
//       (FCS and any stripped encapsulation included, `stripped` not taken
//       off). Measured against the peers on the same datagrams (akv-1140,
//       tg-old-ipv6-sw, akv-raw-ipv4, akv-ipv4-data from
//       ../shared/captures/sflow, replayed to sfcapd 1.7.1, which multiplies
//       by the rate, and sfacctd 1.7.7 without renormalisation): both count
//       frame_length per raw-header sample, as this mode does. They differ
//       only for a sample that also carries a sampled IPv4/IPv6 record after
//       its raw header (akv-ipv4-data: frame 1390, stripped 1262, IPv4 length 1344):
//       sfcapd and sfacctd keep one "packet size" per sample that each
//       length-bearing record overwrites, so they count the IPv4 record's
//       1344, while this mode keeps the layer-2 length it is named for (1390).
//       Of the 57 captures only akv-ipv4-data carries both records.
//     kFrameMinusStripped: frame_length - stripped (never below 0).
//     kIpLength: the IP total length (IPv4 total length, IPv6 payload + 40)
//       of the header's IP packet.
//     Without a raw header: the sampled Ethernet record's length (layer 2
//     modes), else the sampled IPv4/IPv6 record's length; 0 when nothing
//     says. In kIpLength mode a raw header without an IP header falls back
//     to the sampled IPv4/IPv6 record, else 0.
//   input/output: the interface value when its format is 0 (one ifIndex;
//     0x3FFFFFFF = internal), else 0 (discarded / several: see the sample).
//   vlan: extended switch src_vlan when <= 4095 (agents send 0xFFFFFFFF for
//     unknown), else the header's outermost 802.1Q ID, else 0.
//   nexthop/src_mask/dst_mask: extended router; nexthop else gateway's.
//   src_as/dst_as: extended gateway src_as and the last AS of its path.
//   start_ms = end_ms = SflowOptions::now_ms with kFlowTimeUnknown: an sFlow
//   sample carries no time but the agent's uptime at export.
//
// Thread safety: no shared state; the sink is called on the caller's thread.
// decode_sflow keeps its record scratch in thread_local storage (see the .cc),
// so a sink must not call decode_sflow from inside a callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <ringflow/flow_record.h>
#include <ringflow/ip.h>

#include "decode/packet_parser.h"
#include "wire/sflow.h"

namespace ringflow {

enum class SflowReject : uint8_t {
  kNone,
  kTooShort,
  kBadVersion,
  kBadAgentType,
  kSampleCountMismatch,
  kSamplePastDatagram,
  kSampleTooShort,
  kRecordCountMismatch,
  kRecordPastSample,
  kRecordTooShort,
  kHeaderPastRecord,
  kBadAddressType,
  kListPastRecord,
};
inline constexpr size_t kSflowRejectCount = 13;
// Metric label of a reason ("sample_past_datagram"); "none" for kNone.
const char* sflow_reject_name(SflowReject r);

enum class SflowBytes : uint8_t { kFrameLength, kFrameMinusStripped, kIpLength };
// decode.sflow_bytes: "frame_length", "frame_minus_stripped", "ip_length"
// (the config schema refuses other names; they read as kFrameLength).
inline constexpr const char* kSflowBytesNames[] = {"frame_length", "frame_minus_stripped",
                                                   "ip_length"};
SflowBytes sflow_bytes_mode(std::string_view name);

struct SflowOptions {
  SflowBytes bytes = SflowBytes::kFrameLength;
  PacketOptions packet;  // decapsulate: VXLAN/GRE inner key
  int64_t now_ms = 0;    // start_ms / end_ms of every FlowRecord
  // Hand each flow record to SflowSink::flow_record. A sink that needs only
  // the per-sample FlowRecords (aggregation) turns it off and saves a call
  // per record.
  bool flow_record_views = true;
  // Chunking (the worker's RecordReader): flow samples [0, skip_flows) are
  // stepped over without reading their records, and the walk stops before
  // the flow sample after max_flows were handed to SflowSink::flow
  // (SflowResult::more). Counter samples are handed to the sink on every call.
  uint32_t skip_flows = 0;
  uint32_t max_flows = UINT32_MAX;
  // The caller already had validate_sflow accept these very bytes (the
  // worker: the ordered stage validated the datagram it admitted, and its
  // buffer is pinned, unchanged, until the worker returns it): decode_sflow
  // reads the header and walks, without a second validation walk (a third of
  // a worker's decode instructions per datagram). SflowResult::trailing_bytes
  // is then 0 (the ordered stage counted them). With bytes that validate_sflow
  // would reject, reads may leave [p, p + len): never set it otherwise.
  bool validated = false;
};

struct SflowDatagram {
  uint32_t agent_type = 0;  // 1 IPv4, 2 IPv6
  IpAddr agent;             // IPv4 v4-mapped
  uint32_t sub_agent = 0, sequence = 0, uptime_ms = 0, num_samples = 0;
};

// A flow sample's own fields. Compact samples (0:1) are widened: source type
// and index split from source_id, interface format and value split from the
// 32-bit words.
struct SflowFlowSample {
  uint32_t index = 0;   // position among the datagram's samples, from 0
  uint32_t format = 0;  // 1 compact, 3 expanded
  uint32_t sequence = 0, source_type = 0, source_index = 0;
  uint32_t rate = 0, pool = 0, drops = 0;
  uint32_t input_format = 0, input = 0, output_format = 0, output = 0;
  uint32_t num_records = 0;
};

struct SflowCounterSample {
  uint32_t index = 0;   // position among the datagram's samples, from 0
  uint32_t format = 0;  // 2 compact, 4 expanded
  uint32_t sequence = 0, source_type = 0, source_index = 0, num_records = 0;
};

struct SampledIp {  // flow records 0:3 and 0:4
  uint32_t length = 0, protocol = 0;
  IpAddr src, dst;
  uint32_t src_port = 0, dst_port = 0, tcp_flags = 0, tos = 0;  // tos: IPv6 priority
};

// One flow record. `enterprise`, `format`, `length` and `body` are always
// set; the group for `format` (enterprise 0) is filled, the others are stale.
struct SflowFlowRecord {
  uint32_t index = 0;  // position among the sample's records, from 0
  uint32_t enterprise = 0, format = 0, length = 0;
  const uint8_t* body = nullptr;  // [body, body + length) inside the datagram
  // 0:1 raw packet header
  uint32_t header_protocol = 0, frame_length = 0, stripped = 0, header_length = 0;
  const uint8_t* header = nullptr;
  ParsedPacket packet;  // parsed for header protocols 1, 11, 12 and 13, else status kUnsupported
  // 0:2 sampled Ethernet
  uint32_t eth_length = 0, eth_type = 0;
  uint8_t eth_src[6] = {}, eth_dst[6] = {};
  // 0:3 / 0:4
  SampledIp ip;
  // 0:1001 extended switch
  uint32_t src_vlan = 0, src_priority = 0, dst_vlan = 0, dst_priority = 0;
  // 0:1002 router, 0:1003 gateway, 0:1006 MPLS: next hop (type 0 = unknown)
  uint32_t nexthop_type = 0;
  IpAddr nexthop;
  uint32_t src_mask = 0, dst_mask = 0;  // 1002
  // 0:1003 extended gateway
  uint32_t as = 0, src_as = 0, src_peer_as = 0;
  uint32_t path_segments = 0, path_length = 0;  // segments; ASes over all segments
  uint32_t first_as = 0, last_as = 0;           // first / last AS of the path (0 if empty)
  uint32_t communities = 0, localpref = 0;
  // 0:1006 extended MPLS: stack depths and top labels (raw 32-bit entries)
  uint32_t mpls_in_count = 0, mpls_out_count = 0, mpls_in_top = 0, mpls_out_top = 0;
};

struct GenericIfCounters {  // counter record 0:1
  uint32_t if_index = 0, if_type = 0;
  uint64_t if_speed = 0;
  uint32_t if_direction = 0, if_status = 0;
  uint64_t in_octets = 0;
  uint32_t in_ucast = 0, in_mcast = 0, in_bcast = 0, in_discards = 0, in_errors = 0, in_unknown = 0;
  uint64_t out_octets = 0;
  uint32_t out_ucast = 0, out_mcast = 0, out_bcast = 0, out_discards = 0, out_errors = 0;
  uint32_t promisc = 0;
};

struct EthernetCounters {  // counter record 0:2, dot3Stats in wire order
  uint32_t alignment_errors = 0, fcs_errors = 0, single_collision_frames = 0,
           multiple_collision_frames = 0, sqe_test_errors = 0, deferred_transmissions = 0,
           late_collisions = 0, excessive_collisions = 0, internal_mac_transmit_errors = 0,
           carrier_sense_errors = 0, frame_too_longs = 0, internal_mac_receive_errors = 0,
           symbol_errors = 0;
};

struct SflowCounterRecord {
  uint32_t index = 0;  // position among the sample's records, from 0
  uint32_t enterprise = 0, format = 0, length = 0;
  const uint8_t* body = nullptr;
  GenericIfCounters generic;  // format 1
  EthernetCounters ethernet;  // format 2
};

enum class SflowUnknown : uint8_t { kSample, kFlowRecord, kCounterRecord };

// Receives a datagram's contents in wire order. Only called for a datagram
// that validate_sflow accepted. Pointers are valid only during the call.
class SflowSink {
 public:
  virtual ~SflowSink() = default;
  // Each flow record of a flow sample, before flow() for that sample.
  virtual void flow_record(const SflowDatagram&, const SflowFlowSample&, const SflowFlowRecord&) {}
  // One per flow sample, after its records.
  virtual void flow(const SflowDatagram&, const SflowFlowSample&, const FlowRecord&) {}
  // Each record of a counter sample (known or not).
  virtual void counters(const SflowDatagram&, const SflowCounterSample&,
                        const SflowCounterRecord&) {}
  // A sample, flow record or counter record of a format this decoder does not
  // read, skipped by its length (flow_record / counters are still called for
  // unknown records of known samples).
  virtual void unknown(const SflowDatagram&, SflowUnknown, uint32_t /*enterprise*/,
                       uint32_t /*format*/) {}
};

struct SflowResult {
  SflowReject reject = SflowReject::kNone;
  uint32_t flow_samples = 0, counter_samples = 0, unknown_samples = 0;
  uint32_t flow_records = 0, counter_records = 0, unknown_records = 0;
  uint32_t cut_headers = 0;     // raw headers whose parse stopped with kCut
  uint32_t trailing_bytes = 0;  // after the declared samples (accepted)
  bool more = false;            // stopped at SflowOptions::max_flows with flow samples left
};

// What the ordered stage reads of each sample (walk_sflow_samples): the
// sample's own fixed fields, without parsing its flow records.
struct SflowSampleHead {
  uint32_t enterprise = 0, format = 0;  // the sample's data format
  bool flow = false;      // a flow sample (0:1, 0:3): the fields below are set
  bool counters = false;  // a counter sample (0:2, 0:4): sequence and source set
  uint32_t sequence = 0, source_type = 0, source_index = 0;
  uint32_t rate = 0, pool = 0, drops = 0;  // flow samples
  // Flow samples, for reconciliation with the interface counters
  // (src/decode/sflow_if_table.h): input/output ifIndex when their format is
  // 0 (one interface), else 0; `length` the sampled packet's layer-2 length
  // as decode_sflow's default mode reads it (the first raw header's
  // frame_length, else the sampled Ethernet record's length, else the sampled
  // IPv4/IPv6 record's length, else 0).
  uint32_t input = 0, output = 0, length = 0;
};

// Receives walk_sflow_samples' view of a datagram, in wire order.
class SflowWalk {
 public:
  virtual ~SflowWalk() = default;
  // Every sample, known or not (unknown: flow and counters both false). A
  // flow sample's after its records were walked (its `length` read from
  // them); a counter sample's before its records.
  virtual void sample(const SflowSampleHead&) {}
  // A flow or counter record of an (enterprise, format) this decoder does not
  // read (SflowUnknown::kFlowRecord / kCounterRecord).
  virtual void unknown_record(SflowUnknown, uint32_t /*enterprise*/, uint32_t /*format*/) {}
  // Each known counter record (0:1 generic, 0:2 Ethernet), decoded.
  virtual void counters(const SflowCounterSample&, const SflowCounterRecord&) {}
};

// validate_sflow with, on acceptance, the heads walk_sflow_samples would
// hand over, gathered in the same pass (the ordered stage's one walk of a
// datagram of flow samples). `complete` says that heads[0, n) is the whole
// of the walk's view: the datagram has at most kMax samples, every one a
// flow sample (0:1 / 0:3) whose records are all of formats this decoder
// reads. Otherwise (counter or unknown samples, unknown records: what the
// walk reports besides heads) the caller runs walk_sflow_samples. Filled
// only when the datagram is accepted; no allocation.
struct SflowHeads {
  static constexpr size_t kMax = 64;
  uint32_t n = 0;
  bool complete = false;
  SflowSampleHead heads[kMax];
};

// The ordered stage's walk: samples' fixed fields and counter records, flow
// records only by their format. REQUIRES: validate_sflow accepted [p, p + len)
// and filled d. No allocation; reads only [p, p + len).
void walk_sflow_samples(const uint8_t* p, size_t len, const SflowDatagram& d, SflowWalk* w);

// Step 1 alone: the framing walk. Fills *d (when the header was read) and
// *trailing_bytes on acceptance.
SflowReject validate_sflow(const uint8_t* p, size_t len, SflowDatagram* d,
                           uint32_t* trailing_bytes);
// The same, and *heads (see SflowHeads) when accepted.
SflowReject validate_sflow(const uint8_t* p, size_t len, SflowDatagram* d, uint32_t* trailing_bytes,
                           SflowHeads* heads);

// Both steps. The sink sees nothing of a rejected datagram.
SflowResult decode_sflow(const uint8_t* p, size_t len, const SflowOptions& opt, SflowSink* sink);

}  // namespace ringflow
