// The Exporters page's quirk rules (src/live/exporter_quirks.h): each quirk
// is raised by a crafted stream state that has it, with its stable id and a
// sentence naming the numbers; a clean stream (sampled by options with its
// sampler id in the records, in sync, no loss, no restart, templates stable)
// raises none; and thresholds hold at their edges.
#include <catch2/catch.hpp>

#include <algorithm>

#include "live/exporter_quirks.h"
#include "live/exporters_json.h"
#include "wire/ie.h"

using namespace ringflow;

namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// One v9 stream seen for an hour, 1000 datagrams of 10 flows, one data
// template (sampler id included) and one options template, sampler 1 at
// 1:100: nothing wrong with it.
struct Fixture {
  ExporterSnapshot snap;
  Fixture() {
    snap.published_ms = kNow;
    ExporterStream& s = snap.streams.emplace_back();
    s.stats.exporter = IpAddr::from_v4(0xC0000201);
    s.stats.format = kFormatV9;
    s.stats.loss_in_datagrams = true;  // v9 counts datagrams (set by the stream table)
    s.stats.datagrams = 1000;
    s.stats.flows = 10000;
    s.stats.first_seen_ms = kNow - 3'600'000;
    s.stats.last_seen_ms = kNow;
    s.stats.has_clock = true;
    s.stats.clock_offset_ms = -700;
    s.has_rates = true;
    s.rates.n = 1;
    s.rates.ids[0] = 1;
    s.rates.rates[0] = 100;
    add_template(256, false, {ie::kSourceIPv4Address, ie::kOctetDeltaCount, ie::kSamplerId});
    add_template(257, true, {ie::kSamplerId, ie::kSamplingInterval});
  }
  ExporterStream& stream() { return snap.streams[0]; }
  SnapshotTemplate& add_template(uint16_t id, bool options, std::initializer_list<uint16_t> ies) {
    ExporterStream& s = stream();
    if (s.ntemplates == 0) s.first_template = static_cast<uint32_t>(snap.templates.size());
    SnapshotTemplate& t = snap.templates.emplace_back();
    t.id = id;
    t.options = options;
    t.first_field = static_cast<uint32_t>(snap.fields.size());
    for (uint16_t ie : ies) {
      snap.fields.push_back({ie, 4, 0, false});
      ++t.nfields;
      t.has_sampler_id |= !options && ie == ie::kSamplerId;
      t.has_rate |= !options && ie == ie::kSamplingInterval;
    }
    t.field_count = static_cast<uint16_t>(t.nfields);
    ++s.ntemplates;
    return t;
  }
  std::vector<Quirk> quirks() { return detect_quirks(snap, stream()); }
  std::vector<std::string> ids() {
    std::vector<std::string> out;
    for (const Quirk& q : quirks()) out.push_back(q.id);
    return out;
  }
};

}  // namespace

TEST_CASE("a clean stream raises no quirk") {
  Fixture f;
  CHECK(f.ids().empty());
  const SamplingSource src = sampling_source(f.snap, f.stream());
  CHECK(src.source == "options_by_sampler_id");
  CHECK(src.rate == 100);
}

TEST_CASE("clock_offset: an export clock more than 10 s off") {
  Fixture f;
  f.stream().stats.clock_offset_ms = -10'000;  // at the threshold: not raised
  CHECK(f.ids().empty());
  f.stream().stats.clock_offset_ms = -43'000;
  const auto q = f.quirks();
  REQUIRE(q.size() == 1);
  CHECK(q[0].id == "clock_offset");
  CHECK(q[0].message.find("43 s behind") != std::string::npos);
  f.stream().stats.clock_offset_ms = 20'000;
  CHECK(f.quirks().at(0).message.find("20 s ahead of") != std::string::npos);
  f.stream().stats.has_clock = false;  // no export time seen: nothing to say
  CHECK(f.ids().empty());
}

TEST_CASE("template_redefined_often: one template redefined many times an hour") {
  Fixture f;
  f.snap.templates[f.stream().first_template].redefinitions = 10;  // 10 in an hour: not more
  CHECK(f.ids().empty());
  f.snap.templates[f.stream().first_template].redefinitions = 14;
  const auto q = f.quirks();
  REQUIRE(q.size() == 1);
  CHECK(q[0].id == "template_redefined_often");
  CHECK(q[0].template_id == 256);
  CHECK(q[0].message.find("Template 256 was redefined 14 times in 60 min") != std::string::npos);
  // Two redefinitions are below the minimum even on a young stream.
  Fixture g;
  g.stream().stats.first_seen_ms = kNow - 5000;
  g.snap.templates[g.stream().first_template].redefinitions = 2;
  CHECK(g.ids().empty());
  g.snap.templates[g.stream().first_template].redefinitions = 3;
  CHECK(g.ids() == std::vector<std::string>{"template_redefined_often"});
  CHECK(g.quirks().at(0).message.find("3 times in 5 s") != std::string::npos);
}

