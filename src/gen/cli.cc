#include "gen/cli.h"

#include <CLI/CLI.hpp>

#include "man/roff.h"

namespace ringflow::gen {

CliResult parse_cli(int argc, const char* const* argv) {
  CliResult res;
  GenConfig& c = res.config;
  c = default_config();

  CLI::App app{
      "ringflow-gen: NetFlow v5 load generator with ground truth.\n"
      "Sends spec-correct v5 datagrams (or replays a capture) to --target and writes\n"
      "what it sent to --truth. See docs/generator.md.",
      "ringflow-gen"};
  app.set_version_flag("--version", std::string("ringflow-gen ") + RINGFLOW_VERSION);
  app.get_formatter()->column_width(34);

  std::string target = "127.0.0.1:2055", mode = "auto", sampling, classes;
  std::optional<uint64_t> uptime_start;
  app.add_option("--target", target, "Collector address HOST:PORT or [V6]:PORT")
      ->capture_default_str();
  app.add_flag("--allow-remote", c.allow_remote,
               "Allow a target that is not loopback (load tests only)");
  app.add_option("--exporter-mode", mode, "How exporters differ: addr (127.0.0.1+i), port, auto")
      ->check(CLI::IsMember({"auto", "addr", "port"}))
      ->capture_default_str();
  app.add_option("--pps", c.pps, "Datagrams per second (0 = as fast as possible)");
  app.add_option("--fps", c.fps, "Flows per second (instead of --pps)");
  app.add_option("--duration", c.duration_s, "Seconds to run (0 = no limit)");
  app.add_option("--count", c.count, "Datagrams to generate over all exporters (0 = no limit)");
  app.add_option("--threads", c.threads, "Sender threads")->capture_default_str();
  app.add_option("--batch", c.batch, "Max datagrams per sendmmsg (1..256)")->capture_default_str();
  app.add_option("--records", c.records, "Records per datagram (1..30)")->capture_default_str();
  app.add_option("--exporters", c.exporters, "Exporter streams")->capture_default_str();
  app.add_option("--keys", c.keys, "Distinct 5-tuples")->capture_default_str();
  app.add_option("--zipf", c.zipf, "Zipf exponent of key popularity (0 = uniform)")
      ->capture_default_str();
  app.add_option("--seed", c.seed, "Random seed (same seed, same traffic)")->capture_default_str();
  app.add_option("--sampling", sampling, "Header sampling field MODE:INTERVAL (e.g. 1:100)");
  app.add_option("--truth", c.truth_path, "Write per-stream ground truth TSV here ('-' = stdout)");
  app.add_option("--truth-keys", c.truth_keys_path, "Write per-5-tuple ground truth TSV here");
  app.add_option("--loss", c.loss, "Probability a datagram is lost (sequence advances, not sent)");
  app.add_option("--reorder", c.reorder,
                 "Probability a datagram is sent after the stream's next one");
  app.add_option("--duplicate", c.duplicate, "Probability a datagram is sent twice");
  app.add_option("--reset-every", c.reset_every, "Exporter restarts every N datagrams of a stream");
  app.add_option("--uptime-start", uptime_start,
                 "sys_uptime (ms) of every exporter at start (e.g. 4294960000 to wrap)");
  app.add_option("--malformed", c.malformed,
                 "Probability of an extra malformed datagram per datagram");
  app.add_option("--malformed-class", classes,
                 "Malformed classes to draw from: all, or a list of too_short,bad_version,"
                 "count_zero,count_too_large,truncated,length_mismatch,trailing_bytes,garbage");
  app.add_option("--replay", c.replay_path, "Replay the UDP payloads of this pcap file")
      ->check(CLI::ExistingFile);
  app.add_option("--replay-speed", c.replay_speed,
                 "Replay pacing factor: 1 = original, 0 = as fast as possible");
  app.add_option("--loop", c.loop, "Times through the capture (0 = until stopped)");
  app.add_flag("--rewrite-seq", c.rewrite_seq, "Continue flow_sequence across replay loops");
  app.add_flag("-q,--quiet", c.quiet, "No progress line or summary");
  // Hidden: the build generates ringflow-gen(1) with it (man/roff.h).
  std::string help_man;
  auto* man_opt = app.add_option(kHelpManFlag, help_man, "roff for the man page")
                      ->check(CLI::IsMember({"options"}))
                      ->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    res.action = CliResult::Action::kExit;
    res.exit_code = 0;
    res.output = app.help();
    return res;
  } catch (const CLI::CallForVersion&) {
    res.action = CliResult::Action::kExit;
    res.exit_code = 0;
    res.output = std::string("ringflow-gen ") + RINGFLOW_VERSION + "\n";
    return res;
  } catch (const CLI::ParseError& e) {
    res.action = CliResult::Action::kExit;
    res.exit_code = 2;
    res.error = std::string("ringflow-gen: ") + e.what() + "\nRun with --help for the options.\n";
    return res;
  }
  if (man_opt->count() > 0) {
    res.action = CliResult::Action::kExit;
    res.exit_code = 0;
    res.output = man_options(app);
    return res;
  }

  auto fail = [&](const std::string& msg) {
    res.action = CliResult::Action::kExit;
    res.exit_code = 2;
    res.error = "ringflow-gen: " + msg + "\nRun with --help for the options.\n";
    return res;
  };
  auto ep = Endpoint::parse(target);
  if (!ep)
    return fail("--target: expected HOST:PORT (e.g. 127.0.0.1:2055 or [::1]:2055), found '" +
                target + "'");
  c.target = *ep;
  c.exporter_mode = mode == "addr"   ? ExporterMode::kAddr
                    : mode == "port" ? ExporterMode::kPort
                                     : ExporterMode::kAuto;
  if (!sampling.empty()) {
    auto s = parse_sampling(sampling);
    if (!s)
      return fail(
          "--sampling: expected MODE:INTERVAL with mode 0..3 and interval 0..16383, found '" +
          sampling + "'");
    c.sampling_raw = *s;
  }
  if (!classes.empty()) {
    std::string bad;
    auto m = parse_malformed_list(classes, &bad);
    if (!m) return fail("--malformed-class: unknown class '" + bad + "' (see --help)");
    c.malformed_mask = *m;
  }
  if (uptime_start) {
    if (*uptime_start > 0xFFFFFFFFull) return fail("--uptime-start: expected 0..4294967295 ms");
    c.uptime_start_ms = static_cast<uint32_t>(*uptime_start);
  }
  if (app.count("--replay-speed") && c.replay_path.empty())
    return fail("--replay-speed: only with --replay FILE");
  std::string err = validate(c);
  if (!err.empty()) return fail(err);
  return res;
}

}  // namespace ringflow::gen
