// ringflow-gen's configuration: what to send, how fast, from which exporters,
// with which faults, and where to write the ground truth. Filled by the CLI
// (src/gen/cli.h) or directly by tests and benchmarks; validate() checks it.
// docs/generator.md documents every option.
//
// Thread safety: built once, then only read (every sender thread reads it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/ip.h>
#include <ringflow/stats.h>

namespace ringflow::gen {

// How exporters are told apart at the collector.
enum class ExporterMode : uint8_t {
  kAuto,  // kAddr when the target is IPv4 loopback, else kPort
  kAddr,  // exporter i sends from 127.0.0.1 + i (IP_PKTINFO; all of 127/8 is local)
  kPort,  // every exporter from the same address, each its own socket and port
};

// The export protocol ringflow-gen speaks.
enum class Protocol : uint8_t { kV5, kV9, kIpfix, kSflow };
std::string_view protocol_name(Protocol p);

// Flow records an sFlow flow sample carries (GenConfig::sflow_records).
enum SflowRecordBits : uint32_t {
  kSflowRecHeader = 1u << 0,   // 0:1 raw packet header
  kSflowRecIp = 1u << 1,       // 0:3 sampled IPv4 / 0:4 sampled IPv6
  kSflowRecSwitch = 1u << 2,   // 0:1001 extended switch
  kSflowRecRouter = 1u << 3,   // 0:1002 extended router
  kSflowRecGateway = 1u << 4,  // 0:1003 extended gateway
};
inline constexpr uint32_t kSflowRecDefault =
    kSflowRecHeader | kSflowRecSwitch | kSflowRecRouter | kSflowRecGateway;
// "header,ip,switch,router,gateway" (any subset, at least one of header and
// ip) to bits; nullopt (and the bad name in *bad) otherwise.
std::optional<uint32_t> parse_sflow_records(std::string_view text, std::string* bad);

// Malformed datagram classes the fault injector can send. Each is wrong in
// exactly one way, so a collector rejects or drops it for exactly one reason
// (expected_reject(), or for the last four see below). Values index Truth's
// malformed columns. The first eight are v5 classes; v9 sends too_short,
// bad_version, garbage, set_length and zero_fields; IPFIX those and
// var_overflow and ipfix_length (applies()).
enum class MalformedClass : uint8_t {
  kTooShort,        // 1..23 bytes (a cut header)
  kBadVersion,      // a complete datagram whose version is not 5
  kCountZero,       // a 24-byte header with count 0
  kCountTooLarge,   // count 31..32 and all 24 + 48*count bytes present
  kTruncated,       // cut in the middle of the last record
  kLengthMismatch,  // count says more records than are present (record aligned)
  kTrailingBytes,   // a valid PDU followed by 1..47 bytes that are not a PDU
  kGarbage,         // random bytes, 24..1464 long, first two bytes != 0x0005
                    // (v9/IPFIX: != 0x0009 / 0x000a)
  // v9 / IPFIX
  kSetLength,    // a set whose length runs past the datagram: Reject::kSetLength
  kZeroFields,   // a template record without usable fields: v9 field count 0
                 // (template reject zero_fields), IPFIX every field of length 0
                 // (template reject zero_length); the rest of the datagram is valid
  kVarOverflow,  // IPFIX: a data record whose variable-length field runs past its
                 // set (SetDrop::kVarOverflow); the record is not decoded
  kIpfixLength,  // IPFIX: header length != datagram length: Reject::kIpfixLength
  // sFlow v5 (too_short, bad_version and garbage too); the reject each gives
  // is gen/sflow_encoder.h's expected_sflow_reject().
  kAgentType,     // agent address type 3 (neither IPv4 nor IPv6)
  kSampleLength,  // a sample whose length runs past the datagram
  kRecordLength,  // a flow record whose length runs past its sample
  kSampleCount,   // num_samples one more than the samples present
  kHeaderLength,  // a raw header whose header_length exceeds its record
};
inline constexpr size_t kMalformedClasses = 17;
inline constexpr size_t kV5MalformedClasses = 8;
inline constexpr uint32_t kAllMalformed = (1u << kMalformedClasses) - 1;

std::string_view malformed_name(MalformedClass c);
std::optional<MalformedClass> parse_malformed(std::string_view name);
// The reason a decoder following include/ringflow/stats.h rejects it for;
// kNone for zero_fields and var_overflow (counted inside the datagram, see
// src/decode/session_counters.h).
Reject expected_reject(MalformedClass c);
// Whether protocol p sends class c.
bool applies(MalformedClass c, Protocol p);

struct GenConfig {
  // --- where ---
  Endpoint target;            // default 127.0.0.1:2055 (set by defaults())
  bool allow_remote = false;  // permit a non-loopback target
  ExporterMode exporter_mode = ExporterMode::kAuto;

  // --- how fast, how long ---
  double pps = 0;         // datagram slots per second, 0 = as fast as possible
  double fps = 0;         // flows per second (pps = fps / records); 0 = unused
  double duration_s = 0;  // 0 = no time limit
  uint64_t count = 0;     // datagram slots to generate over all exporters, 0 = no limit
  uint32_t threads = 1;   // sender threads (exporters are split between them)
  uint32_t batch = 64;    // max datagram slots per sendmmsg, 1..256

  // --- what ---
  Protocol protocol = Protocol::kV5;
  uint32_t records = 30;   // records per datagram, 1..30
  uint32_t exporters = 1;  // exporter streams, 1..65534
  uint32_t keys = 10000;   // distinct 5-tuples, 1..4194304
  double zipf = 1.1;       // Zipf exponent of key popularity, 0 = uniform
  uint64_t seed = 1;
  uint16_t sampling_raw = 0;  // header sampling field: mode << 14 | interval
  std::optional<uint32_t>
      uptime_start_ms;  // every exporter's sys_uptime at start; default per exporter

