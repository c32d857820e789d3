#include "pipeline/learned_names.h"

#include "common/log.h"
#include "enrich/names.h"
#include "filter/filter_expr.h"

namespace ringflow {

bool reads_interface_fields(const Config& cfg) {
  auto iface = [](std::string_view f) {
    return f.starts_with("in_if_") || f.starts_with("out_if_");
  };
  for (const std::string& k : cfg.aggregate.key)
    if (iface(std::string_view(k).substr(0, k.find('/')))) return true;
  filter::Ast ast;
  filter::ParseError pe;
  if (!cfg.filter.expression.empty() && filter::parse(cfg.filter.expression, &ast, &pe))
    for (KeyField f : ast.fields())
      if (iface(key_field_info(f).name)) return true;
  return false;
}

LearnedNamesPublisher::LearnedNamesPublisher(std::vector<const Sessions*> sessions)
    : sessions_(std::move(sessions)), seen_(sessions_.size()) {}

bool LearnedNamesPublisher::refresh() {
  bool changed = false;
  std::vector<std::shared_ptr<const InterfaceNameSnapshot>> now(sessions_.size());
  for (size_t i = 0; i < sessions_.size(); ++i) {
    now[i] = sessions_[i]->interface_names_snapshot();
    if (now[i] != seen_[i]) changed = true;
  }
  if (!changed) {
    holder_.reclaim();
    return false;
  }
  seen_ = std::move(now);
  auto table = std::make_unique<enrich::LearnedInterfaces>();
  auto intern = [&](const std::string& s) -> uint32_t {
    if (s.empty()) return enrich::kEmptyId;
    const auto id = enrich::names().intern(s);
    if (!id) ++names_full_;
    return id ? *id : enrich::kEmptyId;
  };
  for (const auto& snap : seen_) {
    if (!snap) continue;
    for (const InterfaceNameRow& r : snap->rows)
      table->add(r.exporter, r.domain,
                 enrich::LearnedIface{r.if_index, intern(r.name), intern(r.description)});
  }
  table->finish();
  RF_LOG_INFO("enrich: %zu interface names learnt from options data published to the workers",
              table->size());
  holder_.publish(std::move(table));
  return true;
}

}  // namespace ringflow
