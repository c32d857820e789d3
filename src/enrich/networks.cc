#include "enrich/networks.h"

namespace ringflow::enrich {

bool NetworksBuilder::add(const Cidr& prefix, const NetAttrs& attrs) {
  if (rows_.size() >= kMaxRows) return false;
  rows_.push_back(attrs);
  const auto value = static_cast<uint32_t>(rows_.size());  // row + 1
  if (prefix.net.is_v4() && prefix.prefix_len >= 96) {
    v4_.push_back({prefix.net.v4(), static_cast<uint8_t>(prefix.prefix_len - 96), value});
  } else {
    v6_.push_back({load_u128(prefix.net.bytes.data()), prefix.prefix_len, value});
  }
  return true;
}

std::unique_ptr<Networks> NetworksBuilder::build(Lpm4::Layout v4_layout) {
  auto n = std::make_unique<Networks>();
  n->v4_prefixes_ = v4_.size();
  n->v6_prefixes_ = v6_.size();
  size_t dup4 = 0, dup6 = 0;
  if (!n->v4_.build(std::move(v4_), v4_layout, &dup4)) return nullptr;
  n->v6_.build(std::move(v6_), &dup6);
  n->duplicates_ = dup4 + dup6;
  n->rows_ = std::move(rows_);
  v4_.clear();
  v6_.clear();
  rows_.clear();
  return n;
}

}  // namespace ringflow::enrich
