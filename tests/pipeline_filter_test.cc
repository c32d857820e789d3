// The compiled filter (src/pipeline/filter_stage.h) against a reference: a
// direct interpreter of the parsed tree written here, which reads each field
// from the FlowRecord itself and compares names as strings (the program
// packs the fields with the key codec and compares interned ids). Random
// expressions over every field the reference knows, shorthands included,
// on random records; then the stage's keep/drop, order and counters.
#include <catch2/catch.hpp>

#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "enrich/names.h"
#include "filter/filter_expr.h"
#include "pipeline/filter_stage.h"

using namespace ringflow;

namespace {

// --- the reference -------------------------------------------------------

struct RefValue {
  bool addr = false, text = false;
  IpAddr a;
  uint64_t n = 0;
  std::string s;
};

std::string name_of(uint32_t id) { return std::string(enrich::names().str(id)); }

// A field's value read straight from the record; nullopt for a field this
// reference does not know (the generator then leaves it out).
std::optional<RefValue> ref_field(KeyField f, const FlowRecord& r, const FlowContext& c) {
  RefValue v;
  auto num = [&](uint64_t x) { v.n = x; return v; };
  auto adr = [&](const IpAddr& x) { v.addr = true; v.a = x; return v; };
  auto txt = [&](uint32_t id) { v.text = true; v.s = name_of(id); return v; };
  const enrich::NetTuple sn = enrich::net_tuple(r.enrich[kEnrichSrcNet]);
  const enrich::NetTuple dn = enrich::net_tuple(r.enrich[kEnrichDstNet]);
  switch (f) {
    case KeyField::kSrcAddr: return adr(r.src);
    case KeyField::kDstAddr: return adr(r.dst);
    case KeyField::kNextHop: return adr(r.nexthop);
    case KeyField::kExporter: return adr(c.exporter);
    case KeyField::kSrcPort: return num(r.src_port);
    case KeyField::kDstPort: return num(r.dst_port);
    case KeyField::kProtocol: return num(r.protocol);
    case KeyField::kTos: return num(r.tos);
    case KeyField::kTcpFlags: return num(r.tcp_flags);
    case KeyField::kInput: return num(r.input);
    case KeyField::kOutput: return num(r.output);
    case KeyField::kSrcAs: return num(r.src_as);
    case KeyField::kDstAs: return num(r.dst_as);
    case KeyField::kSrcMask: return num(r.src_mask);
    case KeyField::kDstMask: return num(r.dst_mask);
    case KeyField::kEngineType: return num(c.domain >> 8 & 0xFF);
    case KeyField::kEngineId: return num(c.domain & 0xFF);
    case KeyField::kIpVersion: return num(r.ip_version);
    case KeyField::kDirection: return num(r.direction);
    case KeyField::kVlan: return num(r.vlan);
    case KeyField::kDomain: return num(c.domain);
    case KeyField::kSampler: return num(r.sampler_id);
    case KeyField::kVersion: return num(c.version);
    case KeyField::kSampling: return num(r.sampling);
    case KeyField::kSrcNet: return txt(sn.name);
    case KeyField::kDstNet: return txt(dn.name);
    case KeyField::kSrcNetRole: return txt(sn.role);
    case KeyField::kDstNetRole: return txt(dn.role);
    case KeyField::kSrcNetSite: return txt(sn.site);
    case KeyField::kDstNetSite: return txt(dn.site);
    case KeyField::kSrcNetRegion: return txt(sn.region);
    case KeyField::kDstNetRegion: return txt(dn.region);
    case KeyField::kSrcNetTenant: return txt(sn.tenant);
    case KeyField::kDstNetTenant: return txt(dn.tenant);
    case KeyField::kSrcAsName: return txt(enrich::as_names().get(r.src_as));
    case KeyField::kDstAsName: return txt(enrich::as_names().get(r.dst_as));
    case KeyField::kSrcCountry: return num(r.enrich[kEnrichSrcCountry]);
    case KeyField::kDstCountry: return num(r.enrich[kEnrichDstCountry]);
    case KeyField::kSrcAsSource: return num(r.as_sources >> kFlowSrcAsSourceShift & 3u);
    case KeyField::kDstAsSource: return num(r.as_sources >> kFlowDstAsSourceShift & 3u);
    default: return std::nullopt;  // a field added later: not generated
  }
}

// 0.0.0.0 and :: both read as "no address" (16 zero bytes), whatever the
// layout the record's other addresses choose (docs/filter.md).
bool in_prefix(IpAddr a, const filter::Value& p) {
  if (a == *IpAddr::parse("0.0.0.0")) a = IpAddr{};
  for (unsigned bit = 0; bit < p.bits; ++bit) {
    const unsigned byte = bit / 8, mask = 0x80u >> (bit % 8);
    if ((a.bytes[byte] & mask) != (p.addr.bytes[byte] & mask)) return false;
  }
  return true;
}

bool ref_compare(const filter::Node& n, const RefValue& v) {
  auto eq = [&](const filter::Value& x) {
    return v.addr ? in_prefix(v.a, x) : v.text ? v.s == x.text : v.n == x.number;
  };
  bool any = false;
  for (const auto& x : n.values) any = any || eq(x);
  const uint64_t imm = n.values[0].number;
  switch (n.op) {
    case filter::Op::kEq:
    case filter::Op::kIn: return any;
    case filter::Op::kNe:
    case filter::Op::kNotIn: return !any;
    case filter::Op::kLt: return v.n < imm;
    case filter::Op::kLe: return v.n <= imm;
    case filter::Op::kGt: return v.n > imm;
    case filter::Op::kGe: return v.n >= imm;
  }
  return false;
}

bool ref_eval(const filter::Ast& ast, int32_t i, const FlowRecord& r, const FlowContext& c) {
  const filter::Node& n = ast.nodes[static_cast<size_t>(i)];
  switch (n.kind) {
    case filter::Node::Kind::kAny: return true;
    case filter::Node::Kind::kNot: return !ref_eval(ast, n.a, r, c);
    case filter::Node::Kind::kAnd: return ref_eval(ast, n.a, r, c) && ref_eval(ast, n.b, r, c);
    case filter::Node::Kind::kOr: return ref_eval(ast, n.a, r, c) || ref_eval(ast, n.b, r, c);
    case filter::Node::Kind::kCompare: return ref_compare(n, *ref_field(n.field, r, c));
  }
  return false;
}

// --- random records and expressions --------------------------------------

const char* const kV4[] = {"10.0.0.1", "10.1.2.3", "10.200.0.9", "192.0.2.1", "192.0.2.200",
                           "198.51.100.7", "0.0.0.0"};
const char* const kV6[] = {"2001:db8::1", "2001:db8:1::5", "fe80::1", "::"};
const char* const kPrefixes[] = {"10.0.0.0/8",    "10.1.0.0/16",   "192.0.2.0/24", "192.0.2.128/25",
                                 "0.0.0.0/0",     "10.0.0.1",      "192.0.2.1/32", "2001:db8::/32",
                                 "2001:db8:1::/48", "::/0",       "fe80::1",      "198.51.100.7"};
const uint64_t kNumbers[] = {0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 17, 22, 53, 80, 184, 255, 443, 8080, 64512, 65000, 65535};
const char* const kNames[] = {"", "clients", "customer", "transit", "par1", "Example Org", "nowhere"};
const char* const kCountries[] = {"\"\"", "FR", "us", "DE"};
const char* const kSources[] = {"\"\"", "record", "networks", "mmdb"};

struct World {
  std::vector<uint16_t> tuples{0};
  World() {
    auto id = [](const char* s) { return *enrich::names().intern(s); };
    tuples.push_back(*enrich::intern_net_tuple({id("clients"), id("customer"), id("par1"), 0, 0}));
    tuples.push_back(*enrich::intern_net_tuple({id("transit"), id("transit"), 0, 0, id("Example Org")}));
    tuples.push_back(*enrich::intern_net_tuple({id("clients"), id("customer"), 0, 0, 0}));
    enrich::as_names().set(65000, id("Example Org"));
  }
};

template <class T, size_t N>
const T& pick(std::mt19937_64& g, const T (&a)[N]) {
  return a[g() % N];
}

void random_record(std::mt19937_64& g, const World& w, FlowRecord* r, FlowContext* c) {
  *r = FlowRecord{};
  auto addr = [&](bool v6) { return *IpAddr::parse(v6 ? pick(g, kV6) : pick(g, kV4)); };
  const bool v6 = g() % 4 == 0;
  r->src = addr(v6);
  r->dst = addr(g() % 8 == 0 ? !v6 : v6);  // now and then a mixed record: the wide layout
  r->nexthop = addr(g() % 2 == 0);
  r->ip_version = v6 ? 6 : 4;
  auto n = [&](uint64_t max) { return pick(g, kNumbers) & max; };
  r->src_port = static_cast<uint16_t>(n(0xFFFF));
  r->dst_port = static_cast<uint16_t>(n(0xFFFF));
  r->protocol = static_cast<uint8_t>(n(0xFF));
  r->tos = static_cast<uint8_t>(n(0xFF));
  r->tcp_flags = static_cast<uint8_t>(n(0xFF));
  r->input = static_cast<uint32_t>(n(0xFFFFFFFF));
  r->output = static_cast<uint32_t>(n(0xFFFFFFFF));
  r->src_as = static_cast<uint32_t>(n(0xFFFFFFFF));
  r->dst_as = static_cast<uint32_t>(n(0xFFFFFFFF));
  r->src_mask = static_cast<uint8_t>(n(0xFF));
  r->dst_mask = static_cast<uint8_t>(n(0xFF));
  r->direction = g() % 3 == 0 ? kDirectionUnknown : static_cast<uint8_t>(g() % 2);
  r->vlan = static_cast<uint16_t>(n(0xFFFF));
  r->sampler_id = static_cast<uint32_t>(n(0xFFFFFFFF));
  r->sampling = static_cast<uint32_t>(n(0xFFFFFFFF)) | 1u;
  r->enrich[kEnrichSrcNet] = w.tuples[g() % w.tuples.size()];
  r->enrich[kEnrichDstNet] = w.tuples[g() % w.tuples.size()];
  const uint16_t codes[] = {0, 'F' | 'R' << 8, 'U' | 'S' << 8, 'D' | 'E' << 8};
  r->enrich[kEnrichSrcCountry] = pick(g, codes);
  r->enrich[kEnrichDstCountry] = pick(g, codes);
  r->as_sources = static_cast<uint8_t>(g() % 16);
  c->exporter = addr(g() % 3 == 0);
  c->domain = static_cast<uint32_t>(g() % 3 == 0 ? 0x0102 : g() % 5);
  const uint8_t versions[] = {5, 9, 10};
  c->version = pick(g, versions);
}

std::string random_value(std::mt19937_64& g, KeyField f) {
  const KeyFieldInfo& info = key_field_info(f);
  if (key_field_is_address(f)) return pick(g, kPrefixes);
  switch (info.text) {
    case TextKind::kName: {
      const std::string s = pick(g, kNames);
      return g() % 2 == 0 && !s.empty() && s.find(' ') == std::string::npos ? s : "\"" + s + "\"";
    }
    case TextKind::kCountry: return pick(g, kCountries);
    case TextKind::kAsSource: return pick(g, kSources);
    case TextKind::kNumber: break;
  }
  const uint64_t max = (uint64_t{1} << (8 * info.width)) - 1;
  return std::to_string(pick(g, kNumbers) & max);
}

std::string random_rhs(std::mt19937_64& g, KeyField f) {
  const bool ordered = !key_field_is_address(f) && !key_field_is_text(f);
  const char* const eq_ops[] = {"", "=", "==", "!=", "eq", "ne"};
  const char* const ord_ops[] = {"<", "<=", ">", ">=", "lt", "ge"};
  const unsigned kind = static_cast<unsigned>(g() % 4);
  if (kind == 0) {
    std::string s = g() % 2 ? " in [" : " not in [";
    const size_t k = 1 + g() % 12;
    for (size_t i = 0; i < k; ++i) s += (i ? (g() % 2 ? " " : ", ") : "") + random_value(g, f);
    return s + "]";
  }
  if (kind == 1 && ordered) return std::string(" ") + pick(g, ord_ops) + " " + random_value(g, f);
  const std::string op = pick(g, eq_ops);
  return (op.empty() ? " " : " " + op + " ") + random_value(g, f);
}

std::string random_term(std::mt19937_64& g, const std::vector<KeyField>& known) {
  switch (g() % 10) {
    case 0: return g() % 2 ? "port" + random_rhs(g, KeyField::kSrcPort)
                           : std::string(g() % 2 ? "src" : "dst") + " port" + random_rhs(g, KeyField::kSrcPort);
    case 1: {
      const char* const words[] = {"net", "ip", "host", "src net", "dst ip", "src host"};
      const std::string w = pick(g, words);
      if (w.ends_with("net")) {  // net takes prefixes only
        const char* const nets[] = {"10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32", "::/0", "192.0.2.0/25"};
        return w + (g() % 2 ? " != " : " ") + pick(g, nets);
      }
      return w + random_rhs(g, KeyField::kSrcAddr);
    }
    case 2: {
      const char* const p[] = {"tcp", "udp", "icmp", "17", "gre", "6"};
      return std::string("proto ") + pick(g, p);
    }
    case 3: {
      const char* const w[] = {"as", "src as", "dst as", "in if", "out if", "if"};
      return std::string(pick(g, w)) + random_rhs(g, KeyField::kSrcAs);
    }
    case 4: {
      const char* const w[] = {"ipv4", "ipv6", "inet", "any"};
      return pick(g, w);
    }
    case 5: {
      const char* const w[] = {"src net_role", "dst net_site", "net_tenant", "src as_name", "dst country", "country"};
      const char* word = pick(g, w);
      const KeyField f = std::string_view(word).ends_with("country") ? KeyField::kSrcCountry : KeyField::kSrcNet;
      return word + random_rhs(g, f);
    }
    default: {
      const KeyField f = known[g() % known.size()];
      return std::string(key_field_info(f).name) + random_rhs(g, f);
    }
  }
}

std::string random_expr(std::mt19937_64& g, const std::vector<KeyField>& known, int depth) {
  if (depth == 0) return random_term(g, known);
  switch (g() % 6) {
    case 0: {
      std::string s = g() % 2 ? "not " : "! ";
      s.append(random_expr(g, known, depth - 1));
      return s;
    }
    case 1: {
      std::string s = "(";
      s.append(random_expr(g, known, depth - 1));
      s.push_back(')');
      return s;
    }
    case 2: return random_expr(g, known, depth - 1) + (g() % 2 ? " and " : " && ") + random_expr(g, known, depth - 1);
    case 3: return random_expr(g, known, depth - 1) + (g() % 2 ? " or " : " || ") + random_expr(g, known, depth - 1);
    default: return random_term(g, known);
  }
}

}  // namespace

