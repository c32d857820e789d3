#include "enrich/lpm.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

namespace ringflow::enrich {
namespace {

template <class U>
constexpr unsigned kBits = sizeof(U) * 8;

template <class U>
U host_mask(unsigned len) {
  if (len == 0) return ~U{0};
  if (len >= kBits<U>) return U{0};
  return ~U{0} >> len;
}

template <class U, class P>
std::vector<RangeStart<U>> flatten(std::vector<P> p, size_t* duplicates) {
  for (auto& x : p) x.net &= ~host_mask<U>(x.len);
  // By start, then shorter first (a prefix precedes the ones it contains);
  // stable, so equal prefixes stay in input order and the last one wins.
  std::stable_sort(p.begin(), p.end(), [](const P& a, const P& b) {
    return a.net != b.net ? a.net < b.net : a.len < b.len;
  });
  size_t kept = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (kept > 0 && p[kept - 1].net == p[i].net && p[kept - 1].len == p[i].len) {
      p[kept - 1] = p[i];
    } else {
      p[kept++] = p[i];
    }
  }
  if (duplicates) *duplicates = p.size() - kept;
  p.resize(kept);

  std::vector<RangeStart<U>> out;
  out.reserve(2 * p.size() + 1);
  // emit(at, v): from `at` on, the value is v.
  auto emit = [&out](U at, uint32_t v) {
    if (!out.empty() && out.back().start == at) {
      out.back().value = v;
      if (out.size() >= 2 && out[out.size() - 2].value == v) out.pop_back();
      return;
    }
    if (!out.empty() && out.back().value == v) return;
    out.push_back({at, v});
  };
  emit(U{0}, 0);
  struct Open {
    U last;  // last address the prefix covers
    uint32_t value;
  };
  std::vector<Open> stack;  // nested prefixes that contain the current point
  auto close_until = [&](auto done) {
    while (!stack.empty() && done(stack.back().last)) {
      const U last = stack.back().last;
      stack.pop_back();
      if (last != ~U{0}) emit(last + 1, stack.empty() ? 0 : stack.back().value);
    }
  };
  for (const P& x : p) {
    close_until([&](U last) { return last < x.net; });
    emit(x.net, x.value);
    stack.push_back({static_cast<U>(x.net | host_mask<U>(x.len)), x.value});
  }
  close_until([](U) { return true; });
  return out;
}

}  // namespace

std::vector<RangeStart<uint32_t>> flatten_prefixes(std::vector<Prefix4> prefixes,
                                                   size_t* duplicates) {
  return flatten<uint32_t>(std::move(prefixes), duplicates);
}

std::vector<RangeStart<uint128>> flatten_prefixes(std::vector<Prefix6> prefixes,
                                                  size_t* duplicates) {
  return flatten<uint128>(std::move(prefixes), duplicates);
}

template <class U>
RangeLpm<U>::RangeLpm(const std::vector<RangeStart<U>>& ranges) {
  starts_.clear();
  values_.clear();
  starts_.reserve(ranges.size());
  values_.reserve(ranges.size());
  for (const auto& r : ranges) {
    starts_.push_back(r.start);
    values_.push_back(r.value);
  }
  if (starts_.empty() || starts_[0] != U{0}) {  // never from flatten_prefixes()
    starts_.insert(starts_.begin(), U{0});
    values_.insert(values_.begin(), 0);
  }
  fill(&idx_, 0, 65536, U{0}, kBits<U> - 16, 0);
  refine(&idx_, 0, 65536, U{0}, kBits<U> - 16);
}

template <class U>
void RangeLpm<U>::fill(std::vector<Index>* v, size_t at, uint32_t n, U base, unsigned shift,
                       size_t j) {
  for (uint32_t t = 0; t < n; ++t) {
    const U first = static_cast<U>(base + (static_cast<U>(t) << shift));
    while (j + 1 < starts_.size() && starts_[j + 1] <= first) ++j;
    (*v)[at + t] = {static_cast<uint32_t>(j), 0};
  }
  // The end marker: the range holding the last address of the n buckets
  // (base + n * 2^shift - 1, wrapping to the top of the space at the root).
  const U last = static_cast<U>(base + (static_cast<U>(n) << shift) - 1);
  while (j + 1 < starts_.size() && starts_[j + 1] <= last) ++j;
  (*v)[at + n] = {static_cast<uint32_t>(j), 0};
}

template <class U>
void RangeLpm<U>::refine(std::vector<Index>* v, size_t at, uint32_t n, U base, unsigned shift) {
  if (shift < 8) return;
  for (uint32_t t = 0; t < n; ++t) {
    const uint32_t candidates = (*v)[at + t + 1].first - (*v)[at + t].first + 1;
    if (candidates <= kMaxBucket) continue;
    const size_t node = sub_.size() / 257;
    sub_.resize(sub_.size() + 257);  // may move *v when v == &sub_: indices only
    (*v)[at + t].child = static_cast<uint32_t>(node + 1);
    const U first = static_cast<U>(base + (static_cast<U>(t) << shift));
    fill(&sub_, node * 257, 256, first, shift - 8, (*v)[at + t].first);
    refine(&sub_, node * 257, 256, first, shift - 8);
  }
}

template class RangeLpm<uint32_t>;
template class RangeLpm<uint128>;

bool Lpm4::build(std::vector<Prefix4> prefixes, Layout layout, size_t* duplicates) {
  mapping_.reset();
  tbl24_ = nullptr;
  tbl8_.clear();
  const auto ranges = flatten_prefixes(std::move(prefixes), duplicates);
  if (layout == Layout::kRanges || (layout == Layout::kAuto && ranges.size() < kDir24Threshold)) {
    ranges_ = RangeLpm<uint32_t>(ranges);
    return true;
  }
  ranges_ = RangeLpm<uint32_t>();
  constexpr size_t kEntries = size_t{1} << 24;
  if (!mapping_.map(kEntries * sizeof(uint32_t))) return false;
  // Transparent huge pages where the kernel allows: 32 TLB entries for the
  // whole first level instead of 16384 (advice; failure changes nothing).
  ::madvise(mapping_.get(), mapping_.size(), MADV_HUGEPAGE);
  auto* t24 = static_cast<uint32_t*>(mapping_.get());
  const size_t n = ranges.size();
  size_t j = 0;  // the range holding the current address
  for (size_t i = 0; i < kEntries; ++i) {
    const uint32_t lo = static_cast<uint32_t>(i << 8);
    const uint32_t hi = lo | 0xff;
    while (j + 1 < n && ranges[j + 1].start <= lo) ++j;
    if (j + 1 >= n || ranges[j + 1].start > hi) {
      t24[i] = ranges[j].value;
      continue;
    }
    const size_t group = tbl8_.size() / 256;
    tbl8_.resize(tbl8_.size() + 256);
    uint32_t* g = tbl8_.data() + group * 256;
    for (uint32_t k = 0; k < 256; ++k) {
      while (j + 1 < n && ranges[j + 1].start <= (lo | k)) ++j;
      g[k] = ranges[j].value;
    }
    t24[i] = kGroupFlag | static_cast<uint32_t>(group);
  }
  tbl8_.shrink_to_fit();
  tbl24_ = t24;
  return true;
}

}  // namespace ringflow::enrich
