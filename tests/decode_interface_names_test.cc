// InterfaceNames (src/decode/interface_names.h) through StreamOptions, as the
// ordered stage feeds it: interfaceName (82) / interfaceDescription (83) of
// an ifIndex (10, else 14; fixed NUL-padded or variable length), bounded by
// its capacity, strings checked and truncated, every drop counted by
// reason; and the state file keeping them (format 3, format 2 still read).
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "decode/interface_names.h"
#include "decode/state_codec.h"
#include "decode/stream_options.h"
#include "decode/wire_formats.h"
#include "support/template_bytes.h"
#include "wire/bytes.h"
#include "wire/ie.h"

namespace ringflow {
namespace {

using test::plan_of;
using test::template_bytes;

// IOS XR's layout: scope ingressInterface + egressInterface, then 83 and 82
// fixed 80 bytes each.
std::unique_ptr<DecodePlan> fixed_plan() {
  return plan_of(template_bytes(256,
                                {{ie::kIngressInterface, 4},
                                 {ie::kEgressInterface, 4},
                                 {ie::kInterfaceDescription, 80},
                                 {ie::kInterfaceName, 80}},
                                2),
                 true);
}
void fixed_record(std::vector<uint8_t>* set, uint32_t idx, const std::string& name,
                  const std::string& desc) {
  const size_t at = set->size();
  set->resize(at + 168, 0);
  wire::store_be32(set->data() + at, idx);
  wire::store_be32(set->data() + at + 4, idx);
  std::copy(desc.begin(), desc.end(), set->begin() + static_cast<ptrdiff_t>(at + 8));
  std::copy(name.begin(), name.end(), set->begin() + static_cast<ptrdiff_t>(at + 88));
}

// Egress ifIndex only, then variable-length name (no description).
std::unique_ptr<DecodePlan> var_plan() {
  return plan_of(template_bytes(257, {{ie::kEgressInterface, 4}, {ie::kInterfaceName, 65535}}, 1),
                 true);
}
void var_record(std::vector<uint8_t>* set, uint32_t idx, const std::string& name) {
  const size_t at = set->size();
  set->resize(at + 5 + name.size());
  wire::store_be32(set->data() + at, idx);
  (*set)[at + 4] = static_cast<uint8_t>(name.size());
  std::copy(name.begin(), name.end(), set->begin() + static_cast<ptrdiff_t>(at + 5));
}

struct Fixture {
  explicit Fixture(uint32_t cap) : names(cap, counters), opts(8, counters, &names) {}
  SessionCounters counters;
  InterfaceNames names;
  StreamOptions opts;
  void apply(uint32_t stream, const DecodePlan& plan, const std::vector<uint8_t>& set) {
    uint32_t records = 0;
    opts.apply_set(stream, plan, set.data(), set.size(), &records);
  }
  const LearnedInterface* find(uint32_t stream, uint32_t idx) const {
    const LearnedInterface* out = nullptr;
    names.for_each([&](const LearnedInterface& e) {
      if (e.stream == stream && e.if_index == idx) out = &e;
    });
    return out;
  }
  uint64_t event(IfNameEvent e) const { return counters.if_names[static_cast<size_t>(e)].load(); }
  uint64_t drop(IfNameDrop d) const {
    return counters.if_name_drops[static_cast<size_t>(d)].load();
  }
};

TEST_CASE("interface names: fixed NUL-padded fields keyed by ingressInterface, per stream") {
  Fixture f(16);
  auto plan = fixed_plan();
  REQUIRE(plan);
  CHECK(plan->has_input_index);
  CHECK(plan->if_name.present);
  CHECK(plan->if_description.present);
  std::vector<uint8_t> set;
  fixed_record(&set, 55, "HundredGigE0_0_0_11", "HundredGigE0/0/0/11");
  fixed_record(&set, 87, "TenGigE0_0_0_12", "TenGigE0/0/0/12");
  f.apply(0, *plan, set);
  f.apply(1, *plan, set);  // another stream (domain): kept apart
  REQUIRE(f.names.size() == 4);
  const LearnedInterface* e = f.find(0, 55);
  REQUIRE(e);
  CHECK(e->name_view() == "HundredGigE0_0_0_11");
  CHECK(e->description_view() == "HundredGigE0/0/0/11");
  CHECK(f.event(IfNameEvent::kLearned) == 4);
  const uint64_t gen = f.names.generation();

  // A refresh with the same strings changes nothing.
  f.apply(0, *plan, set);
  CHECK(f.names.generation() == gen);
  CHECK(f.event(IfNameEvent::kChanged) == 0);

  // A renamed interface (pm-112's map reassignment) is changed in place.
  std::vector<uint8_t> set2;
  fixed_record(&set2, 87, "TenGigE0_0_0_16.100", "TenGigE0/0/0/16.100");
  f.apply(0, *plan, set2);
  CHECK(f.find(0, 87)->name_view() == "TenGigE0_0_0_16.100");
  CHECK(f.find(1, 87)->name_view() == "TenGigE0_0_0_12");
  CHECK(f.event(IfNameEvent::kChanged) == 1);
  CHECK(f.names.generation() > gen);

  f.names.forget(0);
  CHECK(f.names.size() == 2);
  CHECK(f.find(0, 55) == nullptr);
  CHECK(f.counters.if_names_active.load() == 2);
}

TEST_CASE(
    "interface names: variable length, egress ifIndex, a description kept when only the "
    "name is sent") {
  Fixture f(16);
  auto fixed = fixed_plan();
  auto var = var_plan();
  REQUIRE(var);
  CHECK_FALSE(var->has_input_index);
  CHECK(var->has_output_index);
  CHECK(var->if_name.variable);
  std::vector<uint8_t> set;
  fixed_record(&set, 7, "xe-0/0/7", "Transit: cogent");
  f.apply(0, *fixed, set);
  std::vector<uint8_t> vset;
  var_record(&vset, 7, "et-0/0/7");
  var_record(&vset, 9, "et-0/0/9");
  f.apply(0, *var, vset);
  CHECK(f.find(0, 7)->name_view() == "et-0/0/7");
  CHECK(f.find(0, 7)->description_view() == "Transit: cogent");
  CHECK(f.find(0, 9)->name_view() == "et-0/0/9");
  CHECK(f.find(0, 9)->description_view().empty());
}

TEST_CASE("interface names: bounded, truncated, and malformed records counted by reason") {
  Fixture f(2);
  auto plan = fixed_plan();
  auto var = var_plan();
  std::vector<uint8_t> set;
  fixed_record(&set, 1, "a", "");
  fixed_record(&set, 2, "b", "");
  fixed_record(&set, 3, "c", "");  // over the capacity of 2
  f.apply(0, *plan, set);
  CHECK(f.names.size() == 2);
  CHECK(f.drop(IfNameDrop::kFull) == 1);
  CHECK(f.find(0, 3) == nullptr);

  // Longer than 64 bytes: cut at a character boundary (é is 2 bytes).
  std::string long_name(63, 'x');
  long_name += "\xC3\xA9yy";
  std::vector<uint8_t> vset;
  var_record(&vset, 1, long_name);
  f.apply(0, *var, vset);
  CHECK(f.find(0, 1)->name_view() == std::string(63, 'x'));
  CHECK(f.event(IfNameEvent::kTruncated) == 1);

  // Not text: invalid UTF-8, a control character; ifIndex 0; empty strings.
  vset.clear();
  var_record(&vset, 2, "bad\xFF");
  var_record(&vset, 2, "tab\there");
  var_record(&vset, 0, "zero");
  var_record(&vset, 2, "");
  f.apply(0, *var, vset);
  CHECK(f.drop(IfNameDrop::kNotText) == 2);
  CHECK(f.drop(IfNameDrop::kZeroIndex) == 1);
  CHECK(f.drop(IfNameDrop::kEmpty) == 1);
  CHECK(f.find(0, 2)->name_view() == "b");

  // A name without any ifIndex element (softflowd's capture interface).
  auto no_index = plan_of(template_bytes(258, {{143, 4}, {ie::kInterfaceName, 16}}, 1), true);
  std::vector<uint8_t> nset(20, 0);
  std::copy_n("testcapture", 11, nset.begin() + 4);
  f.apply(0, *no_index, nset);
  CHECK(f.drop(IfNameDrop::kNoIndex) == 1);

  // A variable-length name past the set: the set's records before it are
  // used, the overflow counted as for every options set.
  vset.clear();
  var_record(&vset, 2, "c2");
  vset.insert(vset.end(), {0, 0, 0, 5, 40, 'x'});
  f.apply(0, *var, vset);
  CHECK(f.find(0, 2)->name_view() == "c2");
  CHECK(f.counters.set_drops[static_cast<size_t>(SetDrop::kVarOverflow)].load() == 1);
}

TEST_CASE("interface names: capacity 0 learns nothing and counts nothing") {
  Fixture f(0);
  auto plan = fixed_plan();
  std::vector<uint8_t> set;
  fixed_record(&set, 1, "a", "b");
  f.apply(0, *plan, set);
  CHECK(f.names.size() == 0);
  CHECK(f.drop(IfNameDrop::kFull) == 0);
  CHECK(f.event(IfNameEvent::kLearned) == 0);
}

TEST_CASE("v9 options: the interface scope type is the ifIndex") {
  // v9 options template 260: scope Interface (2) 4 bytes, 82 16 bytes.
  const uint8_t rec[] = {0x01, 0x04, 0, 4, 0, 4, 0, 2, 0, 4, 0, 82, 0, 16};
  TemplateRecordView t;
  TemplateProblem problem;
  REQUIRE(read_template_record(WireVersion::kV9, true, rec, sizeof rec, &t, &problem) ==
          SetWalk::kRecord);
  REQUIRE(problem == TemplateProblem::kNone);
  auto plan = compile_plan(WireVersion::kV9, t);
  CHECK(plan->has_input_index);
  Fixture f(4);
  std::vector<uint8_t> set(20, 0);
  wire::store_be32(set.data(), 12);
  std::copy_n("ge-0/0/12", 9, set.begin() + 4);
  f.apply(0, *plan, set);
  REQUIRE(f.find(0, 12));
  CHECK(f.find(0, 12)->name_view() == "ge-0/0/12");
}

TEST_CASE("state file format 3 keeps interface names, format 2 is still read") {
  TemplateState st;
  StateInterface i;
  i.key.exporter = IpAddr::from_v4(0xC0000201);
  i.key.format = kFormatIpfix;
  i.key.domain = 33312;
  i.if_index = 55;
  i.name = "HundredGigE0_0_0_11";
  i.description = "HundredGigE0/0/0/11";
  st.interfaces.push_back(i);
  const std::string bytes = encode_state(st);
  CHECK(bytes.rfind("ringflow-templates 3\n", 0) == 0);
  TemplateState back;
  REQUIRE(decode_state(bytes, &back) == StateError::kNone);
  REQUIRE(back.interfaces.size() == 1);
  CHECK(back.interfaces[0].key == i.key);
  CHECK(back.interfaces[0].if_index == 55);
  CHECK(back.interfaces[0].name == i.name);
  CHECK(back.interfaces[0].description == i.description);

  // Format 2: the same header with records 1 and 2 only.
  TemplateState none;
  std::string v2 = encode_state(none);
  v2[19] = '2';
  CHECK(decode_state(v2, &back) == StateError::kNone);
  CHECK(back.interfaces.empty());
  // ...and a format-2 file holding a record 3 is malformed.
  std::string v2i = bytes;
  v2i[19] = '2';
  CHECK(decode_state(v2i, &back) == StateError::kMalformed);
}

}  // namespace
}  // namespace ringflow
