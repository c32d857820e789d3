// Loading and validation of netflow.toml against the schema (schema.h).
//
// The walk never stops at the first problem: every value is checked and every
// error collected, so one run of --check-config shows everything to fix.
// toml++ throws on syntax errors; that is the only exception, and it is caught
// here (config loading is start-up code, but the API promises not to throw).
#include <ringflow/config.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <type_traits>

#include <toml++/toml.h>

#include <ringflow/flow_key.h>

#include "common/cpu_list.h"
#include "config/schema.h"
#include "config/suggest.h"
#include "filter/filter_expr.h"

namespace ringflow {
namespace {

using schema::Key;
using schema::quote;
using schema::Rule;

struct Pos {
  uint32_t line = 0, column = 0;
};

Pos pos_of(const toml::source_region& r) { return {r.begin.line, r.begin.column}; }

std::string indexed(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// "found ..." text: the TOML type and the value, shortened if long.
std::string describe(const toml::node& n) {
  std::string s;
  if (auto* v = n.as_string()) {
    s = "string " + quote(v->get());
  } else if (auto* a = n.as_array()) {
    s = "array [";
    for (size_t i = 0; i < a->size(); ++i) {
      if (i) s += ", ";
      const toml::node& e = *a->get(i);
      if (auto* es = e.as_string()) {
        s += quote(es->get());
      } else if (e.is_table()) {
        s += "{...}";
      } else if (e.is_array()) {
        s += "[...]";
      } else {
        std::ostringstream os;
        e.visit([&](const auto& x) { os << x; });
        s += os.str();
      }
    }
    s += "]";
  } else if (n.is_table()) {
    s = "table";
  } else {
    std::ostringstream os;
    n.visit([&](const auto& x) { os << x; });
    switch (n.type()) {
      case toml::node_type::integer: s = "integer "; break;
      case toml::node_type::floating_point: s = "float "; break;
      case toml::node_type::boolean: s = "boolean "; break;
      case toml::node_type::date: s = "date "; break;
      case toml::node_type::time: s = "time "; break;
      default: s = "date-time "; break;
    }
    s += os.str();
  }
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

bool valid_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> names_of(std::span<const char* const> names) {
  return {names.begin(), names.end()};
}

// Collects errors for one source (a file, or one CLI override) and applies
// TOML values to the typed config through the schema.
class Validator {
 public:
  Validator(std::string file, std::vector<ConfigError>* errors)
      : file_(std::move(file)), errors_(errors) {}

  void error(Pos pos, std::string key, std::string message) {
    errors_->push_back(ConfigError{file_, pos.line, pos.column, std::move(key), std::move(message)});
  }
  void mismatch(const toml::node& n, const std::string& path, const std::string& expected) {
    error(pos_of(n.source()), path, "expected " + expected + ", found " + describe(n));
  }

  // Where each key's value was given, for the cross-key checks.
  std::map<std::string, Pos> positions;

  // One key's value: type, range and rules. Assigns only when valid.
  template <class T>
  void apply(const Key<T>& key, const std::string& path, const toml::node& n, T* target) {
    positions[path] = pos_of(n.source());
    std::visit([&](auto ref) { apply_field(key, path, n, ref(*target)); }, key.ref);
  }

  // The whole document.
  void walk_root(const toml::table& root, Config* cfg) {
    for (auto&& [k, node] : root) {
      std::string name(k.str());
      if (name == schema::kSinkArray) {
        walk_sinks(node, &cfg->output.sinks);
        continue;
      }
      if (name == schema::kForwardArray) {
        walk_forwards(node, &cfg->forwards);
        continue;
      }
      bool section = std::find(schema::kSections.begin(), schema::kSections.end(), name) !=
                     schema::kSections.end();
      if (!section) {
        bool table = node.is_table() || node.is_array_of_tables();
        unknown_root(name, node, pos_of(table ? node.source() : k.source()));
        continue;
      }
      const toml::table* t = node.as_table();
      if (!t) {
        mismatch(node, name, "table [" + name + "]");
        continue;
      }
      for (auto&& [k2, value] : *t) {
        std::string path = name + "." + std::string(k2.str());
        if (path == schema::kSamplingArray) {
          walk_sampling(value, &cfg->decode.sampling_overrides);
        } else if (path == schema::kSnmpTable) {
          walk_snmp(value, cfg);
        } else if (const Key<Config>* key = find_config_key(path)) {
          apply(*key, path, value, cfg);
        } else {
          unknown_key(name, std::string(k2.str()), pos_of(k2.source()));
        }
      }
    }
  }

  // An array of tables at `path` ([[sink]], [[decode.sampling_override]]):
  // every element must be a table, and parse_one(table, element path,
  // element node, &item) fills one item, reporting its own errors. *out is
  // replaced only when every element parsed without an error.
  template <class T, class ParseOne>
  void walk_table_array(const toml::node& n, const std::string& path, const char* expected,
                        std::vector<T>* out, ParseOne&& parse_one) {
    positions[path] = pos_of(n.source());
    const toml::array* a = n.as_array();
    if (!a) return mismatch(n, path, expected);
    std::vector<T> list;
    bool ok = true;
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      std::string ipath = indexed(path, i);
      const toml::table* t = e.as_table();
      if (!t) {
        mismatch(e, ipath, "table");
        ok = false;
        continue;
      }
      positions[ipath] = pos_of(e.source());
      size_t before = errors_->size();
      T item;
      parse_one(*t, ipath, e, &item);
      ok = ok && errors_->size() == before;
      list.push_back(std::move(item));
    }
    if (ok) *out = std::move(list);
  }

  // [[sink]]: an array of tables, each checked against the keys of its type.
  void walk_sinks(const toml::node& n, std::vector<SinkConfig>* out) {
    walk_table_array(n, std::string(schema::kSinkArray), "array of tables ([[sink]])", out,
                     [this](const toml::table& t, const std::string& ipath, const toml::node& e,
                            SinkConfig* sink) { parse_sink(t, ipath, e, sink); });
  }

  // One [[sink]] table: the type first, then the keys that type takes.
  void parse_sink(const toml::table& t, const std::string& ipath, const toml::node& e,
                  SinkConfig* out) {
    SinkConfig& sink = *out;
    size_t before = errors_->size();
    bool typed = false;
    // The type first: it decides which other keys are allowed.
    if (const toml::node* type = t.get("type")) {
      apply(*find_key(schema::kSinkKeys, "type"), ipath + ".type", *type, &sink);
      typed = errors_->size() == before;
    }
    check_required(schema::kSinkKeys, t, ipath, pos_of(e.source()));
    for (auto&& [k, value] : t) {
      std::string name(k.str());
      if (name == "type") continue;
      std::string kpath = ipath + "." + name;
      const Key<SinkConfig>* key = find_key(schema::kSinkKeys, name);
      uint8_t type_bit = schema::sink_bit(sink.type);
      if (!key) {
        std::vector<std::string> candidates;
        for (const auto& sk : schema::kSinkKeys)
          if (!typed || (sk.sinks & type_bit)) candidates.push_back(sk.name);
        std::string m = closest_match(name, candidates);
        std::string valid;
        for (const auto& c : candidates) valid += (valid.empty() ? "" : ", ") + c;
        error(pos_of(k.source()), kpath,
              m.empty() ? "unknown key; a " + std::string(typed ? kSinkTypeNames[static_cast<size_t>(sink.type)] : "") +
                              (typed ? " " : "") + "sink takes: " + valid
                        : "unknown key; did you mean '" + ipath + "." + m + "'?");
      } else if (typed && !(key->sinks & type_bit)) {
        std::string valid;
        for (const auto& sk : schema::kSinkKeys) {
          if (!(sk.sinks & type_bit)) continue;
          if (!valid.empty()) valid += ", ";
          valid += sk.name;
        }
        const char* tname = kSinkTypeNames[static_cast<size_t>(sink.type)];
        error(pos_of(k.source()), kpath,
              std::string("not a key of ") + tname + " sinks (a " + tname + " sink takes: " +
                  valid + ")");
      } else {
        apply(*key, kpath, value, &sink);
      }
    }
    if (sink.name.empty()) sink.name = kSinkTypeNames[static_cast<size_t>(sink.type)];
  }

  // [[forward]]: targets and what goes to them (src/forward/forwarder.h).
  void walk_forwards(const toml::node& n, std::vector<ForwardConfig>* out) {
    walk_table_array(
        n, std::string(schema::kForwardArray), "array of tables ([[forward]])", out,
        [this](const toml::table& t, const std::string& ipath, const toml::node& e,
               ForwardConfig* f) {
          check_required(schema::kForwardKeys, t, ipath, pos_of(e.source()));
          for (auto&& [k, value] : t) {
            std::string name(k.str());
            std::string kpath = ipath + "." + name;
            if (const Key<ForwardConfig>* key = find_key(schema::kForwardKeys, name)) {
              apply(*key, kpath, value, f);
            } else {
              std::vector<std::string> candidates;
              for (const auto& fk : schema::kForwardKeys) candidates.push_back(fk.name);
              std::string m = closest_match(name, candidates);
              error(pos_of(k.source()), kpath,
                    m.empty() ? "unknown key" : "unknown key; did you mean '" + ipath + "." + m + "'?");
            }
          }
        });
    for (size_t i = 0; i < out->size(); ++i)
      if ((*out)[i].name.empty()) (*out)[i].name = "forward" + std::to_string(i);
  }

  // [enrich.snmp]: its keys (kConfigKeys, "enrich.snmp.*") and its
  // [[enrich.snmp.agent]] tables (kSnmpAgentKeys).
  void walk_snmp(const toml::node& n, Config* cfg) {
    const std::string base(schema::kSnmpTable);
    const toml::table* t = n.as_table();
    if (!t) return mismatch(n, base, "table [" + base + "]");
    for (auto&& [k, value] : *t) {
      const std::string path = base + "." + std::string(k.str());
      if (path == schema::kSnmpAgentArray) {
        walk_snmp_agents(value, &cfg->enrich.snmp.agents);
      } else if (const Key<Config>* key = find_config_key(path)) {
        apply(*key, path, value, cfg);
      } else {
        std::vector<std::string> candidates{"agent"};
        for (const auto& ck : schema::kConfigKeys)
          if (std::string_view(ck.name).starts_with(base + "."))
            candidates.push_back(std::string(ck.name).substr(base.size() + 1));
        std::string m = closest_match(std::string(k.str()), candidates);
        error(pos_of(k.source()), path,
              m.empty() ? "unknown key" : "unknown key; did you mean '" + base + "." + m + "'?");
      }
    }
  }
  void walk_snmp_agents(const toml::node& n, std::vector<SnmpAgentConfig>* out) {
    walk_table_array(
        n, std::string(schema::kSnmpAgentArray), "array of tables ([[enrich.snmp.agent]])", out,
        [this](const toml::table& t, const std::string& ipath, const toml::node& e,
               SnmpAgentConfig* a) {
          check_required(schema::kSnmpAgentKeys, t, ipath, pos_of(e.source()));
          for (auto&& [k, value] : t) {
            std::string name(k.str());
            std::string kpath = ipath + "." + name;
            if (const Key<SnmpAgentConfig>* key = find_key(schema::kSnmpAgentKeys, name)) {
              apply(*key, kpath, value, a);
            } else {
              std::vector<std::string> candidates;
              for (const auto& sk : schema::kSnmpAgentKeys) candidates.push_back(sk.name);
              std::string m = closest_match(name, candidates);
              error(pos_of(k.source()), kpath,
                    m.empty() ? "unknown key" : "unknown key; did you mean '" + ipath + "." + m + "'?");
            }
          }
        });
  }

  // [[decode.sampling_override]]: exporter address -> interval.
  void walk_sampling(const toml::node& n, std::vector<SamplingOverride>* out) {
    walk_table_array(
        n, std::string(schema::kSamplingArray),
        "array of tables ([[decode.sampling_override]])", out,
        [this](const toml::table& t, const std::string& ipath, const toml::node& e,
               SamplingOverride* o) {
          check_required(schema::kSamplingKeys, t, ipath, pos_of(e.source()));
          for (auto&& [k, value] : t) {
            std::string name(k.str());
            std::string kpath = ipath + "." + name;
            if (const Key<SamplingOverride>* key = find_key(schema::kSamplingKeys, name)) {
              apply(*key, kpath, value, o);
            } else {
              std::vector<std::string> candidates;
              for (const auto& sk : schema::kSamplingKeys) candidates.push_back(sk.name);
              std::string m = closest_match(name, candidates);
              error(pos_of(k.source()), kpath,
                    m.empty() ? "unknown key"
                              : "unknown key; did you mean '" + ipath + "." + m + "'?");
            }
          }
        });
  }

  void unknown_key(const std::string& section, const std::string& name, Pos pos) {
    std::string path = section + "." + name;
    std::vector<std::string> same_section;
    std::string elsewhere;
    for (const auto& key : schema::kConfigKeys) {
      std::string_view full = key.name;
      auto dot = full.find('.');
      if (full.substr(0, dot) == section) {
        same_section.emplace_back(full.substr(dot + 1));
      } else if (full.substr(dot + 1) == name && elsewhere.empty()) {
        elsewhere = full;  // right name, wrong section
      }
    }
    if (section == "decode") same_section.emplace_back("sampling_override");
    std::string m = closest_match(name, same_section);
    std::string suggestion = !m.empty() ? section + "." + m : elsewhere;
    error(pos, path,
          suggestion.empty() ? "unknown key" : "unknown key; did you mean '" + suggestion + "'?");
  }

  void unknown_root(const std::string& name, const toml::node& n, Pos pos) {
    std::vector<std::string> sections = names_of(schema::kSections);
    sections.emplace_back(schema::kSinkArray);
    sections.emplace_back(schema::kForwardArray);
    std::string m = closest_match(name, sections);
    if (m.empty()) {
      // A key written outside its section, e.g. "workers = 4" at the top.
      for (const auto& key : schema::kConfigKeys) {
        std::string_view full = key.name;
        if (full.substr(full.find('.') + 1) == name) {
          m = full;
          break;
        }
      }
    }
    std::string what = n.is_table() || n.is_array_of_tables() ? "unknown section" : "unknown key";
    error(pos, name, m.empty() ? what : what + "; did you mean '" + m + "'?");
  }

  // Checks that need several keys. `locate` says where a key was given.
  template <class Locate>
  static void cross_check(const Config& cfg, Locate&& locate) {
    const auto& r = cfg.receive;
    if (r.batch > r.ring_entries)
      locate("receive.batch", "expected at most receive.ring_entries (" +
                                  std::to_string(r.ring_entries) + "), found integer " +
                                  std::to_string(r.batch) + ": a batch cannot outgrow the buffers");
    if (cfg.aggregate.time != TimeMode::kArrival && cfg.aggregate.grace_s >= cfg.aggregate.interval_s)
      locate("aggregate.grace",
             "expected less than aggregate.interval (" + std::to_string(cfg.aggregate.interval_s) +
                 ") when aggregate.time is flow_end or flow_start, found integer " +
                 std::to_string(cfg.aggregate.grace_s) +
                 ": an interval must close before the next one does");
    if (cfg.output.counters == "clickhouse" &&
        std::none_of(cfg.output.sinks.begin(), cfg.output.sinks.end(),
                     [](const SinkConfig& s) { return s.type == SinkType::kClickHouse; }))
      locate("output.counters",
             "expected a [[sink]] of type \"clickhouse\" beside output.counters = \"clickhouse\" "
             "(its table <table>_counters goes to that server), found none");
    // An enriched key field needs the file it is read from: without it the
    // column would be empty on every row.
    auto needs = [&](std::string_view f) -> const char* {
      const bool net = f.starts_with("src_net") || f.starts_with("dst_net");
      const bool as_name = f == "src_as_name" || f == "dst_as_name";
      const bool country = f == "src_country" || f == "dst_country";
      const bool source = f == "src_as_source" || f == "dst_as_source";
      // Interface names and descriptions are also learnt from the exporters'
      // options data (decode.max_interface_names > 0): no file needed.
      const bool learnable = (f == "in_if_name" || f == "out_if_name" ||
                              f == "in_if_description" || f == "out_if_description") &&
                             cfg.decode.max_interface_names > 0;
      const bool catalogue = (f.starts_with("exporter_") || f.starts_with("in_if_") ||
                              f.starts_with("out_if_")) &&
                             !learnable;
      // SNMP fills interface names, descriptions and speeds (enrich.snmp).
      const bool snmp_field = f.ends_with("_if_name") || f.ends_with("_if_description") ||
                              f.ends_with("_if_speed");
      const char* need = net && cfg.enrich.networks.empty()           ? "enrich.networks"
                         : as_name && cfg.enrich.asn_mmdb.empty()     ? "enrich.asn_mmdb"
                         : country && cfg.enrich.country_mmdb.empty() ? "enrich.country_mmdb"
                         : source && !cfg.enrich.any_address()        ? "enrich.networks or enrich.asn_mmdb"
                         : catalogue && cfg.enrich.catalogue.empty() &&
                                 !(snmp_field && cfg.enrich.snmp.enabled)
                             ? "enrich.catalogue"
                                                                      : nullptr;
      return need;
    };
    for (const std::string& k : cfg.aggregate.key) {
      const char* need = needs(std::string_view(k).substr(0, k.find('/')));
      if (need) {
        locate("aggregate.key", "expected " + std::string(need) + " to be set for the key field " +
                                    quote(k) + " (its values come from that file), found " +
                                    "it empty (docs/enrichment.md)");
        break;
      }
    }
    // Likewise a filter on an enriched field: without its file every record
    // would compare as unknown ("").
    filter::Ast ast;
    filter::ParseError pe;
    if (!cfg.filter.expression.empty() && filter::parse(cfg.filter.expression, &ast, &pe)) {
      for (KeyField f : ast.fields()) {
        const std::string_view name = key_field_info(f).name;
        if (const char* need = needs(name)) {
          locate("filter.expression", "expected " + std::string(need) + " to be set for the field " +
                                          quote(std::string(name)) + " the filter reads (its values "
                                          "come from that file), found it empty (docs/enrichment.md)");
          break;
        }
      }
    }
    const SnmpConfig& snmp = cfg.enrich.snmp;
    if (snmp.enabled && snmp.agents.empty())
      locate("enrich.snmp.enabled", "expected at least one [[enrich.snmp.agent]] with the "
                                    "credentials of the exporters to poll, found none");
    for (size_t i = 0; i < snmp.agents.size(); ++i) {
      const SnmpAgentConfig& a = snmp.agents[i];
      const std::string at = indexed(schema::kSnmpAgentArray, i);
      if (a.version == "2c" && a.community.empty())
        locate(at + ".community", "expected a community for version \"2c\", found none");
      if (a.version != "3") continue;
      if (a.user.empty()) locate(at + ".user", "expected a user for version \"3\", found none");
      if (a.level != "noAuthNoPriv" && a.auth_password.size() < 8)
        locate(at + ".auth_password", "expected at least 8 characters for level " +
                                          quote(a.level) + " (RFC 3414), found " +
                                          std::to_string(a.auth_password.size()));
      if (a.level == "authPriv" && a.priv_password.size() < 8)
        locate(at + ".priv_password", "expected at least 8 characters for level \"authPriv\" "
                                      "(RFC 3414), found " + std::to_string(a.priv_password.size()));
    }
    const auto& fw = cfg.forwards;
    for (size_t i = 0; i < fw.size(); ++i) {
      if (fw[i].encapsulation == "transparent")
        for (const Endpoint& t : fw[i].targets)
          if (!t.addr.is_v4()) {
            locate(indexed("forward", i) + ".targets",
                   "expected IPv4 targets with encapsulation \"transparent\" (a raw IPv4 socket), "
                   "found " + t.str());
            break;
          }
      for (size_t j = 0; j < i; ++j)
        if (fw[i].name == fw[j].name) {
          locate(indexed("forward", i) + ".name", "duplicate forward name " + quote(fw[i].name) +
                                                      " (also " + indexed("forward", j) + ")");
          break;
        }
    }
    const auto& sinks = cfg.output.sinks;
    for (size_t i = 0; i < sinks.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (sinks[i].name == sinks[j].name) {
          locate(indexed("sink", i) + ".name",
                 "duplicate sink name " + quote(sinks[i].name) + " (also " + indexed("sink", j) +
                     "); give each sink a distinct name");
          break;
        }
        if (sinks[i].type == SinkType::kClickHouse && sinks[j].type == SinkType::kClickHouse &&
            !sinks[i].spool_dir.empty() && sinks[i].spool_dir == sinks[j].spool_dir) {
          locate(indexed("sink", i) + ".spool_dir",
                 "duplicate spool_dir " + quote(sinks[i].spool_dir) + " (also " +
                     indexed("sink", j) + ")");
          break;
        }
      }
    }
    const auto& so = cfg.decode.sampling_overrides;
    for (size_t i = 0; i < so.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (so[i].exporter == so[j].exporter) {
          locate(indexed(schema::kSamplingArray, i) + ".exporter",
                 "duplicate exporter " + quote(so[i].exporter.str()) + " (also " +
                     indexed(schema::kSamplingArray, j) + ")");
          break;
        }
      }
    }
  }

