#include "enrich/catalogue_rules.h"

namespace ringflow::enrich {

void CatalogueRules::apply(const RuleSubject& s, bool interface, Tags* tags) const {
  for (const CatalogueRule& r : rules_) {
    if (!interface && r.interface_level) continue;
    bool wanted = false;
    for (size_t t = 0; t < kTagCount; ++t)
      wanted = wanted || (r.sets[t] && tag_is_interface(t) == interface && (*tags)[t].empty());
    if (!wanted) continue;
    std::match_results<std::string_view::const_iterator> m, last;
    bool ok = true;
    for (size_t p = 0; p < kPatternCount && ok; ++p) {
      if (!r.has[p]) continue;
      ok = std::regex_search(s[p].begin(), s[p].end(), m, r.re[p]);
      if (ok) last = m;
    }
    if (!ok) continue;
    for (size_t t = 0; t < kTagCount; ++t) {
      if (!r.sets[t] || tag_is_interface(t) != interface || !(*tags)[t].empty()) continue;
      (*tags)[t] = last.empty() ? r.value[t] : last.format(r.value[t]);
    }
  }
}

void CatalogueRules::classify_exporter(const RuleSubject& s, Tags* tags) const {
  apply(s, false, tags);
}

void CatalogueRules::classify_interface(const RuleSubject& s, Tags* tags) const {
  apply(s, true, tags);
}

Tags CatalogueRules::classify(const RuleSubject& s) const {
  Tags t;
  apply(s, false, &t);
  apply(s, true, &t);
  return t;
}

}  // namespace ringflow::enrich
