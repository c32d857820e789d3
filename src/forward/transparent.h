// Transparent forwarding (forward.encapsulation = "transparent",
// docs/cluster.md): the datagram leaves with the exporter's own source
// address and port, as samplicator -S and pmacct's tee_transparent do, so a
// target that is not ringflow (nfcapd, an IDS) sees the real exporter.
//
// It takes a raw IPv4 socket (IPPROTO_RAW, which implies IP_HDRINCL): the
// reactor writes an IPv4 + UDP header in front of the payload in the target's
// ring (write_header, no system call), and the forwarder thread sends it as
// it is. The kernel fills in the IP checksum, total length and id; the UDP
// checksum is 0 (none, allowed over IPv4). A raw socket needs CAP_NET_RAW in
// the effective set when it is opened (at start, before privileges are
// dropped; the open socket keeps working after the drop).
//
// Limits: IPv4 only (an IPv6 exporter's datagram is not sent: counted as a
// send error), and no health check: a raw socket gets no ICMP port
// unreachable, so a transparent target is never marked down.
//
// Thread safety: free functions, no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <ringflow/ip.h>

namespace ringflow::transparent {

constexpr size_t kHeaderSize = 28;  // IPv4 (20, no options) + UDP (8)

// True when the calling thread's effective capability set holds CAP_NET_RAW
// (asked with capget(2), not guessed from the uid).
bool has_cap_net_raw();

// A raw IPv4 socket connected to target (IPv4). -1 and *error on failure.
int open_socket(const Endpoint& target, std::string* error);

// Writes the IPv4 + UDP header of a datagram of payload_len bytes from
// src:sport to dst into out[kHeaderSize]. False (nothing usable written) when
// src or dst is not IPv4 or the datagram would exceed 65535 bytes.
bool write_header(uint8_t* out, const IpAddr& src, uint16_t sport, const Endpoint& dst,
                  size_t payload_len);

}  // namespace ringflow::transparent