 private:
  static const Key<Config>* find_config_key(std::string_view path) {
    return find_key(schema::kConfigKeys, path);
  }
  template <class T>
  static const Key<T>* find_key(std::span<const Key<T>> keys, std::string_view name) {
    for (const auto& k : keys)
      if (name == k.name) return &k;
    return nullptr;
  }

  template <class T>
  void check_required(std::span<const Key<T>> keys, const toml::table& t, const std::string& ipath,
                      Pos pos) {
    for (const auto& k : keys)
      if (k.required && !t.contains(k.name))
        error(pos, ipath + "." + k.name, "missing; expected " + schema::expected_text(k));
  }

  template <class T, class F>
  void apply_field(const Key<T>& key, const std::string& path, const toml::node& n, F& field) {
    if constexpr (std::is_same_v<F, bool>) {
      if (auto* v = n.as_boolean()) field = v->get();
      else mismatch(n, path, schema::expected_text(key));
    } else if constexpr (std::is_integral_v<F>) {
      auto* v = n.as_integer();
      int64_t x = v ? v->get() : 0;
      bool pow2_ok = key.rule != Rule::kPowerOfTwo || (x > 0 && (x & (x - 1)) == 0);
      if (!v || x < key.min || x > key.max || !pow2_ok) return mismatch(n, path, schema::expected_text(key));
      field = static_cast<F>(x);
    } else if constexpr (std::is_enum_v<F>) {
      auto* v = n.as_string();
      if (v) {
        for (size_t i = 0; i < key.choices.size(); ++i) {
          if (v->get() == key.choices[i]) {
            field = static_cast<F>(i);
            return;
          }
        }
      }
      mismatch(n, path, schema::expected_text(key));
    } else if constexpr (std::is_same_v<F, IpAddr>) {
      auto* v = n.as_string();
      auto a = v ? IpAddr::parse(v->get()) : std::nullopt;
      if (!a) return mismatch(n, path, schema::expected_text(key));
      field = *a;
    } else if constexpr (std::is_same_v<F, std::string>) {
      auto* v = n.as_string();
      if (!v || !string_ok(key, v->get())) return mismatch(n, path, schema::expected_text(key));
      if (key.rule == Rule::kFilterExpr && !v->get().empty()) {
        // Parsed here, once, so a bad expression stops the load with its
        // place; the pipeline compiles the same text (filter_stage.h).
        filter::Ast ast;
        filter::ParseError pe;
        if (!filter::parse(v->get(), &ast, &pe))
          return error(pos_of(n.source()), path,
                       "in " + quote(v->get()) + " at " + pe.str() + " (docs/filter.md)");
      }
      field = v->get();
    } else {
      apply_list(key, path, n, field);
    }
  }

