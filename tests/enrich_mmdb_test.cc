// MMDB lookups (src/enrich/mmdb.h) against mmdblookup (Debian mmdb-bin,
// libmaxminddb's own command-line reader) on MMDB files this test writes
// itself with MaxMind::DB::Writer (Debian libmaxmind-db-writer-perl): a
// GeoLite2-ASN-like and a GeoLite2-Country-like database (with city and
// coordinates on some networks), IPv4 and IPv6 networks, nested ones. For
// every address (first, last and a middle address of each network, one
// either side of it, and a few outside everything) each field ringflow
// reads must equal what `mmdblookup --file F --ip A <path>` prints, parsed
// here independently: the number, the string, or "not found" / "no such
// field". Skips (naming what is missing) without perl's writer or
// mmdblookup; scripts/deps.sh --test installs both.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "enrich/mmdb.h"
#include "support/skip.h"

using namespace ringflow;
using namespace ringflow::enrich;

namespace {

struct Run {
  int rc = -1;
  std::string out;
};

Run run(const std::string& cmd) {
  Run r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string missing_tools() {
  std::string missing;
  if (run("perl -MMaxMind::DB::Writer::Tree -e 1").rc != 0)
    missing += "perl's MaxMind::DB::Writer (Debian libmaxmind-db-writer-perl) ";
  if (run("mmdblookup --version").rc != 0) missing += "mmdblookup (Debian mmdb-bin) ";
  return missing;
}

// What mmdblookup says about one field of one address.
struct Field {
  enum Kind { kNotFound, kAbsent, kNumber, kString, kDouble, kError } kind = kError;
  uint64_t number = 0;
  std::string text;
  double real = 0;
};

// Parses mmdblookup's output for a lookup path: "  64500 <uint32>",
// "  \"text\" <utf8_string>", "  48.85 <double>", or its two refusals.
Field mmdblookup(const std::string& file, const std::string& ip, const std::string& path) {
  const Run r = run("mmdblookup --file '" + file + "' --ip '" + ip + "' " + path);
  Field f;
  if (r.out.find("Could not find an entry for this IP address") != std::string::npos) {
    f.kind = Field::kNotFound;
    return f;
  }
  if (r.out.find("The lookup path does not match the data") != std::string::npos) {
    f.kind = Field::kAbsent;
    return f;
  }
  if (r.rc != 0) return f;  // kError: the caller prints r
  std::string s = r.out;
  const size_t a = s.find_first_not_of(" \n");
  const size_t t = s.rfind(" <");
  if (a == std::string::npos || t == std::string::npos || t < a) return f;
  const std::string type = s.substr(t + 2, s.find('>', t) - t - 2);
  const std::string value = s.substr(a, t - a);
  if (type == "utf8_string" && value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    f.kind = Field::kString;
    f.text = value.substr(1, value.size() - 2);
  } else if (type == "uint32" || type == "uint16" || type == "uint64") {
    f.kind = Field::kNumber;
    f.number = std::strtoull(value.c_str(), nullptr, 10);
  } else if (type == "double") {
    f.kind = Field::kDouble;
    f.real = std::strtod(value.c_str(), nullptr);
  }
  return f;
}

struct AsnNet {
  const char* net;
  uint32_t asn;
  const char* org;
};
struct CountryNet {
  const char* net;
  const char* iso;
  const char* city;  // "" for none
  double lat, lon;   // with a city only
};

// Networks nest (1.0.0.0/16 holds 1.0.128.0/20; 2001:db8::/32 holds
// 2001:db8:ab00::/40); strings carry commas and UTF-8.
const AsnNet kAsnNets[] = {
    {"1.0.0.0/16", 64500, "Example Transit, Inc."},
    {"1.0.128.0/20", 64501, "Télécom Ünïon S.A."},
    {"5.5.5.0/24", 64502, "Five"},
    {"100.64.0.0/10", 64503, "Shared Space"},
    {"203.0.113.128/25", 4200000000u, "Four-byte AS"},
    {"223.255.255.255/32", 64504, "Last Host"},
    {"2001:db8::/32", 64510, "Six Net"},
    {"2001:db8:ab00::/40", 64511, "Six Inner"},
    {"2a00:1450::/29", 64512, "Big Six"},
    {"2c0f:ffff:ffff:ffff::/64", 64513, "Edge Six"},
};
const CountryNet kCountryNets[] = {
    {"1.0.0.0/16", "AU", "", 0, 0},
    {"1.0.128.0/20", "TH", "Bangkok", 13.75, 100.5},
    {"5.5.5.0/24", "DE", "", 0, 0},
    {"81.0.0.0/8", "FR", "Paris", 48.8566, 2.3522},
    {"203.0.113.128/25", "JP", "", 0, 0},
    {"2001:db8::/32", "NL", "", 0, 0},
    {"2001:db8:ab00::/40", "BE", "Brussels", 50.85, 4.35},
    {"2a00:1450::/29", "IE", "", 0, 0},
};

const char* kWriter = R"PERL(
use strict; use warnings; use utf8;
use MaxMind::DB::Writer::Tree;
my ($kind, $ipv, $in, $out) = @ARGV;
my %types = (autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string',
  country => 'map', registered_country => 'map', iso_code => 'utf8_string', names => 'map',
  en => 'utf8_string', geoname_id => 'uint32', city => 'map', location => 'map',
  latitude => 'double', longitude => 'double');
my $tree = MaxMind::DB::Writer::Tree->new(ip_version => $ipv, record_size => 28,
  database_type => $kind eq 'asn' ? 'GeoLite2-ASN' : 'GeoLite2-Country',
  languages => ['en'], description => {en => 'ringflow test'},
  map_key_type_callback => sub { $types{$_[0]} }, remove_reserved_networks => 0);
open my $fh, '<:encoding(UTF-8)', $in or die "$in: $!";
while (my $line = <$fh>) {
  chomp $line;
  my @f = split /\t/, $line, -1;
  next if $ipv == 4 && $f[0] =~ /:/;
  if ($kind eq 'asn') {
    $tree->insert_network($f[0], {autonomous_system_number => $f[1] + 0,
                                  autonomous_system_organization => $f[2]});
  } else {
    my %rec = (country => {iso_code => $f[1], geoname_id => 1, names => {en => "Country $f[1]"}},
               registered_country => {iso_code => $f[1]});
    if ($f[2] ne '') {
      $rec{city} = {names => {en => $f[2]}};
      $rec{location} = {latitude => $f[3] + 0.0, longitude => $f[4] + 0.0};
    }
    $tree->insert_network($f[0], \%rec);
  }
}
open my $o, '>:raw', $out or die "$out: $!";
$tree->write_tree($o);
close $o or die;
)PERL";

std::string dir() {
  const std::string d = std::string(RINGFLOW_BINARY_DIR) + "/enrich_mmdb_test.d";
  std::filesystem::create_directories(d);
  return d;
}

// Writes one database and returns its path (the case fails when perl does).
std::string write_db(const std::string& kind, int ip_version) {
  const std::string d = dir();
  // Names of this database's own: ctest -j runs the cases at once.
  const std::string stem = d + "/" + kind + std::to_string(ip_version);
  std::ofstream(stem + ".pl") << kWriter;
  const std::string in = stem + ".tsv";
  {
    std::ofstream o(in);
    if (kind == "asn") {
      for (const auto& n : kAsnNets) o << n.net << '\t' << n.asn << '\t' << n.org << '\n';
    } else {
      for (const auto& n : kCountryNets)
        o << n.net << '\t' << n.iso << '\t' << n.city << '\t' << n.lat << '\t' << n.lon << '\n';
    }
  }
  const std::string out = d + "/" + kind + std::to_string(ip_version) + ".mmdb";
  const Run r = run("perl '" + stem + ".pl' " + kind + " " + std::to_string(ip_version) + " '" +
                    in + "' '" + out + "'");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  return out;
}

// Addresses around each network: first, last, middle, one below, one above;
// and a few outside every network.
std::vector<std::string> addresses(const std::vector<std::string>& nets) {
  std::vector<std::string> out = {"9.9.9.9", "0.0.0.0", "255.255.255.255",
                                  "::2",     "3fff::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
  for (const auto& s : nets) {
    const auto c = Cidr::parse(s);
    REQUIRE(c);
    IpAddr first = c->net, last = c->net;
    for (unsigned bit = c->prefix_len; bit < 128; ++bit)
      last.bytes[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    IpAddr mid = first;
    if (c->prefix_len < 127)
      mid.bytes[c->prefix_len / 8] |= static_cast<uint8_t>(0x80 >> (c->prefix_len % 8));
    auto step = [](IpAddr a, int d) {
      for (int i = 15; i >= 0; --i) {
        const int v = a.bytes[i] + d;
        a.bytes[i] = static_cast<uint8_t>(v);
        if (v >= 0 && v <= 255) break;
      }
      return a;
    };
    for (const IpAddr& a : {first, last, mid, step(first, -1), step(last, +1)}) {
      // Stepping off the IPv4 space leaves the v4-mapped block: skip those.
      if (first.is_v4() != a.is_v4()) continue;
      out.push_back(a.str());
    }
  }
  return out;
}

template <class T, size_t N>
std::vector<std::string> nets_of(const T (&arr)[N]) {
  std::vector<std::string> v;
  for (const auto& n : arr) v.push_back(n.net);
  return v;
}

}  // namespace

TEST_CASE("ASN database: every lookup equals mmdblookup's", "[mmdb]") {
  const std::string missing = missing_tools();
  if (!missing.empty()) RF_SKIP("needs " << missing);
  const std::string path = write_db("asn", 6);
  std::string error;
  auto db = MmdbFile::open(path, &error);
  INFO(error);
  REQUIRE(db);
  CHECK(db->database_type() == "GeoLite2-ASN");
  MmdbReader reader(64);
  size_t found = 0, not_found = 0;
  for (const std::string& ip : addresses(nets_of(kAsnNets))) {
    INFO("address " << ip);
    const IpAddr a = *IpAddr::parse(ip);
    const GeoResult& cached = reader.lookup(*db, a);
    const GeoResult fresh = reader.lookup_uncached(*db, a);
    const Field asn = mmdblookup(path, ip, "autonomous_system_number");
    const Field org = mmdblookup(path, ip, "autonomous_system_organization");
    const Field cc = mmdblookup(path, ip, "country iso_code");
    REQUIRE(asn.kind != Field::kError);
    if (asn.kind == Field::kNotFound) {
      ++not_found;
      CHECK_FALSE(cached.found);
      CHECK(cached.asn == 0);
      CHECK(cached.as_org.empty());
      CHECK(org.kind == Field::kNotFound);
    } else {
      ++found;
      CHECK(cached.found);
      REQUIRE(asn.kind == Field::kNumber);
      CHECK(cached.asn == asn.number);
      REQUIRE(org.kind == Field::kString);
      CHECK(std::string(cached.as_org) == org.text);
      CHECK(cc.kind == Field::kAbsent);  // an ASN database has no country
    }
    CHECK(cached.country_code().empty());
    CHECK(fresh.asn == cached.asn);
    CHECK(fresh.as_org == cached.as_org);
  }
  CHECK(found >= 30);
  CHECK(not_found >= 10);
  // A repeat is served by the cache, with the same answer.
  const uint64_t misses = reader.misses.load();
  CHECK(reader.lookup(*db, *IpAddr::parse("1.0.130.1")).asn == 64501);
  CHECK(reader.misses.load() == misses + 1);  // a new address
  const uint64_t hits = reader.hits.load();
  const GeoResult& again = reader.lookup(*db, *IpAddr::parse("1.0.130.1"));
  CHECK(reader.hits.load() == hits + 1);
  CHECK(again.asn == 64501);
  const GeoResult& again2 = reader.lookup(*db, *IpAddr::parse("1.0.130.1"));
  CHECK(again2.asn == 64501);
  CHECK(reader.hits.load() == hits + 2);
  CHECK(reader.misses.load() == misses + 1);
  for (const auto& e : reader.errors) CHECK(e.load() == 0);
}

TEST_CASE("Country database: country, and city and coordinates only when asked", "[mmdb]") {
  const std::string missing = missing_tools();
  if (!missing.empty()) RF_SKIP("needs " << missing);
  const std::string path = write_db("country", 6);
  std::string error;
  auto db = MmdbFile::open(path, &error);
  REQUIRE(db);
  MmdbReader plain(256);
  MmdbReader full(256, MmdbFields{true, true});
  size_t cities = 0;
  for (const std::string& ip : addresses(nets_of(kCountryNets))) {
    INFO("address " << ip);
    const IpAddr a = *IpAddr::parse(ip);
    const GeoResult& p = plain.lookup(*db, a);
    const GeoResult& f = full.lookup(*db, a);
    const Field cc = mmdblookup(path, ip, "country iso_code");
    const Field asn = mmdblookup(path, ip, "autonomous_system_number");
    REQUIRE(cc.kind != Field::kError);
    if (cc.kind == Field::kNotFound) {
      CHECK_FALSE(p.found);
      CHECK(p.country_code().empty());
      continue;
    }
    CHECK(p.found);
    REQUIRE(cc.kind == Field::kString);
    CHECK(std::string(p.country_code()) == cc.text);
    CHECK(std::string(f.country_code()) == cc.text);
    CHECK(asn.kind == Field::kAbsent);
    CHECK(p.asn == 0);
    CHECK(p.city.empty());  // off by default
    CHECK_FALSE(p.has_location);
    const Field city = mmdblookup(path, ip, "city names en");
    if (city.kind == Field::kAbsent) {
      CHECK(f.city.empty());
      CHECK_FALSE(f.has_location);
      continue;
    }
    ++cities;
    REQUIRE(city.kind == Field::kString);
    CHECK(std::string(f.city) == city.text);
    const Field lat = mmdblookup(path, ip, "location latitude");
    const Field lon = mmdblookup(path, ip, "location longitude");
    REQUIRE(lat.kind == Field::kDouble);
    REQUIRE(lon.kind == Field::kDouble);
    CHECK(f.has_location);
    // mmdblookup prints 6 significant digits.
    CHECK(f.latitude == Approx(lat.real).margin(1e-4));
    CHECK(f.longitude == Approx(lon.real).margin(1e-4));
  }
  CHECK(cities >= 6);
  for (const auto& e : plain.errors) CHECK(e.load() == 0);
  for (const auto& e : full.errors) CHECK(e.load() == 0);
}

TEST_CASE("An IPv4-only database: IPv6 lookups are counted as errors, IPv4 ones work", "[mmdb]") {
  const std::string missing = missing_tools();
  if (!missing.empty()) RF_SKIP("needs " << missing);
  const std::string path = write_db("asn", 4);
  std::string error;
  auto db = MmdbFile::open(path, &error);
  REQUIRE(db);
  CHECK_FALSE(db->has_ipv6());
  MmdbReader r(16);
  const GeoResult& v4 = r.lookup(*db, *IpAddr::parse("5.5.5.5"));
  const Field want = mmdblookup(path, "5.5.5.5", "autonomous_system_number");
  REQUIRE(want.kind == Field::kNumber);
  CHECK(v4.asn == want.number);
  CHECK(v4.prefix_len == 24);
  const GeoResult& v6 = r.lookup(*db, *IpAddr::parse("2001:db8::1"));
  CHECK_FALSE(v6.found);
  CHECK(r.errors[static_cast<size_t>(MmdbError::kIpv6InIpv4Db)].load() == 1);
  // mmdblookup refuses it too.
  const Field six = mmdblookup(path, "2001:db8::1", "autonomous_system_number");
  CHECK(six.kind == Field::kError);
}

TEST_CASE("Opening a file that is not an MMDB fails with the library's reason", "[mmdb]") {
  const std::string p = dir() + "/not.mmdb";
  std::ofstream(p) << "this is not a database\n";
  std::string error;
  CHECK_FALSE(MmdbFile::open(p, &error));
  CHECK(error.find(p + ": ") == 0);
  CHECK(error.find("metadata") != std::string::npos);
  error.clear();
  CHECK_FALSE(MmdbFile::open(dir() + "/absent.mmdb", &error));
  CHECK(error.find("absent.mmdb: ") != std::string::npos);
}