TEST_CASE("filter: the compiled program agrees with a direct interpreter", "[pipeline][filter]") {
  const World world;
  std::vector<KeyField> known;
  {
    FlowRecord r;
    FlowContext c;
    for (size_t i = 0; i < kKeyFieldCount; ++i)
      if (ref_field(static_cast<KeyField>(i), r, c)) known.push_back(static_cast<KeyField>(i));
  }
  REQUIRE(known.size() >= 40);
  std::mt19937_64 g(20261207);
  std::vector<FlowRecord> recs(300);
  std::vector<FlowContext> ctxs(300);
  for (size_t i = 0; i < recs.size(); ++i) random_record(g, world, &recs[i], &ctxs[i]);
  size_t matched = 0, evaluated = 0, expressions = 0;
  for (int e = 0; e < 3000; ++e) {
    const std::string text = random_expr(g, known, 1 + static_cast<int>(g() % 4));
    INFO("expression: " << text);
    filter::Ast ast;
    filter::ParseError pe;
    const bool parsed = filter::parse(text, &ast, &pe);
    INFO("parse: " << pe.str());
    REQUIRE(parsed);
    FilterProgram prog;
    std::string err;
    REQUIRE(FilterProgram::compile(ast, &prog, &err));
    ++expressions;
    for (size_t i = 0; i < recs.size(); ++i) {
      const bool want = ref_eval(ast, ast.root, recs[i], ctxs[i]);
      const bool got = prog.matches(recs[i], ctxs[i]);
      if (want != got) {
        FAIL_CHECK("record " << i << ": src " << recs[i].src.str() << " dst " << recs[i].dst.str()
                             << " ports " << recs[i].src_port << "/" << recs[i].dst_port
                             << ": reference " << want << ", program " << got);
        break;
      }
      matched += got;
      ++evaluated;
    }
  }
  // Both outcomes are exercised, not a filter that is always true or false.
  CHECK(matched > evaluated / 10);
  CHECK(matched < evaluated * 9 / 10);
  CHECK(expressions == 3000);
}