  template <class T>
  static bool string_ok(const Key<T>& key, const std::string& s) {
    if (!key.choices.empty())
      return std::find(key.choices.begin(), key.choices.end(), s) != key.choices.end();
    switch (key.rule) {
      case Rule::kNonEmpty: return !s.empty();
      case Rule::kEndpointOrEmpty: return s.empty() || Endpoint::parse(s).has_value();
      case Rule::kHttpUrl:
        return (s.rfind("http://", 0) == 0 && s.size() > 7) ||
               (s.rfind("https://", 0) == 0 && s.size() > 8);
      case Rule::kName: return valid_name(s);
      default: return true;
    }
  }

  // Lists of strings: every element checked; assigned only if all are valid.
  template <class T, class F>
  void apply_list(const Key<T>& key, const std::string& path, const toml::node& n, F& field) {
    const toml::array* a = n.as_array();
    if (!a || (key.rule == Rule::kNonEmpty && a->empty()))
      return mismatch(n, path, schema::expected_text(key));
    F list;
    std::vector<std::string> seen;  // for duplicates: the normalized form of each element
    size_t before = errors_->size();
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      std::string ipath = indexed(path, i);
      auto* s = e.as_string();
      if (!s) {
        mismatch(e, ipath, schema::element_expected_text(key));
        seen.emplace_back();
        continue;
      }
      const std::string& text = s->get();
      std::string norm;
      if constexpr (std::is_same_v<F, std::vector<Endpoint>>) {
        auto ep = Endpoint::parse(text);
        if (!ep) {
          mismatch(e, ipath, schema::element_expected_text(key));
          seen.emplace_back();
          continue;
        }
        norm = ep->str();
        // [::]:P is dual-stack, so it already receives IPv4 on port P. A
        // plain duplicate is reported by the loop below instead.
        bool dup = std::find(seen.begin(), seen.end(), norm) != seen.end();
        for (size_t j = 0; j < list.size() && !dup; ++j) {
          if (list[j].port == ep->port && list[j].any_v6 != ep->any_v6 &&
              (list[j].any_v6 ? ep->addr.is_v4() : list[j].addr.is_v4())) {
            error(pos_of(e.source()), ipath,
                  "address " + quote(text) + " overlaps " + quote(list[j].str()) +
                      " (dual-stack [::] also receives IPv4 on that port)");
            break;
          }
        }
        list.push_back(*ep);
      } else if constexpr (std::is_same_v<F, std::vector<Cidr>>) {
        auto c = Cidr::parse(text);
        if (!c) {
          mismatch(e, ipath, schema::element_expected_text(key));
          seen.emplace_back();
          continue;
        }
        norm = c->str();
        list.push_back(*c);
      } else if (key.rule == Rule::kChoiceList) {
        if (std::find(key.choices.begin(), key.choices.end(), text) == key.choices.end()) {
          mismatch(e, ipath, schema::element_expected_text(key));
          seen.emplace_back();
          continue;
        }
        norm = text;
        list.push_back(text);
      } else if (key.rule == Rule::kCpuLists) {
        std::vector<uint32_t> cpus;
        const std::string why = parse_cpu_list(text, &cpus);
        if (!why.empty()) {
          error(pos_of(e.source()), ipath,
                "expected " + schema::element_expected_text(key) + ", found " + quote(text) + " (" +
                    why + ")");
          seen.emplace_back();
          continue;
        }
        seen.emplace_back();  // several threads may share a list
        list.push_back(text);
        continue;
      } else {
        std::string reason = schema::check_key_field(text);
        if (!reason.empty()) {
          std::string_view field_name = std::string_view(text).substr(0, text.find('/'));
          if (reason.rfind("unknown field", 0) == 0) {
            std::string m = closest_match(field_name, names_of(schema::kKeyFieldNames));
            if (!m.empty()) {
              reason += "; did you mean '" + m + "'?";
            } else {
              reason += "; expected one of";
              for (const char* f : schema::kKeyFieldNames) reason += std::string(" ") + f;
            }
          }
          error(pos_of(e.source()), ipath, reason);
          seen.emplace_back();
          continue;
        }
        norm = text.substr(0, text.find('/'));  // one field once, whatever its prefix
        list.push_back(text);
      }
      for (size_t j = 0; j < seen.size(); ++j) {
        if (!seen[j].empty() && seen[j] == norm) {
          error(pos_of(e.source()), ipath,
                "duplicate " + quote(text) + " (also " + indexed(path, j) + ")");
          break;
        }
      }
      seen.push_back(norm);
    }
    if constexpr (std::is_same_v<F, std::vector<std::string>>) {
      if (key.rule == Rule::kChoiceList && a->empty())
        error(pos_of(n.source()), path, "expected at least one of its values, found []");
    }
    if constexpr (std::is_same_v<F, std::vector<std::string>>) {
      if (key.rule != Rule::kKeyFields) {
        if (errors_->size() == before) field = std::move(list);
        return;
      }
      // The aggregator parses the key with KeySchema::parse at start-up; ask
      // it too, so a rule it has and this validator lacks fails here, with a
      // position, rather than after the sockets are open.
      KeySchema parsed;
      std::string why;
      if (errors_->size() == before && !KeySchema::parse(list, &parsed, &why))
        error(pos_of(n.source()), path, why);
    }
    if (errors_->size() == before) field = std::move(list);
  }

