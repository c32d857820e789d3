#include "enrich/catalogue.h"

#include <toml++/toml.h>

#include <atomic>
#include <initializer_list>
#include <span>
#include <sstream>
#include <string_view>

#include "enrich/names.h"

namespace ringflow::enrich {

void ExporterEntry::index(const std::vector<std::pair<uint32_t, IfaceEntry>>& listed) {
  count = listed.size();
  if (listed.empty()) return;
  size_t cap = 8;
  while (cap < listed.size() * 2) cap *= 2;
  mask = cap - 1;
  slots.assign(cap, Slot{});
  for (const auto& [idx, e] : listed) {
    size_t i = slot(idx);
    while (slots[i].index != 0) i = (i + 1) & mask;
    slots[i] = Slot{idx, e};
  }
}

const ExporterEntry* Catalogue::find(const IpAddr& a) const {
  const auto it = exporters_.find(a);
  return it == exporters_.end() ? nullptr : it->second.get();
}

size_t Catalogue::interfaces() const {
  size_t n = 0;
  for (const auto& [a, e] : exporters_) n += e->interfaces();
  return n;
}

namespace {

// Error helper: "FILE:LINE: what" for the node's position.
struct Where {
  const std::string& path;
  std::string at(const toml::node& n, const std::string& what) const {
    std::ostringstream o;
    o << path << ':' << n.source().begin.line << ": " << what;
    return o.str();
  }
};

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date or time";
  }
}

bool only_keys(const toml::table& t, std::initializer_list<std::string_view> keys,
               const std::string& what, const Where& w, std::string* error) {
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (std::string_view allowed : keys) ok = ok || k.str() == allowed;
    if (!ok) {
      std::string list;
      for (std::string_view allowed : keys)
        list += (list.empty() ? "" : ", ") + std::string(allowed);
      *error = w.at(v, "expected one of " + list + " in " + what + ", found unknown key \"" +
                           std::string(k.str()) + "\"");
      return false;
    }
  }
  return true;
}

// A string key interned into *id (absent: 0).
bool name_of(const toml::table& t, std::string_view key, uint32_t* id, const Where& w,
             std::string* error) {
  const toml::node* n = t.get(key);
  if (!n) return true;
  const auto* s = n->as_string();
  if (!s) {
    *error = w.at(*n, "expected a string for " + std::string(key) + ", found " + type_name(*n));
    return false;
  }
  const auto v = names().intern(s->get());
  if (!v) {
    *error = w.at(*n, "the name table is full (docs/enrichment.md, Limits)");
    return false;
  }
  *id = *v;
  return true;
}

bool integer_of(const toml::table& t, std::string_view key, int64_t lo, int64_t hi, int64_t* out,
                bool* present, const Where& w, std::string* error) {
  const toml::node* n = t.get(key);
  *present = n != nullptr;
  if (!n) return true;
  const auto* i = n->as_integer();
  if (!i || i->get() < lo || i->get() > hi) {
    *error = w.at(*n, "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
                          " for " + std::string(key) + ", found " +
                          (i ? std::to_string(i->get()) : type_name(*n)));
    return false;
  }
  *out = i->get();
  return true;
}

bool boundary_of(const toml::table& t, uint32_t* id, const Where& w, std::string* error) {
  const toml::node* n = t.get("boundary");
  if (n && n->as_string() && n->as_string()->get() != "external" &&
      n->as_string()->get() != "internal") {
    *error = w.at(*n, "expected \"external\" or \"internal\" for boundary, found \"" +
                          n->as_string()->get() + "\"");
    return false;
  }
  return name_of(t, "boundary", id, w, error);
}

