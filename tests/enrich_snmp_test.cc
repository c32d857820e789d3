// SnmpPoller and SnmpWalk (src/enrich/snmp_poller.h, snmp_walk.h) against a
// real snmpd (Debian's net-snmp agent, started by tests/support/snmpd.sh on
// loopback with its own config): the names, descriptions and speeds it
// publishes equal what snmpwalk (Debian's snmp) and /sys/class/net say, over
// SNMPv2c and SNMPv3 authPriv; wrong credentials, a view without IF-MIB and
// an address with no agent are each counted by reason; the dead address
// does not delay the others past its own bound; the bounds hold.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "enrich/names.h"
#include "enrich/snmp_poller.h"
#include "support/skip.h"

using namespace ringflow;
using namespace ringflow::enrich;
using namespace std::chrono_literals;

namespace {

std::string script() { return std::string(RINGFLOW_SOURCE_DIR) + "/tests/support/snmpd.sh"; }

std::string run(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  if (rc) *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

uint16_t free_udp_port() {
  const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// A private snmpd, stopped (by its pid file) when the test case ends.
struct Agent {
  std::string dir;
  uint16_t port = 0;
  int rc = -1;
  std::string out;
  explicit Agent(const std::vector<std::string>& addrs) {
    char tmpl[] = "/tmp/rf-snmpd-XXXXXX";
    dir = mkdtemp(tmpl);
    port = free_udp_port();
    std::string cmd = "bash " + script() + " start " + dir + " " + std::to_string(port);
    for (const auto& a : addrs) cmd += " " + a;
    out = run(cmd, &rc);
  }
  ~Agent() {
    run("bash " + script() + " stop " + dir);
    run("rm -rf " + dir);
  }
  // snmpwalk's answer for one column: ifIndex -> value (strings unquoted).
  std::map<uint32_t, std::string> walk(const std::string& column) const {
    const std::string env =
        "SNMP_PERSISTENT_DIR=" + dir + "/persist SNMPCONFPATH=" + dir + " MIBS= ";
    const std::string text = run(
        env + "snmpwalk -v2c -c rf-public -On -Oq -Ov -OU -Oe 127.0.0.1:" + std::to_string(port) +
        " 1.3.6.1.2.1.31.1.1.1." + column + " && " + env +
        "snmpwalk -v2c -c rf-public -On -Oq 127.0.0.1:" + std::to_string(port) +
        " 1.3.6.1.2.1.31.1.1.1." + column);
    // The second walk's lines: ".1.3.6.1.2.1.31.1.1.1.C.IDX VALUE".
    std::map<uint32_t, std::string> m;
    size_t pos = 0;
    const std::string prefix = ".1.3.6.1.2.1.31.1.1.1." + column + ".";
    while ((pos = text.find(prefix, pos)) != std::string::npos) {
      size_t eol = text.find('\n', pos);
      std::string line = text.substr(pos + prefix.size(), eol - pos - prefix.size());
      size_t sp = line.find(' ');
      std::string v = sp == std::string::npos ? "" : line.substr(sp + 1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      m[static_cast<uint32_t>(std::stoul(line.substr(0, sp)))] = v;
      pos = eol;
    }
    return m;
  }
};

SnmpAgentConfig v2c(const std::string& prefix, uint16_t port, const std::string& community) {
  SnmpAgentConfig a;
  a.exporters = {*Cidr::parse(prefix)};
  a.port = port;
  a.version = "2c";
  a.community = community;
  return a;
}

SnmpAgentConfig v3(const std::string& prefix, uint16_t port, const std::string& auth_pass,
                   const std::string& user = "rfuser") {
  SnmpAgentConfig a;
  a.exporters = {*Cidr::parse(prefix)};
  a.port = port;
  a.version = "3";
  a.user = user;
  a.level = "authPriv";
  a.auth_protocol = "SHA";
  a.auth_password = auth_pass;
  a.priv_protocol = "AES";
  a.priv_password = "rf-priv-pass";
  return a;
}

IpAddr addr(const char* s) { return *IpAddr::parse(s); }

template <class F>
bool wait_for(F&& f, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

uint64_t count(const SnmpPoller& p, SnmpResult r) { return p.polls[static_cast<size_t>(r)].load(); }

// /sys/class/net: ifindex -> name, the kernel's own view.
std::map<uint32_t, std::string> kernel_interfaces() {
  std::map<uint32_t, std::string> m;
  DIR* d = opendir("/sys/class/net");
  if (!d) return m;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(std::string("/sys/class/net/") + e->d_name + "/ifindex");
    uint32_t idx = 0;
    if (f >> idx) m[idx] = e->d_name;
  }
  closedir(d);
  return m;
}

}  // namespace

TEST_CASE("SNMP poller: names as snmpwalk and the kernel say, v2c and v3, failures by reason",
          "[snmp]") {
  Agent agent({"127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.7"});
  if (agent.rc == 77) RF_SKIP(agent.out);
  REQUIRE(agent.rc == 0);
  const uint16_t port = agent.port;

  SnmpConfig cfg;
  cfg.enabled = true;
  cfg.timeout_ms = 1500;
  cfg.retries = 0;
  cfg.max_concurrent = 8;
  cfg.rate = 100;
  cfg.agents = {
      v2c("127.0.0.1/32", port, "rf-public"),    // ok, v2c
      v3("127.0.0.3/32", port, "rf-auth-pass"),  // ok, v3 authPriv
      // auth: a wrong password (its own user: net-snmp keeps one key per
      // user and engine ID in a process, and .3 is the same agent)
      v3("127.0.0.4/32", port, "wrong-auth-pass", "rfuser2"),
      v2c("127.0.0.5/32", port, "wrong-community"),  // timeout (v2c agents stay silent)
      v2c("127.0.0.7/32", port, "rf-system"),        // a view without IF-MIB: no_such_object
      v2c("127.0.0.2/32", port, "rf-public"),        // nothing listens: timeout
  };
  const std::vector<IpAddr> seen = {addr("127.0.0.1"), addr("127.0.0.2"), addr("127.0.0.3"),
                                    addr("127.0.0.4"), addr("127.0.0.5"), addr("127.0.0.6"),
                                    addr("127.0.0.7")};
  EpochHolder<SnmpTable> holder;
  SnmpPoller poller(cfg, holder, [&](std::vector<IpAddr>* out) {
    out->insert(out->end(), seen.begin(), seen.end());
  });
  // A reader, as a worker holds one: the poller may publish (and free the
  // table it replaces) while this thread looks.
  auto reader = holder.reader();
  REQUIRE(reader);
  const auto t0 = std::chrono::steady_clock::now();
  poller.start();
  // The two good agents are published long before the dead address's bound.
  REQUIRE(wait_for(
      [&] {
        auto g = reader.enter();
        const SnmpTable* t = g.get();
        return t && t->find(addr("127.0.0.1")) && t->find(addr("127.0.0.3"));
      },
      5000ms));
  const auto good_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  INFO("both good agents published after " << good_ms << " ms");
  CHECK(good_ms < 1000);
  CHECK(count(poller, SnmpResult::kTimeout) == 0);  // the dead ones are still waiting

  REQUIRE(wait_for(
      [&] {
        uint64_t n = 0;
        for (auto& c : poller.polls) n += c.load();
        return n >= 6;
      },
      8000ms));
  poller.stop();
  CHECK(count(poller, SnmpResult::kOk) == 2);
  CHECK(count(poller, SnmpResult::kAuth) == 1);
  CHECK(count(poller, SnmpResult::kTimeout) == 2);
  CHECK(count(poller, SnmpResult::kNoSuchObject) == 1);
  CHECK(count(poller, SnmpResult::kError) == 0);
  CHECK(poller.without_agent.load() == 1);  // 127.0.0.6: no agent entry
  CHECK(poller.refused.load() == 0);
  for (const auto& s : poller.status()) {
    INFO(s.exporter.str() << " result " << kSnmpResultNames[static_cast<size_t>(s.last)]
                          << " after " << s.last_duration_ms << " ms");
    CHECK(s.polls == 1);
    if (s.exporter == addr("127.0.0.2") || s.exporter == addr("127.0.0.5")) {
      CHECK(s.last == SnmpResult::kTimeout);
      CHECK(s.last_duration_ms >= 1400);  // its bound: timeout_ms x (retries + 1)
      CHECK(s.last_duration_ms < 3000);
    }
  }

  // What the poller published equals snmpwalk's answer and the kernel's.
  const auto names_ref = agent.walk("1");
  const auto alias_ref = agent.walk("18");
  const auto speed_ref = agent.walk("15");
  const auto kernel = kernel_interfaces();
  REQUIRE(!names_ref.empty());
  REQUIRE(names_ref.at(1) == "lo");
  CHECK(alias_ref.at(1) == "loopback for ringflow");  // set by snmpd.sh
  const SnmpTable* t = holder.current_unsafe();
  for (const char* ex : {"127.0.0.1", "127.0.0.3"}) {
    const ExporterEntry* e = t->find(addr(ex));
    REQUIRE(e);
    CHECK(e->interfaces() == names_ref.size());
    for (const auto& [idx, name] : names_ref) {
      INFO(ex << " ifIndex " << idx);
      const IfaceEntry& i = e->iface(idx);
      CHECK(names().str(i.name) == name);
      if (kernel.count(idx)) CHECK(names().str(i.name) == kernel.at(idx));
      CHECK(names().str(i.description) == alias_ref.at(idx));
      CHECK(std::to_string(i.speed) == speed_ref.at(idx));
    }
    CHECK(e->iface(9999).name == kEmptyId);  // not listed: empty, never made up
  }
  for (const char* ex : {"127.0.0.2", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"})
    CHECK(t->find(addr(ex)) == nullptr);
  CHECK(poller.exporters.load() == 2);
  CHECK(poller.interfaces.load() == 2 * names_ref.size());
}

TEST_CASE("SNMP poller: max_interfaces and max_exporters bound what is kept", "[snmp]") {
  Agent agent({"127.0.0.1", "127.0.0.3"});
  if (agent.rc == 77) RF_SKIP(agent.out);
  REQUIRE(agent.rc == 0);
  const size_t kernel_ifaces = kernel_interfaces().size();
  REQUIRE(kernel_ifaces >= 2);

  SnmpConfig cfg;
  cfg.enabled = true;
  cfg.timeout_ms = 1000;
  cfg.retries = 0;
  cfg.max_interfaces = 1;
  cfg.max_exporters = 1;
  cfg.agents = {v2c("127.0.0.0/8", agent.port, "rf-public")};
  EpochHolder<SnmpTable> holder;
  SnmpPoller poller(cfg, holder, [](std::vector<IpAddr>* out) {
    out->push_back(addr("127.0.0.1"));
    out->push_back(addr("127.0.0.3"));
  });
  poller.start();
  REQUIRE(wait_for([&] { return count(poller, SnmpResult::kTooManyInterfaces) == 1; }, 5000ms));
  poller.stop();
  CHECK(poller.refused.load() == 1);
  CHECK(count(poller, SnmpResult::kOk) == 0);
  const SnmpTable* t = holder.current_unsafe();
  REQUIRE(t);
  REQUIRE(t->exporters.size() == 1);
  const ExporterEntry& e = *t->exporters.begin()->second;
  CHECK(e.interfaces() == 1);
  CHECK(names().str(e.iface(1).name) == "lo");
  CHECK(e.iface(2).name == kEmptyId);
}

TEST_CASE("SNMP poller: enrich.snmp.rate bounds the polls started per second", "[snmp]") {
  Agent agent({"127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5"});
  if (agent.rc == 77) RF_SKIP(agent.out);
  REQUIRE(agent.rc == 0);
  // Four answering exporters; the bucket starts with `rate` tokens and
  // gains one every 1000 / rate ms.
  auto all_ok_after_ms = [&](uint32_t rate) {
    SnmpConfig cfg;
    cfg.enabled = true;
    cfg.timeout_ms = 1000;
    cfg.retries = 0;
    cfg.rate = rate;
    cfg.agents = {v2c("127.0.0.0/8", agent.port, "rf-public")};
    EpochHolder<SnmpTable> holder;
    SnmpPoller poller(cfg, holder, [](std::vector<IpAddr>* out) {
      for (const char* a : {"127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.5"})
        out->push_back(addr(a));
    });
    const auto t0 = std::chrono::steady_clock::now();
    poller.start();
    const bool done = wait_for([&] { return count(poller, SnmpResult::kOk) == 4; }, 5000ms);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    poller.stop();
    REQUIRE(done);
    return ms;
  };
  const auto fast = all_ok_after_ms(100);
  const auto slow = all_ok_after_ms(2);  // 2 at once, then one each 500 ms
  INFO("rate 100: " << fast << " ms; rate 2: " << slow << " ms");
  CHECK(fast < 500);
  CHECK(slow >= 950);
}
