#include "pipeline/collector.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <new>
#include <stdexcept>

#include "aggregate/agg_table.h"
#include "aggregate/hub.h"
#include "common/clock.h"
#include "common/cpu_list.h"
#include "common/fd_limit.h"
#include "common/file_write.h"
#include "common/log.h"
#include "common/privileges.h"
#include "common/unique_file.h"
#include "decode/state_codec.h"
#include "enrich/enrich_tables.h"
#include "live/top_k.h"
#include "pipeline/flusher.h"
#include "pipeline/forward_stage.h"
#include "pipeline/metrics_export.h"
#include "pipeline/session_admission.h"
#include "pipeline/sflow_interfaces.h"
#include "pipeline/worker.h"
#include "receive/handoff.h"
#include "receive/reactor.h"
#include "receive/socket_activation.h"
#include "receive/udp_socket.h"
#include "sink/clickhouse_sink.h"
#include "sink/sink.h"

namespace ringflow {
namespace {

// The CPUs this process may use (its affinity mask: taskset, cgroups' cpuset
// as the scheduler applies it), for the automatic thread counts.
uint32_t usable_cpus() {
  const size_t n = allowed_cpus().size();
  return n > 0 ? static_cast<uint32_t>(n) : std::max(1u, std::thread::hardware_concurrency());
}

// receive.reactors = 0: a third of the CPUs, at least 1 (docs/performance.md,
// "Threads and CPUs": measured here, a worker costs 0.9-1.3x a reactor per
// datagram at 100 k keys and more with 1 M keys, with several workers sharing
// an exporter's keys, or in a first interval; and reactors only help with
// several exporters, while workers help every one).
uint32_t effective_reactors(const ReceiveConfig& rc, uint32_t cpus) {
  return rc.reactors > 0 ? rc.reactors : std::max(1u, cpus / 3);
}

// receive.workers = 0: the CPUs the reactors leave, at least 1.
uint32_t effective_workers(const ReceiveConfig& rc, uint32_t reactors, uint32_t cpus) {
  if (rc.workers > 0) return rc.workers;
  return std::max(1u, cpus > reactors ? cpus - reactors : 1u);
}

// The CPU sets of receive.reactor_cpus / worker_cpus (validated by the config
// loader), checked against the CPUs this process may use. false + *error
// naming the key and the CPUs when one is not available.
bool cpu_plan(const std::vector<std::string>& lists, const char* key,
              std::vector<std::vector<uint32_t>>* out, std::string* error) {
  const std::vector<uint32_t> allowed = allowed_cpus();
  for (size_t i = 0; i < lists.size(); ++i) {
    std::vector<uint32_t> cpus;
    std::string why = parse_cpu_list(lists[i], &cpus);
    std::vector<uint32_t> missing;
    for (uint32_t c : cpus)
      if (!allowed.empty() && !std::binary_search(allowed.begin(), allowed.end(), c))
        missing.push_back(c);
    if (why.empty() && !missing.empty())
      why = "CPU " + format_cpu_list(missing) + " is not available to this process (it may use " +
            format_cpu_list(allowed) + ")";
    if (!why.empty()) {
      *error = std::string(key) + "[" + std::to_string(i) + "]: " + why;
      return false;
    }
    out->push_back(std::move(cpus));
  }
  return true;
}

// Pins thread t to plan[i mod size] (nothing when the plan is empty).
void pin(std::thread& t, const std::vector<std::vector<uint32_t>>& plan, const char* what,
         uint32_t i) {
  if (plan.empty()) return;
  const std::vector<uint32_t>& cpus = plan[i % plan.size()];
  std::string error;
  if (pin_thread(t.native_handle(), cpus, &error)) {
    RF_LOG_DEBUG("%s %u pinned to CPU %s", what, i, format_cpu_list(cpus).c_str());
  } else {
    RF_LOG_WARN("%s %u: %s (runs unpinned)", what, i, error.c_str());
  }
}

std::string human_bytes(double bytes) {
  char s[32];
  if (bytes >= double(1ull << 30)) {
    snprintf(s, sizeof s, "%.1f GiB", bytes / double(1ull << 30));
  } else {
    snprintf(s, sizeof s, "%.0f MiB", bytes / double(1ull << 20));
  }
  return s;
}

// The one line said when the aggregation tables cannot be had. Each table
// starts small and grows with its keys (src/aggregate/agg_table.h), but maps
// its used lists for max_entries rows at once, so a max_entries the address
// space cannot hold fails here, at start-up; the figures are what the tables
// can reach.
std::string aggregation_memory_error(const AggregateConfig& cfg, uint32_t workers,
                                     const char* what) {
  KeySchema schema;
  std::string ignored;
  const bool parsed = KeySchema::parse(cfg.key, &schema, &ignored);
  const uint32_t layouts = parsed && schema.two_layouts() ? 2 : 1;
  size_t per_interval = 0;  // one interval table: one AggTable per key layout
  for (uint8_t l = 0; l < layouts; ++l)
    per_interval += AggTable::max_memory_bytes_for(parsed ? schema.key_words(l) : 2, cfg.max_entries);
  const uint32_t tables = 2 * workers + 1;
  return "aggregate.max_entries = " + std::to_string(cfg.max_entries) +
         ": cannot map the aggregation tables (" + std::to_string(tables) +
         " tables, 2 per worker and the flusher's, up to " + human_bytes(double(per_interval)) +
         " each, " + human_bytes(double(per_interval) * tables) + " in all): " + what +
         "; lower aggregate.max_entries or raise the memory/address-space limit (docs/config.md)";
}

void name_thread(std::thread& t, const char* prefix, uint32_t i) {
  char name[32];
  snprintf(name, sizeof name, "%s%u", prefix, i);
  name[15] = '\0';  // the kernel's limit for a thread name
  pthread_setname_np(t.native_handle(), name);
}

}  // namespace

Collector::Collector(Config config, RunOptions options)
    : config_(std::move(config)), options_(options) {}

Collector::~Collector() {
  // The SNMP poller reads the ordered stages' stream snapshots: stop it
  // before they go, also when start() failed half-way (no stop() then).
  if (enrich_) enrich_->stop_snmp();
  stop();
}

bool Collector::start(std::string* error) {
  // Start-up allocates everything the pipeline will use; a failure (an
  // exception from a stage's constructor, e.g. tables that cannot be mapped)
  // is an error message, never std::terminate, and leaves nothing running.
  bool ok = false;
  try {
    ok = start_stages(error);
  } catch (const std::bad_alloc& e) {
    *error = std::string("out of memory while starting the pipeline (") + e.what() +
             "); lower receive.queue_depth, receive.ring_entries or aggregate.max_entries";
  } catch (const std::exception& e) {
    *error = std::string("cannot start the pipeline: ") + e.what();
  }
  if (!ok) abandon_start();
  return ok;
}

void Collector::abandon_start() {
  // Whatever start_stages() got to, in reverse: threads first (they use the
  // stages), then the stages in the order their references require.
  if (metrics_) metrics_->stop();
  for (auto& r : reactors_) r->stop();
  for (auto& t : reactor_threads_) t.join();
  reactor_threads_.clear();
  for (auto& w : workers_) w->request_drain();
  for (auto& t : worker_threads_) t.join();
  worker_threads_.clear();
  metrics_.reset();
  flusher_.reset();  // stops its thread without a final flush
  workers_.clear();
  reactors_.clear();
  if (forward_) forward_->stop();
  forward_.reset();
  admissions_.clear();
  captures_.clear();
  sessions_.clear();
  hub_.reset();
  handoff_.reset();
  session_counters_.clear();
  reactor_counters_.clear();
  worker_counters_.clear();
  backends_.clear();
  bound_.clear();
  running_ = false;
}

bool Collector::start_stages(std::string* error) {
  // Every socket, HTTP connection and interval file takes a descriptor: run
  // with the hard limit, not the distribution's soft 1,024 (src/common/fd_limit.h).
  const FdLimit fds = raise_fd_limit();
  if (fds.error != 0) {
    RF_LOG_WARN("file descriptors: %s", describe(fds).c_str());
  } else {
    RF_LOG_INFO("file descriptors: %s", describe(fds).c_str());
  }
  // Automatic thread counts are resolved here, once: the rest of the
  // pipeline (and config()) sees the numbers in use.
  // Sockets systemd holds for us (socket activation) come first: they fix
  // the reactor count at one.
  std::vector<std::vector<UdpSocket>> sockets;
  const Activation activation = take_activated_sockets(config_.receive, &sockets, error);
  if (activation == Activation::kError) return false;
  activated_ = activation == Activation::kTaken;
  if (activated_) {
    // A socket systemd opened cannot be shared by several reactors.
    if (config_.receive.reactors > 1)
      RF_LOG_INFO("socket activation: one reactor (receive.reactors = %u applies to sockets "
                  "ringflow binds itself)",
                  config_.receive.reactors);
    config_.receive.reactors = 1;
  }
  const uint32_t cpus = usable_cpus();
  config_.receive.reactors = effective_reactors(config_.receive, cpus);
  // Forward only (some [[forward]], no sink): the reactors forward and
  // consume every datagram, so no worker, aggregation table or flusher exists
  // (docs/cluster.md); receive.workers reads 0.
  const bool forward_only = ForwardStage::forward_only(config_);
  config_.receive.workers =
      forward_only ? 0 : effective_workers(config_.receive, config_.receive.reactors, cpus);
  const ReceiveConfig& rc = config_.receive;
  const uint32_t nworkers = rc.workers;
  std::vector<std::vector<uint32_t>> reactor_cpus, worker_cpus;
  if (!cpu_plan(rc.reactor_cpus, "receive.reactor_cpus", &reactor_cpus, error) ||
      !cpu_plan(rc.worker_cpus, "receive.worker_cpus", &worker_cpus, error))
    return false;

  if (!activated_ && !open_sockets(rc, &sockets, error)) return false;
  const uint32_t nreactors = static_cast<uint32_t>(sockets.size());
  for (const auto& sock : sockets[0]) bound_.push_back(sock.endpoint());

  // The ordered stage of each reactor. The templates a previous run kept are
  // restored after the privilege drop (below): the file is read as the user
  // that wrote it, not as root.
  for (uint32_t r = 0; r < nreactors; ++r) {
    reactor_counters_.push_back(std::make_unique<ReactorCounters>());
    session_counters_.push_back(std::make_unique<SessionCounters>());
    sessions_.push_back(std::make_unique<Sessions>(config_.decode, rc.ring_entries, rc.buffer_size,
                                                   *session_counters_[r]));
    CaptureRing* capture = nullptr;
    if (capture_on(config_)) {
      // The total is shared by the reactors (a stream's datagrams reach one).
      const MetricsConfig& m = config_.metrics;
      const uint32_t snaplen = std::min(m.capture_snaplen, rc.buffer_size);
      captures_.push_back(std::make_unique<CaptureRing>(m.capture_datagrams, snaplen,
                                                        m.capture_bytes / nreactors));
      capture = captures_.back().get();
    }
    admissions_.push_back(std::make_unique<SessionAdmission>(*sessions_[r], capture));
  }
  {  // Forwarding ([[forward]], receive.forwarded_from): around the ordered stage.
    std::vector<Admission*> inner;
    std::vector<Sessions*> ss;
    for (uint32_t r = 0; r < nreactors; ++r) {
      inner.push_back(admissions_[r].get());
      ss.push_back(sessions_[r].get());
    }
    std::string ferr;
    forward_ = ForwardStage::create(config_, inner, ss, &ferr);
    if (!forward_ && !ferr.empty()) {
      *error = ferr;
      return false;
    }
  }
  handoff_ = std::make_unique<Handoff>(nworkers, nreactors, rc.queue_depth,
                                       rc.ring_entries + sessions_[0]->hold_slots());
  for (uint32_t w = 0; w < nworkers; ++w)
    worker_counters_.push_back(std::make_unique<WorkerCounters>());

  for (uint32_t r = 0; r < nreactors; ++r) {
    std::string why;
    auto reactor = make_reactor(rc, r, std::move(sockets[r]), *handoff_, *reactor_counters_[r],
                                &why, error);
    if (!reactor) {
      reactors_.clear();
      return false;
    }
    if (r == 0) {
      if (why.empty()) {
        RF_LOG_INFO("receive backend: %s", reactor->backend());
      } else {
        RF_LOG_WARN("receive backend: %s (%s)", reactor->backend(), why.c_str());
      }
    }
    backends_.push_back(reactor->backend());
    reactor->set_admission(forward_ ? forward_->admission(r) : admissions_[r].get());
    reactors_.push_back(std::move(reactor));
  }

  // Everything that needs privileges is done: give them up before any
  // thread starts and before any output is created (docs/config.md, [process]).
  PrivilegeResult priv = drop_privileges(config_.process);
  if (!priv.ok) {
    *error = priv.error;
    reactors_.clear();
    return false;
  }
  if (priv.still_root) {
    RF_LOG_WARN("running as root with every capability: set process.user to drop them after "
                "start-up");
  } else {
    RF_LOG_INFO("%s", priv.summary.c_str());
  }
  RF_LOG_DEBUG("credentials: %s", describe_credentials().c_str());

  if (config_.decode.persist_templates) restore_template_state();

  register_clickhouse_sink(config_.aggregate);
  std::vector<std::unique_ptr<Sink>> sinks = make_sinks(config_.output, error);
  if (sinks.empty() && !config_.output.sinks.empty()) {
    reactors_.clear();
    return false;
  }
  if (sinks.empty() && !forward_only)
    RF_LOG_WARN("no sinks configured (sink = []): counting only, nothing is written");

  if (!forward_only) {
    if (!start_aggregation(std::move(sinks), nworkers, error)) return false;
  } else if (config_.enrich.any()) {
    RF_LOG_INFO("forward only: [enrich] is not loaded (nothing is decoded)");
  }

  if (!config_.metrics.listen.empty()) {
    metrics_ = MetricsEndpoint::start(*this, error);
    if (!metrics_) return false;
  }
  if (flusher_) flusher_->start();
  if (forward_) forward_->start();
  for (uint32_t w = 0; w < nworkers; ++w) {
    worker_threads_.emplace_back([this, w] { workers_[w]->run(); });
    name_thread(worker_threads_.back(), "rf-worker", w);
    pin(worker_threads_.back(), worker_cpus, "worker", w);
  }
  for (uint32_t r = 0; r < nreactors; ++r) {
    reactor_threads_.emplace_back([this, r] { reactors_[r]->run(); });
    name_thread(reactor_threads_.back(), "rf-reactor", r);
    pin(reactor_threads_.back(), reactor_cpus, "reactor", r);
  }
  running_ = true;
  std::string listen;
  for (const auto& e : bound_) {
    if (!listen.empty()) listen += ", ";
    listen += e.str();
  }
  if (forward_only) {
    RF_LOG_INFO("listening on %s: %u reactor(s), forward only (no worker, no flusher)",
                listen.c_str(), nreactors);
  } else {
    RF_LOG_INFO("listening on %s: %u reactor(s), %u worker(s), interval %u s", listen.c_str(),
                nreactors, nworkers, config_.aggregate.interval_s);
  }
  return true;
}

bool Collector::start_aggregation(std::vector<std::unique_ptr<Sink>> sinks, uint32_t nworkers,
                                  std::string* error) {
  try {
    hub_ = std::make_unique<AggregationHub>(config_.aggregate, nworkers);
    FlusherOptions fo;
    if (!config_.metrics.listen.empty() && config_.metrics.web) {
      // The Top page's top-K, from the rows each flush merges (off the hot path).
      const uint64_t max_rows =
          config_.aggregate.max_entries * (hub_->schema().two_layouts() ? 2 : 1) + 1;
      top_ = std::make_unique<TopKeeper>(hub_->schema(), config_.metrics.top_k,
                                         config_.metrics.top_intervals, max_rows);
      fo.observe = [t = top_.get()](const FlushBatch& b) { t->add(b); };
    }
    if (config_.output.counters != "none") {
      // sFlow interface counter rows, written by the flusher after each batch.
      const bool csv = config_.output.counters == "csv";
      auto read = [this](std::vector<SflowIfStat>* v) { sflow_interfaces(v); };
      if (config_.output.counters == "clickhouse") {
        // Beside the first clickhouse sink's table (the validator made sure
        // there is one).
        for (const SinkConfig& s : config_.output.sinks) {
          if (s.type != SinkType::kClickHouse) continue;
          ch_http_global_init();
          ChEndpoint ep;
          ep.url = s.url;
          ep.user = s.user;
          ep.password = s.password;
          ep.timeout_ms = s.timeout_ms;
          counters_out_ = std::make_unique<SflowCountersOutput>(std::move(ep), s.database,
                                                                s.table + "_counters", read);
          break;
        }
      } else {
        std::error_code ec;
        std::filesystem::create_directories(config_.output.directory, ec);
        counters_out_ = std::make_unique<SflowCountersOutput>(
            config_.output.directory + (csv ? "/counters.csv" : "/counters.jsonl"),
            csv ? SflowCountersOutput::Format::kCsv : SflowCountersOutput::Format::kJsonl, read);
      }
      if (!counters_out_) {
        *error = "output.counters = \"clickhouse\" needs a [[sink]] of type clickhouse";
        return false;
      }
      if (!counters_out_->open(error)) {
        *error = "output.counters: " + *error;
        return false;
      }
      fo.observe = [top = std::move(fo.observe), out = counters_out_.get()](const FlushBatch& b) {
        if (top) top(b);
        out->write_interval(b.start_ms, b.end_ms);
      };
    }
    flusher_ = std::make_unique<Flusher>(*hub_, std::move(sinks), [this] { return snapshot(); },
                                         fo);
  } catch (const std::bad_alloc& e) {
    *error = aggregation_memory_error(config_.aggregate, nworkers, e.what());
    return false;
  }

  RecordStageOptions stage_opts;
  stage_opts.print_flows = options_.print_flows ? stdout : nullptr;
  if (config_.enrich.any()) {
    // Read once before any record flows: a file that cannot be used stops
    // the start, as a bad config key does.
    enrich_ = std::make_unique<enrich::EnrichTables>(config_.enrich);
    if (!enrich_->load(error)) return false;
    enrich_->start_watch();
    // enrich.snmp: the exporters to poll are those with a live stream.
    enrich_->start_snmp([this](std::vector<IpAddr>* out) {
      std::vector<StreamStats> streams;
      this->streams(&streams);
      for (const StreamStats& s : streams) out->push_back(s.exporter);
    });
    stage_opts.enrich = enrich_.get();
  }
  stage_opts.print_json = options_.print_json;
  if (!config_.filter.expression.empty()) {
    // The validator parsed it already; compiling interns its names.
    filter_ = std::make_unique<FilterProgram>();
    std::string why;
    if (!FilterProgram::compile(config_.filter.expression, filter_.get(), &why)) {
      *error = "filter.expression: " + why;
      return false;
    }
    stage_opts.filter = filter_.get();
  }
  std::vector<const Sessions*> sessions;
  for (const auto& s : sessions_) sessions.push_back(s.get());
  if (config_.decode.max_interface_names > 0 && reads_interface_fields(config_)) {
    learned_names_ = std::make_unique<LearnedNamesPublisher>(sessions);
    stage_opts.learned_if_names = &learned_names_->holder();
  }
  for (uint32_t w = 0; w < nworkers; ++w) {
    if (filter_) {
      filter_counters_.push_back(std::make_unique<FilterCounters>());
      stage_opts.filter_counters = filter_counters_.back().get();
    }
    workers_.push_back(std::make_unique<Worker>(w, config_, *handoff_, sessions, hub_->worker(w),
                                                *worker_counters_[w],
                                                make_record_stages(config_, stage_opts)));
  }
  return true;
}

void Collector::stop() {
  if (!running_) return;
  running_ = false;
  // 1. Receive until the exporters are quiet (receive.drain_timeout at
  //    most): the kernel queues datagrams for as long as the sockets are
  //    open, so closing them at once would lose what is in flight.
  drain_receive();
  // 2. Stop receiving: each reactor seals its sockets (later datagrams are
  //    kernel drops), takes what they hold and hands it off before run()
  //    returns, so after the joins nothing more enters the queues.
  for (auto& r : reactors_) r->stop();
  for (auto& t : reactor_threads_) t.join();
  reactor_threads_.clear();
  // The forwarders send what the reactors queued, then stop.
  if (forward_) forward_->stop();
  // 3. Workers drain their queues, then exit.
  for (auto& w : workers_) w->request_drain();
  for (auto& t : worker_threads_) t.join();
  worker_threads_.clear();
  if (enrich_) enrich_->stop_snmp();
  // The reactors are joined: their ordered stages are ours to read.
  if (config_.decode.persist_templates) write_template_state();
  // 4. Final (partial) interval to every sink.
  if (flusher_) flusher_->stop_and_flush_final();
  if (metrics_) metrics_->stop();
  StatsSnapshot s = snapshot();
  RF_LOG_INFO("stopped: %llu datagrams received, %llu accepted, %llu rejected, %llu dropped, "
              "%llu flows; %llu dropped by the kernel (socket buffer full, or after the drain)",
              static_cast<unsigned long long>(s.datagrams),
              static_cast<unsigned long long>(s.decoded),
              static_cast<unsigned long long>(s.rejected()),
              static_cast<unsigned long long>(s.dropped()),
              static_cast<unsigned long long>(s.flows),
              static_cast<unsigned long long>(s.kernel_drops));
}

void Collector::drain_receive() {
  const uint32_t timeout_s = config_.receive.drain_timeout_s;
  if (timeout_s == 0 || reactors_.empty()) return;
  if (activated_) {
    // systemd keeps the sockets: what they queue from now on is read by the
    // next instance, not lost. Stop at once (the restart gap stays short).
    RF_LOG_INFO("drain: the sockets are systemd's (socket activation): not waiting for quiet; "
                "what they queue is left for the next start");
    return;
  }
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::seconds(timeout_s);
  for (auto& r : reactors_) r->begin_drain();
  auto all_quiet = [this] {
    return std::all_of(reactors_.begin(), reactors_.end(), [](const auto& r) { return r->quiet(); });
  };
  // The reactors update quiet() every 10 ms; look as often.
  bool quiet = false;
  while (!(quiet = all_quiet()) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (quiet) {
    RF_LOG_INFO("drain: no datagram for %lld ms after %.1f s; sealing the sockets",
                static_cast<long long>(kDrainQuietMs), secs);
  } else {
    RF_LOG_WARN("drain: datagrams still arriving after receive.drain_timeout = %u s; sealing the "
                "sockets: from now on the kernel drops them and counts them as kernel drops",
                timeout_s);
  }
}

StatsSnapshot Collector::snapshot() const {
  StatsSnapshot s;
  for (const auto& c : reactor_counters_) {
    s.datagrams += c->datagrams.load();
    s.bytes += c->bytes.load();
    s.handed_off += c->handed_off.load();
    s.consumed += c->consumed.load();
    s.oversize += c->oversize.load();
    s.not_allowed += c->not_allowed.load();
    s.queue_full += c->queue_full.load();
    s.enobufs += c->enobufs.load();
    s.cq_overflow += c->cq_overflow.load();
    s.kernel_drops += c->kernel_drops.load();
    s.late_handed_off += c->late_handed_off.load();
    s.late_queue_full += c->late_queue_full.load();
  }
  for (const auto& c : session_counters_) {
    for (size_t v = 0; v < kFormatSlots; ++v)
      for (size_t i = 0; i < kRejectReasons; ++i) s.rejects[i] += c->rejects[v][i].load();
    s.decoded += c->handed_off.load() + c->consumed.load();
    s.trailing_accepted += c->v5_trailing.load();
  }
  for (const auto& c : worker_counters_) {
    s.worker_datagrams += c->datagrams.load();
    s.pdus += c->pdus.load();
    s.flows += c->flows.load();
    s.late_flows += c->late_flows.load();
    s.future_records += c->future_records.load();
    s.inverted_records += c->inverted_records.load();
    s.time_unknown_records += c->time_unknown_records.load();
    s.unknown_sampling_records += c->unknown_sampling_records.load();
  }
  return s;
}

void Collector::streams(std::vector<StreamStats>* out) const {
  for (const auto& s : sessions_) s->streams_snapshot(out);
}

void Collector::sflow_interfaces(std::vector<SflowIfStat>* out) const {
  for (const auto& s : sessions_) s->sflow_interfaces(out);
}

void Collector::exporter_snapshots(
    std::vector<std::shared_ptr<const ExporterSnapshot>>* out) const {
  for (const auto& s : sessions_) out->push_back(s->exporters_snapshot());
}

void Collector::refused_addresses(std::vector<AddressRefusals>* out, uint64_t* other) const {
  for (const auto& s : sessions_) s->refused_snapshot(out, other);
}

SequenceTrackerStats Collector::tracker_stats() const {
  SequenceTrackerStats sum;
  for (const auto& s : sessions_) {
    SequenceTrackerStats t = s->tracker_stats();
    sum.active += t.active;
    sum.capacity += t.capacity;
    sum.streams_created += t.streams_created;
    sum.streams_expired += t.streams_expired;
    sum.streams_evicted += t.streams_evicted;
    sum.table_full += t.table_full;
  }
  return sum;
}

std::string Collector::template_state_path() const {
  return config_.output.directory + "/templates.state";
}

void Collector::restore_template_state() {
  const std::string path = template_state_path();
  std::string bytes, why;
  switch (read_state_file(path, kMaxStateBytes, &bytes, &why)) {
    case StateFile::kMissing:
      return;  // first start, or never saved: nothing to restore
    case StateFile::kRefused:
      RF_LOG_WARN("templates: %s refused: %s; nothing restored", path.c_str(), why.c_str());
      return;
    case StateFile::kRead:
      break;
  }
  TemplateState state;
  const StateError err = decode_state(bytes, &state);
  if (err != StateError::kNone) {
    RF_LOG_WARN("templates: %s refused (%zu bytes): %s; nothing restored, the templates are "
                "learnt again from the exporters",
                path.c_str(), bytes.size(), state_error_text(err));
    return;
  }
  // Every reactor gets every template: an exporter may land on any of them.
  const StateImport r = sessions_.empty() ? StateImport{} : sessions_[0]->import_state(state, wall_ms());
  for (size_t i = 1; i < sessions_.size(); ++i) sessions_[i]->import_state(state, wall_ms());
  RF_LOG_INFO("templates: restored %zu templates and %zu streams' sampling rates from %s "
              "(%zu duplicate copies merged)",
              r.templates, r.streams, path.c_str(), r.templates_duplicate);
  if (r.interfaces > 0 || r.interfaces_refused > 0)
    RF_LOG_INFO("templates: restored %zu interface names learnt from options data (%zu refused: "
                "their stream, decode.max_interface_names, or not text)",
                r.interfaces, r.interfaces_refused);
  if (r.refused() > 0) {
    RF_LOG_WARN("templates: %s: refused %zu templates that do not parse, %zu over "
                "decode.max_templates(_per_stream), %zu whose stream was refused "
                "(decode.max_streams or max_streams_per_address), and %zu streams' rates",
                path.c_str(), r.templates_invalid, r.templates_over_limit, r.templates_no_stream,
                r.streams_no_stream);
  }
}

void Collector::write_template_state() const {
  // Every reactor's templates in one file (loading them all into each
  // reactor at the next start is harmless: copies are refreshes).
  TemplateState all;
  for (const auto& s : sessions_) s->export_state(&all);
  if (all.templates.empty() && all.streams.empty()) return;  // nothing learnt: keep a previous file
  const std::string bytes = encode_state(all);
  if (bytes.size() > kMaxStateBytes) {
    RF_LOG_WARN("templates: not saved: %zu bytes is more than the %zu a state file may hold",
                bytes.size(), kMaxStateBytes);
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(config_.output.directory, ec);
  std::string error;
  if (!write_file_atomic(template_state_path(), bytes, &error)) {
    RF_LOG_WARN("templates: cannot save %s: %s", template_state_path().c_str(), error.c_str());
    return;
  }
  RF_LOG_INFO("templates: saved %zu templates and %zu streams' sampling rates to %s",
              all.templates.size(), all.streams.size(), template_state_path().c_str());
}

void Collector::reopen_outputs() {
  if (flusher_) flusher_->request_reopen();
}

void Collector::refresh_learned_names() {
  if (learned_names_) learned_names_->refresh();
}

void Collector::reload_enrichment() {
  if (enrich_) enrich_->request_reload();
}

namespace {

// The stats line: rates and the drop counters that moved since the last one.
void log_stats(const StatsSnapshot& now, const StatsSnapshot& prev, double secs) {
  auto rate = [secs](uint64_t a, uint64_t b) { return secs > 0 ? (a - b) / secs : 0.0; };
  char extra[512] = "";
  size_t len = 0;
  auto moved = [&](const char* name, uint64_t a, uint64_t b) {
    if (a != b && len < sizeof extra)
      len += snprintf(extra + len, sizeof extra - len, " %s +%llu", name,
                      static_cast<unsigned long long>(a - b));
  };
  moved("kernel_drops", now.kernel_drops, prev.kernel_drops);
  moved("queue_full", now.queue_full, prev.queue_full);
  moved("oversize", now.oversize, prev.oversize);
  moved("not_allowed", now.not_allowed, prev.not_allowed);
  moved("enobufs", now.enobufs, prev.enobufs);
  moved("cq_overflow", now.cq_overflow, prev.cq_overflow);
  for (size_t i = 1; i < kRejectReasons; ++i) {
    char name[48];
    snprintf(name, sizeof name, "rejected_%s",
             std::string(reject_reason_name(static_cast<Reject>(i))).c_str());
    moved(name, now.rejects[i], prev.rejects[i]);
  }
  RF_LOG_INFO("stats: %.0f datagrams/s, %.0f flows/s%s%s", rate(now.datagrams, prev.datagrams),
              rate(now.flows, prev.flows), len ? "; drops/rejects:" : "", extra);
}

}  // namespace

int run_collector(const Config& config, const RunOptions& options) {
  // Block the signals in this thread before any other thread exists, so every
  // thread inherits the mask and only sigtimedwait() below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  Collector collector(config, options);
  std::string error;
  if (!collector.start(&error)) {
    RF_LOG_ERROR("%s", error.c_str());
    return 1;
  }

  const uint32_t stats_every = config.log.stats_interval_s;
  StatsSnapshot prev = collector.snapshot();
  int64_t last = monotonic_ns();
  for (;;) {
    timespec timeout{1, 0};
    int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) {
      RF_LOG_INFO("%s: stopping (receiving until the exporters are quiet, at most %u s; then "
                  "draining queues, flushing the partial interval); send it again to exit at once",
                  sig == SIGINT ? "SIGINT" : "SIGTERM", config.receive.drain_timeout_s);
      break;
    }
    collector.refresh_learned_names();
    if (sig == SIGHUP) {
      RF_LOG_INFO("SIGHUP: reopening outputs");
      collector.reopen_outputs();
      collector.reload_enrichment();
    }
    if (stats_every == 0) continue;
    const int64_t now = monotonic_ns();
    double secs = static_cast<double>(now - last) / 1e9;
    if (secs >= stats_every) {
      StatsSnapshot cur = collector.snapshot();
      log_stats(cur, prev, secs);
      prev = cur;
      last = now;
    }
  }

  // A second signal during the graceful stop exits at once.
  std::thread watchdog([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0 || sig == SIGHUP) continue;
      static const char msg[] = "second signal: exiting without flushing\n";
      ssize_t ignored = write(2, msg, sizeof msg - 1);
      (void)ignored;
      _exit(130);
    }
  });
  watchdog.detach();
  collector.stop();
  return 0;
}

}  // namespace ringflow
