#include "enrich/learned_interfaces.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <map>

namespace ringflow::enrich {
namespace {

std::atomic<uint64_t> g_generation{0};

bool by_index(const LearnedIface& a, const LearnedIface& b) { return a.if_index < b.if_index; }

// Adds `add`'s interfaces that `into` lacks, and fills empty strings of those
// it has; both sorted by ifIndex.
void merge_into(std::vector<LearnedIface>* into, const std::vector<LearnedIface>& add) {
  const size_t n = into->size();
  for (const LearnedIface& a : add) {
    auto it =
        std::lower_bound(into->begin(), into->begin() + static_cast<ptrdiff_t>(n), a, by_index);
    if (it != into->begin() + static_cast<ptrdiff_t>(n) && it->if_index == a.if_index) {
      if (it->name == 0) it->name = a.name;
      if (it->description == 0) it->description = a.description;
    } else {
      into->push_back(a);
    }
  }
  std::sort(into->begin(), into->end(), by_index);
}

}  // namespace

LearnedInterfaces::LearnedInterfaces() : generation_(g_generation.fetch_add(1) + 1) {}

void LearnedInterfaces::add(const IpAddr& exporter, uint32_t domain, const LearnedIface& iface) {
  by_domain_[Key{exporter, domain}].push_back(iface);
  ++rows_;
}

void LearnedInterfaces::finish() {
  // Each domain's own list: sorted, one entry per ifIndex (rows of the same
  // ifIndex, e.g. a v9 and an IPFIX stream of one domain, merged).
  std::map<std::pair<std::array<uint8_t, 16>, uint32_t>, Key> order;  // domains, lowest first
  for (auto& [k, v] : by_domain_) {
    std::stable_sort(v.begin(), v.end(), by_index);
    std::vector<LearnedIface> u;
    for (const LearnedIface& i : v) {
      if (!u.empty() && u.back().if_index == i.if_index) {
        if (u.back().name == 0) u.back().name = i.name;
        if (u.back().description == 0) u.back().description = i.description;
      } else {
        u.push_back(i);
      }
    }
    v = std::move(u);
    order.emplace(std::pair{k.exporter.bytes, k.domain}, k);
  }
  // The exporter's union, lower domains first.
  for (const auto& [unused, k] : order) merge_into(&by_exporter_[k.exporter], by_domain_[k]);
  // Each domain completed by the exporter's other domains.
  for (auto& [k, v] : by_domain_) merge_into(&v, by_exporter_[k.exporter]);
}

const std::vector<LearnedIface>* LearnedInterfaces::find(const IpAddr& exporter,
                                                         uint32_t domain) const {
  if (auto it = by_domain_.find(Key{exporter, domain}); it != by_domain_.end()) return &it->second;
  if (auto it = by_exporter_.find(exporter); it != by_exporter_.end()) return &it->second;
  return nullptr;
}

}  // namespace ringflow::enrich
