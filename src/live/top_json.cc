#include "live/top_json.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "aggregate/key_codec.h"

namespace ringflow {
namespace {

constexpr uint32_t kSeriesRows = 10;

void append(std::string* s, const char* fmt, auto... args) {
  char buf[256];
  const int n = std::snprintf(buf, sizeof buf, fmt, args...);
  if (n > 0) s->append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

// Key texts are addresses and numbers: nothing to escape but, in theory, a
// quote or backslash.
void append_string(std::string* s, const char* p, size_t n) {
  s->push_back('"');
  for (size_t i = 0; i < n; ++i) {
    if (p[i] == '"' || p[i] == '\\') s->push_back('\\');
    s->push_back(p[i]);
  }
  s->push_back('"');
}

bool parse_number(const std::string& v, uint32_t lo, uint32_t hi, uint32_t* out) {
  uint64_t n = 0;
  if (v.empty() || v.size() > 9) return false;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n < lo || n > hi) return false;
  *out = static_cast<uint32_t>(n);
  return true;
}

std::string projection_names(const TopKeeper& top) {
  std::string s;
  for (const TopProjection& p : top.projections()) {
    if (!s.empty()) s += ", ";
    s += p.name;
  }
  return s;
}

struct Merged {
  const uint64_t* key;
  uint64_t hash;
  uint64_t v[kTopSorts];
};

bool same_key(const uint64_t* a, const uint64_t* b, uint32_t words) {
  return std::memcmp(a, b, size_t{words} * 8) == 0;
}

// The rows of the window, summed per key: an open-addressing table of
// indices into `out`, sized for every row of the window (load <= 0.5).
void merge(const std::vector<const TopSet*>& sets, uint32_t words, std::vector<Merged>* out) {
  size_t total = 0;
  for (const TopSet* s : sets) total += s->rows.size();
  size_t cap = 16;
  while (cap < total * 2) cap *= 2;
  std::vector<uint32_t> slots(cap, UINT32_MAX);
  out->reserve(total);
  for (const TopSet* s : sets) {
    for (const TopRow& r : s->rows) {
      const uint64_t* key = s->keys.data() + r.key;
      size_t i = r.hash & (cap - 1);
      while (true) {
        uint32_t& slot = slots[i];
        if (slot == UINT32_MAX) {
          slot = static_cast<uint32_t>(out->size());
          out->push_back({key, r.hash, {r.v[0], r.v[1], r.v[2]}});
          break;
        }
        Merged& m = (*out)[slot];
        if (m.hash == r.hash && same_key(m.key, key, words)) {
          for (size_t k = 0; k < kTopSorts; ++k) saturating_add(&m.v[k], r.v[k]);
          break;
        }
        i = (i + 1) & (cap - 1);
      }
    }
  }
}

void append_key(std::string* s, const TopProjection& p, const uint64_t* key) {
  char buf[kMaxFieldText];
  const auto* k = reinterpret_cast<const uint8_t*>(key);
  s->append("\"key\":{");
  std::string label;
  for (size_t i = 0; i < p.schema.fields().size(); ++i) {
    const char* end = format_key_field(p.schema.fields()[i], kWide, k, buf);
    if (i) {
      s->push_back(',');
      label.push_back(' ');
    }
    append(s, "\"%s\":", std::string(p.schema.column(i)).c_str());
    append_string(s, buf, static_cast<size_t>(end - buf));
    label.append(buf, static_cast<size_t>(end - buf));
  }
  s->append("},\"label\":");
  append_string(s, label.data(), label.size());
}

void append_sums(std::string* s, const char* name, const uint64_t* v) {
  append(s, "\"%s\":{\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"flows\":%" PRIu64 "}", name,
         v[0], v[1], v[2]);
}

}  // namespace

bool parse_top_query(const std::vector<std::pair<std::string, std::string>>& args,
                     const TopKeeper& top, TopQuery* q, std::string* error) {
  TopQuery r;
  bool seen[4] = {};
  const char* names[4] = {"by", "sort", "intervals", "limit"};
  for (const auto& [name, value] : args) {
    size_t which = 4;
    for (size_t i = 0; i < 4; ++i)
      if (name == names[i]) which = i;
    if (which == 4) {
      *error = "unknown parameter \"" + name + "\": /api/v1/top takes by, sort, intervals, limit";
      return false;
    }
    if (seen[which]) {
      *error = "parameter \"" + name + "\" given twice";
      return false;
    }
    seen[which] = true;
    if (which == 0) {
      const auto& ps = top.projections();
      size_t at = ps.size();
      for (size_t i = 0; i < ps.size(); ++i)
        if (ps[i].name == value) at = i;
      if (at == ps.size()) {
        *error = "by=" + value + ": unknown projection; expected one of " + projection_names(top);
        return false;
      }
      if (!ps[at].available) {
        std::string need;
        for (const std::string& f : ps[at].needs) need += (need.empty() ? "" : " and ") + f;
        *error = "by=" + value + " needs the key field(s) " + need +
                 " in aggregate.key, which is \"" + top.schema().str() +
                 "\": add them there to rank by " + value;
        return false;
      }
      r.projection = at;
    } else if (which == 1) {
      if (value == "bytes") {
        r.sort = TopSort::kBytes;
      } else if (value == "packets") {
        r.sort = TopSort::kPackets;
      } else if (value == "flows") {
        r.sort = TopSort::kFlows;
      } else {
        *error = "sort=" + value + ": expected bytes, packets or flows";
        return false;
      }
    } else if (which == 2) {
      if (!parse_number(value, 1, top.capacity(), &r.intervals)) {
        *error = "intervals=" + value + ": expected a whole number in 1.." +
                 std::to_string(top.capacity()) + " (metrics.top_intervals)";
        return false;
      }
    } else {
      if (!parse_number(value, 1, top.k(), &r.limit)) {
        *error = "limit=" + value + ": expected a whole number in 1.." + std::to_string(top.k()) +
                 " (metrics.top_k)";
        return false;
      }
    }
  }
  r.limit = std::min(r.limit, top.k());
  *q = r;
  return true;
}

std::string top_json(const TopKeeper& top, const TopQuery& q) {
  const std::shared_ptr<const TopSnapshot> snap = top.snapshot();
  const TopProjection& p = top.projections()[q.projection];
  const size_t sort = static_cast<size_t>(q.sort);
  const auto& all = snap->intervals;
  const size_t used = std::min<size_t>(q.intervals, all.size());
  const size_t first = all.size() - used;

  std::vector<const TopSet*> sets;
  uint64_t totals[kTopSorts] = {}, overflow[kTopSorts] = {};
  bool complete = true;
  for (size_t i = first; i < all.size(); ++i) {
    const TopSet& s = all[i]->sets[q.projection];
    sets.push_back(&s);
    complete &= s.complete();
    for (size_t k = 0; k < kTopSorts; ++k) {
      saturating_add(&totals[k], all[i]->v[k]);
      saturating_add(&overflow[k], all[i]->overflow[k]);
    }
  }
  std::vector<Merged> rows;
  merge(sets, p.words, &rows);
  const size_t shown = std::min<size_t>(q.limit, rows.size());
  const size_t ranked = std::min<size_t>(std::max<size_t>(shown, kSeriesRows), rows.size());
  std::partial_sort(rows.begin(), rows.begin() + static_cast<ptrdiff_t>(ranked), rows.end(),
                    [&](const Merged& a, const Merged& b) {
                      if (a.v[sort] != b.v[sort]) return a.v[sort] > b.v[sort];
                      for (uint32_t w = 0; w < p.words; ++w)
                        if (a.key[w] != b.key[w]) return a.key[w] < b.key[w];
                      return false;
                    });

  std::string s;
  s.reserve(256 + shown * 160 + all.size() * 200);
  s.append("{\"by\":");
  append_string(&s, p.name.data(), p.name.size());
  s.append(",\"fields\":[");
  for (size_t i = 0; i < p.schema.fields().size(); ++i) {
    if (i) s.push_back(',');
    append(&s, "\"%s\"", std::string(p.schema.column(i)).c_str());
  }
  append(&s, "],\"sort\":\"%s\",\"k\":%u,", top_sort_name(q.sort), top.k());
  append(&s, "\"intervals\":{\"requested\":%u,\"used\":%zu,\"kept\":%zu,\"capacity\":%u},",
         q.intervals, used, all.size(), top.capacity());
  append(&s, "\"from_ms\":%" PRId64 ",\"to_ms\":%" PRId64 ",\"complete\":%s,",
         used ? all[first]->start_ms : int64_t{0}, used ? all.back()->end_ms : int64_t{0},
         complete ? "true" : "false");
  append_sums(&s, "totals", totals);
  s.push_back(',');
  append_sums(&s, "overflow", overflow);
  append(&s, ",\"distinct\":%zu,\"rows\":[", rows.size());
  for (size_t i = 0; i < shown; ++i) {
    if (i) s.push_back(',');
    s.push_back('{');
    append_key(&s, p, rows[i].key);
    append(&s, ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"flows\":%" PRIu64 "}",
           rows[i].v[0], rows[i].v[1], rows[i].v[2]);
  }
  // The series: the first kSeriesRows of the window's ranking, over every
  // kept interval (not only the window), by the sort's counter.
  const size_t series = std::min<size_t>(kSeriesRows, rows.size());
  s.append("],\"series\":{\"labels\":[");
  for (size_t r = 0; r < series; ++r) {
    if (r) s.push_back(',');
    std::string one;
    append_key(&one, p, rows[r].key);
    // `one` is "\"key\":{...},\"label\":\"...\"": keep the label's string.
    const size_t at = one.rfind(",\"label\":");
    s.append(one, at + 9, std::string::npos);
  }
  s.append("],\"points\":[");
  for (size_t i = 0; i < all.size(); ++i) {
    const TopSet& set = all[i]->sets[q.projection];
    uint64_t v[kSeriesRows];
    bool found[kSeriesRows] = {};
    for (const TopRow& row : set.rows) {
      for (size_t r = 0; r < series; ++r) {
        if (row.hash == rows[r].hash && !found[r] &&
            same_key(set.keys.data() + row.key, rows[r].key, p.words)) {
          v[r] = row.v[sort];
          found[r] = true;
        }
      }
    }
    if (i) s.push_back(',');
    append(&s, "[%" PRId64, all[i]->end_ms);
    for (size_t r = 0; r < series; ++r) {
      if (found[r]) {
        append(&s, ",%" PRIu64, v[r]);
      } else {
        // Not among the interval's kept rows: 0 when it kept them all.
        s.append(set.complete() ? ",0" : ",null");
      }
    }
    s.push_back(']');
  }
  s.append("]},\"projections\":[");
  for (size_t i = 0; i < top.projections().size(); ++i) {
    const TopProjection& pr = top.projections()[i];
    if (i) s.push_back(',');
    append(&s, "{\"by\":\"%s\",\"fields\":[", pr.name.c_str());
    for (size_t f = 0; f < pr.needs.size(); ++f)
      append(&s, "%s\"%s\"", f ? "," : "", pr.needs[f].c_str());
    append(&s, "],\"available\":%s}", pr.available ? "true" : "false");
  }
  s.append("]}\n");
  return s;
}

}  // namespace ringflow