  std::string file_;
  std::vector<ConfigError>* errors_;
};

// Errors of a file in reading order; position-less ones (cross-key checks on
// defaults) last.
void sort_errors(std::vector<ConfigError>* errors) {
  std::stable_sort(errors->begin(), errors->end(), [](const ConfigError& a, const ConfigError& b) {
    auto rank = [](const ConfigError& e) {
      return e.line == 0 ? std::pair<uint32_t, uint32_t>{UINT32_MAX, 0}
                         : std::pair<uint32_t, uint32_t>{e.line, e.column};
    };
    return rank(a) < rank(b);
  });
}

Config defaults_with_lists() {
  Config c;
  c.receive.listen = schema::default_listen();
  c.output.sinks = schema::default_sinks();
  return c;
}

}  // namespace

std::string ConfigError::str() const {
  std::string s;
  if (!file.empty()) {
    s += file;
    if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
    s += ": ";
  }
  if (!key.empty()) s += key + ": ";
  s += message;
  return s;
}

ConfigResult load_config_string(std::string_view toml_text, const std::string& source_name) {
  ConfigResult result;
  result.config = defaults_with_lists();
  result.config.source = source_name;
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    result.errors.push_back(ConfigError{source_name, e.source().begin.line,
                                        e.source().begin.column, "",
                                        std::string(e.description())});
    return result;
  } catch (const std::exception& e) {  // e.g. bad_alloc: still never thrown out of here
    result.errors.push_back(ConfigError{source_name, 0, 0, "", e.what()});
    return result;
  }
  Validator v(source_name, &result.errors);
  v.walk_root(root, &result.config);
  Validator::cross_check(result.config, [&](const std::string& key, std::string message) {
    // Point at the key if it was given, else at the array/table it belongs to.
    Pos pos;
    for (std::string k = key; !k.empty();) {
      if (auto it = v.positions.find(k); it != v.positions.end()) {
        pos = it->second;
        break;
      }
      auto cut = k.find_last_of(".[");
      k = cut == std::string::npos ? "" : k.substr(0, cut);
    }
    v.error(pos, key, std::move(message));
  });
  sort_errors(&result.errors);
  return result;
}

