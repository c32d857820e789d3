#include "gen/runner.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <thread>

#include <ringflow/stats.h>

#include "gen/flow_templates.h"
#include "gen/generator.h"
#include "gen/pcap_writer.h"
#include "gen/replay.h"
#include "gen/sender.h"

namespace ringflow::gen {
namespace {

// Progress counters of one sender thread. Its own cache line: the thread
// bumps them after every batch while the reporter reads them.
struct alignas(64) ThreadCounters {
  Counter slots;
  Counter datagrams;
  Counter flows;
  Counter bytes;
  std::atomic<bool> finished{false};
};

struct ThreadResult {
  std::string error;
  int64_t first_send_ns = 0, last_send_ns = 0;
  int64_t max_late_ns = 0;
  uint64_t syscalls = 0, retries = 0;
};

double seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

void sender_thread(const GenConfig& cfg, const TrafficModel& model, Generator* gen,
                   UdpSender* sender, PcapWriter* pcap, double rate, int64_t start_mono,
                   int64_t end_mono, const std::atomic<bool>* stop, ThreadCounters* ctr,
                   ThreadResult* res) {
  // Default timer slack (50 us) would blur every paced wake-up.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  (void)model;
  const uint32_t batch_slots = batch_for_rate(rate, cfg.batch);
  SendBatch batch(size_t{batch_slots} * kMaxEntriesPerSlot);
  Pacer pacer(rate, start_mono);
  uint64_t slots = 0;
  auto on_fail = [&](const Outgoing& o) { gen->on_send_failed(o); };
  auto send = [&]() {
    uint64_t sent;
    if (pcap) {
      // --write-pcap: the datagrams go to the file, as they would have gone
      // out of the sender's sockets.
      const int64_t ts = wall_ns();
      for (size_t i = 0; i < batch.size(); ++i) {
        const Outgoing& o = batch[i];
        pcap->write(sender->source_addr(o.stream), sender->source_port(o.stream),
                    cfg.target.addr, cfg.target.port, o.data, o.len, ts);
      }
      sent = batch.size();
    } else {
      sent = sender->send(batch, on_fail);
    }
    uint64_t flows = 0, bytes = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      flows += batch[i].malformed < 0 ? batch[i].flows : 0;
      bytes += batch[i].len;
    }
    int64_t now = monotonic_ns();
    if (res->first_send_ns == 0 && sent > 0) res->first_send_ns = now;
    if (sent > 0) res->last_send_ns = now;
    ctr->datagrams.add(sent);
    ctr->flows.add(flows);
    ctr->bytes.add(bytes);
  };
  while (!stop->load(std::memory_order_relaxed)) {
    if (pacer.paced()) {
      const int64_t due = pacer.due_ns(slots);
      if (end_mono > 0 && due >= end_mono) break;  // the next batch is past --duration
      res->max_late_ns = std::max(res->max_late_ns, pacer.wait(slots));
    }
    if (end_mono > 0 && monotonic_ns() >= end_mono) break;
    size_t n = gen->fill(batch, batch_slots, wall_ns());
    if (n == 0 && batch.empty()) break;
    send();
    slots += n;
    ctr->slots.add(n);
    if (n == 0 || gen->done()) break;
  }
  bool more = true;
  while (more) {
    more = gen->flush(batch);
    if (!batch.empty()) send();
  }
  res->syscalls = sender->syscalls();
  res->retries = sender->retries();
  ctr->finished.store(true, std::memory_order_release);
}

void progress_loop(const GenConfig& cfg, std::vector<std::unique_ptr<ThreadCounters>>& ctrs,
                   int64_t start_mono) {
  auto all_done = [&] {
    for (auto& c : ctrs)
      if (!c->finished.load(std::memory_order_acquire)) return false;
    return true;
  };
  const bool show = cfg.progress && !cfg.quiet;
  uint64_t last_slots = 0;
  int64_t last_t = start_mono, next_report = start_mono + 1000000000;
  while (!all_done()) {
    sleep_until_ns(std::min(next_report, monotonic_ns() + 20000000));
    int64_t now = monotonic_ns();
    if (now < next_report) continue;
    next_report += 1000000000;
    if (!show) continue;
    uint64_t slots = 0, dgrams = 0, flows = 0;
    for (auto& c : ctrs) {
      slots += c->slots.load();
      dgrams += c->datagrams.load();
      flows += c->flows.load();
    }
    double dt = seconds(now - last_t);
    std::fprintf(stderr,
                 "ringflow-gen: %6.1f s  sent %" PRIu64 " datagrams, %" PRIu64
                 " flows  rate %.0f datagrams/s\n",
                 seconds(now - start_mono), dgrams, flows,
                 dt > 0 ? static_cast<double>(slots - last_slots) / dt : 0.0);
    last_slots = slots;
    last_t = now;
  }
}

}  // namespace

