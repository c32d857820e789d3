// Ground truth: what ringflow-gen actually put on the wire, per exporter
// stream and (optionally) per 5-tuple, written as TSV so that C++ tests and
// awk read it alike. docs/generator.md defines every column; in short:
//
//   datagrams/flows/packets/bytes  valid v5 datagrams sent, duplicates
//                                  included (a collector receives them all);
//                                  packets/bytes are raw dPkts/dOctets sums,
//                                  not renormalized (see sampling_*).
//   generated                      datagram slots of the stream: every valid
//                                  datagram built, lost or not (each advanced
//                                  flow_sequence), duplicates not counted.
//   first_seq / next_seq           flow_sequence of the stream's first datagram,
//                                  and the value a collector expects next at
//                                  the end (since the last reset).
//   lost_*                         slots not sent on purpose (--loss).
//   duplicates                     extra copies sent (--duplicate).
//   reordered                      datagrams sent after the stream's next one.
//   resets                         exporter restarts (--reset-every).
//   uptime_wraps / prewrap_records sys_uptime wrapped past 2^32 ms / records
//                                  whose first is before the wrap and last after.
//   send_errors / send_error_flows datagrams the kernel refused (not delivered;
//                                  they are not in datagrams/flows).
//   malformed_<class>              malformed datagrams sent, by class.
// v9 / IPFIX (columns of every row; zero or "-" for v5):
//   version / domain / layout      5, 9 or 10; source_id / observation domain;
//                                  the template layout the stream started with
//                                  (A, or B for --domain-collision's odd domains).
//   samplers                       "id:rate,..." announced in options data, or "-".
//   template_datagrams             datagrams holding only templates (or withdrawals),
//                                  included in datagrams.
//   templates_sent                 template and options template records sent.
//   options_records                options data records sent (samplers, interface table).
//   interface_names                (last column) "ifIndex=name=description;..." the
//                                  interface table sent (--interface-names), or "-".
//   records_v4 / records_v6        data records sent under template 256 / 257.
//   records_before_template /      data records / data sets sent before the
//   sets_before_template           stream's first template (a collector holds them).
//   redefinitions / withdrawals    template layout changes; withdrawal records sent.
//   packets_scaled / bytes_scaled  packets and bytes times the sampling rate each
//                                  record was sent under (what a collector that
//                                  renormalizes reports).
// sFlow v5 (protocol "sflow"; version 5, domain = sub-agent id):
//   agent                          the agent address in the header ("-" otherwise).
//   flows / packets / bytes        flow samples delivered; 1 each; frame_length
//                                  each (the sampled IP length without a raw header).
//   records_v4 / records_v6        flow samples of IPv4 / IPv6 packets.
//   counter_datagrams / counter_samples  counter-only datagrams (in datagrams) /
//                                  generic interface counter samples in them.
//   cut_headers                    flow samples whose raw header ends before the key.
//   agent_drops                    samples the agent dropped (only `drops` says so).
//
// Thread safety: a StreamTruth and a KeyTotals are written by the one sender
// thread that owns the stream; they are merged and written after the threads
// have joined.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/ip.h>

#include "gen/gen_config.h"
#include "gen/traffic.h"

namespace ringflow::gen {

struct StreamTruth {
  IpAddr exporter;    // source address of the stream's datagrams
  uint16_t port = 0;  // source port (the socket's)
  uint8_t engine_type = 0, engine_id = 0;
  uint16_t sampling_raw = 0;
  uint8_t version = 5;
  uint32_t domain = 0;
  uint8_t layout = 0;
  std::string samplers;  // "id:rate,..." ("" = none)
  std::string interface_names;  // "idx=name=description;..." ("" = none)
  Protocol protocol = Protocol::kV5;  // kV5 stands for v5 / v9 / IPFIX (see version)
  IpAddr agent;                       // sFlow: the agent address in the header

  uint64_t generated = 0;
  uint64_t datagrams = 0, flows = 0, packets = 0, bytes = 0;
  bool started = false;  // first_seq is set
  uint32_t first_seq = 0, next_seq = 0;
  uint64_t lost_datagrams = 0, lost_flows = 0;
  uint64_t duplicates = 0, reordered = 0, resets = 0;
  uint64_t uptime_wraps = 0, prewrap_records = 0;
  uint64_t send_errors = 0, send_error_flows = 0;
  std::array<uint64_t, kMalformedClasses> malformed{};
  // v9 / IPFIX
  uint64_t template_datagrams = 0, templates_sent = 0, options_records = 0;
  uint64_t records_v4 = 0, records_v6 = 0;
  uint64_t records_before_template = 0, sets_before_template = 0;
  uint64_t redefinitions = 0, withdrawals = 0;
  uint64_t packets_scaled = 0, bytes_scaled = 0;
  // sFlow
  uint64_t counter_datagrams = 0, counter_samples = 0, cut_headers = 0, agent_drops = 0;

  uint64_t malformed_total() const {
    uint64_t n = 0;
    for (auto v : malformed) n += v;
    return n;
  }
  // Every datagram put on the wire: valid + malformed.
  uint64_t wire_datagrams() const { return datagrams + malformed_total(); }
};

// Per-key totals of flows delivered as sent (lost slots excluded, duplicate
// copies counted twice), indexed like TrafficModel keys.
struct KeyTotal {
  uint64_t flows = 0, packets = 0, bytes = 0;
};
using KeyTotals = std::vector<KeyTotal>;

// Sum of every stream (the "total" row).
StreamTruth total_of(const std::vector<StreamTruth>& streams);

// The TSV text: a header line, one row per stream, then a "total" row.
std::string format_truth(const std::vector<StreamTruth>& streams);
// Parses format_truth()'s output back (without the total row), by column
// name. Returns false and a message in *error on a malformed file.
bool parse_truth(std::string_view text, std::vector<StreamTruth>* out, std::string* error);

// The per-key TSV: "src dst sport dport proto flows packets bytes", one row
// per key with flows > 0, sorted by (family, src, dst, sport, dport, proto);
// IPv6 keys carry IPv6 addresses. With `rates` (v9/IPFIX: the sampling rate
// each key's records are sent under, by key index) a ninth column
// "sampling" follows.
// icmpv6: IPv6 keys of protocol 1 are written as 58 (sFlow sends them as ICMPv6).
std::string format_keys(const TrafficModel& model, const KeyTotals& totals,
                        const std::vector<uint32_t>* rates = nullptr, bool icmpv6 = false);

// Writes text to path ("-" = stdout). Returns false and errno text in *error.
bool write_file(const std::string& path, std::string_view text, std::string* error);

}  // namespace ringflow::gen
