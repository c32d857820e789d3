// SnmpWalk: one poll of one exporter's SNMP agent: walks the IF-MIB columns
// ifName (1.3.6.1.2.1.31.1.1.1.1), ifAlias (.18) and ifHighSpeed (.15) with
// GETBULK requests over SNMPv2c or SNMPv3 (USM), without blocking, through
// net-snmp's single-session API (snmp_sess_*, Debian libsnmp-dev).
//
// The caller drives it: it waits for fd() to be readable (poll(2)) and calls
// on_readable(), and calls on_tick() at least every few tens of ms, which
// lets net-snmp retry a request whose timeout passed (timeout_ms, `retries`
// times) and give up after the last. done() then says the walk ended and
// result() how: every failure has one reason (kTimeout: no answer, which is
// also what a v2c agent gives a wrong community, since it stays silent;
// kAuth: a v3 report of an unknown user, a wrong digest, a decryption error
// or an unsupported security level, or keys that cannot be made from the
// passwords; kNoSuchObject: the agent has no ifName column; kError: the rest,
// e.g. a send failure or an error status). kTooManyInterfaces: the walk
// stopped at max_interfaces ifIndexes; what it read is kept.
//
// SNMPv3: the session is opened without net-snmp's blocking engine-ID probe
// (SNMP_FLAGS_DONT_PROBE); the first request's report carries the agent's
// engine ID and net-snmp resends with it, within the same bounded timeout.
//
// Bounds: each column is walked by at most max_interfaces / 16 + 2 requests
// of 16 repetitions; a string is kept to 255 bytes; an agent that answers
// with OIDs that do not increase ends the column (no loop).
//
// Thread safety: net-snmp is built without NETSNMP_REENTRANT (Debian), so
// its USM user list and engine-ID cache are process-wide and unlocked: every
// SnmpWalk of the process must live and be driven on ONE thread (the SNMP
// poller's). snmp_library_init() once before the first walk.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include <ringflow/config.h>
#include <ringflow/ip.h>

namespace ringflow::enrich {

enum class SnmpResult : uint8_t {
  kOk,
  kTimeout,
  kAuth,
  kNoSuchObject,
  kTooManyInterfaces,
  kError,
  kCount
};
inline constexpr size_t kSnmpResults = static_cast<size_t>(SnmpResult::kCount);
inline constexpr std::array<const char*, kSnmpResults> kSnmpResultNames = {
    "ok", "timeout", "auth", "no_such_object", "too_many_interfaces", "error"};

struct SnmpIface {
  std::string name;   // ifName
  std::string alias;  // ifAlias
  uint32_t speed_mbps = 0;
  bool has_speed = false;  // ifHighSpeed answered (0 is a value)
  friend bool operator==(const SnmpIface&, const SnmpIface&) = default;
};
using SnmpIfaces = std::map<uint32_t, SnmpIface>;  // ifIndex -> what the agent said

// Sets net-snmp up once for the process: no configuration or persistent
// files read or written, no MIB files parsed (numeric OIDs only). Any thread;
// idempotent.
void snmp_library_init();

class SnmpWalk {
 public:
  struct Params {
    IpAddr address;         // the exporter (the agent's address)
    SnmpAgentConfig agent;  // port and credentials
    uint32_t timeout_ms = 1000;
    uint32_t retries = 1;
    uint32_t max_interfaces = 4096;
  };
  // Opens the session (no I/O) and sends the first request; when either
  // fails the walk is done() at once.
  explicit SnmpWalk(const Params& p);
  ~SnmpWalk();
  SnmpWalk(const SnmpWalk&) = delete;
  SnmpWalk& operator=(const SnmpWalk&) = delete;

  int fd() const;  // the session's socket; -1 once done
  void on_readable();
  void on_tick();

  bool done() const { return done_; }
  SnmpResult result() const { return result_; }
  const std::string& detail() const { return detail_; }  // for the log
  const SnmpIfaces& interfaces() const { return ifaces_; }
  uint32_t requests() const { return requests_; }

  // net-snmp's response callback (through a trampoline in snmp_walk.cc).
  static int callback(int op, void* pdu, void* self);

 private:
  void handle(int op, void* pdu);
  void send_next();
  void finish(SnmpResult r, std::string why);

  Params p_;
  void* sess_ = nullptr;
  bool done_ = false, send_pending_ = false;
  SnmpResult result_ = SnmpResult::kOk;
  std::string detail_;
  SnmpIfaces ifaces_;
  size_t column_ = 0;        // 0 ifName, 1 ifAlias, 2 ifHighSpeed
  uint32_t last_index_ = 0;  // the last ifIndex read in this column
  uint32_t requests_ = 0, column_requests_ = 0;
  bool cut_ = false;
};

}  // namespace ringflow::enrich
