#include "receive/socket_activation.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "common/log.h"

namespace ringflow {

bool same_listen_address(const Endpoint& bound, const Endpoint& listen) {
  if (bound.port != listen.port) return false;
  if (bound.any_v6 || listen.any_v6) return bound.any_v6 == listen.any_v6;
  return bound.addr.bytes == listen.addr.bytes;
}

Activation take_activated_sockets(const ReceiveConfig& cfg,
                                  std::vector<std::vector<UdpSocket>>* out, std::string* error) {
  const int n = sd_listen_fds(1);
  if (n < 0) {
    *error = std::string("socket activation: sd_listen_fds: ") + std::strerror(-n);
    return Activation::kError;
  }
  if (n == 0) return Activation::kNone;
  std::vector<UdpSocket> taken(cfg.listen.size());
  SocketOptions opt;
  opt.receive_buffer = cfg.socket_buffer;
  int fd = SD_LISTEN_FDS_START;
  // Descriptors not yet owned by a UdpSocket are closed on every error path.
  auto close_rest = [&](int from) {
    for (int f = from; f < SD_LISTEN_FDS_START + n; ++f) ::close(f);
  };
  for (; fd < SD_LISTEN_FDS_START + n; ++fd) {
    UdpSocket s;
    if (!UdpSocket::adopt(fd, opt, &s, error)) {
      *error = "socket activation: " + *error;
      close_rest(fd);
      return Activation::kError;
    }
    size_t a = 0;
    while (a < cfg.listen.size() && !same_listen_address(s.endpoint(), cfg.listen[a])) ++a;
    if (a == cfg.listen.size()) {
      *error = "socket activation: systemd passed a socket on " + s.endpoint().str() +
               " (fd " + std::to_string(fd) +
               ") that receive.listen does not name: make ListenDatagram= in ringflow.socket "
               "and receive.listen in netflow.toml the same addresses";
      close_rest(fd + 1);
      return Activation::kError;
    }
    if (taken[a].valid()) {
      *error = "socket activation: systemd passed two sockets on " + s.endpoint().str();
      close_rest(fd + 1);
      return Activation::kError;
    }
    RF_LOG_INFO("socket activation: took %s from systemd (fd %d; %llu bytes already queued, "
                "%llu kernel drops before this start, receive buffer %llu bytes)",
                s.endpoint().str().c_str(), fd, static_cast<unsigned long long>(s.queued_bytes()),
                static_cast<unsigned long long>(s.drops_at_adopt()),
                static_cast<unsigned long long>(s.receive_buffer()));
    taken[a] = std::move(s);
  }
  for (size_t a = 0; a < cfg.listen.size(); ++a) {
    if (!taken[a].valid()) {
      *error = "socket activation: systemd passed no socket for receive.listen " +
               cfg.listen[a].str() + ": add ListenDatagram=" + cfg.listen[a].str() +
               " to ringflow.socket, or remove it from receive.listen";
      return Activation::kError;
    }
  }
  out->clear();
  out->push_back(std::move(taken));
  return Activation::kTaken;
}

}  // namespace ringflow
