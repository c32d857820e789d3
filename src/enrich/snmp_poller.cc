#include "enrich/snmp_poller.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "common/log.h"
#include "enrich/names.h"

namespace ringflow::enrich {

struct SnmpPoller::Entry {
  IpAddr exporter;
  const SnmpAgentConfig* agent = nullptr;
  int64_t due_ms = 0;
  bool active = false;
  bool seen = false;  // listed by the last scan
  uint32_t polls = 0;
  SnmpResult last = SnmpResult::kOk;
  int64_t last_duration_ms = 0;
  SnmpIfaces ifaces;
};

struct SnmpPoller::Active {
  IpAddr exporter;
  int64_t started_ms = 0;
  std::unique_ptr<SnmpWalk> walk;
};

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t intern_or_empty(const std::string& s) {
  if (s.empty()) return kEmptyId;
  return names().intern(s).value_or(kEmptyId);
}

}  // namespace

SnmpPoller::SnmpPoller(const SnmpConfig& cfg, EpochHolder<SnmpTable>& out, ExporterSource source)
    : cfg_(cfg),
      out_(out),
      source_(std::move(source)),
      wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

SnmpPoller::~SnmpPoller() { stop(); }

const SnmpAgentConfig* SnmpPoller::match(const SnmpConfig& cfg, const IpAddr& a) {
  const SnmpAgentConfig* best = nullptr;
  uint8_t best_len = 0;
  for (const SnmpAgentConfig& ag : cfg.agents)
    for (const Cidr& c : ag.exporters)
      if (c.contains(a) && (!best || c.prefix_len > best_len)) {
        best = &ag;
        best_len = c.prefix_len;
      }
  return best;
}

void SnmpPoller::start() {
  if (thread_.joinable()) return;
  snmp_library_init();  // before the thread: init_snmp is not thread-safe
  stop_.store(false);
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "rf-snmp");
}

void SnmpPoller::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  const uint64_t one = 1;
  if (wake_.get() >= 0) (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

std::vector<SnmpPoller::Status> SnmpPoller::status() const {
  std::lock_guard lock(mu_);
  std::vector<Status> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_)
    out.push_back(Status{e.exporter, e.polls, e.last, e.last_duration_ms, e.ifaces.size()});
  return out;
}

void SnmpPoller::scan(int64_t now_ms) {
  std::vector<IpAddr> seen;
  if (source_) source_(&seen);
  std::sort(seen.begin(), seen.end(),
            [](const IpAddr& a, const IpAddr& b) { return a.bytes < b.bytes; });
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  uint64_t no_agent = 0, over = 0;
  bool removed = false;
  {
    std::lock_guard lock(mu_);
    for (Entry& e : entries_) e.seen = false;
    for (const IpAddr& a : seen) {
      auto it = std::find_if(entries_.begin(), entries_.end(),
                             [&](const Entry& e) { return e.exporter == a; });
      if (it != entries_.end()) {
        it->seen = true;
        continue;
      }
      const SnmpAgentConfig* agent = match(cfg_, a);
      if (!agent) {
        ++no_agent;
        continue;
      }
      if (entries_.size() >= cfg_.max_exporters) {
        ++over;
        continue;
      }
      Entry e;
      e.exporter = a;
      e.agent = agent;
      e.due_ms = now_ms;
      e.seen = true;
      entries_.push_back(std::move(e));
    }
    // Forget the exporters the collector no longer lists (not while polled).
    const size_t before = entries_.size();
    std::erase_if(entries_, [](const Entry& e) { return !e.seen && !e.active; });
    removed = entries_.size() != before;
  }
  without_agent.store(no_agent, std::memory_order_relaxed);
  refused.store(over, std::memory_order_relaxed);
  if (removed) publish();
}

