// CatalogueRules: the ordered classification rules of the catalogue file
// ([[rule]] in enrich.catalogue; docs/enrichment.md, "Classification
// rules"), Akvorado-style: regular expressions on the exporter's name and
// address and the interface's name and description set the tags the
// catalogue leaves empty.
//
//   [[rule]]
//   exporter = "^edge"             ECMAScript regexes (std::regex), searched
//   address = "^192\\.0\\.2\\."    (not anchored: use ^ and $); every one
//   interface = "^(xe|et)-"        given must match, an absent one matches
//   description = "^Transit: (\\w+)"  anything
//   provider = "$1"                tags it sets; "$1".."$9" are the groups
//   connectivity = "transit"       of its last pattern in the order
//   boundary = "external"          exporter, address, interface, description
//   example = { exporter = "edge1", interface = "xe-0/0/1", description = "Transit: cogent" }
//   expect = { provider = "cogent", connectivity = "transit", boundary = "external" }
//
// Exporter tags (site, region, role, tenant) come only from rules without an
// interface or description pattern (a rule with one that sets them is
// refused); interface tags (boundary, provider, connectivity) from any
// rule. Per tag, the catalogue's own value wins, else the first rule in
// file order that matches and sets it. A boundary a rule sets must be
// "external" or "internal". `example`/`expect` are checked when the file is
// loaded: the example, classified by all rules of the file, must give every
// expected tag, or the file is refused.
//
// Rules are compiled once, when the file is loaded, and run only then (on
// every listed exporter and interface) and once per unlisted exporter per
// worker (catalogue_stage.h): never per record.
//
// Thread safety: immutable once loaded.
#pragma once

#include <array>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace ringflow::enrich {

enum class Tag : uint8_t { kSite, kRegion, kRole, kTenant, kBoundary, kProvider, kConnectivity };
inline constexpr size_t kTagCount = 7;
inline constexpr std::array<std::string_view, kTagCount> kTagNames = {
    "site", "region", "role", "tenant", "boundary", "provider", "connectivity"};
inline constexpr bool tag_is_interface(size_t t) {
  return t >= static_cast<size_t>(Tag::kBoundary);
}

// What a rule's patterns match: exporter name, exporter address (text), and
// interface name and description ("" when unknown).
inline constexpr size_t kPatternCount = 4;
inline constexpr std::array<std::string_view, kPatternCount> kPatternNames = {
    "exporter", "address", "interface", "description"};
using RuleSubject = std::array<std::string_view, kPatternCount>;
using Tags = std::array<std::string, kTagCount>;

struct CatalogueRule {
  std::array<bool, kPatternCount> has{};
  std::array<std::regex, kPatternCount> re;
  std::array<bool, kTagCount> sets{};
  std::array<std::string, kTagCount> value;  // may hold $1..$9
  bool interface_level = false;              // has an interface or description pattern
  int line = 0;
  // Its example and expected tags (optional).
  bool has_example = false;
  std::array<std::string, kPatternCount> example;
  std::array<bool, kTagCount> expects{};
  Tags expect;
};

class CatalogueRules {
 public:
  void add(CatalogueRule r) { rules_.push_back(std::move(r)); }
  size_t size() const { return rules_.size(); }
  bool empty() const { return rules_.empty(); }
  const std::vector<CatalogueRule>& rules() const { return rules_; }

  // Fills the empty exporter tags of *tags from the exporter-level rules.
  void classify_exporter(const RuleSubject& s, Tags* tags) const;
  // Fills the empty interface tags of *tags from every rule.
  void classify_interface(const RuleSubject& s, Tags* tags) const;
  // Both, from nothing: what the file's rules say about s.
  Tags classify(const RuleSubject& s) const;

 private:
  void apply(const RuleSubject& s, bool interface, Tags* tags) const;
  std::vector<CatalogueRule> rules_;
};

}  // namespace ringflow::enrich
