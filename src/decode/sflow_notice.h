// sFlow datagrams, recognised but not decoded yet: ringflow decodes NetFlow
// v5, v9 and IPFIX, and an sFlow agent pointed at it must not look like
// garbage. An sFlow datagram (sFlow v5, and the older v2 and v4, which share
// the header) starts with a 32-bit version, then the agent address type
// (1 = IPv4, 2 = IPv6). NetFlow's 16-bit version reads 0 there, so without
// this check it would be rejected as bad_version, naming neither the version
// nor the exporter. The ordered stage (src/decode/sessions.cc) rejects it as
// sflow_not_decoded instead, and SflowNotice logs once per exporter that
// sFlow is not decoded yet.
//
// Bounds: SflowNotice remembers at most kMaxExporters exporters (allocated
// once, at the first); past that it logs once that further exporters are not
// named.
//
// Thread safety: is_sflow() is pure; one SflowNotice per reactor thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <ringflow/ip.h>

namespace ringflow {

// True when [p, p + len) starts like an sFlow datagram: 32-bit version 2, 4
// or 5, then agent address type 1 or 2.
// *version gets the sFlow version.
bool is_sflow(const uint8_t* p, size_t len, uint32_t* version);

class SflowNotice {
 public:
  static constexpr size_t kMaxExporters = 1024;

  // An sFlow datagram of `version` from `exporter` was rejected: logs a
  // warning the first time for that exporter. Returns true when it logged.
  bool rejected(const IpAddr& exporter, uint32_t version);

  size_t exporters() const { return seen_.size(); }

 private:
  std::vector<IpAddr> seen_;
  bool overflow_logged_ = false;
};

}  // namespace ringflow
