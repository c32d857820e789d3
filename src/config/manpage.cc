#include "config/manpage.h"

#include <sstream>

#include "config/schema.h"
#include "man/roff.h"

namespace ringflow {
namespace {

// Where a key_docs() path belongs and its name there:
// "receive.listen" -> ("[receive]", "listen"),
// "decode.sampling_override.interval" -> ("[[decode.sampling_override]]", "interval"),
// "sink.top" -> ("[[sink]]", "top").
std::pair<std::string, std::string> section_of(const std::string& path) {
  for (std::string_view array : {schema::kSamplingArray, schema::kSinkArray}) {
    std::string prefix = std::string(array) + ".";
    if (path.starts_with(prefix)) return {"[[" + std::string(array) + "]]", path.substr(prefix.size())};
  }
  size_t dot = path.find('.');
  return {"[" + path.substr(0, dot) + "]", path.substr(dot + 1)};
}

}  // namespace

std::string man_config_keys() {
  std::ostringstream out;
  std::string current;
  for (const schema::KeyDoc& key : schema::key_docs()) {
    auto [section, name] = section_of(key.path);
    if (section != current) {
      out << ".SS " << roff_literal(section) << "\n";
      current = section;
    }
    out << ".TP\n.B " << roff_literal(name) << "\n";
    out << roff_escape(key.help) << ".\n.br\n";
    out << "Type: " << roff_escape(key.expected) << ". Default: ";
    if (key.default_value.starts_with("(")) {
      out << roff_escape(key.default_value.substr(1, key.default_value.size() - 2));
    } else {
      out << "\\fB" << roff_literal(key.default_value) << "\\fR";
    }
    out << ".";
    if (!key.sink_types.empty()) out << " Sink types: " << roff_escape(key.sink_types) << ".";
    out << "\n";
  }
  return out.str();
}

}  // namespace ringflow