  // --- v9 / IPFIX (docs/generator.md, "NetFlow v9 and IPFIX") ---
  uint32_t template_refresh_datagrams = 20;  // templates again every N datagrams (0 = not by count)
  double template_refresh_s = 1800;          // ... and every S seconds (0 = not by time)
  bool template_separate = false;            // templates in their own datagram, not before data
  double ipv6_share = 0;                     // fraction of keys that are IPv6
  bool varlen = false;                       // IPFIX: a variable-length applicationName (96)
  bool interface_names = false;              // v9/ipfix: options data naming ifIndex 1..16 (82/83)
  bool enterprise = false;                   // an enterprise-specific field the collector skips
  uint32_t domains = 1;                      // observation domains (source_ids) per exporter
  std::vector<uint32_t> sampler_rates;       // sampler id i + 1 samples 1 in rates[i]; empty = none
  bool ipfix_delta_time = false;             // IPFIX times as delta microseconds (158/159)
  // Faults
  uint32_t template_delay = 0;   // data datagrams of a domain sent before its first template
  uint64_t redefine_every = 0;   // template 256 changes layout every N datagrams of a domain
  uint64_t withdraw_every = 0;   // IPFIX: templates withdrawn (and re-sent) every N datagrams
  bool domain_collision = false;  // odd domains use another layout under the same ids
  // IPFIX: each message's sequence number includes its own data records, as
  // softflowd 1.1.0 sends it (one message off RFC 7011); the truth stays RFC's.
  bool sequence_includes_current = false;
  // Exporter quirks for the collector's Exporters page (issue 24):
  int32_t clock_offset_s = 0;   // v9/ipfix: header export time this far off the real clock
  bool no_sampler_id = false;   // v9/ipfix: data records carry no sampler id (options still announce)

  // --- sFlow v5 (docs/generator.md, "sFlow v5") ---
  // Streams are (agent, sub-agent): --sub-agents sets `domains`; sources
  // (ifIndex 1..N) sample at sampler_rates (one source at rate 1 when empty).
  uint32_t sflow_records = kSflowRecDefault;  // flow records per flow sample
  bool sflow_expanded = false;    // flow samples 0:3 and counter samples 0:4
  bool agent_ipv6 = false;        // odd exporters announce an IPv6 agent address
  uint32_t counter_every = 20;    // counter datagram every N datagrams of an agent (0 = never)
  uint32_t header_bytes = 128;    // most bytes of a packet a raw header record copies
  bool vlan = false;              // 802.1Q-tagged frames (VLAN 100 + source)
  bool mpls = false;              // one MPLS label between Ethernet and IP
  bool vxlan = false;             // packets inside VXLAN (UDP 4789) between two VTEPs
  double agent_drops = 0;         // fault: probability a sample is dropped by the agent (`drops`)
  double cut_headers = 0;         // fault: probability a raw header is cut inside its headers

  // --- faults (probabilities per datagram slot, see docs/generator.md) ---
  double loss = 0;                          // slot consumed (sequence advances), nothing sent
  double reorder = 0;                       // held back and sent after the stream's next datagram
  double duplicate = 0;                     // sent twice
  double malformed = 0;                     // an extra malformed datagram after the slot's datagram
  uint32_t malformed_mask = kAllMalformed;  // classes drawn from (bit = MalformedClass)
  uint64_t reset_every = 0;  // exporter restarts every N slots of the stream, 0 = never

  // --- replay ---
  std::string replay_path;   // non-empty: replay this pcap instead of generating
  double replay_speed = 1;   // 1 = original pacing, 2 = twice as fast, 0 = as fast as possible
  uint64_t loop = 1;         // times through the capture, 0 = until stopped
  bool rewrite_seq = false;  // continue flow_sequence across loops

  // --- output ---
  std::string truth_path;       // per-stream ground truth TSV ("" = none)
  std::string truth_keys_path;  // per-5-tuple ground truth TSV ("" = none)
  std::string pcap_path;        // write the datagrams to this pcap instead of sending ("" = send)
  bool quiet = false;           // no progress line / summary
  bool progress = true;         // progress line each second (off for in-process use)

  bool templated() const { return protocol == Protocol::kV9 || protocol == Protocol::kIpfix; }
  bool sflow() const { return protocol == Protocol::kSflow; }
  // Streams per exporter: v9/IPFIX domains, sFlow sub-agents, v5 one.
  uint32_t streams_per_exporter() const { return templated() || sflow() ? domains : 1; }
  // The datagram-slot rate actually used: pps, or fps / records; 0 = max.
  double slot_rate() const { return pps > 0 ? pps : (fps > 0 ? fps / records : 0); }
  // kAuto resolved against the target.
  ExporterMode resolved_mode() const;
};

// The defaults above plus the default target 127.0.0.1:2055.
GenConfig default_config();

// Checks ranges and combinations; returns "" when valid, else one sentence
// naming the option, what was expected and what was found.
std::string validate(const GenConfig& c);

// True for 127.0.0.0/8 and ::1 (and ::ffff:127.0.0.0/104).
bool is_loopback(const IpAddr& a);

// "MODE:INTERVAL" (mode 0..3, interval 0..16383) or a bare interval (mode 1
// when > 1, else 0). nullopt on bad input.
std::optional<uint16_t> parse_sampling(std::string_view text);
// Comma-separated class names or "all"; nullopt (and the bad name in *bad)
// on an unknown name.
std::optional<uint32_t> parse_malformed_list(std::string_view text, std::string* bad);

}  // namespace ringflow::gen
