// The Capture page's files (docs/api.md, "Capture"): GET /api/v1/capture
// (which streams have datagrams kept, how many) and
// GET /api/v1/capture/<stream id>.pcap (the kept datagrams as a pcap file).
//
// The pcap file is the classic format (magic a1b23c4d: nanosecond
// timestamps), link type LINKTYPE_RAW (101: each packet starts with its IPv4
// or IPv6 header), so that Wireshark and tshark open it and decode NetFlow,
// IPFIX and sFlow as they would from the wire. The IP and UDP headers are
// made up from what the collector knows: the datagram's real source address
// and port, and the listen address and port of the socket it came in on
// (its wildcard address, 0.0.0.0 or ::, when the socket is bound to one; the
// source's family's wildcard when the two differ, as on a dual-stack [::]
// socket). The IPv4 header checksum is right; the UDP checksum is right for
// an uncut datagram and 0 ("none", IPv4) for one cut to the snap length,
// whose pcap record then says the original length.
//
// Thread safety: pure functions of their arguments (any thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/ip.h>

#include "decode/capture_ring.h"

namespace ringflow {

// "<exporter address>-<format label>-<domain>", as the Exporters page's id.
std::string capture_stream_name(const CaptureStreamId& id);

// The pcap file of `datagrams` (oldest first); listen[socket] is the local
// end of each (an index past the list: the wildcard address, port 0).
std::string capture_pcap(const std::vector<CapturedDatagram>& datagrams,
                         const std::vector<Endpoint>& listen);

// The body of GET /api/v1/capture over every reactor's ring.
std::string capture_json(const std::vector<const CaptureRing*>& rings, int64_t now_ms);

// The kept datagrams of the stream named `name` (capture_stream_name), oldest
// first, from whichever ring holds it; false when none does.
bool capture_find(const std::vector<const CaptureRing*>& rings, std::string_view name,
                  std::vector<CapturedDatagram>* out);

}  // namespace ringflow
