// The filter expression parser (src/filter/filter_expr.h): the shorthand
// forms resolve to the registry's fields, every registry field parses in the
// generic form, and every error names the column, what was expected and what
// was found.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "filter/filter_expr.h"

using namespace ringflow;
using filter::Node;

namespace {

filter::Ast ok(const std::string& text) {
  filter::Ast ast;
  filter::ParseError e;
  INFO(text);
  const bool parsed = filter::parse(text, &ast, &e);
  INFO(e.str());
  REQUIRE(parsed);
  return ast;
}

const Node& root(const filter::Ast& a) { return a.nodes[static_cast<size_t>(a.root)]; }
const Node& child(const filter::Ast& a, int32_t i) { return a.nodes[static_cast<size_t>(i)]; }

}  // namespace

TEST_CASE("filter parse: nfdump shorthands resolve to registry fields", "[filter]") {
  auto a = ok("src net 10.0.0.0/8");
  CHECK(root(a).kind == Node::Kind::kCompare);
  CHECK(root(a).field == KeyField::kSrcAddr);
  CHECK(root(a).values[0].bits == 96 + 8);
  CHECK(root(a).values[0].addr == *IpAddr::parse("10.0.0.0"));

  a = ok("SRC NET 10.1.2.3/8");  // keywords in any case, host bits cleared
  CHECK(root(a).values[0].addr == *IpAddr::parse("10.0.0.0"));

  a = ok("port 80");  // either side
  REQUIRE(root(a).kind == Node::Kind::kOr);
  CHECK(child(a, root(a).a).field == KeyField::kSrcPort);
  CHECK(child(a, root(a).b).field == KeyField::kDstPort);
  CHECK(child(a, root(a).b).values[0].number == 80);

  a = ok("proto tcp");
  CHECK(root(a).field == KeyField::kProtocol);
  CHECK(root(a).values[0].number == 6);
  CHECK(ok("proto 17").nodes[0].values[0].number == 17);

  a = ok("in if 3");
  CHECK(root(a).field == KeyField::kInput);
  a = ok("out if 4");
  CHECK(root(a).field == KeyField::kOutput);
  CHECK(ok("if 5").nodes.size() == 3);  // input or output

  a = ok("not src as 65000");
  REQUIRE(root(a).kind == Node::Kind::kNot);
  CHECK(child(a, root(a).a).field == KeyField::kSrcAs);

  a = ok("dst net_role customer");  // src_/dst_ + any registry name
  CHECK(root(a).field == KeyField::kDstNetRole);
  CHECK(root(a).values[0].text == "customer");

  a = ok("port in [80 443, 8080]");
  CHECK(root(a).kind == Node::Kind::kOr);
  CHECK(child(a, root(a).a).op == filter::Op::kIn);
  CHECK(child(a, root(a).a).values.size() == 3);

  a = ok("src port not in [1 2]");
  CHECK(root(a).op == filter::Op::kNotIn);

  a = ok("(port 80 or port 443) and not src net 2001:db8::/32");
  REQUIRE(root(a).kind == Node::Kind::kAnd);
  const Node& n = child(a, child(a, root(a).b).a);
  CHECK(n.field == KeyField::kSrcAddr);
  CHECK(n.values[0].bits == 32);

  a = ok("src_country = fr");
  CHECK(root(a).values[0].number == (uint64_t{'F'} | uint64_t{'R'} << 8));
  CHECK(ok("dst_as_source = networks").nodes[0].values[0].number == 2);
  CHECK(ok("ipv6").nodes[0].field == KeyField::kIpVersion);
  CHECK(ok("tos >= 8 && ! protocol == 1 || any").nodes.size() == 6);
  CHECK(ok("dst_port gt 1023").nodes[0].op == filter::Op::kGt);
  CHECK(ok("src_net = \"a \\\"quoted\\\" name\"").nodes[0].values[0].text == "a \"quoted\" name");
  CHECK(ok("host fe80::1").nodes.size() == 3);
}

TEST_CASE("filter parse: every key field of the registry in the generic form", "[filter]") {
  for (const KeyFieldInfo& info : kKeyFieldInfo) {
    const KeyField f = static_cast<KeyField>(&info - kKeyFieldInfo);
    std::string value;
    if (key_field_is_address(f)) value = "192.0.2.0/24";
    else if (info.text == TextKind::kName) value = "\"some name\"";
    else if (info.text == TextKind::kCountry) value = "DE";
    else if (info.text == TextKind::kAsSource) value = "mmdb";
    else value = "1";
    const auto a = ok(std::string(info.name) + " = " + value);
    CHECK(root(a).kind == Node::Kind::kCompare);
    CHECK(root(a).field == f);
    CHECK(ok(std::string(info.name) + " != " + value).nodes[0].op == filter::Op::kNe);
  }
}

