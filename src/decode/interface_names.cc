#include "decode/interface_names.h"

#include <algorithm>
#include <cstring>

namespace ringflow {
namespace {

// The length of the UTF-8 sequence starting with byte b (0: not a lead byte).
size_t utf8_len(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

}  // namespace

bool clean_if_string(const uint8_t* s, size_t n, size_t max, size_t* len, bool* cut) {
  const void* nul = n ? std::memchr(s, 0, n) : nullptr;
  if (nul) n = static_cast<size_t>(static_cast<const uint8_t*>(nul) - s);
  size_t i = 0, kept = 0;
  *cut = false;
  while (i < n) {
    const uint8_t b = s[i];
    const size_t k = utf8_len(b);
    if (k == 0 || i + k > n) return false;
    if (k == 1 && (b < 0x20 || b == 0x7F)) return false;
    for (size_t j = 1; j < k; ++j)
      if ((s[i + j] & 0xC0) != 0x80) return false;
    // Overlong 3/4-byte forms and surrogates / code points past U+10FFFF.
    if (k == 3 && ((b == 0xE0 && s[i + 1] < 0xA0) || (b == 0xED && s[i + 1] >= 0xA0))) return false;
    if (k == 4 && ((b == 0xF0 && s[i + 1] < 0x90) || (b == 0xF4 && s[i + 1] >= 0x90))) return false;
    if (i + k <= max) {
      kept = i + k;
    } else {
      *cut = true;
    }
    i += k;
  }
  *len = kept;
  return true;
}

InterfaceNames::InterfaceNames(uint32_t capacity, SessionCounters& counters)
    : capacity_(capacity), counters_(counters) {
  // The buckets for a typical router's table, allocated at start; a larger
  // table grows the map when its new interfaces arrive.
  if (capacity_ > 0) map_.reserve(std::min<uint32_t>(capacity_, 1024));
}

bool InterfaceNames::update(uint32_t stream, uint32_t idx, const uint8_t* name, size_t name_len,
                            bool has_name, const uint8_t* desc, size_t desc_len, bool has_desc,
                            bool count_events) {
  auto drop = [&](IfNameDrop d) {
    counters_.if_name_drops[static_cast<size_t>(d)].add();
    return false;
  };
  size_t nl = 0, dl = 0;
  bool ncut = false, dcut = false;
  if (has_name && !clean_if_string(name, name_len, kIfNameMaxBytes, &nl, &ncut))
    return drop(IfNameDrop::kNotText);
  if (has_desc && !clean_if_string(desc, desc_len, kIfDescriptionMaxBytes, &dl, &dcut))
    return drop(IfNameDrop::kNotText);
  if (nl == 0 && dl == 0) return drop(IfNameDrop::kEmpty);
  if (ncut || dcut) counters_.if_names[static_cast<size_t>(IfNameEvent::kTruncated)].add();
  const uint64_t k = key(stream, idx);
  auto it = map_.find(k);
  const bool fresh = it == map_.end();
  if (fresh) {
    if (map_.size() >= capacity_) return drop(IfNameDrop::kFull);
    it = map_.try_emplace(k).first;
    it->second.stream = stream;
    it->second.if_index = idx;
    counters_.if_names_active.add();
  }
  LearnedInterface& e = it->second;
  bool changed = false;
  if (nl > 0 && e.name_view() != std::string_view(reinterpret_cast<const char*>(name), nl)) {
    std::memcpy(e.name, name, nl);
    e.name_len = static_cast<uint8_t>(nl);
    changed = true;
  }
  if (dl > 0 && e.description_view() != std::string_view(reinterpret_cast<const char*>(desc), dl)) {
    std::memcpy(e.description, desc, dl);
    e.description_len = static_cast<uint8_t>(dl);
    changed = true;
  }
  if (changed) {
    ++generation_;
    if (count_events)
      counters_.if_names[static_cast<size_t>(fresh ? IfNameEvent::kLearned : IfNameEvent::kChanged)]
          .add();
  }
  return true;
}

void InterfaceNames::learn(uint32_t stream, const OptionsValues& v) {
  if (capacity_ == 0 || (!v.has_if_name && !v.has_if_description)) return;
  if (!v.has_input && !v.has_output) {
    counters_.if_name_drops[static_cast<size_t>(IfNameDrop::kNoIndex)].add();
    return;
  }
  const uint32_t idx = v.has_input ? v.input : v.output;
  if (idx == 0) {
    counters_.if_name_drops[static_cast<size_t>(IfNameDrop::kZeroIndex)].add();
    return;
  }
  update(stream, idx, v.if_name, v.if_name_len, v.has_if_name, v.if_description,
         v.if_description_len, v.has_if_description, true);
}

bool InterfaceNames::restore(uint32_t stream, uint32_t if_index, std::string_view name,
                             std::string_view description) {
  if (capacity_ == 0 || if_index == 0) return false;
  return update(stream, if_index, reinterpret_cast<const uint8_t*>(name.data()), name.size(),
                !name.empty(), reinterpret_cast<const uint8_t*>(description.data()),
                description.size(), !description.empty(), false);
}

void InterfaceNames::forget(uint32_t stream) {
  size_t n = 0;
  for (auto it = map_.begin(); it != map_.end();) {
    if (it->second.stream == stream) {
      it = map_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  if (n) {
    counters_.if_names_active.set(map_.size());
    ++generation_;
  }
}

}  // namespace ringflow
