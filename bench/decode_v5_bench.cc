// Decoder microbenchmark: NetFlow v5 records decoded per second on one core
// (median of several runs), for the decoder alone and for the worker's whole
// per-PDU path (validate, decode, sampling multiplier, sequence tracking).
// Usage: decode_v5_bench [RUNS]   (CI smoke: 1)
//
// Input: 512 distinct full datagrams (30 records each, 1464 bytes; 750 KB in
// all, so mostly in L2, as a worker's recent receive buffers would be) from
// 16 exporter streams, built with the encoder and varied field by field.
//
// It also checks its own invariants, so that a run which decodes nothing (or
// garbage) fast fails instead of printing a fine figure: exits 1 when a
// timed loop decoded a different number of records than it was given, when
// the sampled loop's renormalized octets differ from the input's x 100 or
// its sequence tracker saw anything but in-order PDUs, or when one decoded
// pass differs field by field from the records encoded. bench_smoke_decode
// (ctest) runs it once.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "bench_util.h"
#include "decode/sampling.h"
#include "decode/sequence_tracker.h"
#include "decode/v5_decoder.h"
#include "gen/v5_encoder.h"

using namespace ringflow;

namespace {

constexpr size_t kDatagrams = 512;
constexpr size_t kStreams = 16;
constexpr int64_t kNow = 1700000100000;

struct Input {
  std::vector<std::vector<uint8_t>> datagrams;
  std::vector<std::vector<v5::Record>> records;  // as encoded, per datagram
  std::vector<IpAddr> exporters;
  uint64_t octets = 0;  // sum of every record's octets (one pass)
};

int failures = 0;
void expect_eq(const char* what, uint64_t got, uint64_t want) {
  if (got == want) return;
  std::fprintf(stderr, "decode_v5_bench: FAIL: %s: %llu, expected %llu\n", what,
               static_cast<unsigned long long>(got), static_cast<unsigned long long>(want));
  ++failures;
}

Input make_input() {
  Input in;
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto rnd = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<uint32_t>(x);
  };
  std::vector<uint32_t> seq(kStreams, 0);
  for (size_t d = 0; d < kDatagrams; ++d) {
    const size_t s = d % kStreams;
    v5::Header h;
    h.version = 5;
    h.count = v5::kMaxRecords;
    h.sys_uptime_ms = 86400000 + static_cast<uint32_t>(d) * 10;
    h.unix_secs = 1700000000 + static_cast<uint32_t>(d / 100);
    h.unix_nsecs = static_cast<uint32_t>(d % 100) * 10000000;
    h.flow_sequence = seq[s];
    h.engine_id = static_cast<uint8_t>(s);
    h.sampling_raw = v5::make_sampling(1, 100);
    seq[s] += h.count;
    v5::Record r[v5::kMaxRecords];
    for (auto& rec : r) {
      rec.src_addr = 0x0A000000 | (rnd() & 0xFFFFFF);
      rec.dst_addr = 0xC6336400 | (rnd() & 0xFF);
      rec.input = static_cast<uint16_t>(rnd() & 0xFF);
      rec.output = static_cast<uint16_t>(rnd() & 0xFF);
      rec.packets = 1 + rnd() % 1000;
      rec.octets = rec.packets * (40 + rnd() % 1460);
      rec.last_raw = h.sys_uptime_ms - rnd() % 60000;
      rec.first_raw = rec.last_raw - rnd() % 120000;
      rec.src_port = static_cast<uint16_t>(rnd());
      rec.dst_port = 443;
      rec.tcp_flags = 0x1b;
      rec.protocol = 6;
      in.octets += rec.octets;
    }
    in.records.emplace_back(r, r + v5::kMaxRecords);
    std::vector<uint8_t> buf(v5::kMaxPduSize);
    v5::encode_v5(h, r, v5::kMaxRecords, buf.data(), buf.size());
    in.datagrams.push_back(std::move(buf));
  }
  for (size_t s = 0; s < kStreams; ++s) in.exporters.push_back(IpAddr::from_v4(0xC0000201 + s));
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = bench::runs_from_args(argc, argv, 7);
  Input in = make_input();
  const DecodeOptions opt;
  static Pdu pdu;
  constexpr size_t kPasses = 400;  // 512 x 30 x 400 = 6.1 M records per run
  constexpr uint64_t kRecordsPerRun = kPasses * kDatagrams * v5::kMaxRecords;

  // One pass decoded and compared with what was encoded, field by field.
  uint64_t mismatched = 0, decoded = 0;
  for (size_t k = 0; k < in.datagrams.size(); ++k) {
    const auto& d = in.datagrams[k];
    DatagramShape s = validate_datagram(d.data(), d.size(), opt);
    expect_eq("PDUs in a valid datagram", s.pdus, 1);
    if (s.pdus != 1) continue;
    decode_pdu(d.data(), d.size(), 0, kNow, opt, &pdu);
    decoded += pdu.count;
    for (size_t j = 0; j < pdu.count && j < in.records[k].size(); ++j) {
      const v5::Record &a = pdu.records[j], &b = in.records[k][j];
      mismatched += a.src_addr != b.src_addr || a.dst_addr != b.dst_addr || a.input != b.input ||
                    a.output != b.output || a.packets != b.packets || a.octets != b.octets ||
                    a.first_raw != b.first_raw || a.last_raw != b.last_raw ||
                    a.src_port != b.src_port || a.dst_port != b.dst_port ||
                    a.tcp_flags != b.tcp_flags || a.protocol != b.protocol;
    }
  }
  expect_eq("records decoded in the check pass", decoded, kDatagrams * v5::kMaxRecords);
  expect_eq("records that differ from the encoded ones", mismatched, 0);