bool load_interface(const toml::table& t, const Where& w, uint32_t* idx, IfaceEntry* e,
                    std::string* error) {
  if (!only_keys(t,
                 {"index", "name", "description", "speed", "boundary", "provider", "connectivity"},
                 "[[exporter.interface]]", w, error))
    return false;
  int64_t v = 0;
  bool present = false;
  if (!integer_of(t, "index", 1, UINT32_MAX, &v, &present, w, error)) return false;
  if (!present) {
    *error = w.at(t, "expected index (the ifIndex, >= 1) in [[exporter.interface]], found none");
    return false;
  }
  *idx = static_cast<uint32_t>(v);
  if (!integer_of(t, "speed", 0, UINT32_MAX, &v, &present, w, error)) return false;
  e->speed = present ? static_cast<uint32_t>(v) : 0;
  return name_of(t, "name", &e->name, w, error) &&
         name_of(t, "description", &e->description, w, error) &&
         boundary_of(t, &e->boundary, w, error) && name_of(t, "provider", &e->provider, w, error) &&
         name_of(t, "connectivity", &e->connectivity, w, error);
}

bool strings_of(const toml::table& t, std::string_view key, std::span<const std::string_view> names,
                std::string* out, bool* present, const Where& w, std::string* error) {
  const toml::node* n = t.get(key);
  if (!n) return true;
  const toml::table* sub = n->as_table();
  if (!sub) {
    *error = w.at(*n, "expected a table for " + std::string(key) + ", found " + type_name(*n));
    return false;
  }
  for (const auto& [k, v] : *sub) {
    size_t i = 0;
    while (i < names.size() && names[i] != k.str()) ++i;
    if (i == names.size() || !v.as_string()) {
      *error = w.at(v, "expected a string of a known name in " + std::string(key) + ", found " +
                           std::string(k.str()) + " = " + type_name(v));
      return false;
    }
    out[i] = v.as_string()->get();
    if (present) present[i] = true;
  }
  return true;
}

bool load_rule(const toml::table& t, const Where& w, CatalogueRule* r, std::string* error) {
  if (!only_keys(t,
                 {"exporter", "address", "interface", "description", "site", "region", "role",
                  "tenant", "boundary", "provider", "connectivity", "example", "expect"},
                 "[[rule]]", w, error))
    return false;
  r->line = static_cast<int>(t.source().begin.line);
  for (size_t p = 0; p < kPatternCount; ++p) {
    const toml::node* n = t.get(kPatternNames[p]);
    if (!n) continue;
    if (!n->as_string()) {
      *error = w.at(*n, "expected a regular expression string for " +
                            std::string(kPatternNames[p]) + ", found " + type_name(*n));
      return false;
    }
    try {
      r->re[p] = std::regex(n->as_string()->get(), std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      *error = w.at(*n, "expected a regular expression for " + std::string(kPatternNames[p]) +
                            ", found \"" + n->as_string()->get() + "\" (" + e.what() + ")");
      return false;
    }
    r->has[p] = true;
  }
  r->interface_level = r->has[2] || r->has[3];
  bool any = false;
  for (size_t tag = 0; tag < kTagCount; ++tag) {
    const toml::node* n = t.get(kTagNames[tag]);
    if (!n) continue;
    if (!n->as_string()) {
      *error = w.at(
          *n, "expected a string for " + std::string(kTagNames[tag]) + ", found " + type_name(*n));
      return false;
    }
    r->value[tag] = n->as_string()->get();
    r->sets[tag] = any = true;
    if (!tag_is_interface(tag) && r->interface_level) {
      *error = w.at(*n,
                    "expected only interface tags (boundary, provider, connectivity) in a "
                    "rule with an interface or description pattern, found " +
                        std::string(kTagNames[tag]));
      return false;
    }
    if (tag == static_cast<size_t>(Tag::kBoundary) && r->value[tag] != "external" &&
        r->value[tag] != "internal") {
      *error = w.at(*n, "expected \"external\" or \"internal\" for boundary, found \"" +
                            r->value[tag] + "\"");
      return false;
    }
  }
  if (!any) {
    *error = w.at(t,
                  "expected a rule to set at least one of site, region, role, tenant, "
                  "boundary, provider, connectivity, found none");
    return false;
  }
  r->has_example = t.get("example") != nullptr;
  if (!strings_of(t, "example", kPatternNames, r->example.data(), nullptr, w, error) ||
      !strings_of(t, "expect", kTagNames, r->expect.data(), r->expects.data(), w, error))
    return false;
  if (r->has_example != (t.get("expect") != nullptr)) {
    *error = w.at(t, "expected example and expect together in a [[rule]], found only one");
    return false;
  }
  return true;
}

// Interns the tags into the fields that are 0.
bool intern_tags(const Tags& tags, uint32_t* const* fields, size_t first, size_t last,
                 std::string* error, const std::string& path) {
  for (size_t t = first; t < last; ++t) {
    if (*fields[t] != 0 || tags[t].empty()) continue;
    const auto id = names().intern(tags[t]);
    if (!id) {
      *error = path + ": the name table is full (docs/enrichment.md, Limits)";
      return false;
    }
    *fields[t] = *id;
  }
  return true;
}

Tags tags_of(const ExporterEntry& e, const IfaceEntry& i) {
  Tags t;
  const uint32_t ids[kTagCount] = {e.site,     e.region,   e.role,        e.tenant,
                                   i.boundary, i.provider, i.connectivity};
  for (size_t k = 0; k < kTagCount; ++k) t[k] = std::string(names().str(ids[k]));
  return t;
}

// Fills *e's exporter tags and the interface tags of *i from the rules.
bool classify(const CatalogueRules& rules, const std::string& addr, ExporterEntry* e, IfaceEntry* i,
              bool exporter_too, std::string* error, const std::string& path) {
  const std::string ename(names().str(e->name));
  const std::string iname(names().str(i->name)), idesc(names().str(i->description));
  const RuleSubject s = {ename, addr, iname, idesc};
  Tags t = tags_of(*e, *i);
  if (exporter_too) rules.classify_exporter(s, &t);
  rules.classify_interface(s, &t);
  uint32_t* const fields[kTagCount] = {&e->site,     &e->region,   &e->role,        &e->tenant,
                                       &i->boundary, &i->provider, &i->connectivity};
  return intern_tags(t, fields, exporter_too ? 0 : static_cast<size_t>(Tag::kBoundary), kTagCount,
                     error, path);
}

}  // namespace

