// tshark's NetFlow/IPFIX ("cflow") decoding of UDP datagrams, field by field:
// independent truth for decoder tests (tshark is Wireshark's, not ours).
//
// write_udp_pcap() writes datagrams as IPv4 / UDP frames from and to
// 127.0.0.1 into a pcap file (ringflow-gen's writer, src/gen/pcap_writer.h),
// so that a test can give tshark several captures in one run (one tshark start costs
// seconds on a busy machine) and keep their templates apart by source port
// (tshark keys templates by addresses, ports and domain). run_tshark_cflow()
// runs `tshark -T pdml` on such a file and keeps, per frame, the header
// fields, and per record ("Flow N" of a v9/IPFIX set, "pdu N/M" of v5) every
// cflow.* field it showed, nested ones (times under cflow.timedelta)
// included. Fields that tshark marks "Reverse" (RFC 5103 biflow elements)
// are kept under the name "reverse:<name>", apart from the forward ones.
//
// A packet section a record carries (IPFIX 315/313, v9 104), which tshark
// dissects inside the record, adds the header fields of its layers under
// "pkt:<field>" (pkt:ip.src, pkt:tcp.srcport, pkt:vlan.id, ...; the first of
// each name is the outermost), and "pkt:first_l3" = 4 or 6, the version of
// its first IP header.
//
// Parsing: PDML puts one element per line; the parser follows the nesting by
// lines, and reads only the attributes name, show and showname.
//
// Thread safety: plain functions; each call owns its file and its child.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ringflow/ip.h>

namespace ringflow::testing {

struct PcapFrame {
  int64_t ts_ns = 0;
  uint16_t src_port = 0, dst_port = 0;  // IPv4 127.0.0.1 -> 127.0.0.1
  std::vector<uint8_t> payload;
};

// Writes frames to path (overwritten). false + *err on failure.
bool write_udp_pcap(const std::string& path, const std::vector<PcapFrame>& frames,
                    std::string* err);

struct CflowField {
  std::string show;      // tshark's value as shown (numbers, addresses, dates)
  std::string showname;  // the line tshark prints (units, "(switched)", ...)
};

struct CflowRecord {
  uint32_t frame = 0;  // 1-based frame number in the file
  uint32_t set_ordinal =
      0;                // 1-based set in the datagram (tshark's "FlowSet N" / "Set N"); 0 for v5
  uint32_t set_id = 0;  // the set's id (template id); 0 for v5
  uint32_t rec = 0;     // 1-based record in the set (v5: in the datagram)
  std::multimap<std::string, CflowField> fields;  // cflow.* (without the prefix)

  bool has(const std::string& name) const { return fields.count(name) != 0; }
  // The first value of `name`, or "" when absent.
  std::string get(const std::string& name) const;
};

struct CflowFrame {
  std::map<std::string, std::string> header;  // version, count, sysuptime, unix_secs, unix_nsecs,
                                              // exporttime, source_id, od_id (show values)
  std::vector<CflowRecord> records;
  std::vector<uint32_t> options_templates;  // ids of the options templates it defines
  uint32_t template_records = 0;            // template and options template records
};

// Runs tshark on `pcap`, decoding UDP port `port` as cflow. frames[i] is
// frame i + 1. false + *err when tshark is missing or fails.
bool run_tshark_cflow(const std::string& pcap, uint16_t port, std::vector<CflowFrame>* frames,
                      std::string* err);

// "Nov  9, 2021 16:36:56.123000000 UTC" -> ms since the epoch (truncated);
// false when it is not such a date.
bool tshark_date_ms(const std::string& show, int64_t* ms);

}  // namespace ringflow::testing