  uint64_t last_records = 0;
  bench::rate(
      "decode: validate + decode_pdu", runs,
      [&] {
        uint64_t records = 0, sum = 0;
        for (size_t pass = 0; pass < kPasses; ++pass) {
          for (const auto& d : in.datagrams) {
            DatagramShape s = validate_datagram(d.data(), d.size(), opt);
            for (size_t i = 0; i < s.pdus; ++i) {
              decode_pdu(d.data(), d.size(), i, kNow, opt, &pdu);
              records += pdu.count;
              sum += pdu.records[pdu.count - 1].octets + pdu.future_records;
            }
          }
        }
        bench::do_not_optimize(sum);
        last_records = records;
        return records;
      },
      "records");
  expect_eq("records decoded per run (validate + decode_pdu)", last_records, kRecordsPerRun);

  DecodeConfig cfg;
  SamplingPolicy sampling(cfg);
  SequenceTracker tracker(cfg);
  std::vector<uint32_t> next_seq(kStreams, 0);
  // The tracker lives across runs: its first 16 PDUs open the 16 streams
  // (kNewStream), every later one is in order.
  uint64_t last_sum = 0, last_class_sum = 0, new_streams = 0, other_classes = 0;
  bench::rate(
      "decode: + sampling + sequence tracking", runs,
      [&] {
        uint64_t records = 0, sum = 0, class_sum = 0;
        for (size_t pass = 0; pass < kPasses; ++pass) {
          // Renumber so every pass continues each stream in order (the common
          // case), rather than replaying duplicates.
          for (size_t k = 0; k < in.datagrams.size(); ++k) {
            v5::patch_v5_sequence(in.datagrams[k].data(), in.datagrams[k].size(),
                                  next_seq[k % kStreams]);
            next_seq[k % kStreams] += v5::kMaxRecords;
          }
          size_t k = 0;
          for (const auto& d : in.datagrams) {
            const IpAddr& exporter = in.exporters[k++ % kStreams];
            DatagramShape s = validate_datagram(d.data(), d.size(), opt);
            for (size_t i = 0; i < s.pdus; ++i) {
              decode_pdu(d.data(), d.size(), i, kNow, opt, &pdu);
              SeqResult r = tracker.observe(exporter, pdu.header, kNow);
              uint32_t m = sampling.multiplier(exporter, pdu.header);
              for (size_t j = 0; j < pdu.count; ++j) sum += renormalized(pdu.records[j].octets, m);
              records += pdu.count;
              sum += static_cast<uint64_t>(r.cls);
              if (r.cls != SeqClass::kInOrder) {  // rare: 16 times in all
                class_sum += static_cast<uint64_t>(r.cls);
                (r.cls == SeqClass::kNewStream ? new_streams : other_classes) += 1;
              }
            }
          }
        }
        bench::do_not_optimize(sum);
        last_records = records;
        last_sum = sum;
        last_class_sum = class_sum;
        return records;
      },
      "records");
  expect_eq("records decoded per run (+ sampling + sequence)", last_records, kRecordsPerRun);
  // The sum is the renormalized octets plus the sequence classes seen.
  expect_eq("renormalized octets per run (1:100)", last_sum - last_class_sum,
            kPasses * in.octets * 100);
  expect_eq("streams the sequence tracker opened", new_streams, kStreams);
  expect_eq("PDUs the sequence tracker saw neither new nor in order", other_classes, 0);

  v5::Header h = v5::Header{};
  h.version = 5;
  h.count = 30;
  bench::rate(
      "sequence tracker: observe (16 streams)", runs,
      [&] {
        SequenceTracker t(cfg);
        uint32_t seq[kStreams] = {};
        constexpr uint64_t kN = 2000000;
        uint64_t sum = 0;
        for (uint64_t i = 0; i < kN; ++i) {
          const size_t s = i % kStreams;
          h.engine_id = static_cast<uint8_t>(s);
          h.flow_sequence = seq[s];
          seq[s] += 30;
          sum += static_cast<uint64_t>(t.observe(in.exporters[s], h, kNow).cls);
        }
        bench::do_not_optimize(sum);
        return kN;
      },
      "PDUs");
  if (failures > 0) {
    std::fprintf(stderr, "decode_v5_bench: %d invariant(s) broken\n", failures);
    return 1;
  }
  std::printf("decode_v5_bench: invariants hold (%llu records per run decoded, equal to the input)\n",
              static_cast<unsigned long long>(kRecordsPerRun));
  return 0;
}
