// Seeds the libFuzzer corpus of decode_templated_fuzz: every pcap in a
// directory (the real v9/IPFIX exports of ../shared/captures/v9ipfix/pcap,
// read in place, never copied into the repository) becomes one or more
// inputs in that target's format, one per exporter (source address and
// port) and capture, in capture order:
//   byte 0      the decode path: 0 scalar, 1 SSSE3, 2 AVX-512 VBMI;
//   then        per datagram a 2-byte big-endian length and its bytes.
// Inputs are cut at kMaxInput bytes (scripts/fuzz.sh passes the same
// -max_len), so a long capture gives several inputs, each starting where
// the last stopped; a later chunk without its templates still exercises
// held data and expiry. Every input is written three times, once per decode path.
// A missing or empty directory is a warning: one synthetic v9 sequence
// (template, then data) is written so fuzzing can run without the captures.
// A synthetic v9 packet-section stream (layer2packetSectionData 104) is
// always added: the captures carry IPFIX sections only.
// Usage: captures_to_sequences PCAP_DIR OUT_DIR
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "support/capture_file.h"

namespace {

constexpr size_t kMaxInput = 16384;

bool write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

void put16(std::vector<uint8_t>* v, size_t x) {
  v->push_back(static_cast<uint8_t>(x >> 8));
  v->push_back(static_cast<uint8_t>(x));
}

// A v9 datagram with a 3-field template (id 256) and one data record, and a
// second with one more record: the smallest stream that decodes.
std::vector<std::vector<uint8_t>> synthetic_v9() {
  auto header = [](std::vector<uint8_t>* d, uint16_t count, uint32_t seq) {
    const uint8_t h[20] = {0, 9, 0, static_cast<uint8_t>(count), 0, 0, 0x10, 0, 0x65, 0, 0, 0,
                           static_cast<uint8_t>(seq >> 24), static_cast<uint8_t>(seq >> 16),
                           static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), 0, 0, 0, 1};
    d->insert(d->end(), h, h + 20);
  };
  const uint8_t tmpl[] = {0, 0, 0, 20, 1, 0, 0, 3,  // set 0, template 256, 3 fields
                          0, 8, 0, 4,  0, 2, 0, 4,  // IPV4_SRC_ADDR, IN_PKTS
                          0, 1, 0, 4};              // IN_BYTES
  const uint8_t data[] = {1, 0, 0, 16, 10, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 180};
  std::vector<uint8_t> a, b;
  header(&a, 2, 0);
  a.insert(a.end(), tmpl, tmpl + sizeof tmpl);
  a.insert(a.end(), data, data + sizeof data);
  header(&b, 1, 1);
  b.insert(b.end(), data, data + sizeof data);
  return {a, b};
}

// A NetFlow-Lite style v9 stream (the captures have no v9 packet section):
// template 257 = ingress interface, layer2packetSection offset / size / data
// (102/103/104, 64 bytes), then one record carrying an Ethernet / 802.1Q /
// IPv4 / TCP frame of 58 bytes, zero-padded to 64.
std::vector<std::vector<uint8_t>> synthetic_v9_section() {
  std::vector<uint8_t> d = {0, 9, 0, 2, 0, 0, 0x10, 0, 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  // Bytes laid out by field and layer.
  // clang-format off
  const uint8_t tmpl[] = {0, 0, 0, 24, 1, 1, 0, 4,  // set 0, template 257, 4 fields
                          0, 10, 0, 2, 0, 102, 0, 2, 0, 103, 0, 2, 0, 104, 0, 64};
  d.insert(d.end(), tmpl, tmpl + sizeof tmpl);
  put16(&d, 257);
  put16(&d, 4 + 6 + 64);
  const uint8_t fixed[] = {0, 9, 0, 0, 0, 58};
  d.insert(d.end(), fixed, fixed + sizeof fixed);
  const uint8_t frame[] = {
      0x30, 0xe4, 0xdb, 0x3e, 0x33, 0x7f, 0x00, 0x17, 0x08, 0x7d, 0x77, 0x42, 0x81, 0x00,  // Ethernet
      0x00, 0x64, 0x08, 0x00,                                                              // VLAN 100
      0x45, 0x28, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x3d, 0x06, 0, 0,                    // IPv4
      192, 0, 2, 1, 198, 51, 100, 2,
      0x01, 0xbb, 0x80, 0x01, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0};  // TCP
  // clang-format on
  d.insert(d.end(), frame, frame + sizeof frame);
  d.resize(d.size() + 64 - sizeof frame, 0);
  return {d};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PCAP_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1], out = argv[2];
  std::vector<std::string> files;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 5 && (name.ends_with(".pcap") || name.ends_with(".pcapng")))
        files.push_back(dir + "/" + name);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());

  // One list of datagram payloads per (capture, exporter), in capture order.
  std::vector<std::vector<std::vector<uint8_t>>> streams;
  size_t datagrams = 0;
  for (const auto& path : files) {
    auto cap = ringflow::testing::read_capture(path);
    if (!cap.ok()) {
      std::fprintf(stderr, "captures_to_sequences: warning: %s: %s\n", path.c_str(),
                   cap.error.c_str());
      continue;
    }
    std::map<std::tuple<ringflow::IpAddr, uint16_t>, size_t> index;
    for (auto& dg : cap.datagrams) {
      if (dg.payload.size() > 0xFFFF) continue;
      auto [it, fresh] = index.try_emplace({dg.src, dg.src_port}, streams.size());
      if (fresh) streams.emplace_back();
      streams[it->second].push_back(std::move(dg.payload));
      ++datagrams;
    }
  }
  if (streams.empty()) {
    std::fprintf(stderr, "captures_to_sequences: warning: no captures in %s (synthetic seed only)\n",
                 dir.c_str());
    streams.push_back(synthetic_v9());
  }
  streams.push_back(synthetic_v9_section());

  size_t written = 0;
  auto emit = [&](std::vector<uint8_t>& input) -> bool {
    for (uint8_t path = 0; path < 3; ++path) {
      input[0] = path;
      char name[40];
      std::snprintf(name, sizeof name, "/seq-%05zu", written++);
      if (!write_file(out + name, input)) {
        std::fprintf(stderr, "captures_to_sequences: cannot write %s%s\n", out.c_str(), name);
        return false;
      }
    }
    return true;
  };
  for (const auto& s : streams) {
    std::vector<uint8_t> input{0};
    for (const auto& p : s) {
      if (input.size() > 1 && input.size() + 2 + p.size() > kMaxInput) {
        if (!emit(input)) return 1;
        input.assign(1, 0);
      }
      put16(&input, p.size());
      input.insert(input.end(), p.begin(), p.end());
    }
    if (input.size() > 1 && !emit(input)) return 1;
  }
  std::printf("captures_to_sequences: wrote %zu inputs from %zu datagrams of %zu captures to %s\n",
              written, datagrams, files.size(), out.c_str());
  return 0;
}
