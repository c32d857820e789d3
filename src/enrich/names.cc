#include "enrich/names.h"

namespace ringflow::enrich {
namespace {

Interner& tuples() {
  // 65536 ids (0 is the empty string, never a tuple); 20 bytes each.
  static Interner t(kMaxNetTuples + 1, size_t{kMaxNetTuples + 1} * sizeof(NetTuple));
  return t;
}

}  // namespace

Interner& names() {
  static Interner n;
  return n;
}

std::optional<uint16_t> intern_net_tuple(const NetTuple& t) {
  static_assert(sizeof(NetTuple) == 20);
  const auto id = tuples().intern(std::string_view(reinterpret_cast<const char*>(&t), sizeof t));
  if (!id || *id > kMaxNetTuples) return std::nullopt;
  return static_cast<uint16_t>(*id);
}

NetTuple net_tuple(uint16_t id) noexcept {
  NetTuple t;
  const std::string_view s = tuples().str(id);
  if (s.size() == sizeof t) std::memcpy(&t, s.data(), sizeof t);
  return t;
}

uint32_t net_tuples() { return tuples().size() - 1; }

bool AsNames::set(uint32_t asn, uint32_t id) {
  if (asn == 0) return false;
  std::lock_guard lock(mu_);
  if (!owner_) {
    owner_ = std::make_unique<std::atomic<uint64_t>[]>(kMask + 1);
    slots_.store(owner_.get(), std::memory_order_release);
  }
  std::atomic<uint64_t>* s = owner_.get();
  const uint64_t v = uint64_t{asn} << 32 | id;
  for (size_t i = hash(asn);; i = (i + 1) & kMask) {
    const uint64_t cur = s[i].load(std::memory_order_relaxed);
    if (cur != 0 && static_cast<uint32_t>(cur >> 32) != asn) continue;
    if (cur == 0) {
      if (size_ >= kMaxEntries) return false;
      ++size_;
    }
    s[i].store(v, std::memory_order_release);
    return true;
  }
}

size_t AsNames::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

AsNames& as_names() {
  static AsNames a;
  return a;
}

}  // namespace ringflow::enrich
