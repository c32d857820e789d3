// The KEYS section of netflow.toml(5), from the configuration schema
// (src/config/schema.h) that validates the file and that
// tests/config_docs_test.cc checks docs/config.md against: one .SS per
// section or array of tables, one entry per key with its meaning, what it
// accepts and its default. Printed by `ringflow --help-man config`; see
// man/roff.h for the rest of the man pages' generation.
//
// Thread safety: a pure function.
#pragma once

#include <string>

namespace ringflow {

std::string man_config_keys();

}  // namespace ringflow
