// systemd socket activation (packaging/ringflow.socket): take the receive
// sockets systemd opened instead of binding our own, so that a restart keeps
// the sockets and the kernel queues datagrams while no collector runs.
//
// take_activated_sockets() asks sd_listen_fds() (which also clears
// LISTEN_PID/LISTEN_FDS so children do not see them) for the descriptors
// passed to this process. None passed: returns kNone and the caller binds as
// usual. Otherwise every descriptor must be a bound UDP socket whose address
// is one of receive.listen, and every receive.listen address must have one:
// anything else is a configuration error (the socket unit and netflow.toml
// disagree) and returns kError with a message naming both. Each taken socket
// gets the receive options (UdpSocket::adopt) and is logged with what it
// already holds. The sockets come back as (*out)[0][a], one reactor: a socket
// systemd opened without SO_REUSEPORT cannot be shared by several reactors.
//
// Thread safety: call once, from the main thread, before any thread starts.
#pragma once

#include <string>
#include <vector>

#include <ringflow/config.h>

#include "receive/udp_socket.h"

namespace ringflow {

enum class Activation { kNone, kTaken, kError };

Activation take_activated_sockets(const ReceiveConfig& cfg,
                                  std::vector<std::vector<UdpSocket>>* out, std::string* error);

// Matches an inherited socket's bound address against a receive.listen
// entry: same port, and the same address (or both the dual-stack [::]).
// Exposed for tests.
bool same_listen_address(const Endpoint& bound, const Endpoint& listen);

}  // namespace ringflow
