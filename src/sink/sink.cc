#include "sink/sink.h"

#include <map>
#include <mutex>
#include <set>
#include <string_view>

#include "sink/file_sink.h"
#include "sink/text_sink.h"

namespace ringflow {
namespace {

std::mutex& registry_mu() {
  static std::mutex mu;
  return mu;
}
std::map<SinkType, SinkFactory>& registry() {
  static std::map<SinkType, SinkFactory> r;
  return r;
}

std::unique_ptr<Sink> make_builtin(const SinkConfig& s, const OutputConfig& out,
                                   std::string* error) {
  std::string name = s.name.empty() ? sink_type_name(s.type) : s.name;
  switch (s.type) {
    case SinkType::kText:
      return std::make_unique<TextSink>(name, s.top, stdout);
    case SinkType::kCsv:
    case SinkType::kJsonl: {
      auto f = std::make_unique<FileSink>(
          name, out.directory, s.keep, s.type == SinkType::kCsv ? FileFormat::kCsv : FileFormat::kJsonl);
      if (!f->open(error)) return nullptr;
      return f;
    }
    case SinkType::kClickHouse:
      break;
  }
  *error = "sink \"" + name + "\": type " + sink_type_name(s.type) +
           " is not available in this build (no factory registered)";
  return nullptr;
}

}  // namespace

Sink::~Sink() = default;

const char* sink_type_name(SinkType type) {
  const auto i = static_cast<size_t>(type);
  return i < std::size(kSinkTypeNames) ? kSinkTypeNames[i] : "unknown";
}

void register_sink_factory(SinkType type, SinkFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mu());
  registry()[type] = std::move(factory);
}

std::vector<std::unique_ptr<Sink>> make_sinks(const OutputConfig& cfg, std::string* error) {
  // No defaults here: the config loader fills in text + csv when the file
  // has no [[sink]], so an explicit `sink = []` really means no sinks.
  std::vector<std::unique_ptr<Sink>> sinks;
  for (const SinkConfig& s : cfg.sinks) {
    SinkFactory factory;
    {
      std::lock_guard<std::mutex> lock(registry_mu());
      auto it = registry().find(s.type);
      if (it != registry().end()) factory = it->second;
    }
    std::string err;
    std::unique_ptr<Sink> sink = factory ? factory(s, cfg, &err) : make_builtin(s, cfg, &err);
    if (!sink) {
      if (error) *error = err.empty() ? std::string("cannot create sink ") + sink_type_name(s.type) : err;
      return {};
    }
    sinks.push_back(std::move(sink));
  }
  return sinks;
}

void write_sink_metrics(PromWriter& w, std::span<const Sink* const> sinks) {
  std::set<std::string_view> written;
  for (size_t i = 0; i < sinks.size(); ++i) {
    for (const Family<Sink>& f : sinks[i]->metric_families()) {
      if (!written.insert(f.name).second) continue;
      w.family(f.name, f.type, f.help);
      for (size_t j = i; j < sinks.size(); ++j)
        for (const Family<Sink>& g : sinks[j]->metric_families())
          if (std::string_view(g.name) == f.name)
            w.sample({{"sink", sinks[j]->name()}}, g.value(*sinks[j]));
    }
  }
}

}  // namespace ringflow
