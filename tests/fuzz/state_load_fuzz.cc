// libFuzzer target for the template state file (decode.persist_templates,
// Sessions::load in src/decode/sessions.h): the file a collector reads at
// start-up may be truncated, damaged or from another build, and must never
// crash it nor break the ordered stage's bounds. An input is the file's
// bytes; the corpus is seeded with real states (tests/fuzz/
// sequences_to_states.cc saves them after the capture sequences).
//
// Beyond "does not crash", it traps on a broken contract:
//   - load() returns the templates it installed, within max_templates;
//   - what was restored saves and loads again to the same size and count
//     (a restored state is a valid state);
//   - once time passes every timeout, no template and no stream is left, and
//     every sampler set is released (LeakSanitizer checks at destruction).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "decode/sessions.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace ringflow;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const DecodeConfig cfg = fuzz::templated_fuzz_config();
  const int64_t now_ms = 1700000000000;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  SessionCounters counters;
  Sessions first(cfg, 4, 2048, counters);
  const size_t restored = first.load(in, now_ms);
  FUZZ_CHECK(restored == first.templates_installed());
  FUZZ_CHECK(restored <= cfg.max_templates);

  const std::string saved = first.save();
  SessionCounters counters2;
  Sessions second(cfg, 4, 2048, counters2);
  FUZZ_CHECK(second.load(saved, now_ms) == restored);
  FUZZ_CHECK(second.save().size() == saved.size());

  first.tick(now_ms + 3600 * 1000);
  FUZZ_CHECK(first.templates_installed() == 0);
  FUZZ_CHECK(first.tracker_stats().active == 0);
  return 0;
}
