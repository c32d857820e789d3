// The networks file loader (src/enrich/networks_csv.h): valid lines become
// prefixes with interned attributes; every malformed line is reported with
// file:line and what was expected and found, and counted by reason; a
// duplicate is reported with the line it overrides, and the later wins.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "enrich/networks_csv.h"

using namespace ringflow;
using namespace ringflow::enrich;

namespace {

size_t err(const NetworksLoadReport& r, CsvError e) { return r.errors[static_cast<size_t>(e)]; }

bool has_message(const NetworksLoadReport& r, const std::string& needle) {
  for (const auto& m : r.messages) {
    if (m.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("A valid file: header, comments, quotes, optional ASN", "[csv]") {
  const char* text =
      "prefix,name,role,site,region,tenant,asn\n"
      "# our networks\n"
      "\n"
      "10.0.0.0/8,corp,internal,,,,\n"
      "203.0.113.0/24,cust-acme,customer,par1,eu-west,acme,64500\n"
      "198.51.100.7, gw , infra ,par1,eu-west,,AS65001\r\n"
      "2001:db8::/32,\"v6, all\",customer,ams1,eu-west,\"the \"\"big\"\" one\"\n"
      "192.0.2.1,host,,,,,\n";
  Interner strings;
  NetworksBuilder b;
  NetworksLoadReport r;
  parse_networks_csv(text, "nets.csv", strings, b, &r);
  INFO((r.messages.empty() ? std::string() : r.messages.front()));
  CHECK(r.error_count() == 0);
  CHECK(r.lines == 8);
  CHECK(r.prefixes == 5);
  auto n = b.build();
  REQUIRE(n);
  auto at = [&](const char* a) { return n->lookup(*IpAddr::parse(a)); };
  REQUIRE(at("203.0.113.9"));
  const NetAttrs& acme = *at("203.0.113.9");
  CHECK(strings.str(acme.name) == "cust-acme");
  CHECK(strings.str(acme.role) == "customer");
  CHECK(strings.str(acme.site) == "par1");
  CHECK(strings.str(acme.region) == "eu-west");
  CHECK(strings.str(acme.tenant) == "acme");
  CHECK(acme.asn == 64500);
  CHECK(at("10.200.0.1")->asn == 0);
  CHECK(at("10.200.0.1")->site == kEmptyId);
  CHECK(strings.str(at("198.51.100.7")->name) == "gw");  // trimmed
  CHECK(at("198.51.100.7")->asn == 65001);
  CHECK(at("198.51.100.8") == nullptr);
  CHECK(strings.str(at("2001:db8:1::1")->name) == "v6, all");
  CHECK(strings.str(at("2001:db8:1::1")->tenant) == "the \"big\" one");
  CHECK(at("2001:db8:1::1")->asn == 0);  // six fields: no ASN column
  CHECK(strings.str(at("192.0.2.1")->name) == "host");
  CHECK(at("192.0.2.2") == nullptr);
  // Equal strings share one id.
  CHECK(at("203.0.113.9")->role == at("2001:db8:1::1")->role);
}

TEST_CASE("Malformed lines: reported with file:line, expected and found, and counted", "[csv]") {
  const char* text =
      "10.0.0.0/8,ok,,,,,\n"                       // 1
      "10.0.0.0/33,a,,,,,\n"                       // 2 bad prefix
      "not-an-address,a,,,,,\n"                    // 3 bad prefix
      "10.1.0.0/8,a,,,,,\n"                        // 4 host bits
      "2001:db8::1/32,a,,,,,\n"                    // 5 host bits
      "10.2.0.0/16,a,b\n"                          // 6 field count
      "10.3.0.0/16,a,,,,,,,\n"                     // 7 field count
      "10.4.0.0/16,a,,,,,AS\n"                     // 8 bad asn
      "10.5.0.0/16,a,,,,,4294967296\n"             // 9 bad asn
      "10.6.0.0/16,a,,,,,-1\n"                     // 10 bad asn
      "10.7.0.0/16,\"open,,,,,\n"                  // 11 bad quote
      "10.8.0.0/16,a\"b,,,,,\n"                    // 12 bad quote
      "prefix,name,role,site,region,tenant,asn\n"  // 13 a header after data: bad prefix
      "10.9.0.0/16,last,,,,,4294967295\n";         // 14
  Interner strings;
  NetworksBuilder b;
  NetworksLoadReport r;
  parse_networks_csv(text, "nets.csv", strings, b, &r);
  CHECK(r.prefixes == 2);
  CHECK(err(r, CsvError::kBadPrefix) == 3);
  CHECK(err(r, CsvError::kHostBits) == 2);
  CHECK(err(r, CsvError::kFieldCount) == 2);
  CHECK(err(r, CsvError::kBadAsn) == 3);
  CHECK(err(r, CsvError::kBadQuote) == 2);
  CHECK(r.error_count() == 12);
  REQUIRE(r.messages.size() == 12);
  for (const auto& m : r.messages) INFO(m);
  CHECK(r.messages[0] ==
        "nets.csv:2: expected an IPv4 or IPv6 prefix (203.0.113.0/24, 2001:db8::/32), found "
        "\"10.0.0.0/33\"");
  CHECK(r.messages[2] ==
        "nets.csv:4: expected no bits set past the prefix length (10.0.0.0/8), found "
        "\"10.1.0.0/8\"");
  CHECK(has_message(r, "nets.csv:5: expected no bits set past the prefix length (2001:db8::/32)"));
  CHECK(r.messages[4] ==
        "nets.csv:6: expected 7 fields (prefix,name,role,site,region,tenant,asn; asn optional), "
        "found 3 in \"10.2.0.0/16,a,b\"");
  CHECK(has_message(r, "nets.csv:7: expected 7 fields"));
  CHECK(
      has_message(r, "nets.csv:8: expected an AS number 0..4294967295 (or AS64500), found \"AS\""));
  CHECK(has_message(r, "nets.csv:9: expected an AS number"));
  CHECK(has_message(r, "nets.csv:10: expected an AS number"));
  CHECK(has_message(r, "nets.csv:11: expected fields separated by commas"));
  CHECK(has_message(r, "nets.csv:12: expected fields separated by commas"));
  CHECK(has_message(r, "nets.csv:13: expected an IPv4 or IPv6 prefix"));
  auto n = b.build();
  CHECK(n->lookup(*IpAddr::parse("10.9.1.1"))->asn == 4294967295u);
  CHECK(n->lookup(*IpAddr::parse("10.1.1.1"))->name == *strings.find("ok"));
}

TEST_CASE("Duplicates: counted, reported with the line they override, the later wins", "[csv]") {
  const char* text =
      "10.0.0.0/8,first,,,,,\n"
      "10.0.0.0/8,second,,,,,\n"
      "10.0.0.0/8,third,,,,,\n"
      "2001:db8::/32,a,,,,,\n"
      "2001:db8:0::/32,b,,,,,\n";
  Interner strings;
  NetworksBuilder b;
  NetworksLoadReport r;
  parse_networks_csv(text, "n.csv", strings, b, &r);
  CHECK(r.error_count() == 0);
  CHECK(r.duplicates == 3);
  REQUIRE(r.messages.size() == 3);
  CHECK(r.messages[0] == "n.csv:2: duplicate of line 1 (10.0.0.0/8): this later line wins");
  CHECK(r.messages[1] == "n.csv:3: duplicate of line 2 (10.0.0.0/8): this later line wins");
  CHECK(r.messages[2] == "n.csv:5: duplicate of line 4 (2001:db8::/32): this later line wins");
  auto n = b.build();
  CHECK(n->duplicates() == 3);
  CHECK(strings.str(n->lookup(*IpAddr::parse("10.1.2.3"))->name) == "third");
  CHECK(strings.str(n->lookup(*IpAddr::parse("2001:db8::5"))->name) == "b");
}

TEST_CASE("Counting continues past the stored messages, and the file is read from disk", "[csv]") {
  std::string text;
  for (int i = 0; i < 250; ++i) text += "bad line " + std::to_string(i) + "\n";
  text += "192.0.2.0/24,doc,,,,,\n";
  const std::string path = std::string(RINGFLOW_BINARY_DIR) + "/enrich_networks_csv_test.csv";
  { std::ofstream(path) << text; }
  Interner strings;
  NetworksBuilder b;
  NetworksLoadReport r;
  std::string error;
  REQUIRE(load_networks_csv(path, strings, b, &r, &error));
  CHECK(err(r, CsvError::kFieldCount) == 250);
  CHECK(r.messages.size() == NetworksLoadReport::kMaxMessages);
  CHECK(r.messages.back().rfind(path + ":100: ", 0) == 0);
  CHECK(r.prefixes == 1);
  std::remove(path.c_str());
  CHECK_FALSE(load_networks_csv(path, strings, b, &r, &error));
  CHECK(error == path + ": No such file or directory");
}
