// ringflow: the collector's entry point. Parses the command line and the
// config (src/config/cli.h), then runs the pipeline (src/pipeline/collector.h)
// until SIGINT/SIGTERM. Exit codes: 0 clean stop, 1 start-up failure (e.g. a
// socket could not be opened), 2 bad command line or config.
#include <iostream>

#include "common/log.h"
#include "config/cli.h"
#include "pipeline/collector.h"

int main(int argc, char** argv) {
  ringflow::CliResult cli = ringflow::parse_ringflow_cli(argc, argv, std::cout, std::cerr);
  if (cli.exit_code >= 0) return cli.exit_code;
  ringflow::LogLevel level;
  if (ringflow::parse_log_level(cli.config.log.level.c_str(), &level))
    ringflow::set_log_level(level);
  ringflow::RunOptions options;
  options.print_flows = cli.print_flows;
  options.print_json = cli.print_flows_json;
  return ringflow::run_collector(cli.config, options);
}