TEST_CASE("filter: precedence and shorthands on known records", "[pipeline][filter]") {
  FlowRecord web;
  web.src = *IpAddr::parse("10.1.2.3");
  web.dst = *IpAddr::parse("192.0.2.1");
  web.ip_version = 4;
  web.src_port = 40000;
  web.dst_port = 443;
  web.protocol = 6;
  web.src_as = 65000;
  FlowRecord dns = web;
  dns.dst_port = 53;
  dns.protocol = 17;
  dns.src = *IpAddr::parse("2001:db8::7");
  dns.ip_version = 6;
  const FlowContext ctx;
  struct Case {
    const char* text;
    bool web, dns;
  };
  const Case cases[] = {
      {"port 443", true, false},
      {"dst port 53 or port 443 and proto udp", false, true},  // and binds tighter
      {"(dst port 53 or port 443) and proto udp", false, true},
      {"(dst port 53 or port 443) and proto tcp", true, false},
      {"src net 10.0.0.0/8 and proto tcp", true, false},
      {"not src as 65000", false, false},
      {"src net 2001:db8::/32", false, true},
      {"src net 0.0.0.0/0", true, false},  // an IPv4 prefix never holds an IPv6 address
      {"port in [80 443]", true, false},
      {"dst_port >= 443", true, false},
      {"ipv6 || dst ip 192.0.2.1", true, true},
      {"not not any", true, true},
      {"any and not any", false, false},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    FilterProgram p;
    std::string err;
    REQUIRE(FilterProgram::compile(c.text, &p, &err));
    CHECK(p.matches(web, ctx) == c.web);
    CHECK(p.matches(dns, ctx) == c.dns);
  }
}

