#include "live/top_k.h"

#include <algorithm>
#include <cstring>

#include "aggregate/key_codec.h"
#include "common/clock.h"

namespace ringflow {
namespace {

struct ProjectionDef {
  std::string name;
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
    case TopSort::kBytes:
      return "bytes";
    case TopSort::kPackets:
      return "packets";
    case TopSort::kFlows:
      return "flows";
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
  // Per sort, one pass with a heap of the best k so far whose front is the
  // worst of them: most candidates cost one comparison of their counter
  // with the front's (a full sort or nth_element of 1 M rows cost ~10x more).
  std::vector<uint32_t> heap;
  heap.reserve(k);
  std::vector<uint8_t> chosen(c.size(), 0);
  for (size_t s = 0; s < kTopSorts; ++s) {
    const auto before = [&](uint32_t a, uint32_t b) {
      return top_before(c[a], c[b], static_cast<TopSort>(s));
    };
    heap.clear();
    for (uint32_t i = 0; i < k; ++i) heap.push_back(i);
    std::make_heap(heap.begin(), heap.end(), before);
    for (uint32_t i = k; i < c.size(); ++i) {
      if (!before(i, heap.front())) continue;
      std::pop_heap(heap.begin(), heap.end(), before);
      heap.back() = i;
      std::push_heap(heap.begin(), heap.end(), before);
    }
    for (uint32_t i : heap) chosen[i] = 1;
  }
  for (uint32_t i = 0; i < chosen.size(); ++i)
    if (chosen[i]) out.push_back(i);
  return out;
}

namespace {

// project_key() without the schema lookups: the flusher runs it for every
// row of a batch and every projection. An IPv4 address of a narrow key
// (4 bytes, host order) becomes the v4-mapped 16 bytes that a wide key and
// key_field_address() hold, so the two layouts' rows merge.
inline void project_fast(const TopProjection& p, uint8_t layout, const uint8_t* key,
                         uint64_t* out) {
  for (uint32_t w = 0; w < p.words; ++w) out[w] = 0;
  auto* o = reinterpret_cast<uint8_t*>(out);
  for (const TopProjection::Op& op : p.ops) {
    const uint8_t* from = key + op.from[layout];
    if (op.address && op.width[layout] == 4) {
      uint32_t v;
      std::memcpy(&v, from, 4);
      o[op.to + 10] = 0xff;
      o[op.to + 11] = 0xff;
      v = __builtin_bswap32(v);
      std::memcpy(o + op.to + 12, &v, 4);
    } else {
      std::memcpy(o + op.to, from, op.width[layout]);
    }
  }
}

}  // namespace

void project_key(const KeySchema&, const TopProjection& p, uint8_t layout, const uint8_t* key,
                 uint64_t* out) {
  project_fast(p, layout, key, out);
}

TopKeeper::TopKeeper(const KeySchema& schema, uint32_t k, uint32_t intervals, uint64_t max_rows)
    : schema_(schema), k_(std::max(k, 1u)), capacity_(std::max(intervals, 1u)) {
  const std::vector<std::string> entries = field_entries(schema);
  // The named projections, then one per field of the key that none of them
  // is alone ("src_port", "protocol", "in_if_name", "src_as_name", ...):
  // Top by any key field the table has, enriched ones included.
  std::vector<ProjectionDef> all = defs();
  for (size_t i = 0; i < schema.fields().size(); ++i) {
    const std::string col(schema.column(i));
    bool named = false;
    for (const ProjectionDef& d : defs())
      named = named || (d.fields.size() == 1 && d.fields[0] == col) || d.name == col;
    if (!named) all.push_back({col, {col}});
  }
  for (const ProjectionDef& d : all) {
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
      for (size_t i = 0; i < p.from.size(); ++i) {
        const KeyFieldSpec& f = schema.fields()[p.from[i]];
        TopProjection::Op op;
        for (uint8_t l : {kNarrow, kWide}) {
          op.from[l] = f.offset[l];
          op.width[l] = key_field_width(f.field, l);
        }
        op.to = p.schema.fields()[i].offset[kWide];
        op.address = key_field_is_address(f.field);
        p.ops.push_back(op);
      }
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
  snap_.store(std::make_shared<const TopSnapshot>());
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
      project_fast(p, c[i].layout, reinterpret_cast<const uint8_t*>(c[i].key), key);
    } else {
      std::memcpy(key, c[i].key, size_t{p.words} * 8);
    }
    out->rows.push_back({hash_key(key, p.words), at, {c[i].v[0], c[i].v[1], c[i].v[2]}});
    at += p.words;
  }
}

// One pass over the batch's rows for every projection (each row's key and
// counters are read once: they are scattered over the merge table), then the
// selection per projection.
void TopKeeper::project_all(const FlushBatch& b, TopInterval* iv) {
  // Not fit() to the batch's rows: a projection has far fewer keys than the
  // batch has rows, and a table sized for the rows would touch memory for
  // nothing. It grows with the projected keys and keeps its size.
  for (auto& t : tables_)
    if (t) t->clear();
  cand_.clear();
  const bool whole = proj_[0].available;  // "key"
  // A software pipeline, as the workers add: the projected keys of row i
  // are hashed and their table slots prefetched kAhead rows before they are
  // added (a projection table larger than the caches otherwise costs a miss
  // per row: 70 % of the time at 1 M rows, bench/live_top_bench.cc).
  constexpr size_t kAhead = 8, kProj = 8;
  struct Pending {
    uint64_t key[kProj][kMaxKeyWords];
    uint64_t hash[kProj];
    const AggCounters* c;
  };
  Pending ring[kAhead];
  const size_t np = std::min(proj_.size(), kProj);
  const size_t n = b.rows.size();
  size_t queued = 0;  // rows in the ring (projected, not added yet)
  auto flush_one = [&](const Pending& e) {
    for (size_t p = 1; p < np; ++p)
      // The table holds at most max_rows keys, no fewer than a batch's rows:
      // add() cannot overflow here.
      if (tables_[p]) tables_[p]->add(e.key[p], e.hash[p], *e.c);
  };
  for (size_t i = 0; i < n; ++i) {
    if (i + 8 < n) {
      __builtin_prefetch(b.rows[i + 8].key, 0, 0);
      __builtin_prefetch(b.rows[i + 8].c, 0, 0);
    }
    const FlushRow& r = b.rows[i];
    if (r.overflow) continue;
    if (whole)
      cand_.push_back({reinterpret_cast<const uint64_t*>(r.key),
                       schema_.key_words(r.layout),
                       r.layout,
                       {r.c->bytes, r.c->packets, r.c->flows}});
    Pending& e = ring[queued % kAhead];
    if (queued >= kAhead) flush_one(e);  // the row kAhead before this one
    e.c = r.c;
    for (size_t p = 1; p < np; ++p) {
      if (!tables_[p]) continue;
      project_fast(proj_[p], r.layout, r.key, e.key[p]);
      e.hash[p] = hash_key(e.key[p], proj_[p].words);
      tables_[p]->prefetch(e.hash[p]);
    }
    ++queued;
  }
  for (size_t k = queued > kAhead ? queued - kAhead : 0; k < queued; ++k)
    flush_one(ring[k % kAhead]);
  if (whole) keep(proj_[0], cand_, &iv->sets[0]);
  for (size_t p = 1; p < proj_.size(); ++p) {
    if (!tables_[p]) continue;
    cand_.clear();
    tables_[p]->for_each([&](const uint64_t* k, const AggCounters& c) {
      cand_.push_back({k, proj_[p].words, kWide, {c.bytes, c.packets, c.flows}});
    });
    keep(proj_[p], cand_, &iv->sets[p]);
  }
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
  project_all(b, iv.get());
  ring_.push_back(std::move(iv));
  if (ring_.size() > capacity_) ring_.erase(ring_.begin());
  auto snap = std::make_shared<TopSnapshot>();
  snap->intervals = ring_;
  snap_.store(std::move(snap));
  last_ns_.store(static_cast<uint64_t>(monotonic_ns() - t0), std::memory_order_relaxed);
}

}  // namespace ringflow