TEST_CASE("sampler_id_missing: options announce by id, records carry no id") {
  Fixture f;
  f.snap.templates.clear();
  f.snap.fields.clear();
  f.stream().ntemplates = 0;
  f.add_template(256, false, {ie::kSourceIPv4Address, ie::kOctetDeltaCount});
  auto q = f.quirks();
  REQUIRE(q.size() == 1);
  CHECK(q[0].id == "sampler_id_missing");
  CHECK(q[0].message.find("1:100 (sampler 1)") != std::string::npos);
  CHECK(q[0].message.find("assumes that only sampler's rate") != std::string::npos);
  CHECK(sampling_source(f.snap, f.stream()).source == "options");
  // Two samplers: the rate is unknown.
  f.stream().rates.n = 2;
  f.stream().rates.ids[1] = 2;
  f.stream().rates.rates[1] = 1000;
  q = f.quirks();
  REQUIRE(q.size() == 1);
  CHECK(q[0].message.find("their rate is unknown") != std::string::npos);
  CHECK(sampling_source(f.snap, f.stream()).source == "unknown");
  // An id-less rate, or an override, answers for the records: no quirk.
  f.stream().rates.default_rate = 100;
  CHECK(f.ids().empty());
  f.stream().rates.default_rate = 0;
  f.stream().override_rate = 10;
  CHECK(f.ids().empty());
  CHECK(sampling_source(f.snap, f.stream()).source == "override");
}

TEST_CASE("nsel_octets: bytes only as initiator/responder octets") {
  Fixture f;
  f.add_template(
      263, false,
      {ie::kSourceIPv4Address, ie::kInitiatorOctets, ie::kResponderOctets, ie::kSamplerId});
  const auto q = f.quirks();
  REQUIRE(q.size() == 1);
  CHECK(q[0].id == "nsel_octets");
  CHECK(q[0].template_id == 263);
  // Beside octetDeltaCount they are extra detail, not the only bytes.
  Fixture g;
  g.add_template(263, false, {ie::kOctetDeltaCount, ie::kInitiatorOctets, ie::kSamplerId});
  CHECK(g.ids().empty());
}

TEST_CASE("exporter_restarts and high_loss") {
  Fixture f;
  f.stream().stats.resets = 2;
  auto q = f.quirks();
  REQUIRE(q.size() == 1);
  CHECK(q[0].id == "exporter_restarts");
  CHECK(q[0].message.find("reset 2 times") != std::string::npos);
  Fixture g;
  g.stream().stats.lost_flows = 10;  // v9: 10 of 1010 datagrams = 0.99 %: not above 1 %
  CHECK(g.ids().empty());
  g.stream().stats.lost_flows = 20;  // 1.96 %
  q = g.quirks();
  REQUIRE(q.size() == 1);
  CHECK(q[0].id == "high_loss");
  CHECK(q[0].message.find("2.0 % of its export datagrams (20)") != std::string::npos);
  CHECK(loss_ratio(g.stream().stats) == Approx(20.0 / 1020));
}

TEST_CASE("held_data_expired: data sets that waited for a template in vain") {
  Fixture f;
  f.stream().held.held = 5;
  f.stream().held.released = 5;  // all decoded late: fine
  CHECK(f.ids().empty());
  f.stream().held.expired = 3;
  CHECK(f.ids() == std::vector<std::string>{"held_data_expired"});
}

TEST_CASE("the API: a row per stream and the page with IE names and quirks") {
  Fixture f;
  f.stream().stats.resets = 1;
  ExporterSnapshots snaps{std::make_shared<const ExporterSnapshot>(f.snap)};
  const std::string list = exporters_json(snaps, kNow);
  CHECK(list.find("\"id\":\"192.0.2.1-9-0\"") != std::string::npos);
  CHECK(list.find("\"quirks\":[\"exporter_restarts\"]") != std::string::npos);
  CHECK(list.find("\"sampling_source\":\"options_by_sampler_id\"") != std::string::npos);
  std::string page;
  REQUIRE(exporter_json(snaps, "192.0.2.1-9-0", kNow, &page));
  CHECK(page.find("\"name\":\"sourceIPv4Address\"") != std::string::npos);
  CHECK(page.find("\"name\":\"samplerId\"") != std::string::npos);
  CHECK(page.find("\"samplers\":[{\"sampler_id\":1,\"rate\":100,\"source\":\"options\"}]") !=
        std::string::npos);
  CHECK(!exporter_json(snaps, "192.0.2.1-9-1", kNow, &page));
}

TEST_CASE("the list cache: rendered once per published snapshot set, equal to exporters_json") {
  Fixture f;
  auto snap = std::make_shared<ExporterSnapshot>(f.snap);
  snap->published_ms = kNow - 1000;
  ExporterSnapshots snaps{snap};
  ExportersListCache cache;
  CHECK(cache.render(snaps, kNow) == exporters_json(snaps, kNow));
  CHECK(cache.render(snaps, kNow + 5) == exporters_json(snaps, kNow + 5));  // now_ms follows
  // The reactor refills the same buffer and publishes it again: the list
  // must follow (the buffer is the same, its publication time is not).
  snap->streams[0].stats.resets = 1;
  snap->published_ms = kNow;
  const std::string after = cache.render(snaps, kNow + 6);
  CHECK(after == exporters_json(snaps, kNow + 6));
  CHECK(after.find("\"quirks\":[\"exporter_restarts\"]") != std::string::npos);
  // Another snapshot set (a second reactor's) also renders anew.
  ExporterSnapshots two{snap, nullptr};
  CHECK(cache.render(two, kNow) == exporters_json(two, kNow));
}
