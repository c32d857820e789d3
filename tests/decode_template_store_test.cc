// TemplateStore (src/decode/template_store.h) alone: the template table of
// the ordered stage, fed template records and sets directly.
//
// RFC 7011 8: templates are unique per (transport session, observation
// domain) and a withdrawal "MUST delete the Template"; a template with the
// same id and other fields redefines it.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "decode/plan_refs.h"
#include "decode/template_store.h"
#include "support/template_bytes.h"
#include "wire/ie.h"
#include "wire/ipfix.h"

namespace ringflow {
namespace {

using test::append_template;
using test::read_template;
using test::template_bytes;

constexpr int64_t kNow = 1700000000000;

struct Added : TemplateListener {
  std::vector<std::pair<uint32_t, uint16_t>> calls;
  void template_added(uint32_t stream, uint16_t id) override { calls.emplace_back(stream, id); }
};

std::vector<uint8_t> v4_template(uint16_t id, uint16_t octets_len = 8) {
  return template_bytes(id, {{ie::kSourceIPv4Address, 4},
                             {ie::kDestinationIPv4Address, 4},
                             {ie::kOctetDeltaCount, octets_len}});
}

struct Store {
  DecodeConfig cfg;
  SessionCounters counters;
  TemplateStore store;
  explicit Store(DecodeConfig c = {}) : cfg(c), store(cfg, 64, counters) {}
  TemplateStore::Installed install(uint32_t stream, const std::vector<uint8_t>& bytes,
                                   int64_t now = kNow, bool options = false) {
    TemplateProblem problem;
    const TemplateRecordView t = read_template(bytes, options, &problem);
    REQUIRE(problem == TemplateProblem::kNone);
    return store.install(WireVersion::kIpfix, stream, t, now);
  }
  uint64_t rejects(size_t slot) const { return counters.template_rejects[slot].load(); }
};

TEST_CASE("a template is added once, refreshed by the same bytes, redefined by others") {
  Store s;
  REQUIRE(s.install(3, v4_template(256)) == TemplateStore::Installed::kAdded);
  const DecodePlan* first = s.store.plan(3, 256);
  REQUIRE(first != nullptr);
  CHECK(first->fixed_len == 16);
  CHECK(s.store.size() == 1);
  CHECK(s.store.stream_templates(3) == 1);
  CHECK(s.counters.templates_added.load() == 1);
  CHECK(s.counters.templates_active.load() == 1);

  // The same bytes: nothing recompiled.
  CHECK(s.install(3, v4_template(256), kNow + 10) == TemplateStore::Installed::kRefreshed);
  CHECK(s.store.plan(3, 256) == first);
  CHECK(s.store.find(3, 256)->last_ms == kNow + 10);
  CHECK(s.counters.templates_refreshed.load() == 1);

  // Other fields under the same id: a new plan; a datagram that pinned the
  // old one keeps it alive until it lets go.
  pin(first);
  CHECK(s.install(3, v4_template(256, 4)) == TemplateStore::Installed::kRedefined);
  const DecodePlan* second = s.store.plan(3, 256);
  CHECK(second != first);
  CHECK(second->fixed_len == 12);
  CHECK(first->refs == 1);  // only the datagram's pin is left
  CHECK(second->refs == 1);
  CHECK(s.counters.templates_redefined.load() == 1);
  CHECK(s.store.size() == 1);
  unpin(first);
}

TEST_CASE("the same template id in two streams never mixes") {
  Store s;
  REQUIRE(s.install(1, v4_template(300)) == TemplateStore::Installed::kAdded);
  REQUIRE(s.install(2, v4_template(300, 4)) == TemplateStore::Installed::kAdded);
  CHECK(s.store.plan(1, 300)->fixed_len == 16);
  CHECK(s.store.plan(2, 300)->fixed_len == 12);
  CHECK(s.store.plan(3, 300) == nullptr);
  CHECK(s.store.plan(1, 301) == nullptr);
  s.store.forget_stream(1);
  CHECK(s.store.plan(1, 300) == nullptr);
  CHECK(s.store.plan(2, 300) != nullptr);
  CHECK(s.counters.templates_expired.load() == 1);
}

TEST_CASE(
    "templates over decode.max_templates_per_stream or decode.max_templates are refused and "
    "counted") {
  DecodeConfig cfg;
  cfg.max_templates_per_stream = 2;
  cfg.max_templates = 3;
  Store s(cfg);
  CHECK(s.install(0, v4_template(256)) == TemplateStore::Installed::kAdded);
  CHECK(s.install(0, v4_template(257)) == TemplateStore::Installed::kAdded);
  CHECK(s.install(0, v4_template(258)) == TemplateStore::Installed::kRefused);
  CHECK(s.rejects(kTemplateLimitStream) == 1);
  // A refresh of an installed one is never refused.
  CHECK(s.install(0, v4_template(257)) == TemplateStore::Installed::kRefreshed);
  CHECK(s.install(1, v4_template(256)) == TemplateStore::Installed::kAdded);
  CHECK(s.install(2, v4_template(256)) == TemplateStore::Installed::kRefused);
  CHECK(s.rejects(kTemplateLimitTotal) == 1);
  CHECK(s.store.size() == 3);
  CHECK(s.store.plan(0, 258) == nullptr);
  CHECK(s.store.plan(2, 256) == nullptr);
}

TEST_CASE("a template set: bad records are counted by problem and skipped, the rest installed") {
  Store s;
  std::vector<uint8_t> set;
  append_template(&set, 100, {{ie::kOctetDeltaCount, 8}});  // id < 256: bad_id
  append_template(&set, 400, {{ie::kOctetDeltaCount, 8}, {ie::kPacketDeltaCount, 8}});
  append_template(&set, 401, {{ie::kOctetDeltaCount, 0}});  // every length 0: zero_length
  append_template(&set, 402, {{ie::kOctetDeltaCount, 4}});
  Added added;
  uint32_t records = 0;
  s.store.apply_set(WireVersion::kIpfix, false, 5, set.data(), set.size(), kNow, &records, added);
  CHECK(records == 4);
  CHECK(s.rejects(static_cast<size_t>(TemplateProblem::kBadId)) == 1);
  CHECK(s.rejects(static_cast<size_t>(TemplateProblem::kZeroLength)) == 1);
  CHECK(s.store.size() == 2);
  REQUIRE(added.calls.size() == 2);
  CHECK(added.calls[0] == std::make_pair(uint32_t{5}, uint16_t{400}));
  CHECK(added.calls[1] == std::make_pair(uint32_t{5}, uint16_t{402}));

  // The same set again refreshes: the listener hears of nothing new.
  added.calls.clear();
  s.store.apply_set(WireVersion::kIpfix, false, 5, set.data(), set.size(), kNow, &records, added);
  CHECK(added.calls.empty());
  CHECK(s.counters.templates_refreshed.load() == 2);

  // A record cut short ends the set: what came before it is used.
  std::vector<uint8_t> cut;
  append_template(&cut, 403, {{ie::kOctetDeltaCount, 8}});
  append_template(&cut, 404, {{ie::kOctetDeltaCount, 8}});
  cut.resize(cut.size() - 2);
  records = 0;
  s.store.apply_set(WireVersion::kIpfix, false, 5, cut.data(), cut.size(), kNow, &records, added);
  CHECK(records == 1);
  CHECK(s.rejects(static_cast<size_t>(TemplateProblem::kTruncated)) == 1);
  CHECK(s.store.plan(5, 403) != nullptr);
  CHECK(s.store.plan(5, 404) == nullptr);
}

TEST_CASE("withdrawals remove one template, or every template of the kind, of one stream") {
  Store s;
  for (uint16_t id = 256; id < 260; ++id)
    REQUIRE(s.install(7, v4_template(id)) == TemplateStore::Installed::kAdded);
  REQUIRE(s.install(8, v4_template(256)) == TemplateStore::Installed::kAdded);
  const std::vector<uint8_t> opt =
      template_bytes(260, {{ie::kSelectorId, 4}, {ie::kSamplingInterval, 4}}, 1);
  REQUIRE(s.install(7, opt, kNow, true) == TemplateStore::Installed::kAdded);
  CHECK(s.store.options_templates() == 1);
  Added added;
  uint32_t records = 0;

  std::vector<uint8_t> one;
  append_template(&one, 257, {});  // field count 0: a withdrawal
  s.store.apply_set(WireVersion::kIpfix, false, 7, one.data(), one.size(), kNow, &records, added);
  CHECK(s.store.plan(7, 257) == nullptr);
  CHECK(s.store.plan(7, 256) != nullptr);
  CHECK(s.counters.templates_withdrawn.load() == 1);

  std::vector<uint8_t> all;
  append_template(&all, ipfix::kWithdrawAllTemplates, {});
  s.store.apply_set(WireVersion::kIpfix, false, 7, all.data(), all.size(), kNow, &records, added);
  CHECK(s.counters.templates_withdrawn.load() == 4);
  CHECK(s.store.stream_templates(7) == 1);  // the options template stays
  CHECK(s.store.plan(7, 260) != nullptr);
  CHECK(s.store.plan(8, 256) != nullptr);  // another stream's stays
  CHECK(s.store.size() == 2);
  CHECK(s.counters.templates_active.load() == 2);
  CHECK(s.counters.options_templates_active.load() == 1);
}

TEST_CASE("templates neither refreshed nor used for decode.template_timeout expire") {
  DecodeConfig cfg;
  cfg.template_timeout_s = 60;
  Store s(cfg);
  REQUIRE(s.install(0, v4_template(256), kNow) == TemplateStore::Installed::kAdded);
  REQUIRE(s.install(0, v4_template(257), kNow) == TemplateStore::Installed::kAdded);
  s.store.find(0, 257)->last_ms = kNow + 30000;  // used by a data set
  s.store.expire(kNow + 60000);
  CHECK(s.store.size() == 2);
  s.store.expire(kNow + 60001);
  CHECK(s.store.plan(0, 256) == nullptr);
  CHECK(s.store.plan(0, 257) != nullptr);
  CHECK(s.counters.templates_expired.load() == 1);
}

TEST_CASE("the table finds every template after many are erased (backward-shift deletion)") {
  DecodeConfig cfg;
  cfg.max_templates = 64;  // 128 slots, every entry used: long probe runs, many shifts
  cfg.max_templates_per_stream = 8;
  Store s(cfg);
  for (uint32_t stream = 0; stream < 8; ++stream)
    for (uint16_t id = 256; id < 264; ++id)
      REQUIRE(s.install(stream, v4_template(id)) == TemplateStore::Installed::kAdded);
  CHECK(s.store.size() == 64);
  for (uint32_t stream = 1; stream < 8; stream += 2) s.store.forget_stream(stream);
  for (uint32_t stream = 0; stream < 8; ++stream)
    for (uint16_t id = 256; id < 264; ++id) {
      INFO("stream " << stream << " template " << id);
      CHECK((s.store.plan(stream, id) != nullptr) == (stream % 2 == 0));
    }
  size_t seen = 0;
  s.store.for_each([&](const TemplateEntry& e) {
    ++seen;
    CHECK(e.stream % 2 == 0);
  });
  CHECK(seen == 32);
  CHECK(s.counters.templates_expired.load() == 32);
  // The freed entries are usable again.
  for (uint16_t id = 300; id < 308; ++id)
    CHECK(s.install(9, v4_template(id)) == TemplateStore::Installed::kAdded);
  CHECK(s.store.size() == 40);
}

}  // namespace
}  // namespace ringflow
