// StreamOptions (src/decode/stream_options.h) alone: what options data
// records announce about a stream (sampling rates by sampler id and without
// one, the IPFIX system init time), published as immutable sets.
//
// RFC 7011 4.2 / RFC 5476 6.5: selectorId (302) names the selector whose
// samplingInterval (34, kept by exporters from RFC 3954) applies;
// systemInitTimeMilliseconds (160) is what flowStartSysUpTime counts from.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <vector>

#include "decode/plan_refs.h"
#include "decode/stream_options.h"
#include "support/template_bytes.h"
#include "wire/bytes.h"
#include "wire/ie.h"

namespace ringflow {
namespace {

using test::plan_of;
using test::template_bytes;

// Options template 500: scope selectorId, then samplingInterval and
// systemInitTimeMilliseconds: 16-byte records.
std::unique_ptr<DecodePlan> by_id_plan() {
  return plan_of(
      template_bytes(
          500,
          {{ie::kSelectorId, 4}, {ie::kSamplingInterval, 4}, {ie::kSystemInitTimeMilliseconds, 8}},
          1),
      true);
}
void by_id_record(std::vector<uint8_t>* set, uint32_t id, uint32_t rate, uint64_t init_ms) {
  const size_t at = set->size();
  set->resize(at + 16);
  wire::store_be32(set->data() + at, id);
  wire::store_be32(set->data() + at + 4, rate);
  wire::store_be64(set->data() + at + 8, init_ms);
}

// Options template 501: scope exportingProcessId, then samplingInterval:
// a rate for the whole exporter, no sampler id. 8-byte records.
std::unique_ptr<DecodePlan> exporter_plan() {
  return plan_of(template_bytes(501, {{144, 4}, {ie::kSamplingInterval, 4}}, 1), true);
}

struct Options {
  SessionCounters counters;
  StreamOptions opts{8, counters};
  uint32_t apply(uint32_t stream, const DecodePlan& plan, const std::vector<uint8_t>& set) {
    uint32_t records = 0;
    opts.apply_set(stream, plan, set.data(), set.size(), &records);
    return records;
  }
};

TEST_CASE("options records set a stream's rates by sampler id and its init time") {
  const auto plan = by_id_plan();
  REQUIRE(plan);
  Options o;
  std::vector<uint8_t> set;
  by_id_record(&set, 7, 100, 1690000000000);
  by_id_record(&set, 9, 1000, 1690000000000);
  CHECK(o.apply(3, *plan, set) == 2);
  const StreamOptionsEntry& e = o.opts.at(3);
  REQUIRE(e.sampling != nullptr);
  CHECK(e.sampling->rate_of(7) == 100);
  CHECK(e.sampling->rate_of(9) == 1000);
  CHECK(e.sampling->rate_without_id() == 0);  // two samplers: cannot tell
  CHECK(e.has_init);
  CHECK(e.init_ms == 1690000000000);
  CHECK(o.opts.at(2).sampling == nullptr);
  CHECK_FALSE(o.opts.at(2).has_init);
  CHECK(o.counters.options_records.load() == 2);
  CHECK(o.counters.sampler_updates.load() == 2);
}

TEST_CASE("a change of rates publishes a new set, the old one living while a datagram pins it") {
  const auto plan = by_id_plan();
  Options o;
  std::vector<uint8_t> set;
  by_id_record(&set, 7, 100, 0);
  o.apply(0, *plan, set);
  const SamplerSet* first = o.opts.at(0).sampling;
  REQUIRE(first != nullptr);

  // The same rate again: the same set, no update counted.
  o.apply(0, *plan, set);
  CHECK(o.opts.at(0).sampling == first);
  CHECK(o.counters.sampler_updates.load() == 1);

  pin(first);  // a datagram handed off under the old rates
  set.clear();
  by_id_record(&set, 7, 200, 0);
  o.apply(0, *plan, set);
  const SamplerSet* second = o.opts.at(0).sampling;
  CHECK(second != first);
  CHECK(second->rate_of(7) == 200);
  CHECK(first->rate_of(7) == 100);  // unchanged under the datagram
  CHECK(first->refs == 1);
  CHECK(o.counters.sampler_updates.load() == 2);
  unpin(first);
}

TEST_CASE("a rate without a sampler id is the stream's default") {
  const auto plan = exporter_plan();
  REQUIRE(plan);
  Options o;
  std::vector<uint8_t> set(8);
  wire::store_be32(set.data(), 1);
  wire::store_be32(set.data() + 4, 512);
  CHECK(o.apply(1, *plan, set) == 1);
  REQUIRE(o.opts.at(1).sampling != nullptr);
  CHECK(o.opts.at(1).sampling->default_rate == 512);
  CHECK(o.opts.at(1).sampling->rate_without_id() == 512);
  CHECK_FALSE(o.opts.at(1).has_init);
}

TEST_CASE("options sets that cannot be used are counted: too short, too many samplers") {
  const auto plan = by_id_plan();
  Options o;
  std::vector<uint8_t> shorter(10);  // less than one 16-byte record
  CHECK(o.apply(0, *plan, shorter) == 0);
  CHECK(o.counters.set_drops[static_cast<size_t>(SetDrop::kTooShort)].load() == 1);
  CHECK(o.opts.at(0).sampling == nullptr);

  std::vector<uint8_t> set;
  for (uint32_t id = 1; id <= SamplerSet::kMaxSamplers + 2; ++id)
    by_id_record(&set, id, id * 10, 0);
  CHECK(o.apply(0, *plan, set) == SamplerSet::kMaxSamplers + 2);
  const SamplerSet* s = o.opts.at(0).sampling;
  REQUIRE(s != nullptr);
  CHECK(s->n == SamplerSet::kMaxSamplers);
  CHECK(s->rate_of(SamplerSet::kMaxSamplers) == SamplerSet::kMaxSamplers * 10);
  CHECK(s->rate_of(SamplerSet::kMaxSamplers + 1) == 0);
  CHECK(o.counters.samplers_full.load() == 2);
}

TEST_CASE("restore() and forget(): a stream's options from the state file, and its end") {
  Options o;
  SamplerSet rates;
  rates.n = 1;
  rates.ids[0] = 4;
  rates.rates[0] = 64;
  rates.refs = 99;  // whatever the file's copy says, the published set is the stream's own
  o.opts.restore(5, true, 1690000000000, rates);
  REQUIRE(o.opts.at(5).sampling != nullptr);
  CHECK(o.opts.at(5).sampling->rate_of(4) == 64);
  CHECK(o.opts.at(5).sampling->refs == 1);
  CHECK(o.opts.at(5).init_ms == 1690000000000);
  CHECK(o.counters.sampler_updates.load() == 1);

  o.opts.restore(6, true, 5, SamplerSet{});  // no rates: only the init time
  CHECK(o.opts.at(6).sampling == nullptr);
  CHECK(o.opts.at(6).has_init);
  CHECK(o.counters.sampler_updates.load() == 1);

  o.opts.forget(5);
  CHECK(o.opts.at(5).sampling == nullptr);
  CHECK_FALSE(o.opts.at(5).has_init);
  CHECK(o.opts.at(5).init_ms == 0);
}

}  // namespace
}  // namespace ringflow
