// Templates to all (src/forward/template_copy.h): the copy a balance-mode
// forward sends to the targets that do not own a stream holds exactly the
// template, options-template and options-data sets of a hand-built v9 or
// IPFIX datagram, in order, with the header's count (v9) or length (IPFIX)
// fixed, and never a flow data set.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "forward/template_copy.h"
#include "wire/bytes.h"

using namespace ringflow;

namespace {

using Bytes = std::vector<uint8_t>;

void be16(Bytes& b, uint16_t v) { b.push_back(uint8_t(v >> 8)), b.push_back(uint8_t(v)); }
void be32(Bytes& b, uint32_t v) { be16(b, uint16_t(v >> 16)), be16(b, uint16_t(v)); }

Bytes set(uint16_t id, const Bytes& body) {
  Bytes s;
  be16(s, id);
  be16(s, uint16_t(4 + body.size()));
  s.insert(s.end(), body.begin(), body.end());
  return s;
}

// v9: header (count filled in), then the sets.
Bytes v9(uint32_t source_id, uint16_t count, const std::vector<Bytes>& sets) {
  Bytes d;
  be16(d, 9);
  be16(d, count);
  be32(d, 1000);  // sys uptime
  be32(d, 1700000000);
  be32(d, 42);  // sequence
  be32(d, source_id);
  for (const Bytes& s : sets) d.insert(d.end(), s.begin(), s.end());
  return d;
}

Bytes ipfix(uint32_t domain, const std::vector<Bytes>& sets) {
  Bytes d;
  be16(d, 10);
  be16(d, 0);
  be32(d, 1700000000);
  be32(d, 77);  // sequence
  be32(d, domain);
  for (const Bytes& s : sets) d.insert(d.end(), s.begin(), s.end());
  wire::store_be16(d.data() + 2, uint16_t(d.size()));
  return d;
}

// v9 template 256: two fields (IN_BYTES 4, PROTOCOL 1): a 5-byte record.
Bytes v9_template_set() {
  Bytes b;
  be16(b, 256), be16(b, 2), be16(b, 1), be16(b, 4), be16(b, 4), be16(b, 1);
  return set(0, b);
}
// v9 options template 257: scope SYSTEM (1, 4 bytes), option SAMPLING_INTERVAL (34, 4 bytes).
Bytes v9_options_template_set(uint16_t id = 257) {
  Bytes b;
  be16(b, id), be16(b, 4), be16(b, 4), be16(b, 1), be16(b, 4), be16(b, 34), be16(b, 4);
  b.push_back(0), b.push_back(0);  // padding
  return set(1, b);
}
Bytes data_set(uint16_t id, size_t bytes) { return set(id, Bytes(bytes, 0xAB)); }

std::vector<Bytes> sets_of(const uint8_t* p, size_t len, size_t hdr) {
  std::vector<Bytes> out;
  for (size_t off = hdr; off + 4 <= len;) {
    const uint16_t slen = wire::load_be16(p + off + 2);
    out.emplace_back(p + off, p + off + slen);
    off += slen;
  }
  return out;
}

const IpAddr kExporter = IpAddr::from_v4(0xC0000201);
constexpr WireDecoder kV9 = WireDecoder::kV9, kIpfix = WireDecoder::kIpfix;

}  // namespace

