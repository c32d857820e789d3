#include "enrich/catalogue.h"

#include <toml++/toml.h>

#include <initializer_list>
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
  keys.assign(cap, 0);
  vals.assign(cap, IfaceEntry{});
  for (const auto& [idx, e] : listed) {
    size_t i = slot(idx);
    while (keys[i] != 0) i = (i + 1) & mask;
    keys[i] = idx;
    vals[i] = e;
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
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date or time";
  }
}

bool only_keys(const toml::table& t, std::initializer_list<std::string_view> keys,
               const std::string& what, const Where& w, std::string* error) {
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (std::string_view allowed : keys) ok = ok || k.str() == allowed;
    if (!ok) {
      std::string list;
      for (std::string_view allowed : keys) list += (list.empty() ? "" : ", ") + std::string(allowed);
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
  if (!only_keys(t, {"index", "name", "description", "speed", "boundary", "provider",
                     "connectivity"},
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
         boundary_of(t, &e->boundary, w, error) &&
         name_of(t, "provider", &e->provider, w, error) &&
         name_of(t, "connectivity", &e->connectivity, w, error);
}

}  // namespace

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
  if (!only_keys(root, {"exporter"}, "the catalogue", w, error)) return nullptr;
  auto cat = std::make_unique<Catalogue>();
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
      const auto addr = an && an->as_string() ? IpAddr::parse(an->as_string()->get())
                                              : std::nullopt;
      if (!addr) {
        *error = w.at(an ? *an : node, "expected address = \"an IPv4 or IPv6 address\" in "
                                       "[[exporter]], found " +
                                           (an ? (an->as_string() ? "\"" + an->as_string()->get() + "\""
                                                                  : type_name(*an))
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
            *error = w.at(inode, "expected an [[exporter.interface]] table, found " +
                                     type_name(inode));
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