TEST_CASE("filter stage: keeps or drops in order, and counts", "[pipeline][filter]") {
  FilterProgram p;
  std::string err;
  REQUIRE(FilterProgram::compile("dst port in [80 443]", &p, &err));
  std::vector<FlowRecord> rs(10);
  for (size_t i = 0; i < rs.size(); ++i) {
    rs[i].dst_port = i % 3 == 0 ? 443 : static_cast<uint16_t>(1000 + i);
    rs[i].src_port = static_cast<uint16_t>(i);
  }
  FilterCounters counters;
  FilterStage keep(p, false, counters);
  std::vector<FlowRecord> a = rs;
  const size_t kept = keep.run(a.data(), a.size(), FlowContext{});
  REQUIRE(kept == 4);
  for (size_t i = 0; i < kept; ++i) CHECK(a[i].src_port == i * 3);  // order kept
  CHECK(counters.kept.load() == 4);
  CHECK(counters.dropped.load() == 6);

  FilterCounters dc;
  FilterStage drop(p, true, dc);
  std::vector<FlowRecord> b = rs;
  REQUIRE(drop.run(b.data(), b.size(), FlowContext{}) == 6);
  CHECK(b[0].src_port == 1);
  CHECK(b[5].src_port == 8);
  CHECK(dc.kept.load() == 6);
  CHECK(dc.dropped.load() == 4);

  FilterProgram bad;
  CHECK_FALSE(FilterProgram::compile("dst port in [80", &bad, &err));
  CHECK(err == "column 16: expected ']' closing the list of 'dst port', found end of expression");
}

TEST_CASE("filter stage: registered after the stages that add fields, before --print-flows",
          "[pipeline][filter]") {
  FilterProgram p;
  std::string err;
  REQUIRE(FilterProgram::compile("proto tcp", &p, &err));
  FilterCounters counters;
  Config cfg;
  cfg.filter.expression = "proto tcp";
  cfg.filter.action = "drop";
  RecordStageOptions opts;
  opts.filter = &p;
  opts.filter_counters = &counters;
  opts.print_flows = stdout;
  RecordStageChain chain = make_record_stages(cfg, opts);
  REQUIRE(chain.size() == 2);
  CHECK(std::string(chain.stage(0).name()) == "filter");
  CHECK(std::string(chain.stage(1).name()) != "filter");
  // action = "drop": a TCP record is dropped by the chain, so not printed.
  FlowRecord r;
  r.protocol = 6;
  CHECK(chain.run(&r, 1, FlowContext{}) == 0);
  CHECK(counters.dropped.load() == 1);
}