TEST_CASE("v9: exactly the template, options-template and options-data sets are copied",
          "[forward][templates]") {
  TemplateCopier c;
  uint8_t out[2048];
  const Bytes tpl = v9_template_set(), opt = v9_options_template_set();
  const Bytes data = data_set(256, 10), odata = data_set(257, 16);  // 2 flow, 2 options records
  const Bytes d = v9(7, 1 + 1 + 2 + 2, {tpl, data, opt, odata});
  const size_t n = c.copy(d.data(), d.size(), kV9, kExporter, out, sizeof out);
  REQUIRE(n > 0);
  CHECK(std::memcmp(out, d.data(), 2) == 0);           // version
  CHECK(wire::load_be16(out + 2) == 1 + 1 + 2);        // count: no flow records
  CHECK(std::memcmp(out + 4, d.data() + 4, 16) == 0);  // uptime, time, seq, id
  const auto sets = sets_of(out, n, 20);
  REQUIRE(sets.size() == 3);
  CHECK(sets[0] == tpl);
  CHECK(sets[1] == opt);
  CHECK(sets[2] == odata);
  CHECK(n == 20 + tpl.size() + opt.size() + odata.size());

  // Later datagrams: flow data alone makes no copy; options data alone is
  // copied (its options template was learned above).
  const Bytes flows = v9(7, 2, {data});
  CHECK(c.copy(flows.data(), flows.size(), kV9, kExporter, out, sizeof out) == 0);
  const Bytes opts = v9(7, 2, {odata, data});
  const size_t m = c.copy(opts.data(), opts.size(), kV9, kExporter, out, sizeof out);
  REQUIRE(m == 20 + odata.size());
  CHECK(wire::load_be16(out + 2) == 2);
  CHECK(sets_of(out, m, 20)[0] == odata);
  // The same set id in another source id (another stream) is not an options
  // template there: flow data, not copied.
  const Bytes other = v9(8, 2, {odata});
  CHECK(c.copy(other.data(), other.size(), kV9, kExporter, out, sizeof out) == 0);
  // ... nor at another exporter.
  CHECK(c.copy(opts.data(), opts.size(), kV9, IpAddr::from_v4(0xC0000202), out, sizeof out) == 0);
  // Redefined as a flow template: its data is flow data from then on.
  Bytes redefine;
  be16(redefine, 257), be16(redefine, 1), be16(redefine, 1), be16(redefine, 4);
  const Bytes rd = v9(7, 1, {set(0, redefine)});
  CHECK(c.copy(rd.data(), rd.size(), kV9, kExporter, out, sizeof out) == rd.size());
  CHECK(c.copy(opts.data(), opts.size(), kV9, kExporter, out, sizeof out) == 0);
}

TEST_CASE("IPFIX: the copy keeps template and options sets and fixes the length",
          "[forward][templates]") {
  TemplateCopier c;
  uint8_t out[2048];
  Bytes t;  // template 300: octetDeltaCount (1, 8), enterprise field (0x8000|5, 4, PEN 9)
  be16(t, 300), be16(t, 2), be16(t, 1), be16(t, 8), be16(t, 0x8005), be16(t, 4), be32(t, 9);
  Bytes o;  // options template 301: 2 fields, 1 scope: observationDomainId, samplingInterval
  be16(o, 301), be16(o, 2), be16(o, 1), be16(o, 149), be16(o, 4), be16(o, 34), be16(o, 4);
  Bytes w;  // withdrawal of template 299
  be16(w, 299), be16(w, 0);
  const Bytes tpl = set(2, t), opt = set(3, o), wd = set(2, w);
  const Bytes data = data_set(300, 24), odata = data_set(301, 8);
  const Bytes d = ipfix(3, {data, tpl, opt, odata, wd});
  const size_t n = c.copy(d.data(), d.size(), kIpfix, kExporter, out, sizeof out);
  REQUIRE(n == 16 + tpl.size() + opt.size() + odata.size() + wd.size());
  CHECK(wire::load_be16(out + 2) == n);                // length fixed
  CHECK(std::memcmp(out + 4, d.data() + 4, 12) == 0);  // time, sequence, domain unchanged
  const auto sets = sets_of(out, n, 16);
  REQUIRE(sets.size() == 4);
  CHECK(sets[0] == tpl);
  CHECK(sets[1] == opt);
  CHECK(sets[2] == odata);
  CHECK(sets[3] == wd);
  // An options data set before its options template (in the first datagram
  // a copier sees) is not known as options yet: only what follows is.
  TemplateCopier fresh;
  const Bytes early = ipfix(3, {odata, opt});
  const size_t e = fresh.copy(early.data(), early.size(), kIpfix, kExporter, out, sizeof out);
  REQUIRE(e == 16 + opt.size());
}

TEST_CASE("not v9/IPFIX, or a broken set chain: no copy", "[forward][templates]") {
  TemplateCopier c;
  uint8_t out[2048];
  Bytes d = v9(7, 1, {v9_template_set()});
  CHECK(c.copy(d.data(), d.size(), WireDecoder::kV5, kExporter, out, sizeof out) == 0);
  d[20 + 3] = 200;  // the set's length runs past the end
  CHECK(c.copy(d.data(), d.size(), kV9, kExporter, out, sizeof out) == 0);
  const Bytes small = v9(7, 1, {v9_template_set()});
  CHECK(c.copy(small.data(), small.size(), kV9, kExporter, out, 30) == 0);  // no room
}
