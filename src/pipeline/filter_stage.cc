#include "pipeline/filter_stage.h"

#include <algorithm>
#include <cstring>

#include "enrich/names.h"

namespace ringflow {
namespace {

constexpr uint16_t kAcceptLabel = 0xFFFE, kRejectLabel = 0xFFFF;
constexpr size_t kMaxInstructions = 60000;

uint64_t load_le(const uint8_t* p, unsigned width) {
  uint64_t v = 0;
  std::memcpy(&v, p, width);  // little-endian (key_codec.h asserts it)
  return v;
}

}  // namespace

bool FilterProgram::compile(std::string_view text, FilterProgram* out, std::string* error) {
  filter::Ast ast;
  filter::ParseError pe;
  if (!filter::parse(text, &ast, &pe)) {
    *error = pe.str();
    return false;
  }
  return compile(ast, out, error);
}

bool FilterProgram::compile(const filter::Ast& ast, FilterProgram* out, std::string* error) {
  FilterProgram p;
  // The fields read, packed as the aggregation key would pack them (whole
  // addresses: no prefix).
  const std::vector<KeyField> fields = ast.fields();
  std::vector<std::string> names;
  for (KeyField f : fields) names.emplace_back(key_field_info(f).name);
  KeySchema schema;
  if (!KeySchema::parse(names, &schema, error)) return false;
  std::vector<uint8_t> slot_of(kKeyFieldCount, 0);
  for (const KeyFieldSpec& s : schema.fields()) {
    slot_of[static_cast<size_t>(s.field)] = static_cast<uint8_t>(p.slots_.size());
    p.slots_.push_back(Slot{{s.offset[0], s.offset[1]},
                            {key_field_width(s.field, kNarrow), key_field_width(s.field, kWide)}});
  }
  p.packer_.emplace(schema);

  // Emitted backwards: each instruction's targets are emitted before it, so
  // after reversing every jump goes forward.
  std::vector<Insn> rev;
  bool ok = true;
  auto emit_leaf = [&](const filter::Node& n, uint16_t t, uint16_t f) -> uint16_t {
    Insn in{};
    in.slot = slot_of[static_cast<size_t>(n.field)];
    bool negate = n.op == filter::Op::kNe || n.op == filter::Op::kNotIn;
    if (key_field_is_address(n.field)) {
      in.test = Test::kPrefixIn;
      in.first = static_cast<uint32_t>(p.prefixes_.size());
      for (const filter::Value& v : n.values) {
        uint8_t m[16];
        for (unsigned i = 0; i < 16; ++i) {
          const unsigned bit = i * 8;
          m[i] = bit >= v.bits ? 0 : bit + 8 > v.bits ? static_cast<uint8_t>(0xFF00u >> (v.bits - bit)) : 0xFF;
        }
        Prefix pr;
        std::memcpy(&pr.lo, v.addr.bytes.data(), 8);
        std::memcpy(&pr.hi, v.addr.bytes.data() + 8, 8);
        std::memcpy(&pr.mask_lo, m, 8);
        std::memcpy(&pr.mask_hi, m + 8, 8);
        p.prefixes_.push_back(pr);
      }
      in.count = static_cast<uint32_t>(n.values.size());
    } else {
      std::vector<uint64_t> vals;
      for (const filter::Value& v : n.values) {
        if (key_field_info(n.field).text == TextKind::kName) {
          auto id = enrich::names().find(v.text);
          if (!id) id = enrich::names().intern(v.text);
          if (!id) {
            if (ok) *error = "the names table is full: cannot intern \"" + v.text + "\"";
            ok = false;
            return kRejectLabel;
          }
          vals.push_back(*id);
        } else {
          vals.push_back(v.number);
        }
      }
      switch (n.op) {
        case filter::Op::kLt: in.test = Test::kLt; break;
        case filter::Op::kLe: in.test = Test::kLe; break;
        case filter::Op::kGt: in.test = Test::kGt; break;
        case filter::Op::kGe: in.test = Test::kGe; break;
        case filter::Op::kEq:
        case filter::Op::kNe:
        case filter::Op::kIn:
        case filter::Op::kNotIn: {
          std::sort(vals.begin(), vals.end());
          vals.erase(std::unique(vals.begin(), vals.end()), vals.end());
          in.test = vals.size() == 1 ? Test::kEq : Test::kIn;
          break;
        }
      }
      if (in.test == Test::kIn) {
        in.first = static_cast<uint32_t>(p.numbers_.size());
        in.count = static_cast<uint32_t>(vals.size());
        p.numbers_.insert(p.numbers_.end(), vals.begin(), vals.end());
      } else {
        in.imm = vals.front();
      }
    }
    in.on_true = negate ? f : t;
    in.on_false = negate ? t : f;
    if (rev.size() >= kMaxInstructions) {
      if (ok) *error = "the filter is too large (more than " + std::to_string(kMaxInstructions) + " tests)";
      ok = false;
      return kRejectLabel;
    }
    rev.push_back(in);
    return static_cast<uint16_t>(rev.size() - 1);
  };
  // Returns the entry label of node i given where to go when it holds (t)
  // and when not (f).
  auto gen = [&](auto& self, int32_t i, uint16_t t, uint16_t f) -> uint16_t {
    const filter::Node& n = ast.nodes[static_cast<size_t>(i)];
    switch (n.kind) {
      case filter::Node::Kind::kAny: return t;
      case filter::Node::Kind::kNot: return self(self, n.a, f, t);
      case filter::Node::Kind::kAnd: return self(self, n.a, self(self, n.b, t, f), f);
      case filter::Node::Kind::kOr: return self(self, n.a, t, self(self, n.b, t, f));
      case filter::Node::Kind::kCompare: return emit_leaf(n, t, f);
    }
    return f;
  };
  const uint16_t entry = gen(gen, ast.root, kAcceptLabel, kRejectLabel);
  if (!ok) return false;
  // Reverse: old index k -> size-1-k; sentinels -> size (accept), size+1.
  const size_t sz = rev.size();
  auto map = [&](uint16_t l) -> uint16_t {
    if (l == kAcceptLabel) return static_cast<uint16_t>(sz);
    if (l == kRejectLabel) return static_cast<uint16_t>(sz + 1);
    return static_cast<uint16_t>(sz - 1 - l);
  };
  // Backwards emission leaves the entry anywhere (a constant "any" branch
  // may route around the last test emitted): start there.
  for (size_t k = sz; k-- > 0;) {
    Insn in = rev[k];
    in.on_true = map(in.on_true);
    in.on_false = map(in.on_false);
    p.code_.push_back(in);
  }
  p.entry_ = map(entry);
  *out = std::move(p);
  return true;
}

bool FilterProgram::matches(const FlowRecord& r, const FlowContext& ctx) const noexcept {
  uint64_t key[kMaxKeyWords + 1];
  const uint8_t layout = packer_->pack(r, ctx, key);
  const uint8_t* kb = reinterpret_cast<const uint8_t*>(key);
  const size_t n = code_.size();
  size_t pc = entry_;
  while (pc < n) {
    const Insn& in = code_[pc];
    const Slot& s = slots_[in.slot];
    const uint8_t* at = kb + s.offset[layout];
    const unsigned width = s.width[layout];
    bool hit = false;
    switch (in.test) {
      case Test::kEq: hit = load_le(at, width) == in.imm; break;
      case Test::kLt: hit = load_le(at, width) < in.imm; break;
      case Test::kLe: hit = load_le(at, width) <= in.imm; break;
      case Test::kGt: hit = load_le(at, width) > in.imm; break;
      case Test::kGe: hit = load_le(at, width) >= in.imm; break;
      case Test::kIn: {
        if (in.count == 0) break;
        const uint64_t v = load_le(at, width);
        const uint64_t* b = numbers_.data() + in.first;
        const uint64_t* e = b + in.count;
        if (in.count <= 8) {
          for (; b != e && !hit; ++b) hit = *b == v;
        } else {
          hit = std::binary_search(b, e, v);
        }
        break;
      }
      case Test::kPrefixIn: {
        uint64_t lo, hi;
        if (width == 4) {  // narrow: an IPv4 address, host order -> ::ffff:a.b.c.d
          uint32_t v4;
          std::memcpy(&v4, at, 4);
          lo = 0;
          hi = 0xFFFF0000ull | uint64_t{__builtin_bswap32(v4)} << 32;
        } else {
          std::memcpy(&lo, at, 8);
          std::memcpy(&hi, at + 8, 8);
        }
        // The narrow layout holds "no address" (::) as 0.0.0.0: read both as
        // ::, so that the answer never depends on the record's other
        // addresses (which pick the layout).
        if (lo == 0 && hi == 0xFFFF0000ull) hi = 0;
        const Prefix* b = prefixes_.data() + in.first;
        for (const Prefix* e = b + in.count; b != e && !hit; ++b)
          hit = (lo & b->mask_lo) == b->lo && (hi & b->mask_hi) == b->hi;
        break;
      }
    }
    pc = hit ? in.on_true : in.on_false;
  }
  return pc == n;
}

size_t FilterStage::run(FlowRecord* records, size_t n, const FlowContext& ctx) {
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (program_.matches(records[i], ctx) != drop_matching_) {
      if (kept != i) records[kept] = records[i];
      ++kept;
    }
  }
  counters_.kept.fetch_add(kept, std::memory_order_relaxed);
  if (n != kept) counters_.dropped.fetch_add(n - kept, std::memory_order_relaxed);
  return kept;
}

}  // namespace ringflow
