// ringflow-gen's command line (CLI11): every option of docs/generator.md,
// parsed into a GenConfig and validated.
//
// parse_cli() never exits the process and never throws: it returns what main
// should do, so tests can drive it in-process. Exit codes: 0 after --help /
// --version, 2 for any bad option (unknown, malformed value, out of range,
// conflicting), with one clear message.
//
// Thread safety: call from one thread (start-up).
#pragma once

#include <string>

#include "gen/gen_config.h"

namespace ringflow::gen {

struct CliResult {
  enum class Action { kRun, kExit } action = Action::kRun;
  int exit_code = 0;   // when kExit
  std::string output;  // text for stdout (help, version)
  std::string error;   // text for stderr (bad options)
  GenConfig config;    // when kRun
};

CliResult parse_cli(int argc, const char* const* argv);

}  // namespace ringflow::gen
