#include "config/cli.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/manpage.h"
#include "config/schema.h"
#include "man/roff.h"

namespace ringflow {
namespace {

// A dedicated override option: --workers N is --set receive.workers=N, with
// errors naming --workers.
struct Shortcut {
  const char* flag;
  const char* key;
  const char* type;
  const char* help;
};
constexpr Shortcut kShortcuts[] = {
    {"--listen", "receive.listen", "ADDR", "receive on ADDR (host:port); repeat for several; replaces receive.listen"},
    {"--workers", "receive.workers", "N", "worker threads, 0 = auto (receive.workers)"},
    {"--reactors", "receive.reactors", "N", "receive threads, 0 = auto (receive.reactors)"},
    {"--backend", "receive.backend", "NAME", "auto, io_uring or recvmmsg (receive.backend)"},
    {"--interval", "aggregate.interval", "SECONDS", "aggregation interval (aggregate.interval)"},
    {"--output-dir", "output.directory", "DIR", "directory for csv/jsonl files (output.directory)"},
    {"--metrics-listen", "metrics.listen", "ADDR", "Prometheus endpoint host:port, \"\" disables (metrics.listen)"},
    {"--log-level", "log.level", "LEVEL", "error, warn, info or debug (log.level)"},
    {"--filter", "filter.expression", "EXPR",
     "aggregate and print only the flows matching EXPR (filter.expression; docs/filter.md)"},
};

// A TOML array of strings from the repeated --listen values.
std::string toml_string_array(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) s += ", ";
    s += schema::quote(items[i]);
  }
  return s + "]";
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

void print_errors(const std::vector<ConfigError>& errors, std::ostream& err) {
  for (const auto& e : errors) err << e.str() << "\n";
  err << "ringflow: " << errors.size() << (errors.size() == 1 ? " config error" : " config errors")
      << "; see docs/config.md\n";
}

}  // namespace