ConfigResult load_config_file(const std::string& path) {
  auto fail = [&](const std::string& why) {
    ConfigResult result;
    result.config = defaults_with_lists();
    result.config.source = path;
    result.errors.push_back(ConfigError{path, 0, 0, "", why});
    return result;
  };
  // A directory opens fine as an ifstream and reads as empty, which would
  // silently mean "all defaults".
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) return fail("cannot read: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(std::string("cannot read: ") + std::strerror(errno));
  return load_config_string(text.str(), path);
}

void apply_overrides(ConfigResult* result, const std::vector<Override>& overrides) {
  std::map<std::string, std::string> origin_of;  // key -> the option that set it
  bool applied = false;
  for (const auto& ov : overrides) {
    std::string origin = ov.origin.empty() ? "--set" : ov.origin;
    Validator v(origin, &result->errors);
    // The value in TOML syntax ("8", "true", "[\"a\", \"b\"]", "\"x\""); a
    // value that is not TOML (a bare word or path) is taken as a string.
    toml::table parsed;
    const toml::node* node = nullptr;
    try {
      parsed = toml::parse("v = " + ov.value, std::string_view(origin));
      if (parsed.size() == 1) node = parsed.get("v");
    } catch (const std::exception&) {
      node = nullptr;
    }
    toml::value<std::string> raw(ov.value);
    size_t before = result->errors.size();
    Config& cfg = result->config;
    if (ov.key == schema::kSinkArray) {
      if (!node) node = &raw;
      v.walk_sinks(*node, &cfg.output.sinks);
    } else if (ov.key == schema::kSamplingArray) {
      if (!node) node = &raw;
      v.walk_sampling(*node, &cfg.decode.sampling_overrides);
    } else if (const auto* key = [&]() -> const Key<Config>* {
                 for (const auto& k : schema::kConfigKeys)
                   if (ov.key == k.name) return &k;
                 return nullptr;
               }()) {
      bool list = std::visit(
          [](auto ref) {
            using F = std::remove_reference_t<decltype(ref(std::declval<Config&>()))>;
            return std::is_same_v<F, std::vector<Endpoint>> || std::is_same_v<F, std::vector<Cidr>> ||
                   std::is_same_v<F, std::vector<std::string>>;
          },
          key->ref);
      bool string = std::visit(
          [](auto ref) {
            using F = std::remove_reference_t<decltype(ref(std::declval<Config&>()))>;
            return std::is_same_v<F, std::string> || std::is_enum_v<F> || std::is_same_v<F, IpAddr>;
          },
          key->ref);
      toml::array one;
      if (!node || (string && !node->is_string())) node = &raw;  // --output-dir 123 is a path
      if (list && node->is_string()) {
        // --set receive.allow=10.0.0.0/8: one element.
        one.push_back(node->as_string()->get());
        node = &one;
      }
      v.apply(*key, ov.key, *node, &cfg);
    } else {
      auto dot = ov.key.find('.');
      if (dot == std::string::npos) {
        v.unknown_root(ov.key, raw, Pos{});
      } else {
        std::string section = ov.key.substr(0, dot);
        if (std::find(schema::kSections.begin(), schema::kSections.end(), section) ==
            schema::kSections.end()) {
          v.unknown_root(section, toml::table{}, Pos{});
        } else {
          v.unknown_key(section, ov.key.substr(dot + 1), Pos{});
        }
      }
    }
    // Positions inside "v = VALUE" mean nothing to the user; the origin
    // (the option name) is the location.
    for (size_t i = before; i < result->errors.size(); ++i) result->errors[i].line = result->errors[i].column = 0;
    if (result->errors.size() == before) {
      origin_of[ov.key] = origin;
      applied = true;
    }
  }
  if (!applied) return;
  // The file's own cross-key errors are already listed; report only new ones.
  std::vector<ConfigError> found;
  Validator::cross_check(result->config, [&](const std::string& key, std::string message) {
    std::string file = result->config.source;
    for (const auto& [k, origin] : origin_of)
      if (key == k || key.rfind(k + "[", 0) == 0 || key.rfind(k + ".", 0) == 0) file = origin;
    found.push_back(ConfigError{file, 0, 0, key, std::move(message)});
  });
  for (auto& e : found) {
    bool dup = std::any_of(result->errors.begin(), result->errors.end(), [&](const ConfigError& x) {
      return x.key == e.key && x.message == e.message;
    });
    if (!dup) result->errors.push_back(std::move(e));
  }
}