TEST_CASE("filter parse: errors name the column, the expectation and what was found", "[filter]") {
  struct Case {
    std::string text;
    uint32_t column;
    std::string expected;  // a substring of ParseError::expected
    std::string found;     // a substring of ParseError::found
  };
  const std::string deep = std::string(70, '(') + "any" + std::string(70, ')');
  std::string wide = "any";
  for (int i = 0; i < 5000; ++i) wide += " or any";
  const Case cases[] = {
      {"", 1, "a filter", "end of expression"},
      {"   ", 4, "a filter", "end of expression"},
      {"dst port", 9, "a number after 'dst port'", "end of expression"},
      {"src net 10.0.0.0", 9, "a prefix (address/length", "'10.0.0.0'"},
      {"src net 10.0.0.0/33", 9, "prefix length of 0..32", "'10.0.0.0/33'"},
      {"dst net 2001:db8::/129", 9, "prefix length of 0..128", "'2001:db8::/129'"},
      {"ip 10.0.0.300", 4, "an address or prefix", "'10.0.0.300'"},
      {"port 80 and", 12, "a field name", "end of expression"},
      {"(port 80", 9, "')'", "end of expression"},
      {"port 70000", 6, "a number in 0..65535", "'70000'"},
      {"proto tcpx", 7, "or tcp, udp", "'tcpx'"},
      {"src foo 1", 5, "a field with src_ and dst_ forms", "'foo'"},
      {"bogus = 1", 1, "a field name or a filter keyword", "'bogus'"},
      {"src_addr < 10.0.0.1", 10, "'=', '!=', 'in' or 'not in'", "'<'"},
      {"src_net_role >= x", 14, "'=', '!=', 'in' or 'not in'", "'>='"},
      {"port in [80 443", 16, "']' closing the list", "end of expression"},
      {"port in []", 10, "at least one value", "']'"},
      {"port in 80", 9, "'['", "'80'"},
      {"src_country = FRA", 15, "a two-letter country code", "'FRA'"},
      {"src_as_source = bgp", 17, "record, networks, mmdb", "'bgp'"},
      {"src_net_role = \"cust", 16, "a closing '\"'", "end of expression"},
      {"port 80 & port 81", 9, "'&&'", "a lone '&'"},
      {"port 80 | port 81", 9, "'||'", "a lone '|'"},
      {"port 80 port 81", 9, "'and', 'or' or the end", "'port'"},
      {"not", 4, "a field name", "end of expression"},
      {"ip 10.0.0.1/x", 4, "prefix length of 0..32", "'10.0.0.1/x'"},
      {"port ! 80", 6, "a number in 0..65535 after 'port'", "'!'"},
      {"src_as = \"1\"", 10, "a number after 'src_as'", "string \"1\""},
      {"src", 4, "a field after 'src'", "end of expression"},
      {") any", 1, "a field name", "')'"},
      {"src_net_role = (", 16, "a name", "'('"},
      {deep, 65, "at most 64 nested", "'('"},
      {wide, 4097 * 7 - 6, "at most 4096 terms", "'any'"},
  };
  for (const Case& c : cases) {
    filter::Ast ast;
    filter::ParseError e;
    INFO("expression: " << c.text);
    REQUIRE_FALSE(filter::parse(c.text, &ast, &e));
    INFO("error: " << e.str());
    CHECK(e.column == c.column);
    CHECK(e.expected.find(c.expected) != std::string::npos);
    CHECK(e.found.find(c.found) != std::string::npos);
    CHECK(e.str().rfind("column " + std::to_string(c.column) + ": expected ", 0) == 0);
  }
}

TEST_CASE("filter parse: garbage and token soup never crash, errors point inside the text",
          "[filter]") {
  std::mt19937_64 g(23);
  const char* const words[] = {"src", "dst", "net", "port", "in", "not", "and", "or", "(", ")",
                               "[", "]", ",", "=", "!=", "<", ">=", "!", "&&", "||", "&", "|",
                               "\"", "\"x y\"", "10.0.0.0/8", "::1", "80", "tcp", "if", "out",
                               "src_net_role", "src_country", "FR", "any", "ipv6", "99999999999"};
  size_t parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    if (i % 2) {
      const size_t n = g() % 40;
      for (size_t k = 0; k < n; ++k) text.push_back(static_cast<char>(g() % 256));
    } else {
      const size_t n = 1 + g() % 12;
      for (size_t k = 0; k < n; ++k) {
        if (k) text.push_back(g() % 4 ? ' ' : '\t');
        text += words[g() % std::size(words)];
      }
    }
    filter::Ast ast;
    filter::ParseError e;
    if (filter::parse(text, &ast, &e)) {
      ++parsed;
      REQUIRE(ast.root >= 0);
      REQUIRE(static_cast<size_t>(ast.root) < ast.nodes.size());
      continue;
    }
    INFO("expression: " << text << " error: " << e.str());
    REQUIRE(e.column >= 1);
    REQUIRE(e.column <= text.size() + 1);
    REQUIRE_FALSE(e.expected.empty());
    REQUIRE_FALSE(e.found.empty());
  }
  CHECK(parsed > 0);
}
