// man(7) roff from the program's own definitions, so that the man pages
// cannot drift from it (issue 18):
//   man_options(app)   the OPTIONS section of ringflow(8) / ringflow-gen(1),
//                      from the same CLI11 App that prints --help: every
//                      visible option, its value name, default and help line;
//   roff_escape(text)  one line of text made safe as roff input.
// The keys of netflow.toml(5) come from the config schema
// (config/manpage.h). Each binary prints its sections with the hidden option
// kHelpManFlag; packaging/man/render.cmake puts them into the page templates
// (packaging/man/*.in) at build time.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace ringflow {

// Backslashes as \e, newlines as spaces, a leading '.' or '\'' neutralized,
// and a break point after a comma inside a word ("a,b,c").
std::string roff_escape(std::string_view text);
// A literal token (option name, value): escaped, and '-' as \- (a minus,
// which copies and searches as the ASCII hyphen).
std::string roff_literal(std::string_view text);

std::string man_options(const CLI::App& app);

// "--help-man options" (and, for ringflow, "--help-man config"): hidden from
// --help.
inline constexpr const char* kHelpManFlag = "--help-man";

}  // namespace ringflow
