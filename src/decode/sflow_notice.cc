#include "decode/sflow_notice.h"

#include <algorithm>
#include <string>

#include "common/log.h"
#include "wire/bytes.h"

namespace ringflow {

bool is_sflow(const uint8_t* p, size_t len, uint32_t* version) {
  // version (4), agent address type (4): enough to tell sFlow from NetFlow,
  // whose 16-bit version would read 0 here (a datagram cut after them is
  // still sFlow, only broken: it is not decoded either way).
  if (len < 8) return false;
  const uint32_t v = wire::load_be32(p);
  const uint32_t type = wire::load_be32(p + 4);
  if (v != 2 && v != 4 && v != 5) return false;
  if (type != 1 && type != 2) return false;
  *version = v;
  return true;
}

bool SflowNotice::rejected(const IpAddr& exporter, uint32_t version) {
  if (std::find(seen_.begin(), seen_.end(), exporter) != seen_.end()) return false;
  if (seen_.size() >= kMaxExporters) {
    if (overflow_logged_) return false;
    overflow_logged_ = true;
    RF_LOG_WARN(
        "sFlow datagrams from more than %zu exporters: sFlow is not decoded yet; further "
        "exporters are not named (counted as rejected, reason sflow_not_decoded)",
        kMaxExporters);
    return true;
  }
  if (seen_.capacity() == 0) seen_.reserve(kMaxExporters);
  seen_.push_back(exporter);
  RF_LOG_WARN(
      "exporter %s sends sFlow v%u: sFlow is not decoded yet; its datagrams are counted "
      "as rejected (reason sflow_not_decoded) and dropped",
      exporter.str().c_str(), version);
  return true;
}

}  // namespace ringflow