void SnmpPoller::publish() {
  auto t = std::make_unique<SnmpTable>();
  static std::atomic<uint64_t> generations{0};
  t->generation = generations.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t nexp = 0, nif = 0;
  {
    std::lock_guard lock(mu_);
    for (const Entry& e : entries_) {
      if (e.ifaces.empty()) continue;
      std::vector<std::pair<uint32_t, IfaceEntry>> listed;
      listed.reserve(e.ifaces.size());
      for (const auto& [idx, i] : e.ifaces) {
        if (idx == 0) continue;  // ifIndex 0 means "no interface" in a flow record
        IfaceEntry ie;
        ie.name = intern_or_empty(i.name);
        ie.description = intern_or_empty(i.alias);
        ie.speed = i.has_speed ? i.speed_mbps : 0;
        listed.emplace_back(idx, ie);
      }
      auto entry = std::make_unique<ExporterEntry>();
      entry->index(listed);
      nif += listed.size();
      ++nexp;
      t->exporters.emplace(e.exporter, std::move(entry));
    }
  }
  exporters.store(nexp, std::memory_order_relaxed);
  interfaces.store(nif, std::memory_order_relaxed);
  out_.publish(std::move(t));
}

void SnmpPoller::run() {
  std::vector<Active> active;
  std::vector<pollfd> fds;
  const int64_t period_ms = 1000;
  int64_t next_scan = 0;
  double tokens = cfg_.rate;  // a full second's worth at start
  int64_t last_refill = steady_ms();
  while (!stop_.load(std::memory_order_relaxed)) {
    int64_t now = steady_ms();
    if (now >= next_scan) {
      scan(now);
      next_scan = now + period_ms;
    }
    tokens = std::min<double>(cfg_.rate, tokens + (now - last_refill) * cfg_.rate / 1000.0);
    last_refill = now;
    // Start the due polls, oldest due first, within the bounds.
    while (active.size() < cfg_.max_concurrent && tokens >= 1.0) {
      Entry* next = nullptr;
      SnmpWalk::Params p;
      {
        std::lock_guard lock(mu_);
        for (Entry& e : entries_)
          if (!e.active && e.due_ms <= now && (!next || e.due_ms < next->due_ms)) next = &e;
        if (!next) break;
        next->active = true;
        p.address = next->exporter;
        p.agent = *next->agent;
      }
      p.timeout_ms = cfg_.timeout_ms;
      p.retries = cfg_.retries;
      p.max_interfaces = cfg_.max_interfaces;
      tokens -= 1.0;
      active.push_back(Active{p.address, now, std::make_unique<SnmpWalk>(p)});
    }
    in_flight.store(active.size(), std::memory_order_relaxed);
    // Wait for an answer, a stop or the next 20 ms step.
    fds.clear();
    fds.push_back(pollfd{wake_.get(), POLLIN, 0});
    for (const Active& a : active) fds.push_back(pollfd{a.walk->fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), 20);
    if (stop_.load(std::memory_order_relaxed)) break;
    for (size_t i = 0; i < active.size(); ++i) {
      SnmpWalk& w = *active[i].walk;
      if (fds[i + 1].fd >= 0 && (fds[i + 1].revents & (POLLIN | POLLERR))) w.on_readable();
      w.on_tick();
    }
    // Record the polls that ended.
    bool changed = false;
    now = steady_ms();
    for (Active& a : active) {
      if (!a.walk->done()) continue;
      const SnmpResult r = a.walk->result();
      polls[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
      const bool usable = r == SnmpResult::kOk || r == SnmpResult::kTooManyInterfaces;
      if (!usable)
        RF_LOG_DEBUG("snmp: %s: %s (%s)", a.exporter.str().c_str(),
                     kSnmpResultNames[static_cast<size_t>(r)], a.walk->detail().c_str());
      std::lock_guard lock(mu_);
      for (Entry& e : entries_) {
        if (e.exporter != a.exporter) continue;
        e.active = false;
        ++e.polls;
        e.last = r;
        e.last_duration_ms = now - a.started_ms;
        e.due_ms = now + int64_t{usable ? cfg_.refresh_s : cfg_.retry_s} * 1000;
        if (usable && e.ifaces != a.walk->interfaces()) {
          e.ifaces = a.walk->interfaces();
          changed = true;
        }
        break;
      }
    }
    std::erase_if(active, [](const Active& a) { return a.walk->done(); });
    if (changed) publish();
  }
  in_flight.store(0, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  for (Entry& e : entries_) e.active = false;
}

}  // namespace ringflow::enrich
