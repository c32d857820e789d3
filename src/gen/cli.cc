#include "gen/cli.h"

#include <CLI/CLI.hpp>

#include <charconv>

#include "man/roff.h"

namespace ringflow::gen {

CliResult parse_cli(int argc, const char* const* argv) {
  CliResult res;
  GenConfig& c = res.config;
  c = default_config();

  CLI::App app{
      "ringflow-gen: NetFlow v5, v9, IPFIX and sFlow v5 load generator with ground truth.\n"
      "Sends spec-correct datagrams (or replays a capture) to --target and writes\n"
      "what it sent to --truth. See docs/generator.md.",
      "ringflow-gen"};
  app.set_version_flag("--version", std::string("ringflow-gen ") + RINGFLOW_VERSION);
  app.get_formatter()->column_width(34);

  std::string target = "127.0.0.1:2055", mode = "auto", sampling, classes, protocol = "v5",
              samplers, refresh, ipfix_time = "ms", sflow_records;
  uint32_t sub_agents = 1;
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
  app.add_option("--protocol", protocol, "Export protocol: v5, v9, ipfix or sflow (sFlow v5)")
      ->check(CLI::IsMember({"v5", "v9", "ipfix", "sflow"}))
      ->capture_default_str();
  app.add_option("--records", c.records,
                 "Records per datagram (1..30); sflow: flow samples per datagram")
      ->capture_default_str();
  app.add_option("--exporters", c.exporters, "Exporter streams")->capture_default_str();
  app.add_option("--keys", c.keys, "Distinct 5-tuples")->capture_default_str();
  app.add_option("--zipf", c.zipf, "Zipf exponent of key popularity (0 = uniform)")
      ->capture_default_str();
  app.add_option("--seed", c.seed, "Random seed (same seed, same traffic)")->capture_default_str();
  app.add_option("--sampling", sampling,
                 "v5: header sampling field MODE:INTERVAL (e.g. 1:100); v9/ipfix: 1-in-N "
                 "announced in options data; sflow: every source's rate N");
  app.add_option("--samplers", samplers,
                 "v9/ipfix: sampler rates, one sampler per rate (e.g. 100,1000); sflow: one "
                 "source (ifIndex 1, 2, ...) per rate");
  app.add_option("--template-refresh", refresh,
                 "v9/ipfix: templates every N datagrams and/or S seconds: N, Ns, or N,Ss "
                 "(default 20,1800s; 0 = never)");
  app.add_flag("--template-separate", c.template_separate,
               "v9/ipfix: templates in their own datagram, not in front of data");
  app.add_option("--ipv6-share", c.ipv6_share, "v9/ipfix/sflow: fraction of keys that are IPv6");
  app.add_option("--sub-agents", sub_agents, "sflow: sub-agents (sub_agent_id 0..N-1) per agent");
  app.add_option("--sflow-records", sflow_records,
                 "sflow: flow records per sample, from header,ip,switch,router,gateway "
                 "(default header,switch,router,gateway)");
  app.add_flag("--expanded", c.sflow_expanded,
               "sflow: expanded flow and counter samples (0:3, 0:4) instead of compact");
  app.add_flag("--agent-ipv6", c.agent_ipv6, "sflow: odd agents announce an IPv6 agent address");
  app.add_option("--counter-every", c.counter_every,
                 "sflow: a counter datagram every N datagrams of an agent (0 = never)")
      ->capture_default_str();
  app.add_option("--header-bytes", c.header_bytes,
                 "sflow: most bytes of a packet a raw header copies (14..128)")
      ->capture_default_str();
  app.add_flag("--vlan", c.vlan, "sflow: 802.1Q-tagged frames (VLAN 100 + source)");
  app.add_flag("--mpls", c.mpls, "sflow: one MPLS label between Ethernet and IP");
  app.add_flag("--vxlan", c.vxlan, "sflow: packets inside VXLAN (UDP 4789)");
  app.add_option("--drops", c.agent_drops,
                 "sflow fault: probability the agent drops a sample (counted in drops)");
  app.add_option("--cut-headers", c.cut_headers,
                 "sflow fault: probability a raw header is cut before its key is complete");
  app.add_flag("--varlen", c.varlen, "ipfix: add a variable-length applicationName field");
  app.add_flag("--interface-names", c.interface_names,
               "v9/ipfix: send the interface table (options template 260: interfaceName 82, "
               "interfaceDescription 83 of ifIndex 1..16) with the templates");
  app.add_flag("--enterprise", c.enterprise,
               "ipfix: add an enterprise-specific field the collector must skip");
  app.add_option("--domains", c.domains,
                 "v9/ipfix: observation domains (source_ids) per exporter, same template ids");
  app.add_option("--ipfix-time", ipfix_time,
                 "ipfix: flow times as ms (flowStart/EndMilliseconds) or delta "
                 "(flowStart/EndDeltaMicroseconds)")
      ->check(CLI::IsMember({"ms", "delta"}));
  app.add_option("--template-delay", c.template_delay,
                 "v9/ipfix fault: data datagrams sent before the first template (template loss)");
  app.add_option("--redefine-every", c.redefine_every,
                 "v9/ipfix fault: template 256/257 change layout every N datagrams");
  app.add_option("--withdraw-every", c.withdraw_every,
                 "ipfix fault: templates withdrawn (then re-sent) every N datagrams");
  app.add_flag("--domain-collision", c.domain_collision,
               "v9/ipfix fault: odd domains use another layout under the same template ids");
  app.add_option("--clock-offset", c.clock_offset_s,
                 "v9/ipfix quirk: header export time S seconds off the real clock (e.g. -43)");
  app.add_flag("--no-sampler-id", c.no_sampler_id,
               "v9/ipfix quirk: data records carry no sampler id while options announce rates");
  app.add_flag("--sequence-includes-current", c.sequence_includes_current,
               "ipfix quirk: sequence numbers include the message's own records (softflowd)");
  app.add_option("--write-pcap", c.pcap_path,
                 "Write the datagrams to this pcap file instead of sending them");
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
                 "count_zero,count_too_large,truncated,length_mismatch,trailing_bytes,garbage "
                 "(v5), set_length,zero_fields,var_overflow,ipfix_length (v9/ipfix), "
                 "agent_type,sample_length,record_length,sample_count,header_length (sflow)");
  app.add_option("--replay", c.replay_path, "Replay the UDP payloads of this pcap file")
      ->check(CLI::ExistingFile);
  app.add_option("--replay-speed", c.replay_speed,
                 "Replay pacing factor: 1 = original, 0 = as fast as possible");
  app.add_option("--loop", c.loop, "Times through the capture (0 = until stopped)");
  app.add_flag("--rewrite-seq", c.rewrite_seq,
               "Continue sequence numbers across replay loops (v5 flows, v9 datagrams per "
               "source_id, IPFIX data records per domain)");
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
  c.protocol = protocol == "v9"      ? Protocol::kV9
               : protocol == "ipfix" ? Protocol::kIpfix
               : protocol == "sflow" ? Protocol::kSflow
                                     : Protocol::kV5;
  // sFlow's IANA port when no target was given.
  if (c.protocol == Protocol::kSflow && !app.count("--target"))
    c.target = *Endpoint::parse("127.0.0.1:6343");
  if (app.count("--sub-agents")) {
    if (c.protocol != Protocol::kSflow) return fail("--sub-agents: only with --protocol sflow");
    c.domains = sub_agents;
  } else if (c.protocol == Protocol::kSflow && app.count("--domains")) {
    return fail("--domains: with --protocol sflow give --sub-agents");
  }
  if (!sflow_records.empty()) {
    if (c.protocol != Protocol::kSflow) return fail("--sflow-records: only with --protocol sflow");
    std::string bad;
    auto m = parse_sflow_records(sflow_records, &bad);
    if (!m)
      return fail("--sflow-records: expected a list of header,ip,switch,router,gateway with "
                  "header or ip, found '" + bad + "'");
    c.sflow_records = *m;
  }
  c.ipfix_delta_time = ipfix_time == "delta";
  if (app.count("--ipfix-time") && c.protocol != Protocol::kIpfix)
    return fail("--ipfix-time: only with --protocol ipfix");
  if (!refresh.empty()) {
    // "N", "Ss", "N,Ss".
    c.template_refresh_datagrams = 0;
    c.template_refresh_s = 0;
    std::string_view rest = refresh;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view part = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      const bool secs = !part.empty() && part.back() == 's';
      if (secs) part.remove_suffix(1);
      uint32_t v = 0;
      auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
      if (part.empty() || ec != std::errc() || p != part.data() + part.size())
        return fail("--template-refresh: expected N datagrams, Ss seconds or N,Ss, found '" +
                    refresh + "'");
      if (secs) {
        c.template_refresh_s = v;
      } else {
        c.template_refresh_datagrams = v;
      }
    }
  }
  if (!samplers.empty()) {
    std::string_view rest = samplers;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view part = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      uint32_t v = 0;
      auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
      if (part.empty() || ec != std::errc() || p != part.data() + part.size())
        return fail("--samplers: expected rates like 100,1000, found '" + samplers + "'");
      c.sampler_rates.push_back(v);
    }
  }
  if (!sampling.empty() && c.protocol != Protocol::kV5) {
    if (!c.sampler_rates.empty()) return fail("--sampling and --samplers: give one of them");
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(sampling.data(), sampling.data() + sampling.size(), v);
    if (ec != std::errc() || p != sampling.data() + sampling.size() || v < 1)
      return fail("--sampling: with --protocol " + protocol +
                  " expected a rate N >= 1 (1 in N packets), found '" + sampling + "'");
    c.sampler_rates.push_back(v);
  } else if (!sampling.empty()) {
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