CliResult parse_ringflow_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CliResult result;
  try {
    CLI::App app{"ringflow: NetFlow v5/v9 and IPFIX collector (io_uring receive, per-interval aggregation)", "ringflow"};
    app.get_formatter()->column_width(34);
    app.set_help_flag("-h,--help", "print this help and exit");
    app.footer(
        "Precedence: defaults < config file < overrides (in command-line order).\n"
        "Every key, its range and default: docs/config.md; --check-config prints them all.");
    app.set_version_flag("--version", std::string("ringflow ") + RINGFLOW_VERSION,
                         "print the version and exit");

    std::string config_file, check_file;
    auto* c_opt = app.add_option("-c,--config", config_file,
                                 "config file (default: ./netflow.toml if present, else built-in defaults)")
                      ->type_name("FILE");
    auto* check_opt = app.add_option("--check-config", check_file,
                                     "validate FILE with the overrides, print the effective config; exit 0 or 2")
                          ->type_name("FILE");
    // An optional value: "--print-flows" is text, "--print-flows=json" JSON
    // (checked after parsing, so that --help keeps one plain line).
    std::string print_mode;
    auto* print_opt =
        app.add_option("--print-flows", print_mode,
                       "print every decoded flow on stdout (debugging); =json: one JSON object each")
            ->expected(0, 1)
            ->default_str("text")
            ->type_name("");
    // Hidden: the build generates the man pages with it (man/roff.h).
    std::string help_man;
    auto* man_opt = app.add_option(kHelpManFlag, help_man, "roff for the man pages")
                        ->check(CLI::IsMember({"options", "config"}))
                        ->group("");

    // The values are read back from each option's results() in command-line
    // order below; these variables only give CLI11 a type to parse into.
    std::vector<CLI::Option*> override_opts;
    std::string parsed_one;
    std::vector<std::string> parsed_many;
    for (const auto& s : kShortcuts) {
      bool repeatable = std::string_view(s.flag) == "--listen";
      CLI::Option* o = repeatable ? app.add_option(s.flag, parsed_many, s.help)
                                  : app.add_option(s.flag, parsed_one, s.help)
                                        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      override_opts.push_back(o->type_name(s.type)->allow_extra_args(false));
    }
    override_opts.push_back(app.add_option("--set", parsed_many,
                                           "set any config key, value in TOML syntax or a bare word; repeatable")
                                ->type_name("KEY=VALUE")
                                ->allow_extra_args(false));

    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& e) {  // --help, --version
      result.exit_code = app.exit(e, out, err);
      return result;
    } catch (const CLI::ParseError& e) {
      err << "ringflow: " << e.what() << "\nRun with --help for the options.\n";
      result.exit_code = kExitUsage;
      return result;
    }
    if (print_opt->count() > 0 && print_mode != "text" && print_mode != "json") {
      err << "ringflow: --print-flows=" << print_mode << ": expected text or json\n"
          << "Run with --help for the options.\n";
      result.exit_code = kExitUsage;
      return result;
    }
    result.print_flows = print_opt->count() > 0;
    result.print_flows_json = result.print_flows && print_mode == "json";
    if (man_opt->count() > 0) {
      out << (help_man == "options" ? man_options(app) : man_config_keys());
      result.exit_code = 0;
      return result;
    }
    if (c_opt->count() > 0 && check_opt->count() > 0) {
      err << "ringflow: --config and --check-config FILE both name a file; give one\n";
      result.exit_code = kExitUsage;
      return result;
    }

    // Overrides in command-line order; all --listen values form one list.
    std::vector<Override> overrides;
    std::vector<std::string> listen_values;
    size_t listen_last = SIZE_MAX;
    std::map<const CLI::Option*, size_t> seen;
    std::vector<ConfigError> usage_errors;
    for (const CLI::Option* opt : app.parse_order()) {
      auto it = std::find(override_opts.begin(), override_opts.end(), opt);
      if (it == override_opts.end()) continue;
      size_t idx = static_cast<size_t>(it - override_opts.begin());
      size_t n = seen[opt]++;
      const auto& values = opt->results();
      if (n >= values.size()) continue;
      const std::string& value = values[n];
      if (idx == std::size(kShortcuts)) {  // --set
        auto eq = value.find('=');
        if (eq == std::string::npos || eq == 0) {
          usage_errors.push_back(ConfigError{"--set", 0, 0, "",
                                             "expected KEY=VALUE, found " + schema::quote(value)});
          continue;
        }
        // "--set 'key = value'" is the same as "--set key=value".
        overrides.push_back(Override{trim(value.substr(0, eq)), trim(value.substr(eq + 1)), "--set"});
      } else if (std::string_view(kShortcuts[idx].flag) == "--listen") {
        listen_values.push_back(value);
        listen_last = overrides.size();
        overrides.push_back(Override{kShortcuts[idx].key, "", "--listen"});
      } else if (std::string_view(kShortcuts[idx].flag) == "--filter") {
        // An expression is text, never TOML: quote it whole.
        overrides.push_back(Override{kShortcuts[idx].key, schema::quote(value), "--filter"});
      } else {
        overrides.push_back(Override{kShortcuts[idx].key, value, kShortcuts[idx].flag});
      }
    }
    if (listen_last != SIZE_MAX) {
      // Only the last --listen slot carries the list, so it lands after any
      // earlier --set receive.listen=... and before later ones.
      std::vector<Override> kept;
      for (size_t i = 0; i < overrides.size(); ++i) {
        if (overrides[i].origin == "--listen" && i != listen_last) continue;
        if (i == listen_last) overrides[i].value = toml_string_array(listen_values);
        kept.push_back(std::move(overrides[i]));
      }
      overrides = std::move(kept);
    }

    bool checking = !check_file.empty() || check_opt->count() > 0;
    ConfigResult loaded;
    if (checking) {
      loaded = load_config_file(check_file);
    } else if (c_opt->count() > 0) {
      loaded = load_config_file(config_file);
    } else if (std::error_code ec; std::filesystem::exists("netflow.toml", ec)) {
      loaded = load_config_file("netflow.toml");
    } else {
      loaded = load_config_string("", "");
    }
    apply_overrides(&loaded, overrides);
    loaded.errors.insert(loaded.errors.end(), usage_errors.begin(), usage_errors.end());
    if (!loaded.ok()) {
      print_errors(loaded.errors, err);
      result.exit_code = kExitUsage;
      return result;
    }
    if (checking) {
      out << dump_config(loaded.config);
      result.exit_code = 0;
      return result;
    }
    result.config = std::move(loaded.config);
    return result;
  } catch (const std::exception& e) {  // CLI11 construction or allocation failure
    err << "ringflow: " << e.what() << "\n";
    result.exit_code = kExitUsage;
    return result;
  }
}

}  // namespace ringflow
