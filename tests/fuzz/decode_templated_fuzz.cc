// libFuzzer target for v9/IPFIX (and sFlow v5) decoding with stream state (scripts/fuzz.sh
// runs it under ASan+UBSan). An input is a sequence of datagrams from one
// exporter, each as a 2-byte big-endian length and its bytes, so that
// templates, options records and held data carry from one datagram to the
// next exactly as in a live stream; the corpus is seeded from the real
// exports of ../shared/captures/v9ipfix/ (read in place) and from synthetic
// shapes; byte 0 picks the decode path (0 scalar, 1 SSSE3, 2 AVX-512 VBMI).
// Every datagram goes through the ordered stage (src/decode/sessions.h),
// every record of what it hands off through the record reader, and held data
// through take_ready, with the clock advancing so that expiry runs.
//
// Beyond "does not crash", it traps on a broken contract:
//   - the records decoded equal the records the ordered stage counted
//     (counters.data_records), held ones included; sFlow records equal the
//     flow samples the ordered stage counted (counters.sflow_flow_samples),
//     whatever the chunk size;
//   - every record's ip_version is 0, 4 or 6, and 4 means a v4-mapped
//     source address (or none);
//   - packet sections (IPFIX 315/313/316, v9 104): records flagged as not
//     parsed to the end come only from section templates, and the reader
//     counts each of them once;
//   - bounds hold: templates installed <= max_templates, held sets <= slots;
//   - after the last datagram and the releases, every pinned plan and
//     sampler set is released (LeakSanitizer checks that the Sessions
//     destructor frees them all).
// Each datagram is copied into an exact-size heap buffer, so ASan catches any
// read past it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "decode/record_reader.h"
#include "decode/sessions.h"
#include "decode/wire_formats.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace ringflow;

void check_record(const FlowRecord& r) {
  FUZZ_CHECK(r.ip_version == 0 || r.ip_version == 4 || r.ip_version == 6);
  if (r.ip_version == 4) FUZZ_CHECK(r.src.is_v4() || r.src == IpAddr{});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const DecodeConfig cfg = fuzz::templated_fuzz_config();
  // The first byte picks the decode path, so every path is fuzzed (one the
  // CPU lacks falls back to the best it has).
  // A path this CPU lacks: the scalar one, which every CPU has.
  if (size > 0 && !set_decode_path(static_cast<DecodePath>(data[0] % 3)))
    set_decode_path(DecodePath::kScalar);
  SessionCounters counters;
  Sessions sessions(cfg, 4, 2048, counters);
  DecodeOptions v5opts;
  static FlowRecord out[64];
  const IpAddr exporter = IpAddr::from_v4(0xC0000201);
  int64_t now_ms = 1700000000000;
  // Records handed out: forward (every data record once, less the biflow
  // records whose forward direction was empty) and reverse (RFC 5103
  // biflows' other direction); empty directions make no record.
  uint64_t decoded = 0, reversed = 0, empty = 0, sflow = 0;

  auto decode = [&](uint16_t buf, const uint8_t* p, size_t len) {
    RecordReader reader(sessions.meta(buf), p, len, now_ms, v5opts);
    RecordChunk chunk;
    size_t n;
    while ((n = reader.next(out, 64, &chunk)) > 0) {
      FUZZ_CHECK(n <= 64);
      for (size_t i = 0; i < n; ++i) check_record(out[i]);
      // Packet sections: only a section template's records carry a reason,
      // and never more of them than records.
      size_t incomplete = 0;
      for (size_t i = 0; i < n; ++i) incomplete += section_reason(out[i].flags) < kSectionReasons;
      size_t counted = 0;
      for (uint16_t c : chunk.section_records) counted += c;
      FUZZ_CHECK(counted == (chunk.sections ? incomplete : 0));
      FUZZ_CHECK(chunk.sections || incomplete == 0);
      if (chunk.format == kFormatSflow) sflow += n;
      else if (chunk.format != kFormatV5) (chunk.reverse ? reversed : decoded) += n;
    }
    empty += reader.empty_directions();
  };

  fuzz::for_each_datagram(data, size, [&](const uint8_t* p, size_t take) {
    std::unique_ptr<uint8_t[]> dg(new uint8_t[take ? take : 1]);
    if (take) std::memcpy(dg.get(), p, take);
    const Admit a = sessions.admit(dg.get(), take, exporter, 0, now_ms);
    if (a == Admit::kHandOff) {
      decode(0, dg.get(), take);
      sessions.release(0);
    }
    ReadyDatagram ready[8];
    size_t nr;
    while ((nr = sessions.take_ready(ready, 8)) > 0)
      for (size_t i = 0; i < nr; ++i) {
        decode(ready[i].buf, ready[i].data, ready[i].len);
        sessions.release(ready[i].buf);
      }
    FUZZ_CHECK(sessions.templates_installed() <= cfg.max_templates);
    FUZZ_CHECK(sessions.held_sets() <= sessions.hold_slots());
    now_ms += 700;  // expiry (held 2 s, templates and streams 10 s) is reached
    sessions.tick(now_ms);
  });
  // Every data record the ordered stage counted comes out forward, unless
  // its forward direction was empty (counted in `empty`, with the empty
  // reverse directions, which the reader does not tell apart); a reverse
  // record needs a data record of its own.
  FUZZ_CHECK(sflow == counters.sflow_flow_samples.load());
  const uint64_t records = counters.data_records.load();
  FUZZ_CHECK(decoded <= records);
  FUZZ_CHECK(decoded + empty >= records);
  FUZZ_CHECK(reversed <= records);
  return 0;
}