void Catalogue::classify_interface(const IpAddr& a, const ExporterEntry& e, IfaceEntry* i) const {
  if (rules_.empty()) return;
  const std::string ename(names().str(e.name)), addr = a.str();
  const std::string iname(names().str(i->name)), idesc(names().str(i->description));
  const RuleSubject s = {ename, addr, iname, idesc};
  Tags t = tags_of(e, *i);
  rules_.classify_interface(s, &t);
  uint32_t* const fields[kTagCount] = {nullptr,      nullptr,      nullptr,          nullptr,
                                       &i->boundary, &i->provider, &i->connectivity};
  std::string error;  // a full name table leaves the tags it could not intern empty
  intern_tags(t, fields, static_cast<size_t>(Tag::kBoundary), kTagCount, &error, "");
}

std::unique_ptr<ExporterEntry> Catalogue::classify_unlisted(const IpAddr& a) const {
  auto e = std::make_unique<ExporterEntry>();
  std::string error;
  // A full name table leaves the tags it could not intern empty.
  classify(rules_, a.str(), e.get(), &e->unlisted, true, &error, "");
  return e;
}

std::unique_ptr<const Catalogue> load_catalogue(const std::string& path, std::string* error) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream o;
    o << path << ':' << e.source().begin.line << ": " << e.description();
    *error = o.str();
    return nullptr;
  }
  const Where w{path};
  if (!only_keys(root, {"exporter", "rule"}, "the catalogue", w, error)) return nullptr;
  auto cat = std::make_unique<Catalogue>();
  static std::atomic<uint64_t> generations{0};
  cat->generation_ = generations.fetch_add(1, std::memory_order_relaxed) + 1;
  if (const toml::node* rn = root.get("rule")) {
    const toml::array* arr = rn->as_array();
    if (!arr) {
      *error = w.at(*rn, "expected [[rule]] tables, found " + type_name(*rn));
      return nullptr;
    }
    for (const toml::node& node : *arr) {
      CatalogueRule r;
      if (!node.as_table()) {
        *error = w.at(node, "expected a [[rule]] table, found " + type_name(node));
        return nullptr;
      }
      if (!load_rule(*node.as_table(), w, &r, error)) return nullptr;
      cat->rules_.add(std::move(r));
    }
    // Every example, classified by the whole rule list, gives what it expects.
    for (size_t k = 0; k < cat->rules_.size(); ++k) {
      const CatalogueRule& r = cat->rules_.rules()[k];
      if (!r.has_example) continue;
      const RuleSubject s = {r.example[0], r.example[1], r.example[2], r.example[3]};
      const Tags got = cat->rules_.classify(s);
      for (size_t t = 0; t < kTagCount; ++t) {
        if (!r.expects[t] || got[t] == r.expect[t]) continue;
        *error = path + ":" + std::to_string(r.line) + ": expected the example of rule " +
                 std::to_string(k + 1) + " to give " + std::string(kTagNames[t]) + " = \"" +
                 r.expect[t] + "\", found \"" + got[t] + "\"";
        return nullptr;
      }
    }
  }
  if (const toml::node* ex = root.get("exporter")) {
    const toml::array* arr = ex->as_array();
    if (!arr) {
      *error = w.at(*ex, "expected [[exporter]] tables, found " + type_name(*ex));
      return nullptr;
    }
    for (const toml::node& node : *arr) {
      const toml::table* t = node.as_table();
      if (!t) {
        *error = w.at(node, "expected an [[exporter]] table, found " + type_name(node));
        return nullptr;
      }
      if (!only_keys(*t, {"address", "name", "site", "region", "role", "tenant", "interface"},
                     "[[exporter]]", w, error))
        return nullptr;
      const toml::node* an = t->get("address");
      const auto addr =
          an && an->as_string() ? IpAddr::parse(an->as_string()->get()) : std::nullopt;
      if (!addr) {
        *error =
            w.at(an ? *an : node,
                 "expected address = \"an IPv4 or IPv6 address\" in "
                 "[[exporter]], found " +
                     (an ? (an->as_string() ? "\"" + an->as_string()->get() + "\"" : type_name(*an))
                         : std::string("none")));
        return nullptr;
      }
      auto e = std::make_unique<ExporterEntry>();
      if (!name_of(*t, "name", &e->name, w, error) || !name_of(*t, "site", &e->site, w, error) ||
          !name_of(*t, "region", &e->region, w, error) ||
          !name_of(*t, "role", &e->role, w, error) || !name_of(*t, "tenant", &e->tenant, w, error))
        return nullptr;
      std::vector<std::pair<uint32_t, IfaceEntry>> listed;
      if (const toml::node* in = t->get("interface")) {
        const toml::array* ia = in->as_array();
        if (!ia) {
          *error = w.at(*in, "expected [[exporter.interface]] tables, found " + type_name(*in));
          return nullptr;
        }
        for (const toml::node& inode : *ia) {
          const toml::table* it = inode.as_table();
          if (!it) {
            *error =
                w.at(inode, "expected an [[exporter.interface]] table, found " + type_name(inode));
            return nullptr;
          }
          uint32_t idx = 0;
          IfaceEntry ie;
          if (!load_interface(*it, w, &idx, &ie, error)) return nullptr;
          for (const auto& [other, unused] : listed)
            if (other == idx) {
              *error = w.at(*it, "interface index " + std::to_string(idx) +
                                     " listed twice for exporter " + addr->str());
              return nullptr;
            }
          listed.emplace_back(idx, ie);
        }
      }
      // The rules fill what the file leaves empty: the exporter's tags, each
      // listed interface's, and those of an interface it does not list.
      const std::string addr_text = addr->str();
      if (!classify(cat->rules_, addr_text, e.get(), &e->unlisted, true, error, path))
        return nullptr;
      for (auto& [idx, ie] : listed)
        if (!classify(cat->rules_, addr_text, e.get(), &ie, false, error, path)) return nullptr;
      e->index(listed);
      if (!cat->exporters_.emplace(*addr, std::move(e)).second) {
        *error = w.at(node, "exporter " + addr->str() + " listed twice");
        return nullptr;
      }
    }
  }
  return cat;
}

}  // namespace ringflow::enrich
