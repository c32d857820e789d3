// The ringflow command line: options, config file selection and CLI
// overrides, turned into the effective Config that main() runs with.
//
// Precedence, lowest first: built-in defaults, the config file (-c FILE, or
// ./netflow.toml when it exists), then the override options in command-line
// order (--set and the dedicated ones such as --workers; a later one wins).
// Overrides go through the same validation as the file, and errors name the
// option that caused them ("--workers: receive.workers: expected integer in
// 0..256, found string "0x"").
//
// Thread safety: call once from main(); it reads the current directory.
#pragma once

#include <ostream>

#include <ringflow/config.h>

namespace ringflow {

struct CliResult {
  int exit_code = -1;        // >= 0: main must exit with it now (help, version, check-config, error)
  Config config;             // the effective config to run with (when exit_code < 0)
  bool print_flows = false;  // --print-flows
  bool print_flows_json = false;  // --print-flows=json
};

// Exit codes: 0 help/version/valid --check-config; 2 bad option or config.
inline constexpr int kExitUsage = 2;

// argv as given to main; writes help/version/config dump to `out`, errors to `err`.
// Never throws.
CliResult parse_ringflow_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace ringflow
