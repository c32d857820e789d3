#include "man/roff.h"

#include <sstream>

namespace ringflow {

std::string roff_escape(std::string_view text) {
  std::string s;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') s += "\\e";
    else if (c == '\n') s += ' ';
    else s += c;
    // A comma inside a word ("a,b,c") may break the line there.
    if (c == ',' && i + 1 < text.size() && text[i + 1] != ' ') s += "\\:";
  }
  // A line starting with '.' or '\'' would be a request.
  if (!s.empty() && (s[0] == '.' || s[0] == '\'')) s.insert(0, "\\&");
  return s;
}

std::string roff_literal(std::string_view text) {
  std::string s;
  for (char c : roff_escape(text)) {
    if (c == '-') s += "\\-";
    else s += c;
  }
  return s;
}

std::string man_options(const CLI::App& app) {
  std::ostringstream out;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty() || opt->get_positional()) continue;  // hidden
    // Tag line: \fB-c\fR, \fB--config\fR \fIFILE\fR
    out << ".TP\n";
    std::string names = opt->get_name(false, true);
    size_t start = 0;
    for (;;) {
      size_t comma = names.find(',', start);
      out << (start ? ", " : "") << "\\fB" << roff_literal(names.substr(start, comma - start)) << "\\fR";
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (opt->get_type_size() != 0) {
      std::string type = opt->get_type_name();
      if (!type.empty()) out << " \\fI" << roff_escape(type) << "\\fR";
      if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out << " ...";
    }
    out << "\n" << roff_escape(opt->get_description());
    std::string def = opt->get_default_str();
    if (opt->get_type_size() != 0 && !def.empty())
      out << " (default: \\fB" << roff_literal(def) << "\\fR)";
    out << "\n";
  }
  return out.str();
}

}  // namespace ringflow
