// The filter expression language ([filter] expression, ringflow --filter;
// docs/filter.md): parsing text into a small tree, checked against the key
// field registry (kKeyFieldInfo, include/ringflow/flow_key.h). No field name
// is listed here: `src_net_role`, `dst_port` or a field added to the registry
// later are found by name there, and the value a comparison accepts follows
// from the field's kind (an address, a number, an interned name, a country
// code, an AS source).
//
// Grammar (keywords case-insensitive; nfdump's syntax where it has one):
//   expr    := and ( ("or" | "||") and )*
//   and     := unary ( ("and" | "&&") unary )*
//   unary   := ("not" | "!") unary | "(" expr ")" | term
//   term    := "any" | "ipv4" | "inet" | "ipv6" | "inet6"
//            | [ "src" | "dst" ] NAME rhs      -- shorthand, see below
//            | ("in" | "out") "if" rhs         -- input / output
//            | FIELD rhs                       -- any key field by name
//   rhs     := [ OP ] VALUE | ["not"] "in" "[" VALUE ( [","] VALUE )* "]"
//   OP      := "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | eq ne lt le gt ge
// Shorthand NAMEs: "ip", "host", "net" mean the address (src_addr/dst_addr),
// "proto" means protocol, "if" input/output; any other NAME is the field
// `src_NAME` / `dst_NAME` of the registry (port, as, mask, net_role,
// country...). Without "src"/"dst" a two-sided NAME tests both sides and
// holds when either does (nfdump: `port 80` is src or dst port 80).
// Values: addresses and prefixes (10.0.0.0/8, 2001:db8::/32) for address
// fields; decimal numbers within the field's width (protocol also takes tcp,
// udp, icmp, icmp6, gre, esp, ah, sctp); names as "quoted strings" or bare
// words; countries as two letters (upper-cased); AS sources as record,
// networks, mmdb or "". Addresses and texts take only = != in, not in.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/flow_key.h>
#include <ringflow/ip.h>

namespace ringflow::filter {

enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct Value {
  uint64_t number = 0;  // numbers, countries (two letters, first in the low byte), AS sources
  std::string text;     // TextKind::kName fields: the name (interned by the compiler)
  IpAddr addr;          // address fields: the prefix's address, host bits cleared
  uint8_t bits = 128;   // address fields: prefix length on the 16-byte form (IPv4: 96 + N)
  uint32_t column = 0;  // 1-based, in the expression
};

struct Node {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kCompare, kAny };
  Kind kind = Kind::kAny;
  int32_t a = -1, b = -1;  // children (kAnd, kOr: a and b; kNot: a)
  KeyField field = KeyField::kSrcAddr;  // kCompare
  Op op = Op::kEq;
  std::vector<Value> values;  // kCompare: one, or the list of in / not in
  uint32_t column = 0;
};

struct Ast {
  std::vector<Node> nodes;
  int32_t root = -1;
  // The fields the comparisons read, each once, in first-use order.
  std::vector<KeyField> fields() const;
};

struct ParseError {
  uint32_t column = 0;   // 1-based; the end of the text + 1 at its end
  std::string expected;  // "a value after 'port'"
  std::string found;     // "end of expression", "'foo'"
  // "column N: expected ..., found ..."
  std::string str() const;
};

// Parses `text`. On error returns false, leaves *out unspecified and fills
// *error. An empty (or blank) text is an error: "no filter" is an absent key.
bool parse(std::string_view text, Ast* out, ParseError* error);

// Whether the field takes an address / an interned name (for the compiler).
inline bool is_address_field(KeyField f) { return key_field_is_address(f); }

}  // namespace ringflow::filter
