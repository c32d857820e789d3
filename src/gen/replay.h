// Replay of a packet capture: the UDP payloads of a pcap file, sent again to
// the target at the original pacing (scaled by --replay-speed), at --pps, or
// as fast as possible, optionally looped, optionally with flow_sequence
// rewritten so that every loop continues each stream's sequence.
//
// Capture reading: gen/pcap_reader.h (libpcap, offline; the link types and
// what is skipped and counted are listed there). The capture is loaded whole
// into memory (captures of NetFlow exports are small).
//
// Sources: each distinct source address of the capture becomes one exporter
// of the replay, in order of first appearance: 127.0.0.1 + i in addr mode, or
// its own socket in port mode, so streams stay apart at the collector.
//
// Ground truth: every payload is classified once at load. v5 with the
// decoder's validate_datagram(): a valid datagram counts for the stream
// (mapped source, engine_type, engine_id) of its first PDU (flows = records
// of all its PDUs); an invalid one counts as malformed_<reason>. v9 and IPFIX
// (version 9 / 10) through the decoder's ordered stage (decode/sessions.h,
// default decode settings, capture timestamps as the clock) and record
// reader: a datagram counts for the stream (mapped source, version, source_id
// or observation domain) and carries the records decoded from it, plus those
// of earlier held data sets its templates released; data whose template never
// comes is not counted (a collector cannot decode it either); a rejected one
// counts as malformed_<reason>. Exporters may be IPv4 or IPv6 in the capture:
// each becomes a loopback source all the same.
// --rewrite-seq adds, on each new loop, each stream's span to its sequence
// numbers, in the unit its version counts: v5 flows (flow_sequence of every
// PDU), v9 export datagrams of the source_id, IPFIX data records (data and
// options data) of the observation domain.
//
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ringflow/ip.h>

namespace ringflow::gen {

struct CapturedDatagram {
  int64_t ts_ns = 0;             // capture timestamp
  uint32_t offset = 0, len = 0;  // payload bytes in Capture::data
  uint32_t source = 0;           // index into Capture::sources
  int32_t stream = -1;           // index into Capture::streams, -1 when invalid
  int32_t malformed = -1;        // MalformedClass when invalid, else -1
  uint32_t flows = 0;            // records (valid only)
  uint64_t packets = 0, bytes = 0;
  uint32_t first_seq = 0, next_seq = 0;  // of the first / last PDU of the stream
};

struct CaptureStream {
  uint32_t source = 0;
  uint8_t version = 5;  // 5, 9, 10
  uint32_t domain = 0;  // v9 source_id / IPFIX observation domain
  uint8_t engine_type = 0, engine_id = 0;
  uint16_t sampling_raw = 0;
  uint32_t span = 0;  // sequence advance per loop: v5/IPFIX records, v9 datagrams
};

struct Capture {
  std::vector<uint8_t> data;  // payloads back to back
  std::vector<CapturedDatagram> datagrams;
  std::vector<IpAddr> sources;  // distinct source addresses, first appearance order
  std::vector<CaptureStream> streams;
  uint64_t skipped = 0;  // frames that were not complete UDP datagrams
};

// Loads and classifies a pcap. Returns false with a message naming the file.
bool load_capture(const std::string& path, Capture* out, std::string* error);

// Adds `delta` (by stream) to the sequence number of datagram d in place: of
// every valid PDU (v5), or of its header (v9 / IPFIX).
void shift_sequences(Capture* c, const CapturedDatagram& d, const std::vector<uint32_t>& delta);

}  // namespace ringflow::gen
