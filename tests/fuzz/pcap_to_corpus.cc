// Seeds a libFuzzer corpus for decode_v5_fuzz: writes every UDP payload of a
// pcap as one file, plus shapes the capture lacks (packed PDUs, trailing
// bytes, a truncated PDU, a minimal one-record PDU).
// Usage: pcap_to_corpus CAPTURE.pcap OUT_DIR   (a missing capture is a warning:
// the synthetic seeds are still written, so fuzzing can run without it).
#include <cstdio>
#include <string>
#include <vector>

#include "support/capture_file.h"

namespace {

bool write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

// A valid PDU with one record, built byte by byte (offsets of src/wire/v5.h).
std::vector<uint8_t> minimal_pdu() {
  std::vector<uint8_t> d(24 + 48, 0);
  d[1] = 5;               // version
  d[3] = 1;               // count
  d[4] = 0x10;            // sys_uptime 0x10000000
  d[8] = 0x65;            // unix_secs
  d[19] = 7;              // flow_sequence
  d[24 + 16 + 3] = 3;     // dPkts
  d[24 + 20 + 3] = 0xb4;  // dOctets
  d[24 + 24] = 0x0f;      // first
  d[24 + 28] = 0x0f;      // last
  d[24 + 28 + 3] = 0x20;
  d[24 + 38] = 6;  // prot
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CAPTURE.pcap OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[2];
  std::vector<std::vector<uint8_t>> seeds;
  auto pcap = ringflow::testing::read_capture(argv[1]);
  if (!pcap.ok()) {
    std::fprintf(stderr, "pcap_to_corpus: warning: %s: %s (synthetic seeds only)\n", argv[1],
                 pcap.error.c_str());
  }
  for (const auto& d : pcap.datagrams) seeds.push_back(d.payload);

  const std::vector<uint8_t> base = seeds.empty() ? minimal_pdu() : seeds.front();
  const std::vector<uint8_t> small = minimal_pdu();
  seeds.push_back(small);
  std::vector<uint8_t> packed = base;
  packed.insert(packed.end(), small.begin(), small.end());
  seeds.push_back(packed);
  std::vector<uint8_t> trailing = base;
  trailing.insert(trailing.end(), 5, 0xEE);
  seeds.push_back(trailing);
  std::vector<uint8_t> truncated(base.begin(), base.end() - 1);
  seeds.push_back(truncated);

  size_t n = 0;
  for (const auto& s : seeds) {
    char name[32];
    std::snprintf(name, sizeof name, "/seed-%04zu", n++);
    if (!write_file(out + name, s)) {
      std::fprintf(stderr, "pcap_to_corpus: cannot write %s%s\n", out.c_str(), name);
      return 1;
    }
  }
  std::printf("pcap_to_corpus: wrote %zu seeds (%zu from the capture) to %s\n", seeds.size(),
              pcap.datagrams.size(), out.c_str());
  return 0;
}
