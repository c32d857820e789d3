#include "common/privileges.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace ringflow {
namespace {

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

std::string errno_text(int err) { return std::strerror(err); }

size_t nss_buffer_size(int which) {
  long n = sysconf(which);
  return n > 0 ? static_cast<size_t>(n) : 16384;
}

// getpwnam_r / getgrnam_r with a buffer that grows on ERANGE. Returns 0 and
// sets *found, or an errno value.
int lookup_user(const std::string& name, passwd* pw, std::vector<char>* buf, bool* found) {
  buf->resize(nss_buffer_size(_SC_GETPW_R_SIZE_MAX));
  for (;;) {
    passwd* res = nullptr;
    int r = getpwnam_r(name.c_str(), pw, buf->data(), buf->size(), &res);
    if (r == ERANGE && buf->size() < (1u << 20)) {
      buf->resize(buf->size() * 2);
      continue;
    }
    *found = res != nullptr;
    return r;
  }
}
int lookup_group(const std::string& name, group* gr, std::vector<char>* buf, bool* found) {
  buf->resize(nss_buffer_size(_SC_GETGR_R_SIZE_MAX));
  for (;;) {
    struct group* res = nullptr;
    int r = getgrnam_r(name.c_str(), gr, buf->data(), buf->size(), &res);
    if (r == ERANGE && buf->size() < (1u << 20)) {
      buf->resize(buf->size() * 2);
      continue;
    }
    *found = res != nullptr;
    return r;
  }
}

// Threads of this process other than the caller, except io_uring's kernel
// workers ("iou-wrk-*", "iou-sqp-*"), which run with the ring's credentials
// and hold none of ours. -1 when /proc cannot be read.
int other_threads() {
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  const pid_t self = gettid();
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    if (atoi(e->d_name) == self) continue;
    char path[300], comm[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t len = read(fd, comm, sizeof comm - 1);
      comm[len > 0 ? len : 0] = '\0';
      close(fd);
    }
    if (std::strncmp(comm, "iou-", 4) == 0) continue;
    ++n;
  }
  closedir(d);
  return n;
}

// True when the calling thread holds any capability (ambient ones are a
// subset of the permitted set, so they are covered).
bool holds_capabilities() {
  CapPtr now(cap_get_proc());
  CapPtr none(cap_init());
  if (!now || !none) return true;  // cannot tell: act as if it does
  return cap_compare(now.get(), none.get()) != 0;
}

}  // namespace

std::string describe_credentials() {
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  getresuid(&ru, &eu, &su);
  getresgid(&rg, &eg, &sg);
  gid_t groups[64];
  int n = getgroups(64, groups);
  CapPtr caps(cap_get_proc());
  char* text = caps ? cap_to_text(caps.get(), nullptr) : nullptr;
  char buf[1024];
  size_t len = static_cast<size_t>(snprintf(buf, sizeof buf, "uid=%u/%u/%u gid=%u/%u/%u groups=", ru,
                                            eu, su, rg, eg, sg));
  for (int i = 0; i < n && len < sizeof buf; ++i)
    len += static_cast<size_t>(snprintf(buf + len, sizeof buf - len, "%s%u", i ? "," : "", groups[i]));
  if (len < sizeof buf)
    snprintf(buf + len, sizeof buf - len, " caps=%s",
             !text ? "?" : std::strcmp(text, "=") == 0 ? "none" : text);
  if (text) cap_free(text);
  return buf;
}

