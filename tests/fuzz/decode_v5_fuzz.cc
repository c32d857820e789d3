// libFuzzer target for the NetFlow v5 decoder (scripts/fuzz.sh runs it under
// ASan+UBSan). Beyond "does not crash", it checks the decoder's contract on
// every input and traps on any violation:
//   - validate_datagram with and without accept_trailing agree: same reject
//     reason except kTrailingBytes, which the lenient mode accepts as trailing;
//   - an accepted datagram's PDUs, walked by decode_pdu_at, lie inside it,
//     each 24 + 48*count bytes with 1 <= count <= 30, and cover it exactly
//     unless trailing; decode_pdu by index decodes the same PDU;
//   - every decoded field equals an independent byte-by-byte read at its offset
//     (so no record is read from outside its PDU);
//   - future/inverted counts match the records;
//   - the sequence tracker and sampling policy accept whatever header comes
//     out (bounded table, multiplier >= 1, loss estimate never wraps below 0).
// The input is copied into an exact-size heap buffer, so ASan catches any read
// past the datagram.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "decode/sampling.h"
#include "decode/sequence_tracker.h"
#include "decode/v5_decoder.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace ringflow;

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void check_pdu_fields(const uint8_t* pdu, const Pdu& out, int64_t now_ms, int64_t tol) {
  const v5::Header& h = out.header;
  FUZZ_CHECK(h.version == be16(pdu));
  FUZZ_CHECK(h.count == be16(pdu + 2) && h.count == out.count);
  FUZZ_CHECK(h.sys_uptime_ms == be32(pdu + 4));
  FUZZ_CHECK(h.unix_secs == be32(pdu + 8));
  FUZZ_CHECK(h.unix_nsecs == be32(pdu + 12));
  FUZZ_CHECK(h.flow_sequence == be32(pdu + 16));
  FUZZ_CHECK(h.engine_type == pdu[20] && h.engine_id == pdu[21]);
  FUZZ_CHECK(h.sampling_raw == be16(pdu + 22));
  unsigned future = 0, inverted = 0;
  for (size_t i = 0; i < out.count; ++i) {
    const uint8_t* q = pdu + 24 + 48 * i;
    const v5::Record& r = out.records[i];
    FUZZ_CHECK(r.src_addr == be32(q) && r.dst_addr == be32(q + 4) && r.nexthop == be32(q + 8));
    FUZZ_CHECK(r.input == be16(q + 12) && r.output == be16(q + 14));
    FUZZ_CHECK(r.packets == be32(q + 16) && r.octets == be32(q + 20));
    FUZZ_CHECK(r.first_raw == be32(q + 24) && r.last_raw == be32(q + 28));
    FUZZ_CHECK(r.src_port == be16(q + 32) && r.dst_port == be16(q + 34));
    FUZZ_CHECK(r.tcp_flags == q[37] && r.protocol == q[38] && r.tos == q[39]);
    FUZZ_CHECK(r.src_as == be16(q + 40) && r.dst_as == be16(q + 42));
    FUZZ_CHECK(r.src_mask == q[44] && r.dst_mask == q[45]);
    // Times are within +-2^31 ms of the export time.
    FUZZ_CHECK(r.start_ms - out.export_ms <= INT32_MAX && out.export_ms - r.start_ms <= 2147483648);
    future += r.end_ms > now_ms + tol;
    inverted += r.start_ms > r.end_ms;
  }
  FUZZ_CHECK(future == out.future_records && inverted == out.inverted_records);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One tracker across inputs, like a long-running worker; small so that the
  // table-full and expiry paths are reached.
  static DecodeConfig cfg = [] {
    DecodeConfig c;
    c.max_streams = 16;
    c.reorder_window = 1000;
    c.reset_threshold = 100000;
    c.sampling_overrides = {{IpAddr::from_v4(0x7F000001), 10}};
    return c;
  }();
  static SequenceTracker tracker(cfg);
  static SamplingPolicy sampling(cfg);
  static Pdu out, by_index;
  static int64_t now_ms = 1700000000000;

  std::unique_ptr<uint8_t[]> buf(new uint8_t[size ? size : 1]);
  if (size) std::memcpy(buf.get(), data, size);
  const uint8_t* p = buf.get();

  DecodeOptions strict, lenient;
  lenient.accept_trailing = true;
  // A tolerance taken from the input exercises both sides of the compare.
  if (size > 0) strict.future_tolerance_ms = lenient.future_tolerance_ms = int64_t{data[0]} * 1000;
  const DatagramShape s = validate_datagram(p, size, strict);
  const DatagramShape l = validate_datagram(p, size, lenient);

  if (s.reject == Reject::kTrailingBytes) {
    FUZZ_CHECK(l.reject == Reject::kNone && l.trailing);
  } else {
    FUZZ_CHECK(l.reject == s.reject && l.pdus == s.pdus && l.trailing == s.trailing);
    FUZZ_CHECK(!s.trailing);
  }
  if (l.reject != Reject::kNone) {
    FUZZ_CHECK(l.pdus == 0);
    // A caller that decodes anyway gets nothing, and no read outside.
    decode_pdu(p, size, 0, now_ms, lenient, &out);
    FUZZ_CHECK(out.count == 0);
    return 0;
  }
  FUZZ_CHECK(l.pdus >= 1 && l.pdus <= kMaxPdusPerDatagram);

  // Walk by offset, compare with decode by index.
  size_t off = 0;
  const IpAddr exporter = IpAddr::from_v4(0x7F000000 | (size & 3));
  for (size_t i = 0; i < l.pdus; ++i) {
    size_t next = decode_pdu_at(p, size, off, now_ms, lenient, &out);
    FUZZ_CHECK(next != 0);
    FUZZ_CHECK(out.count >= 1 && out.count <= v5::kMaxRecords);
    FUZZ_CHECK(next == off + v5::kHeaderSize + size_t{out.count} * v5::kRecordSize);
    FUZZ_CHECK(next <= size);
    check_pdu_fields(p + off, out, now_ms, lenient.future_tolerance_ms);
    decode_pdu(p, size, i, now_ms, lenient, &by_index);
    FUZZ_CHECK(by_index.count == out.count);
    FUZZ_CHECK(std::memcmp(&by_index.header, &out.header, sizeof out.header) == 0);
    FUZZ_CHECK(by_index.records[out.count - 1].src_addr == out.records[out.count - 1].src_addr);

    FUZZ_CHECK(sampling.multiplier(exporter, out.header) >= 1);
    FUZZ_CHECK(sampling.multiplier(exporter, out.header) <= kMaxSamplingInterval);
    const StreamStats* before =
        tracker.find(exporter, out.header.engine_type, out.header.engine_id);
    const uint64_t lost_before = before ? before->lost_flows : 0;
    SeqResult r = tracker.observe(exporter, out.header, now_ms);
    const StreamStats* st = tracker.find(exporter, out.header.engine_type, out.header.engine_id);
    FUZZ_CHECK((st == nullptr) == (r.cls == SeqClass::kTableFull));
    if (r.cls == SeqClass::kGap) FUZZ_CHECK(st->lost_flows == lost_before + r.flows);
    if (r.cls == SeqClass::kLate) FUZZ_CHECK(st->lost_flows <= lost_before);
    FUZZ_CHECK(st == nullptr || st->lost_flows < (uint64_t{1} << 63));
    off = next;
  }
  FUZZ_CHECK(l.trailing ? off < size : off == size);
  FUZZ_CHECK(tracker.size() <= cfg.max_streams);

  now_ms += 1000;
  if ((now_ms / 1000) % 64 == 0) tracker.expire(now_ms + int64_t{cfg.stream_idle_timeout_s} * 1000);
  return 0;
}
