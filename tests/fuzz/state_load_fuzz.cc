// libFuzzer target for the template state file (decode.persist_templates;
// format in src/decode/state_codec.h, restored by Sessions::import_state):
// the file a collector reads at start-up may be truncated, damaged or from
// another build, and must never crash it nor break the ordered stage's
// bounds. An input is the file's bytes; the corpus is seeded with real
// states (tests/fuzz/sequences_to_states.cc saves them after the capture
// sequences).
//
// The checksum rejects almost every mutation, which would leave the record
// parser and the import unexplored. So each input is tried twice: as it is,
// and "repaired": its body (what follows a format 3 or 2 header, or the
// whole input when it has none) under a fresh header with the body's true length
// and CRC32C, as if a writer had written exactly those records.
//
// Beyond "does not crash", it traps on a broken contract:
//   - decode_state accepts the input as it is only if the repaired file is
//     the same bytes (a file is accepted whole or not at all), and the
//     repaired file is refused only as malformed (never for its checksum or
//     length);
//   - Sessions::load of a refused file installs nothing;
//   - an accepted state: import_state installs what it says, within
//     max_templates; what was restored saves and loads again to the same
//     size and count (a restored state is a valid state); once time passes
//     every timeout no template or stream is left, and every sampler set is
//     released (LeakSanitizer checks at destruction).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "decode/sessions.h"
#include "decode/state_codec.h"
#include "fuzz/fuzz_support.h"
#include "wire/bytes.h"

namespace {

using namespace ringflow;

// The formats the loader reads (state_codec.h): 3, written now, and 2, read
// still. A repaired file keeps the input's format line when it is one of
// them (else it gets the current one), so that an input accepted as it is
// equals its repair in either format.
constexpr std::string_view kMagic = "ringflow-templates 3\n";
constexpr std::string_view kMagicV2 = "ringflow-templates 2\n";
static_assert(kMagic.size() == kMagicV2.size());
constexpr size_t kHeader = kMagic.size() + 8;

std::string repaired(std::string_view in) {
  const std::string_view magic = in.substr(0, kMagic.size());
  const bool known = magic == kMagic || magic == kMagicV2;
  const std::string_view body = known && in.size() >= kHeader ? in.substr(kHeader) : in;
  std::string out(known && in.size() >= kHeader ? magic : kMagic);
  uint8_t h[8];
  wire::store_be32(h, static_cast<uint32_t>(body.size()));
  wire::store_be32(h + 4, crc32c(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  out.append(reinterpret_cast<const char*>(h), 8);
  out.append(body);
  return out;
}

void check_accepted(const DecodeConfig& cfg, const TemplateState& st, int64_t now_ms) {
  SessionCounters counters;
  Sessions first(cfg, 4, 2048, counters);
  const StateImport r = first.import_state(st, now_ms);
  FUZZ_CHECK(r.templates == first.templates_installed());
  FUZZ_CHECK(r.templates <= cfg.max_templates);
  FUZZ_CHECK(r.templates + r.templates_duplicate + r.templates_invalid + r.templates_over_limit +
                 r.templates_no_stream ==
             st.templates.size());

  const std::string saved = first.save();
  SessionCounters counters2;
  Sessions second(cfg, 4, 2048, counters2);
  FUZZ_CHECK(second.load(saved, now_ms) == r.templates);
  FUZZ_CHECK(second.save().size() == saved.size());

  first.tick(now_ms + 3600 * 1000);
  FUZZ_CHECK(first.templates_installed() == 0);
  FUZZ_CHECK(first.tracker_stats().active == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const DecodeConfig cfg = fuzz::templated_fuzz_config();
  const int64_t now_ms = 1700000000000;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string fixed = repaired(in);

  TemplateState as_is, st;
  const StateError e = decode_state(in, &as_is);
  const StateError ef = decode_state(fixed, &st);
  FUZZ_CHECK(ef == StateError::kNone || ef == StateError::kMalformed);
  if (e == StateError::kNone) FUZZ_CHECK(std::string_view(fixed) == in);

  if (e != StateError::kNone) {
    SessionCounters counters;
    Sessions refused(cfg, 4, 2048, counters);
    FUZZ_CHECK(refused.load(in, now_ms) == 0);
    FUZZ_CHECK(refused.templates_installed() == 0);
  }
  if (ef == StateError::kNone) check_accepted(cfg, st, now_ms);
  return 0;
}