RunResult run_generator(const GenConfig& cfg, const TrafficModel& model,
                        const std::atomic<bool>* stop, bool keep_keys) {
  RunResult out;
  const uint32_t threads = std::min(cfg.threads, cfg.exporters);
  const ExporterMode mode = cfg.resolved_mode();
  const bool want_keys = keep_keys || !cfg.truth_keys_path.empty();
  const int64_t start_real = wall_ns();
  const uint64_t all_streams = uint64_t{cfg.exporters} * cfg.streams_per_exporter();
  std::shared_ptr<const FlowTemplates> templates;
  if (cfg.templated()) templates = std::make_shared<const FlowTemplates>(cfg, model);
  std::unique_ptr<PcapWriter> pcap;
  if (!cfg.pcap_path.empty()) {
    pcap = std::make_unique<PcapWriter>();
    if (!pcap->open(cfg.pcap_path, &out.error)) return out;
  }

  std::vector<std::unique_ptr<Generator>> gens;
  std::vector<std::unique_ptr<UdpSender>> senders;
  std::vector<double> rates;
  for (uint32_t t = 0; t < threads; ++t) {
    std::vector<uint32_t> mine;
    for (uint32_t e = t; e < cfg.exporters; e += threads) mine.push_back(e);
    auto gen = std::make_unique<Generator>(cfg, model, mine, start_real, want_keys, templates);
    // One source per stream: a v9/IPFIX exporter's domains share its address.
    std::vector<IpAddr> sources;
    for (size_t i = 0; i < gen->streams(); ++i)
      sources.push_back(IpAddr::from_v4(0x7F000001u + gen->exporter_of(i)));
    auto sender = std::make_unique<UdpSender>();
    const double rate =
        cfg.slot_rate() * static_cast<double>(gen->streams()) / static_cast<double>(all_streams);
    const size_t cap = size_t{batch_for_rate(rate, cfg.batch)} * kMaxEntriesPerSlot;
    if (!sender->open(cfg.target, mode, sources, std::max(cap, gen->streams()), &out.error))
      return out;
    for (size_t i = 0; i < gen->streams(); ++i)
      gen->set_identity(i, sender->source_addr(i), sender->source_port(i));
    gens.push_back(std::move(gen));
    senders.push_back(std::move(sender));
    rates.push_back(rate);
  }

  std::vector<std::unique_ptr<ThreadCounters>> ctrs;
  std::vector<ThreadResult> results(threads);
  for (uint32_t t = 0; t < threads; ++t) ctrs.push_back(std::make_unique<ThreadCounters>());
  const int64_t start_mono = monotonic_ns();
  const int64_t end_mono =
      cfg.duration_s > 0 ? start_mono + static_cast<int64_t>(cfg.duration_s * 1e9) : 0;
  std::vector<std::thread> pool;
  for (uint32_t t = 0; t < threads; ++t)
    pool.emplace_back(sender_thread, std::cref(cfg), std::cref(model), gens[t].get(),
                      senders[t].get(), pcap.get(), rates[t], start_mono, end_mono, stop,
                      ctrs[t].get(),
                      &results[t]);
  progress_loop(cfg, ctrs, start_mono);
  for (auto& th : pool) th.join();

  if (pcap && !pcap->close(&out.error)) return out;
  out.streams.resize(all_streams);
  if (want_keys) out.keys.assign(model.size(), KeyTotal{});
  int64_t first = 0, last = 0;
  for (uint32_t t = 0; t < threads; ++t) {
    const Generator& g = *gens[t];
    for (size_t i = 0; i < g.streams(); ++i) out.streams[g.exporter_index(i)] = g.truth(i);
    if (want_keys) {
      const KeyTotals& k = g.keys();
      for (size_t i = 0; i < k.size(); ++i) {
        out.keys[i].flows += k[i].flows;
        out.keys[i].packets += k[i].packets;
        out.keys[i].bytes += k[i].bytes;
      }
    }
    out.slots += ctrs[t]->slots.load();
    out.wire_datagrams += ctrs[t]->datagrams.load();
    out.wire_bytes += ctrs[t]->bytes.load();
    out.syscalls += results[t].syscalls;
    out.retries += results[t].retries;
    out.max_lateness_ns = std::max(out.max_lateness_ns, results[t].max_late_ns);
    if (results[t].first_send_ns && (first == 0 || results[t].first_send_ns < first))
      first = results[t].first_send_ns;
    last = std::max(last, results[t].last_send_ns);
  }
  // Elapsed from the schedule's start: the first batch is due at start_mono.
  out.elapsed_s = last > 0 ? seconds(last - start_mono) : 0;
  (void)first;
  out.ok = true;
  return out;
}

