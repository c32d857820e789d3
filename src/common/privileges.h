// Least privilege: what the collector gives up once its sockets are bound
// (ports < 1024 need CAP_NET_BIND_SERVICE), SO_RCVBUFFORCE is applied
// (CAP_NET_ADMIN) and io_uring is set up. See docs/config.md, [process].
//
// drop_privileges(config) does, in this order:
//   1. looks up process.user / process.group (names, via getpwnam_r /
//      getgrnam_r);
//   2. when it may (CAP_SETPCAP), empties the capability bounding set;
//   3. when the target differs from who is running: the supplementary groups
//      (initgroups), then gid, then uid, real, effective and saved alike
//      (setresgid / setresuid). From root this clears every capability;
//   4. unless the process is still root (uid 0, no process.user): clears the
//      effective, permitted, inheritable and ambient capability sets and sets
//      no_new_privs, so nothing the process executes or becomes can gain a
//      capability back; and checks that uid 0 cannot be regained.
// Root without process.user keeps root's rights: the result says so, and the
// caller logs a warning.
//
// Capabilities are per thread (capset applies to the calling thread only), so
// this must run while the process has one thread: it refuses with an error
// when it finds others that would keep their rights (io_uring's own kernel
// workers, "iou-*", are not ours and are ignored). When there is nothing to
// do (no switch, no capability held) it succeeds without that check.
//
// Thread safety: call once, from the main thread, before starting threads.
#pragma once

#include <string>

#include <ringflow/config.h>

namespace ringflow {

struct PrivilegeResult {
  bool ok = false;
  std::string error;    // when !ok: one sentence naming the key and the cause
  std::string summary;  // when ok: "running as ringflow (uid 999), group ringflow (gid 999), no capabilities"
  bool still_root = false;  // ok, but uid 0 kept (no process.user): the caller warns
};

PrivilegeResult drop_privileges(const ProcessConfig& config);

// "uid=999/999/999 gid=999/999/999 groups=999 caps=none" (real/effective/saved;
// caps as cap_to_text, e.g. "cap_net_admin=ep") for the calling thread, for
// logs and tests.
std::string describe_credentials();

}  // namespace ringflow
