#include "live/top_k.h"

#include <algorithm>
#include <cstring>

#include "aggregate/key_codec.h"
#include "common/clock.h"

namespace ringflow {
namespace {

struct ProjectionDef {
  const char* name;
  std::vector<std::string> fields;
};

const std::vector<ProjectionDef>& defs() {
  static const std::vector<ProjectionDef> d = {
      {"key", {}},  // every field of aggregate.key
      {"src_addr", {"src_addr"}},
      {"dst_addr", {"dst_addr"}},
      {"proto_port", {"protocol", "dst_port"}},
      {"exporter", {"exporter"}},
  };
  return d;
}

// The entries of aggregate.key as parse() accepts them, one per field
// ("src_addr/24", "exporter/64", "protocol").
std::vector<std::string> field_entries(const KeySchema& s) {
  std::vector<std::string> out;
  const std::string all = s.str();
  size_t at = 0;
  while (at <= all.size() && !all.empty()) {
    const size_t comma = all.find(',', at);
    out.push_back(all.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

int compare_keys(const TopCandidate& a, const TopCandidate& b) {
  if (a.layout != b.layout) return a.layout < b.layout ? -1 : 1;
  const uint32_t n = std::min(a.words, b.words);
  for (uint32_t i = 0; i < n; ++i)
    if (a.key[i] != b.key[i]) return a.key[i] < b.key[i] ? -1 : 1;
  return a.words == b.words ? 0 : (a.words < b.words ? -1 : 1);
}

}  // namespace

const char* top_sort_name(TopSort s) {
  switch (s) {
    case TopSort::kBytes: return "bytes";
    case TopSort::kPackets: return "packets";
    case TopSort::kFlows: return "flows";
  }
  return "bytes";
}

bool top_before(const TopCandidate& a, const TopCandidate& b, TopSort s) {
  const size_t i = static_cast<size_t>(s);
  if (a.v[i] != b.v[i]) return a.v[i] > b.v[i];
  return compare_keys(a, b) < 0;
}

std::vector<uint32_t> select_top(std::span<const TopCandidate> c, uint32_t k) {
  std::vector<uint32_t> out;
  if (c.size() <= k) {
    out.resize(c.size());
    for (uint32_t i = 0; i < out.size(); ++i) out[i] = i;
    return out;
  }
  std::vector<uint32_t> idx(c.size());
  std::vector<uint8_t> chosen(c.size(), 0);
  for (size_t s = 0; s < kTopSorts; ++s) {
    for (uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
    const auto before = [&](uint32_t a, uint32_t b) {
      return top_before(c[a], c[b], static_cast<TopSort>(s));
    };
    std::nth_element(idx.begin(), idx.begin() + k, idx.end(), before);
    for (uint32_t i = 0; i < k; ++i) chosen[idx[i]] = 1;
  }
  for (uint32_t i = 0; i < chosen.size(); ++i)
    if (chosen[i]) out.push_back(i);
  return out;
}

void project_key(const KeySchema& schema, const TopProjection& p, uint8_t layout,
                 const uint8_t* key, uint64_t* out) {
  std::memset(out, 0, size_t{p.words} * 8);
  auto* o = reinterpret_cast<uint8_t*>(out);
  for (size_t i = 0; i < p.from.size(); ++i) {
    const KeyFieldSpec& f = schema.fields()[p.from[i]];
    const KeyFieldSpec& g = p.schema.fields()[i];
    if (key_field_is_address(f.field)) {
      key_field_address(f, layout, key, o + g.offset[kWide]);
    } else {
      std::memcpy(o + g.offset[kWide], key + f.offset[layout], key_field_width(f.field, layout));
    }
  }
}

TopKeeper::TopKeeper(const KeySchema& schema, uint32_t k, uint32_t intervals, uint64_t max_rows)
    : schema_(schema), k_(std::max(k, 1u)), capacity_(std::max(intervals, 1u)) {
  const std::vector<std::string> entries = field_entries(schema);
  for (const ProjectionDef& d : defs()) {
    TopProjection p;
    p.name = d.name;
    std::vector<std::string> names;
    if (d.fields.empty()) {  // the whole key
      p.available = true;
      for (size_t i = 0; i < schema.fields().size(); ++i) {
        p.needs.emplace_back(schema.column(i));
        p.from.push_back(i);
        names.push_back(entries[i]);
      }
    } else {
      p.needs = d.fields;
      p.available = true;
      for (const std::string& want : d.fields) {
        size_t at = schema.fields().size();
        for (size_t i = 0; i < schema.fields().size(); ++i)
          if (schema.column(i) == want) at = i;
        if (at == schema.fields().size()) {
          p.available = false;
          break;
        }
        p.from.push_back(at);
        names.push_back(entries[at]);
      }
    }
    if (p.available) {
      if (!KeySchema::parse(names, &p.schema, nullptr)) p.available = false;  // cannot happen
      p.words = p.schema.key_words(kWide);
    }
    proj_.push_back(std::move(p));
  }
  const uint64_t rows = std::max<uint64_t>(max_rows, 1);
  for (const TopProjection& p : proj_) {
    if (p.available && p.name != "key") {
      tables_.push_back(std::make_unique<AggTable>(p.words, rows, 1024));
    } else {
      tables_.push_back(nullptr);
    }
  }
  snap_.store(std::make_shared<const TopSnapshot>(), std::memory_order_release);
}

void TopKeeper::keep(const TopProjection& p, std::span<const TopCandidate> c, TopSet* out) {
  const std::vector<uint32_t> chosen = select_top(c, k_);
  out->distinct = c.size();
  out->rows.reserve(chosen.size());
  out->keys.resize(chosen.size() * p.words);
  uint32_t at = 0;
  for (uint32_t i : chosen) {
    uint64_t* key = out->keys.data() + at;
    if (p.name == "key") {
      project_key(schema_, p, c[i].layout, reinterpret_cast<const uint8_t*>(c[i].key), key);
    } else {
      std::memcpy(key, c[i].key, size_t{p.words} * 8);
    }
    out->rows.push_back({hash_key(key, p.words), at, {c[i].v[0], c[i].v[1], c[i].v[2]}});
    at += p.words;
  }
}

void TopKeeper::project(const TopProjection& p, size_t pi, const FlushBatch& b, TopSet* out) {
  cand_.clear();
  if (p.name == "key") {
    for (const FlushRow& r : b.rows) {
      if (r.overflow) continue;
      cand_.push_back({reinterpret_cast<const uint64_t*>(r.key), schema_.key_words(r.layout),
                       r.layout, {r.c->bytes, r.c->packets, r.c->flows}});
    }
    keep(p, cand_, out);
    return;
  }
  AggTable& t = *tables_[pi];
  t.clear();
  t.fit(b.rows.size());
  uint64_t key[kMaxKeyWords];
  for (const FlushRow& r : b.rows) {
    if (r.overflow) continue;
    project_key(schema_, p, r.layout, r.key, key);
    // The table holds at most max_rows keys, no fewer than a batch's rows:
    // add() cannot overflow here.
    t.add(key, hash_key(key, p.words), *r.c);
  }
  t.for_each([&](const uint64_t* k, const AggCounters& c) {
    cand_.push_back({k, p.words, kWide, {c.bytes, c.packets, c.flows}});
  });
  keep(p, cand_, out);
}

void TopKeeper::add(const FlushBatch& b) {
  const int64_t t0 = monotonic_ns();
  auto iv = std::make_shared<TopInterval>();
  iv->start_ms = b.start_ms;
  iv->end_ms = b.end_ms;
  iv->partial = b.partial;
  iv->late = b.late;
  iv->v[0] = b.totals.bytes;
  iv->v[1] = b.totals.packets;
  iv->v[2] = b.totals.flows;
  if (!b.rows.empty() && b.rows.back().overflow) {
    const AggCounters& o = *b.rows.back().c;
    iv->overflow[0] = o.bytes;
    iv->overflow[1] = o.packets;
    iv->overflow[2] = o.flows;
  }
  iv->sets.resize(proj_.size());
  for (size_t i = 0; i < proj_.size(); ++i)
    if (proj_[i].available) project(proj_[i], i, b, &iv->sets[i]);
  ring_.push_back(std::move(iv));
  if (ring_.size() > capacity_) ring_.erase(ring_.begin());
  auto snap = std::make_shared<TopSnapshot>();
  snap->intervals = ring_;
  snap_.store(std::move(snap), std::memory_order_release);
  last_ns_.store(static_cast<uint64_t>(monotonic_ns() - t0), std::memory_order_relaxed);
}

}  // namespace ringflow