std::string dump_config(const Config& config) {
  Config c = config;  // the accessors hand out non-const references
  std::ostringstream out;
  auto line = [&](const std::string& name, const std::string& value, const char* help) {
    std::string kv = name + " = " + value;
    out << kv;
    if (kv.size() < 40) out << std::string(40 - kv.size(), ' ');
    out << "  # " << help << "\n";
  };
  out << "# ringflow effective configuration"
      << (c.source.empty() ? std::string(" (built-in defaults)") : " (from " + c.source + ")")
      << "; every key, defaults filled in. See docs/config.md.\n";
  // A root key must precede the first [section].
  if (c.output.sinks.empty()) out << "sink = []  # no sinks: intervals are aggregated and dropped\n";
  // [[decode.sampling_override]] tables go after the last [decode] key, before
  // the next section header (TOML: a header ends the table above it).
  auto sampling = [&] {
    for (auto& o : c.decode.sampling_overrides) {
      out << "\n[[decode.sampling_override]]\n";
      for (const auto& k : schema::kSamplingKeys) line(k.name, schema::render_value(k, o), k.help);
    }
  };
  std::string section;
  for (const auto& key : schema::kConfigKeys) {
    std::string_view full = key.name;
    auto dot = full.find('.');
    std::string sec(full.substr(0, dot));
    if (sec != section) {
      if (section == "decode") sampling();
      out << (section.empty() ? "" : "\n") << "[" << sec << "]\n";
      section = sec;
    }
    line(std::string(full.substr(dot + 1)), schema::render_value(key, c), key.help);
  }
  if (section == "decode") sampling();
  for (auto& s : c.output.sinks) {
    out << "\n[[sink]]\n";
    for (const auto& k : schema::kSinkKeys) {
      if (!(k.sinks & schema::sink_bit(s.type))) continue;
      bool masked = std::string_view(k.name) == "password" && !s.password.empty();
      line(k.name, masked ? quote("********") : schema::render_value(k, s), k.help);
    }
  }
  for (auto a : c.enrich.snmp.agents) {
    out << "\n[[enrich.snmp.agent]]\n";
    for (const auto& k : schema::kSnmpAgentKeys) {
      const std::string_view n = k.name;
      const bool secret = n == "community" || n == "auth_password" || n == "priv_password";
      const bool set = !schema::render_value(k, a).empty() && schema::render_value(k, a) != "\"\"";
      line(k.name, secret && set ? quote("********") : schema::render_value(k, a), k.help);
    }
  }
  for (auto f : c.forwards) {
    out << "\n[[forward]]\n";
    for (const auto& k : schema::kForwardKeys) {
      // An empty versions list means every format; "versions = []" would not load.
      if (std::string_view(k.name) == "versions" && f.versions.empty()) continue;
      line(k.name, schema::render_value(k, f), k.help);
    }
  }
  return out.str();
}

const char* backend_name(Backend b) { return schema::kBackendNames[static_cast<size_t>(b)]; }
const char* time_mode_name(TimeMode t) { return schema::kTimeModeNames[static_cast<size_t>(t)]; }

}  // namespace ringflow