PrivilegeResult drop_privileges(const ProcessConfig& config) {
  PrivilegeResult res;
  auto fail = [&res](std::string why) {
    res.ok = false;
    res.error = std::move(why);
    return res;
  };

  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  getresuid(&ru, &eu, &su);
  getresgid(&rg, &eg, &sg);

  // 1. The target.
  const bool set_user = !config.user.empty(), set_group = !config.group.empty();
  uid_t uid = ru;
  gid_t gid = rg;
  std::string user_name, group_name;
  passwd pw{};
  std::vector<char> pw_buf;
  if (set_user) {
    bool found = false;
    int r = lookup_user(config.user, &pw, &pw_buf, &found);
    if (r != 0) return fail("process.user: cannot look up user \"" + config.user + "\": " + errno_text(r));
    if (!found) return fail("process.user: no such user \"" + config.user + "\"");
    uid = pw.pw_uid;
    gid = pw.pw_gid;
    user_name = pw.pw_name;
  }
  if (set_group) {
    group gr{};
    std::vector<char> gr_buf;
    bool found = false;
    int r = lookup_group(config.group, &gr, &gr_buf, &found);
    if (r != 0) return fail("process.group: cannot look up group \"" + config.group + "\": " + errno_text(r));
    if (!found) return fail("process.group: no such group \"" + config.group + "\"");
    gid = gr.gr_gid;
    group_name = gr.gr_name;
  }
  const bool switch_uid = set_user && !(ru == uid && eu == uid && su == uid);
  const bool switch_gid = (set_user || set_group) && !(rg == gid && eg == gid && sg == gid);
  const bool stay_root = uid == 0;
  const bool caps_held = holds_capabilities();

  auto summary = [&] {
    std::string s = "running as ";
    s += user_name.empty() ? "uid " + std::to_string(getuid())
                           : user_name + " (uid " + std::to_string(getuid()) + ")";
    s += ", group ";
    std::string gname = group_name;
    if (gname.empty()) {  // single-threaded here: getgrgid's static buffer is fine
      if (const struct group* g = getgrgid(getgid())) gname = g->gr_name;
    }
    s += gname.empty() ? "gid " + std::to_string(getgid())
                       : gname + " (gid " + std::to_string(getgid()) + ")";
    s += holds_capabilities() ? ", capabilities kept" : ", no capabilities";
    return s;
  };

  if (!switch_uid && !switch_gid && (stay_root || !caps_held)) {
    res.ok = true;
    res.still_root = stay_root;
    res.summary = summary();
    return res;
  }

  // Capabilities are per thread: another thread would keep them.
  int others = other_threads();
  if (others != 0)
    return fail(others < 0 ? "cannot read /proc/self/task to check that no other thread runs"
                           : "privileges must be dropped before threads start (" +
                                 std::to_string(others) + " other thread(s) running)");

  // 2. The bounding set, while CAP_SETPCAP may still be held; without it this
  //    fails with EPERM at the first capability and the set is left as the
  //    service manager made it.
  if (!stay_root) {
    for (int c = 0; c < cap_max_bits(); ++c) {
      if (cap_get_bound(static_cast<cap_value_t>(c)) != 1) continue;
      if (cap_drop_bound(static_cast<cap_value_t>(c)) != 0) break;
    }
  }

  // 3. Groups, then gid, then uid (after the uid switch the others are no
  //    longer allowed).
  if (switch_uid) {
    if (initgroups(user_name.c_str(), gid) != 0)
      return fail("process.user: cannot set the supplementary groups of \"" + user_name +
                  "\": " + errno_text(errno) + " (switching users needs root or CAP_SETGID)");
  } else if (switch_gid && eu == 0) {
    if (setgroups(1, &gid) != 0)
      return fail("process.group: cannot set the supplementary groups: " + errno_text(errno));
  }
  if (switch_gid && setresgid(gid, gid, gid) != 0)
    return fail(std::string(set_group ? "process.group" : "process.user") + ": cannot switch to gid " +
                std::to_string(gid) + ": " + errno_text(errno) +
                " (switching groups needs root or CAP_SETGID)");
  if (switch_uid && setresuid(uid, uid, uid) != 0)
    return fail("process.user: cannot switch to \"" + user_name + "\" (uid " + std::to_string(uid) +
                "): " + errno_text(errno) + " (switching users needs root or CAP_SETUID)");

  // 4. What is left: the non-root case with capabilities (e.g. systemd's
  //    AmbientCapabilities=), or securebits that kept them over setuid.
  if (!stay_root) {
    if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() != 0)
      return fail("cannot clear the ambient capabilities: " + errno_text(errno));
    CapPtr none(cap_init());
    if (!none || cap_set_proc(none.get()) != 0)
      return fail("cannot clear the capabilities: " + errno_text(errno));
    if (holds_capabilities()) return fail("capabilities still held after clearing them");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      return fail("cannot set no_new_privs: " + errno_text(errno));
    // Checked last: before the capabilities are gone, a process that started
    // unprivileged but with CAP_SETUID could still become root.
    if (setuid(0) == 0 || seteuid(0) == 0)
      return fail("uid 0 could be regained after giving up privileges");
  }
  res.ok = true;
  res.still_root = stay_root;
  res.summary = summary();
  return res;
}

}  // namespace ringflow
