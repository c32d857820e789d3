#include "pipeline/forward_stage.h"

#include <algorithm>

#include "common/cpu_list.h"
#include "common/log.h"
#include "metrics/family.h"
#include "metrics/prom_writer.h"

namespace ringflow {
namespace {

// A forward's thread CPUs: forward.cpus[0] (checked against the CPUs this
// process may use), else the allowed CPUs no reactor is pinned to, so that
// sending does not take a reactor's core when another exists; else none.
bool forward_cpus(const Config& cfg, const ForwardConfig& fc, std::vector<uint32_t>* out,
                  std::string* error) {
  const std::vector<uint32_t> allowed = allowed_cpus();
  if (!fc.cpus.empty()) {
    std::string why = parse_cpu_list(fc.cpus[0], out);
    for (uint32_t c : *out)
      if (why.empty() && !allowed.empty() &&
          !std::binary_search(allowed.begin(), allowed.end(), c))
        why = "CPU " + std::to_string(c) + " is not available to this process (it may use " +
              format_cpu_list(allowed) + ")";
    if (!why.empty()) *error = "forward " + fc.name + ": forward.cpus[0]: " + why;
    return why.empty();
  }
  if (cfg.receive.reactor_cpus.empty()) return true;
  std::vector<uint32_t> taken;
  for (const std::string& l : cfg.receive.reactor_cpus) {
    std::vector<uint32_t> c;
    if (parse_cpu_list(l, &c).empty()) taken.insert(taken.end(), c.begin(), c.end());
  }
  for (uint32_t c : allowed)
    if (std::find(taken.begin(), taken.end(), c) == taken.end()) out->push_back(c);
  return true;
}

}  // namespace

std::unique_ptr<ForwardStage> ForwardStage::create(const Config& cfg,
                                                   const std::vector<Admission*>& inner,
                                                   const std::vector<Sessions*>& sessions,
                                                   std::string* error) {
  if (cfg.forwards.empty() && cfg.receive.forwarded_from.empty()) return nullptr;
  auto s = std::make_unique<ForwardStage>();
  const uint32_t reactors = static_cast<uint32_t>(inner.size());
  for (const ForwardConfig& fc : cfg.forwards) {
    auto f = Forwarder::create(fc, reactors, cfg.receive.buffer_size, error);
    if (!f) return nullptr;
    std::vector<uint32_t> cpus;
    if (!forward_cpus(cfg, fc, &cpus, error)) return nullptr;
    s->cpus_.push_back(std::move(cpus));
    std::string targets;
    for (const auto& t : f->targets()) targets += (targets.empty() ? "" : ", ") + t->label;
    RF_LOG_INFO("forward %s: %s to %s, encapsulation %s", fc.name.c_str(), fc.mode.c_str(),
                targets.c_str(), fc.encapsulation.c_str());
    s->forwarders_.push_back(std::move(f));
  }
  s->forward_only_ = forward_only(cfg);
  if (s->forward_only_)
    RF_LOG_INFO("forward only: no sink configured, datagrams are forwarded, not decoded");
  std::vector<Forwarder*> fw;
  for (auto& f : s->forwarders_) fw.push_back(f.get());
  for (uint32_t r = 0; r < reactors; ++r) {
    s->counters_.push_back(std::make_unique<EncapCounters>());
    s->admissions_.push_back(std::make_unique<ForwardAdmission>(
        r, s->forward_only_ ? nullptr : inner[r], s->forward_only_ ? nullptr : sessions[r], fw,
        cfg.receive.forwarded_from, *s->counters_.back()));
  }
  return s;
}

void ForwardStage::start() {
  for (size_t i = 0; i < forwarders_.size(); ++i) forwarders_[i]->start(cpus_[i]);
}

void ForwardStage::stop() {
  for (auto& f : forwarders_) f->stop();
}

void write_forward_metrics(PromWriter& w, const ForwardStage& s) {
  uint64_t enc[5] = {};
  for (const auto& c : s.encap_counters()) {
    enc[0] += c->unwrapped.load();
    enc[1] += c->copies.load();
    enc[2] += c->probes.load();
    enc[3] += c->refused.load();
    enc[4] += c->invalid.load();
  }
  w.family("ringflow_forward_received_total", kCounter,
           "Ringflow-encapsulated datagrams received, by outcome: unwrapped (taken as from the "
           "exporter inside; templates_copy: of which templates-only copies), probe (a "
           "forwarder's liveness probe), refused (sender not in receive.forwarded_from), invalid.");
  w.sample({{"outcome", "unwrapped"}}, enc[0]);
  w.sample({{"outcome", "templates_copy"}}, enc[1]);
  w.sample({{"outcome", "probe"}}, enc[2]);
  w.sample({{"outcome", "refused"}}, enc[3]);
  w.sample({{"outcome", "invalid"}}, enc[4]);
  if (s.forwarders().empty()) return;

  w.family("ringflow_forward_selected_total", kCounter,
           "Datagrams a [[forward]] entry selected (exporters, versions), before picking targets.");
  for (const auto& f : s.forwarders()) w.sample({{"forward", f->config().name}}, f->selected());

  auto per_target = [&](const char* name, MetricType type, const char* help, auto value) {
    w.family(name, type, help);
    for (const auto& f : s.forwarders())
      for (const auto& t : f->targets())
        w.sample({{"forward", f->config().name}, {"target", t->label}}, value(*t));
  };
  auto ring_sum = [](const Forwarder::Target& t, auto get) {
    uint64_t n = 0;
    for (const auto& r : t.rings) n += get(*r);
    return n;
  };
  per_target("ringflow_forward_sent_total", kCounter,
             "Datagrams sent to a target (accepted by the kernel), templates-only copies included.",
             [](const Forwarder::Target& t) { return t.sent.load(); });
  w.family("ringflow_forward_dropped_total", kCounter,
           "Datagrams for a target not sent, by reason: queue_full (its ring was full), "
           "send_error (the send failed), target_down (the target was down: replicate mode, "
           "queued before it went down, or every balance target down), not_ipv4 (encapsulation "
           "transparent: an IPv6 exporter, which a raw IPv4 socket cannot send as).");
  for (const auto& f : s.forwarders())
    for (const auto& t : f->targets()) {
      const std::string& fn = f->config().name;
      w.sample({{"forward", fn}, {"target", t->label}, {"reason", "queue_full"}},
               ring_sum(*t, [](const ForwardRing& r) { return r.queue_full.load(); }));
      w.sample({{"forward", fn}, {"target", t->label}, {"reason", "send_error"}},
               t->send_error.load());
      w.sample({{"forward", fn}, {"target", t->label}, {"reason", "target_down"}},
               t->down_drops.load() +
                   ring_sum(*t, [](const ForwardRing& r) { return r.target_down.load(); }));
      w.sample({{"forward", fn}, {"target", t->label}, {"reason", "not_ipv4"}},
               ring_sum(*t, [](const ForwardRing& r) { return r.not_ipv4.load(); }));
    }
  per_target("ringflow_forward_moved_total", kCounter,
             "Balance mode: datagrams a target took because their stream's first rendezvous "
             "choice was down (failover).",
             [&](const Forwarder::Target& t) {
               return ring_sum(t, [](const ForwardRing& r) { return r.moved.load(); });
             });
  per_target("ringflow_forward_template_copies_total", kCounter,
             "Balance mode: templates-only copies (template, options-template and options-data "
             "sets) queued for a target that does not own the stream.",
             [&](const Forwarder::Target& t) {
               return ring_sum(t, [](const ForwardRing& r) { return r.copies.load(); });
             });
  per_target("ringflow_forward_gso_messages_total", kCounter,
             "Messages that carried a run of datagrams to a target as one UDP GSO send "
             "(UDP_SEGMENT), each cut back into the same datagrams by the kernel or NIC.",
             [](const Forwarder::Target& t) { return t.gso_messages.load(); });
  per_target("ringflow_forward_target_down_total", kCounter,
             "Times a target was declared down (ECONNREFUSED).",
             [](const Forwarder::Target& t) { return t.went_down.load(); });
  per_target("ringflow_forward_probes_total", kCounter,
             "Probes sent to a down target to find it back.",
             [](const Forwarder::Target& t) { return t.probes.load(); });
  per_target("ringflow_forward_target_up", kGauge, "1 while a target is up, 0 while it is down.",
             [](const Forwarder::Target& t) -> uint64_t { return t.up.load() ? 1 : 0; });
}

}  // namespace ringflow
