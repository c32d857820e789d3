#include "filter/filter_expr.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace ringflow::filter {
namespace {

enum class Tok : uint8_t { kEnd, kLParen, kRParen, kLBracket, kRBracket, kComma, kOp, kString, kBare, kBad };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // kBare: as written; kString: unescaped; kOp: the operator; kBad: found
  std::string expected;  // kBad: what the lexer expected
  uint32_t column = 0;
};

bool special(char c) {
  return c == '(' || c == ')' || c == '[' || c == ']' || c == ',' || c == '=' || c == '!' ||
         c == '<' || c == '>' || c == '"' || c == '&' || c == '|';
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

// The next token of text at *pos; a lexical error is a kBad token whose text
// says what was expected.
Token lex(std::string_view t, size_t* pos) {
  size_t i = *pos;
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  Token tok;
  tok.column = static_cast<uint32_t>(i + 1);
  if (i >= t.size()) {
    *pos = i;
    return tok;
  }
  const char c = t[i];
  auto one = [&](Tok k) {
    tok.kind = k;
    tok.text = std::string(1, c);
    *pos = i + 1;
    return tok;
  };
  switch (c) {
    case '(': return one(Tok::kLParen);
    case ')': return one(Tok::kRParen);
    case '[': return one(Tok::kLBracket);
    case ']': return one(Tok::kRBracket);
    case ',': return one(Tok::kComma);
    default: break;
  }
  if (c == '&' || c == '|') {
    if (i + 1 < t.size() && t[i + 1] == c) {
      tok.kind = Tok::kBare;
      tok.text = c == '&' ? "&&" : "||";
      *pos = i + 2;
      return tok;
    }
    tok.kind = Tok::kBad;
    tok.expected = c == '&' ? "'&&'" : "'||'";
    tok.text = c == '&' ? "a lone '&'" : "a lone '|'";
    *pos = i + 1;
    return tok;
  }
  if (c == '=' || c == '!' || c == '<' || c == '>') {
    const bool eq2 = i + 1 < t.size() && t[i + 1] == '=';
    tok.kind = Tok::kOp;
    if (c == '!' && !eq2) {  // "!" alone is "not"
      tok.kind = Tok::kBare;
      tok.text = "!";
      *pos = i + 1;
      return tok;
    }
    tok.text = eq2 ? std::string{c, '='} : std::string(1, c);
    *pos = i + (eq2 ? 2 : 1);
    return tok;
  }
  if (c == '"') {
    std::string s;
    size_t j = i + 1;
    for (; j < t.size() && t[j] != '"'; ++j) {
      if (t[j] == '\\' && j + 1 < t.size()) ++j;
      s += t[j];
    }
    if (j >= t.size()) {
      tok.kind = Tok::kBad;
      tok.expected = "a closing '\"' of the string opened here";
      tok.text = "end of expression";
      *pos = t.size();
      return tok;
    }
    tok.kind = Tok::kString;
    tok.text = std::move(s);
    *pos = j + 1;
    return tok;
  }
  size_t j = i;
  while (j < t.size() && !special(t[j]) && t[j] != ' ' && t[j] != '\t' && t[j] != '\n' && t[j] != '\r') ++j;
  tok.kind = Tok::kBare;
  tok.text = std::string(t.substr(i, j - i));
  *pos = j;
  return tok;
}

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "end of expression";
    case Tok::kString: return "string \"" + t.text + "\"";
    default: return "'" + t.text + "'";
  }
}

// A field of the registry by name.
std::optional<KeyField> field_named(std::string_view name) {
  for (size_t i = 0; i < kKeyFieldCount; ++i)
    if (kKeyFieldInfo[i].name == name) return static_cast<KeyField>(i);
  return std::nullopt;
}

struct ProtoName {
  std::string_view name;
  uint8_t number;
};
constexpr ProtoName kProtocols[] = {{"icmp", 1},  {"igmp", 2}, {"tcp", 6},   {"udp", 17},
                                    {"gre", 47},  {"esp", 50}, {"ah", 51},   {"icmp6", 58},
                                    {"ipv6-icmp", 58}, {"ospf", 89}, {"sctp", 132}};

class Parser {
 public:
  Parser(std::string_view text, Ast* out, ParseError* err) : text_(text), out_(out), err_(err) {
    advance();
  }

  bool run() {
    if (tok_.kind == Tok::kEnd) return fail("a filter (e.g. dst port 443)");
    const int32_t root = parse_or();
    if (root < 0) return false;
    if (tok_.kind != Tok::kEnd) return fail("'and', 'or' or the end of the expression");
    out_->root = root;
    return true;
  }