bool write_truth_files(const GenConfig& cfg, const TrafficModel* model, const RunResult& r,
                       std::string* error) {
  if (!cfg.truth_path.empty() && !write_file(cfg.truth_path, format_truth(r.streams), error))
    return false;
  if (!cfg.truth_keys_path.empty() && model != nullptr) {
    std::vector<uint32_t> rates;
    const bool with_rates = cfg.templated() || cfg.sflow();
    if (with_rates) {
      rates.resize(model->size(), 1);
      if (!cfg.sampler_rates.empty())
        for (uint32_t k = 0; k < model->size(); ++k)
          rates[k] = cfg.sampler_rates[k % cfg.sampler_rates.size()];
    }
    if (!write_file(cfg.truth_keys_path,
                    format_keys(*model, r.keys, with_rates ? &rates : nullptr, cfg.sflow()),
                    error))
      return false;
  }
  return true;
}

std::string format_summary(const GenConfig& cfg, const RunResult& r) {
  StreamTruth t = total_of(r.streams);
  char buf[1024];
  const double el = r.elapsed_s > 0 ? r.elapsed_s : 1e-9;
  std::string s;
  std::string target_text = "max";
  if (cfg.slot_rate() > 0) {
    target_text = std::to_string(static_cast<uint64_t>(cfg.slot_rate())) + " slots/s";
  } else if (!cfg.replay_path.empty() && cfg.replay_speed > 0) {
    char sp[64];
    std::snprintf(sp, sizeof sp, "capture pacing x%g", cfg.replay_speed);
    target_text = sp;
  }
  std::snprintf(buf, sizeof buf,
                "ringflow-gen: done in %.3f s: %" PRIu64 " datagrams (%" PRIu64
                " flows) to %s from %zu exporter stream(s)\n"
                "ringflow-gen: rate %.0f slots/s, %.0f datagrams/s, %.0f flows/s, %.1f Mbit/s "
                "(target %s)\n",
                r.elapsed_s, r.wire_datagrams, t.flows, cfg.target.str().c_str(), r.streams.size(),
                static_cast<double>(r.slots) / el, static_cast<double>(r.wire_datagrams) / el,
                static_cast<double>(t.flows) / el, static_cast<double>(r.wire_bytes) * 8 / el / 1e6,
                target_text.c_str());
  s += buf;
  std::snprintf(buf, sizeof buf,
                "ringflow-gen: faults: lost %" PRIu64 " datagrams (%" PRIu64
                " flows), duplicates %" PRIu64 ", reordered %" PRIu64 ", resets %" PRIu64
                ", uptime wraps %" PRIu64 ", pre-wrap records %" PRIu64 ", malformed %" PRIu64 "\n",
                t.lost_datagrams, t.lost_flows, t.duplicates, t.reordered, t.resets, t.uptime_wraps,
                t.prewrap_records, t.malformed_total());
  s += buf;
  std::snprintf(buf, sizeof buf,
                "ringflow-gen: %" PRIu64 " sendmmsg calls, %" PRIu64 " retries, %" PRIu64
                " send errors, worst lateness %.3f ms\n",
                r.syscalls, r.retries, t.send_errors, static_cast<double>(r.max_lateness_ns) / 1e6);
  s += buf;
  if (t.send_errors > 0)
    s += "ringflow-gen: warning: the kernel refused some datagrams; the per-stream truth "
         "accounts for them (send_errors), the per-key truth does not\n";
  return s;
}

}  // namespace ringflow::gen
