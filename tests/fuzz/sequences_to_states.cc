// Seeds the libFuzzer corpus of state_load_fuzz: every input of
// decode_templated_fuzz's corpus (a decode path byte, then datagrams as a
// 2-byte big-endian length and their bytes; see captures_to_sequences.cc) is
// fed to the ordered stage, and the template state it ends with
// (Sessions::save) is written when it holds a template or a sampling rate.
// Identical states are written once.
// Usage: sequences_to_states SEQUENCE_DIR OUT_DIR
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "decode/sessions.h"
#include "fuzz/fuzz_support.h"

namespace {

bool read_file(const std::string& path, std::string* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

bool write_file(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

// The state the ordered stage ends with after the sequence `in`.
std::string state_after(const std::string& in) {
  using namespace ringflow;
  SessionCounters counters;
  Sessions sessions(fuzz::templated_fuzz_config(), 4, 2048, counters);
  const IpAddr exporter = IpAddr::from_v4(0xC0000201);
  const int64_t now_ms = 1700000000000;
  fuzz::for_each_datagram(reinterpret_cast<const uint8_t*>(in.data()), in.size(),
                          [&](const uint8_t* p, size_t len) {
    if (sessions.admit(p, len, exporter, 0, now_ms) == Admit::kHandOff) sessions.release(0);
    ReadyDatagram ready[8];
    size_t nr;
    while ((nr = sessions.take_ready(ready, 8)) > 0)
      for (size_t i = 0; i < nr; ++i) sessions.release(ready[i].buf);
  });
  return sessions.save();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SEQUENCE_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1], out = argv[2];
  std::vector<std::string> files;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.') files.push_back(dir + "/" + e->d_name);
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  std::set<std::string> states;
  for (const std::string& path : files) {
    std::string in;
    if (!read_file(path, &in)) {  // a running fuzzer may have just replaced it
      std::fprintf(stderr, "sequences_to_states: warning: cannot read %s\n", path.c_str());
      continue;
    }
    std::string state = state_after(in);
    if (state.size() > 29) states.insert(std::move(state));  // more than the header (no record)
  }
  size_t written = 0;
  for (const std::string& s : states) {
    char name[40];
    std::snprintf(name, sizeof name, "/state-%05zu", written++);
    if (!write_file(out + name, s)) {
      std::fprintf(stderr, "sequences_to_states: cannot write %s%s\n", out.c_str(), name);
      return 1;
    }
  }
  std::printf("sequences_to_states: wrote %zu states from %zu sequences to %s\n", written,
              files.size(), out.c_str());
  return 0;
}