 private:
  void advance() { tok_ = lex(text_, &pos_); }
  Token peek_next() const {
    size_t p = pos_;
    return lex(text_, &p);
  }
  bool is_word(const Token& t, std::string_view w) const {
    if (t.kind != Tok::kBare) return false;
    if (t.text == "!") return w == "not";
    if (t.text == "&&") return w == "and";
    if (t.text == "||") return w == "or";
    return lower(t.text) == w;
  }
  bool fail(const std::string& expected) { return fail_at(tok_, expected); }
  bool fail_at(const Token& t, const std::string& expected) {
    if (!failed_) {
      failed_ = true;
      err_->column = t.column;
      if (t.kind == Tok::kBad) {
        err_->expected = t.expected;
        err_->found = t.text;
      } else {
        err_->expected = expected;
        err_->found = describe(t);
      }
    }
    return false;
  }
  int32_t add(Node n) {
    out_->nodes.push_back(std::move(n));
    return static_cast<int32_t>(out_->nodes.size() - 1);
  }
  int32_t binary(Node::Kind k, int32_t a, int32_t b, uint32_t column) {
    Node n;
    n.kind = k;
    n.a = a;
    n.b = b;
    n.column = column;
    return add(std::move(n));
  }

  int32_t parse_or() {
    int32_t left = parse_and();
    while (left >= 0 && is_word(tok_, "or")) {
      const uint32_t col = tok_.column;
      advance();
      const int32_t right = parse_and();
      if (right < 0) return -1;
      left = binary(Node::Kind::kOr, left, right, col);
    }
    return left;
  }

  int32_t parse_and() {
    int32_t left = parse_unary();
    while (left >= 0 && is_word(tok_, "and")) {
      const uint32_t col = tok_.column;
      advance();
      const int32_t right = parse_unary();
      if (right < 0) return -1;
      left = binary(Node::Kind::kAnd, left, right, col);
    }
    return left;
  }

  int32_t parse_unary() {
    if (++depth_ > 64) {
      fail("at most 64 nested terms");
      return -1;
    }
    int32_t r;
    if (is_word(tok_, "not")) {
      const uint32_t col = tok_.column;
      advance();
      const int32_t a = parse_unary();
      r = a < 0 ? -1 : binary(Node::Kind::kNot, a, -1, col);
    } else if (tok_.kind == Tok::kLParen) {
      advance();
      r = parse_or();
      if (r >= 0 && tok_.kind != Tok::kRParen) {
        fail("')' or 'and', 'or'");
        r = -1;
      }
      if (r >= 0) advance();
    } else {
      r = parse_term();
    }
    --depth_;
    return r;
  }

  int32_t parse_term() {
    // Bounded, as the nesting is: the compiler recurses over the tree.
    if (++terms_ > 4096) {
      fail("at most 4096 terms in one filter");
      return -1;
    }
    if (tok_.kind != Tok::kBare) {
      fail("a field name, src, dst, not or '('");
      return -1;
    }
    const Token first = tok_;
    const std::string w = lower(first.text);
    auto constant = [&](KeyField f, uint64_t v) {
      advance();
      Node n;
      n.kind = Node::Kind::kCompare;
      n.field = f;
      n.op = Op::kEq;
      n.column = first.column;
      Value val;
      val.number = v;
      val.column = first.column;
      n.values.push_back(val);
      return add(std::move(n));
    };
    if (w == "any") {
      advance();
      Node n;
      n.kind = Node::Kind::kAny;
      n.column = first.column;
      return add(std::move(n));
    }
    if (w == "ipv4" || w == "inet") return constant(KeyField::kIpVersion, 4);
    if (w == "ipv6" || w == "inet6") return constant(KeyField::kIpVersion, 6);

    std::vector<KeyField> fields;
    std::string label = first.text;
    if ((w == "in" || w == "out") && is_word(peek_next(), "if")) {
      advance();
      label = w + " if";
      fields.push_back(w == "in" ? KeyField::kInput : KeyField::kOutput);
      advance();
    } else if (w == "src" || w == "dst") {
      advance();
      if (tok_.kind != Tok::kBare) {
        fail("a field after '" + w + "' (ip, net, port, as, mask, net_role, country...)");
        return -1;
      }
      const std::string name = lower(tok_.text);
      const std::string base = name == "ip" || name == "host" || name == "net" ? "addr" : name;
      const auto f = field_named(w + "_" + base);
      if (!f) {
        fail("a field with " + w + "_ and " + (w == "src" ? "dst" : "src") + "_ forms after '" + w + "' (" +
             sided_names() + ")");
        return -1;
      }
      label = w + " " + tok_.text;
      fields.push_back(*f);
      advance();
    } else {
      const std::string base = w == "ip" || w == "host" || w == "net" ? "addr" : w;
      if (w == "proto") {
        fields.push_back(KeyField::kProtocol);
      } else if (w == "if") {
        fields = {KeyField::kInput, KeyField::kOutput};
      } else if (auto f = field_named(w)) {
        fields.push_back(*f);
      } else if (auto s = field_named("src_" + base), d = field_named("dst_" + base); s && d) {
        fields = {*s, *d};
      } else {
        fail("a field name or a filter keyword (any, ipv4, ipv6, src, dst, ip, net, port, as, "
             "proto, in if, out if, or a key field: " + all_names() + ")");
        return -1;
      }
      advance();
    }
    return parse_rhs(fields, label, first.column);
  }

