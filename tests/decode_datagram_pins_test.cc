// DatagramPins (src/decode/datagram_pins.h) and the reference counts of
// src/decode/plan_refs.h alone: a plan or sampler set lives exactly as long
// as its table or any datagram still points at it.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>

#include "decode/datagram_pins.h"
#include "support/template_bytes.h"
#include "wire/ie.h"

namespace ringflow {
namespace {

using test::plan_of;
using test::template_bytes;

// A plan held by its table (one reference), as TemplateStore holds it.
const DecodePlan* installed_plan() {
  std::unique_ptr<DecodePlan> p =
      plan_of(template_bytes(256, {{ie::kOctetDeltaCount, 8}, {ie::kPacketDeltaCount, 8}}), false);
  REQUIRE(p);
  p->refs = 1;
  return p.release();
}

TEST_CASE("each data set and the sampler set of a datagram pin what they point at until release") {
  const DecodePlan* plan = installed_plan();
  auto* rates = new SamplerSet;
  rates->refs = 1;  // the stream's
  DatagramPins pins(4);
  CHECK(pins.size() == 4);

  DatagramMeta& m = pins.meta(2);
  DatagramPins::add_set(m, plan, 20, 100);
  DatagramPins::add_set(m, plan, 124, 60);
  DatagramPins::set_sampling(m, rates);
  CHECK(m.nsets == 2);
  CHECK(m.sets[1].plan == plan);
  CHECK(m.sets[1].offset == 124);
  CHECK(m.sets[1].length == 60);
  CHECK(m.sampling == rates);
  CHECK(plan->refs == 3);
  CHECK(rates->refs == 2);

  DatagramPins::add_set(pins.meta(3), plan, 20, 100);
  CHECK(plan->refs == 4);

  pins.release(2);
  CHECK(m.nsets == 0);
  CHECK(m.sampling == nullptr);
  CHECK(plan->refs == 2);
  CHECK(rates->refs == 1);
  pins.release(2);  // nothing left to release: no change
  CHECK(plan->refs == 2);

  // A datagram without announced rates pins none.
  DatagramPins::set_sampling(pins.meta(1), nullptr);
  CHECK(pins.meta(1).sampling == nullptr);

  unpin(rates);  // the stream lets go: freed (LeakSanitizer would see a leak else)
  unpin(plan);   // the table lets go: buffer 3 still holds it
  CHECK(plan->refs == 1);
  CHECK(pins.meta(3).sets[0].plan->fixed_len == 16);
  // ~DatagramPins releases buffer 3: the plan's last reference.
}

TEST_CASE("a redefined template's old plan is freed by the last datagram that used it") {
  const DecodePlan* old_plan = installed_plan();
  DatagramPins pins(2);
  DatagramPins::add_set(pins.meta(0), old_plan, 0, 16);
  DatagramPins::add_set(pins.meta(1), old_plan, 0, 16);
  unpin(old_plan);  // the table now holds the new plan
  CHECK(old_plan->refs == 2);
  pins.release(0);
  CHECK(old_plan->refs == 1);
  CHECK(pins.meta(1).sets[0].plan == old_plan);
  pins.release(1);  // deleted here: under ASan a later read would be reported
  CHECK(pins.meta(1).nsets == 0);
}

}  // namespace
}  // namespace ringflow
