// ringflow-gen: the NetFlow v5 / v9 / IPFIX load generator. Parses the command line,
// builds the traffic model, runs the sender threads (src/gen/runner.h),
// writes the ground truth and prints a summary. See docs/generator.md.
#include <csignal>
#include <cstdio>
#include <memory>

#include "gen/cli.h"
#include "gen/runner.h"
#include "gen/traffic.h"

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  using namespace ringflow::gen;
  CliResult cli = parse_cli(argc, argv);
  if (cli.action == CliResult::Action::kExit) {
    std::fputs(cli.output.c_str(), stdout);
    std::fputs(cli.error.c_str(), stderr);
    return cli.exit_code;
  }
  const GenConfig& cfg = cli.config;
  // SIGINT/SIGTERM end the run cleanly: held datagrams are sent and the truth
  // is written for what was actually sent.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (cfg.threads > cfg.exporters && !cfg.quiet)
    std::fprintf(
        stderr,
        "ringflow-gen: note: %u threads for %u exporter(s): using %u (a stream is never split)\n",
        cfg.threads, cfg.exporters, cfg.exporters);
  if (cfg.duration_s == 0 && cfg.count == 0 && cfg.replay_path.empty() && !cfg.quiet)
    std::fprintf(stderr,
                 "ringflow-gen: no --count or --duration: running until interrupted (Ctrl-C)\n");

  RunResult r;
  std::unique_ptr<TrafficModel> model;
  if (!cfg.replay_path.empty()) {
    r = run_replay(cfg, &g_stop);
  } else {
    model = std::make_unique<TrafficModel>(cfg.keys, cfg.zipf, cfg.seed, cfg.ipv6_share);
    r = run_generator(cfg, *model, &g_stop);
  }
  if (!r.ok) {
    std::fprintf(stderr, "ringflow-gen: %s\n", r.error.c_str());
    return 1;
  }
  std::string err;
  if (!write_truth_files(cfg, model.get(), r, &err)) {
    std::fprintf(stderr, "ringflow-gen: %s\n", err.c_str());
    return 1;
  }
  if (!cfg.quiet) std::fputs(format_summary(cfg, r).c_str(), stderr);
  return 0;
}