  static std::string all_names() {
    std::string s;
    for (const KeyFieldInfo& f : kKeyFieldInfo) {
      if (!s.empty()) s.push_back(' ');
      s.append(f.name);
    }
    return s;
  }
  static std::string sided_names() {
    std::string s = "ip net";
    for (const KeyFieldInfo& f : kKeyFieldInfo) {
      if (!f.name.starts_with("src_")) continue;
      const std::string_view base = f.name.substr(4);
      if (base == "addr" || !field_named("dst_" + std::string(base))) continue;
      s.push_back(' ');
      s.append(base);
    }
    return s;
  }

  int32_t parse_rhs(const std::vector<KeyField>& fields, const std::string& label, uint32_t column) {
    const KeyField f0 = fields.front();
    const bool addr = key_field_is_address(f0);
    const bool text = key_field_is_text(f0);
    Op op = Op::kEq;
    const Token op_tok = tok_;
    if (tok_.kind == Tok::kOp) {
      const std::string& o = tok_.text;
      op = o == "=" || o == "==" ? Op::kEq
           : o == "!="           ? Op::kNe
           : o == "<"            ? Op::kLt
           : o == "<="           ? Op::kLe
           : o == ">"            ? Op::kGt
           : o == ">="           ? Op::kGe
                                 : Op::kEq;
      advance();
    } else if (tok_.kind == Tok::kBare) {
      const std::string o = lower(tok_.text);
      if (o == "eq" || o == "ne" || o == "lt" || o == "le" || o == "gt" || o == "ge") {
        op = o == "eq" ? Op::kEq : o == "ne" ? Op::kNe : o == "lt" ? Op::kLt
             : o == "le" ? Op::kLe : o == "gt" ? Op::kGt : Op::kGe;
        advance();
      } else if (o == "in") {
        op = Op::kIn;
        advance();
      } else if (o == "not" && is_word(peek_next(), "in")) {
        op = Op::kNotIn;
        advance();
        advance();
      }
    }
    if ((addr || text) && (op == Op::kLt || op == Op::kLe || op == Op::kGt || op == Op::kGe)) {
      fail_at(op_tok, std::string("'=', '!=', 'in' or 'not in' after '") + label + "' (" +
                          (addr ? "an address" : "a name") + " has no order)");
      return -1;
    }
    Node n;
    n.kind = Node::Kind::kCompare;
    n.field = f0;
    n.op = op;
    n.column = column;
    if (op == Op::kIn || op == Op::kNotIn) {
      if (tok_.kind != Tok::kLBracket) {
        fail("'[' opening the list after '" + label + " in'");
        return -1;
      }
      advance();
      while (tok_.kind != Tok::kRBracket) {
        Value v;
        if (!parse_value(f0, label, &v)) return -1;
        n.values.push_back(std::move(v));
        if (tok_.kind == Tok::kComma) advance();
        if (tok_.kind == Tok::kEnd) {
          fail("']' closing the list of '" + label + "'");
          return -1;
        }
      }
      if (n.values.empty()) {
        fail("at least one value in the list of '" + label + "'");
        return -1;
      }
      advance();
    } else {
      Value v;
      if (!parse_value(f0, label, &v)) return -1;
      n.values.push_back(std::move(v));
    }
    // Two-sided shorthand: either side holds.
    int32_t result = add(n);
    for (size_t i = 1; i < fields.size(); ++i) {
      Node other = out_->nodes[static_cast<size_t>(result)];
      other.field = fields[i];
      const int32_t second = add(std::move(other));
      result = binary(Node::Kind::kOr, result, second, column);
    }
    return result;
  }

  bool parse_value(KeyField f, const std::string& label, Value* v) {
    const KeyFieldInfo& info = key_field_info(f);
    v->column = tok_.column;
    if (key_field_is_address(f)) {
      if (tok_.kind != Tok::kBare)
        return fail("an address or prefix (10.0.0.0/8, 2001:db8::/32) after '" + label + "'");
      const std::string& s = tok_.text;
      const size_t slash = s.find('/');
      auto a = IpAddr::parse(std::string_view(s).substr(0, slash));
      if (!a) return fail("an address or prefix (10.0.0.0/8, 2001:db8::/32) after '" + label + "'");
      unsigned bits = a->is_v4() ? 32 : 128;
      if (slash != std::string::npos) {
        const std::string_view b = std::string_view(s).substr(slash + 1);
        unsigned n = 0;
        auto [p, ec] = std::from_chars(b.data(), b.data() + b.size(), n);
        if (ec != std::errc() || p != b.data() + b.size() || b.empty() || n > bits)
          return fail(std::string("a prefix length of 0..") + (a->is_v4() ? "32" : "128") +
                      " after '/' in '" + label + "'");
        bits = n;
      } else if (lower(label).ends_with("net")) {
        return fail("a prefix (address/length, e.g. 10.0.0.0/8) after '" + label + "'");
      }
      v->bits = static_cast<uint8_t>(a->is_v4() ? 96 + bits : bits);
      v->addr = *a;
      for (unsigned i = 0; i < 16; ++i) {  // clear host bits
        const unsigned bit = i * 8;
        if (bit >= v->bits) v->addr.bytes[i] = 0;
        else if (bit + 8 > v->bits) v->addr.bytes[i] &= static_cast<uint8_t>(0xFF00u >> (v->bits - bit));
      }
      advance();
      return true;
    }
    switch (info.text) {
      case TextKind::kNumber: {
        if (tok_.kind != Tok::kBare) return fail("a number after '" + label + "'");
        const uint64_t max = info.width >= 8 ? UINT64_MAX : (uint64_t{1} << (8 * info.width)) - 1;
        if (f == KeyField::kProtocol) {
          const std::string w = lower(tok_.text);
          for (const ProtoName& p : kProtocols)
            if (p.name == w) {
              v->number = p.number;
              advance();
              return true;
            }
        }
        const std::string& s = tok_.text;
        uint64_t n = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec != std::errc() || p != s.data() + s.size() || n > max)
          return fail("a number in 0.." + std::to_string(max) + " after '" + label + "'" +
                      (f == KeyField::kProtocol ? " (or tcp, udp, icmp, icmp6, gre, esp, ah, sctp)" : ""));
        v->number = n;
        advance();
        return true;
      }
      case TextKind::kName:
        if (tok_.kind != Tok::kString && tok_.kind != Tok::kBare)
          return fail("a name (\"quoted\" or a bare word) after '" + label + "'");
        v->text = tok_.text;
        advance();
        return true;
      case TextKind::kCountry: {
        if (tok_.kind != Tok::kString && tok_.kind != Tok::kBare)
          return fail("a two-letter country code (e.g. \"FR\") after '" + label + "'");
        std::string s = tok_.text;
        for (char& c : s)
          if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        const bool ok = s.empty() || (s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z');
        if (!ok) return fail("a two-letter country code (e.g. \"FR\", or \"\" for unknown) after '" + label + "'");
        v->number = s.empty() ? 0 : uint64_t(uint8_t(s[0])) | uint64_t(uint8_t(s[1])) << 8;
        advance();
        return true;
      }
      case TextKind::kAsSource: {
        if (tok_.kind != Tok::kString && tok_.kind != Tok::kBare)
          return fail("record, networks, mmdb or \"\" after '" + label + "'");
        const std::string s = lower(tok_.text);
        for (size_t i = 0; i < std::size(kAsSourceNames); ++i)
          if (kAsSourceNames[i] == s) {
            v->number = i;
            advance();
            return true;
          }
        return fail("record, networks, mmdb or \"\" after '" + label + "'");
      }
    }
    return fail("a value after '" + label + "'");
  }

  std::string_view text_;
  size_t pos_ = 0;
  Token tok_;
  Ast* out_;
  ParseError* err_;
  bool failed_ = false;
  int depth_ = 0;
  int terms_ = 0;
};

}  // namespace

std::vector<KeyField> Ast::fields() const {
  std::vector<KeyField> r;
  for (const Node& n : nodes)
    if (n.kind == Node::Kind::kCompare && std::find(r.begin(), r.end(), n.field) == r.end())
      r.push_back(n.field);
  return r;
}

std::string ParseError::str() const {
  return "column " + std::to_string(column) + ": expected " + expected + ", found " + found;
}

bool parse(std::string_view text, Ast* out, ParseError* error) {
  *out = Ast{};
  Parser p(text, out, error);
  return p.run();
}

}  // namespace ringflow::filter
