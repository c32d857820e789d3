#include "decode/state_codec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "decode/wire_formats.h"
#include "wire/bytes.h"

namespace ringflow {
namespace {

constexpr std::string_view kMagicPrefix = "ringflow-templates ";
constexpr std::string_view kMagic = "ringflow-templates 3\n";
constexpr size_t kHeaderBytes = kMagic.size() + 8;  // + u32 length + u32 CRC32C
constexpr uint8_t kRecTemplate = 1, kRecStream = 2, kRecInterface = 3;

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected 0x1EDC6F41
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

void put8(std::string* o, uint8_t v) { o->push_back(static_cast<char>(v)); }
void put16(std::string* o, uint16_t v) {
  uint8_t b[2];
  wire::store_be16(b, v);
  o->append(reinterpret_cast<const char*>(b), 2);
}
void put32(std::string* o, uint32_t v) {
  uint8_t b[4];
  wire::store_be32(b, v);
  o->append(reinterpret_cast<const char*>(b), 4);
}
void put64(std::string* o, uint64_t v) {
  uint8_t b[8];
  wire::store_be64(b, v);
  o->append(reinterpret_cast<const char*>(b), 8);
}
void put_key(std::string* o, const StreamKey& k) {
  o->append(reinterpret_cast<const char*>(k.exporter.bytes.data()), 16);
  // The file keeps the version number (9, 10), not the format id, so that
  // files written before format ids existed still load.
  const WireFormat* f = format_by_id(k.format);
  put8(o, static_cast<uint8_t>(f ? f->version : 0));
  put32(o, k.domain);
}

// Bounded reader over the body: any read past the end clears ok.
struct Reader {
  const uint8_t* p;
  size_t n;
  bool ok = true;
  const uint8_t* take(size_t k) {
    if (!ok || n < k) {
      ok = false;
      return nullptr;
    }
    const uint8_t* r = p;
    p += k;
    n -= k;
    return r;
  }
  uint8_t u8() { const uint8_t* q = take(1); return q ? q[0] : 0; }
  uint16_t u16() { const uint8_t* q = take(2); return q ? wire::load_be16(q) : 0; }
  uint32_t u32() { const uint8_t* q = take(4); return q ? wire::load_be32(q) : 0; }
  uint64_t u64() { const uint8_t* q = take(8); return q ? wire::load_be64(q) : 0; }
  StreamKey key() {
    StreamKey k;
    if (const uint8_t* q = take(16)) std::memcpy(k.exporter.bytes.data(), q, 16);
    k.format = templated_format(u8());  // kWireFormatCount: not v9/IPFIX
    k.domain = u32();
    return k;
  }
};

}  // namespace

uint32_t crc32c(const uint8_t* p, size_t n, uint32_t crc) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

const char* state_error_text(StateError e) {
  switch (e) {
    case StateError::kNone: return "ok";
    case StateError::kNotState: return "not a ringflow template state";
    case StateError::kOldFormat:
      return "format 1, written by an older ringflow without a checksum (refused: the templates "
             "are learnt again from the exporters)";
    case StateError::kNewFormat: return "a newer format than this ringflow reads";
    case StateError::kTruncated: return "shorter than its header says (cut short)";
    case StateError::kTrailing: return "longer than its header says";
    case StateError::kChecksum: return "checksum mismatch (damaged)";
    case StateError::kMalformed: return "checksum right but a record is malformed";
  }
  return "unknown";
}

std::string encode_state(const TemplateState& st) {
  std::string body;
  for (const StateTemplate& t : st.templates) {
    put8(&body, kRecTemplate);
    put_key(&body, t.key);
    put8(&body, t.options ? 1 : 0);
    put16(&body, static_cast<uint16_t>(t.raw.size()));
    body.append(t.raw);
  }
  for (const StateStream& s : st.streams) {
    put8(&body, kRecStream);
    put_key(&body, s.key);
    put8(&body, s.has_init ? 1 : 0);
    put64(&body, static_cast<uint64_t>(s.init_ms));
    put32(&body, s.rates.default_rate);
    put8(&body, static_cast<uint8_t>(s.rates.n));
    for (uint32_t k = 0; k < s.rates.n; ++k) {
      put32(&body, s.rates.ids[k]);
      put32(&body, s.rates.rates[k]);
    }
  }
  for (const StateInterface& i : st.interfaces) {
    put8(&body, kRecInterface);
    put_key(&body, i.key);
    put32(&body, i.if_index);
    for (const std::string* str : {&i.name, &i.description}) {
      const size_t n = std::min<size_t>(str->size(), 255);
      put8(&body, static_cast<uint8_t>(n));
      body.append(*str, 0, n);
    }
  }
  std::string out(kMagic);
  put32(&out, static_cast<uint32_t>(body.size()));
  put32(&out, crc32c(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  out += body;
  return out;
}

StateError decode_state(std::string_view data, TemplateState* out) {
  out->templates.clear();
  out->streams.clear();
  out->interfaces.clear();
  if (data.substr(0, kMagicPrefix.size()) != kMagicPrefix) return StateError::kNotState;
  const size_t eol = data.find('\n');
  if (eol == std::string_view::npos || eol > 40) return StateError::kNotState;
  const std::string_view format = data.substr(kMagicPrefix.size(), eol - kMagicPrefix.size());
  if (format == "1") return StateError::kOldFormat;
  if (format != "2" && format != "3") return StateError::kNewFormat;
  const bool v2 = format == "2";  // same header size: one digit
  if (data.size() < kHeaderBytes) return StateError::kTruncated;
  const auto* base = reinterpret_cast<const uint8_t*>(data.data());
  const uint32_t len = wire::load_be32(base + kMagic.size());
  const uint32_t crc = wire::load_be32(base + kMagic.size() + 4);
  if (data.size() - kHeaderBytes < len) return StateError::kTruncated;
  if (data.size() - kHeaderBytes > len) return StateError::kTrailing;
  if (crc32c(base + kHeaderBytes, len) != crc) return StateError::kChecksum;

  Reader r{base + kHeaderBytes, len};
  while (r.ok && r.n > 0) {
    const uint8_t type = r.u8();
    const StreamKey key = r.key();
    if (!r.ok || key.format >= kWireFormatCount) return StateError::kMalformed;
    if (type == kRecTemplate) {
      StateTemplate t;
      t.key = key;
      t.options = r.u8() != 0;
      const uint16_t n = r.u16();
      const uint8_t* raw = r.take(n);
      if (!r.ok) return StateError::kMalformed;
      t.raw.assign(reinterpret_cast<const char*>(raw), n);
      out->templates.push_back(std::move(t));
    } else if (type == kRecStream) {
      StateStream s;
      s.key = key;
      s.has_init = r.u8() != 0;
      s.init_ms = static_cast<int64_t>(r.u64());
      s.rates.default_rate = r.u32();
      s.rates.n = r.u8();
      if (s.rates.n > SamplerSet::kMaxSamplers) return StateError::kMalformed;
      for (uint32_t k = 0; k < s.rates.n; ++k) {
        s.rates.ids[k] = r.u32();
        s.rates.rates[k] = r.u32();
      }
      if (!r.ok) return StateError::kMalformed;
      out->streams.push_back(s);
    } else if (type == kRecInterface && !v2) {
      StateInterface i;
      i.key = key;
      i.if_index = r.u32();
      for (std::string* str : {&i.name, &i.description}) {
        const uint8_t n = r.u8();
        const uint8_t* b = r.take(n);
        if (!r.ok) return StateError::kMalformed;
        str->assign(reinterpret_cast<const char*>(b), n);
      }
      out->interfaces.push_back(std::move(i));
    } else {
      return StateError::kMalformed;
    }
  }
  return r.ok ? StateError::kNone : StateError::kMalformed;
}

StateFile read_state_file(const std::string& path, size_t max_bytes, std::string* out,
                          std::string* why) {
  out->clear();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT) return StateFile::kMissing;
    *why = std::string("cannot open: ") + std::strerror(errno);
    return StateFile::kRefused;
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    *why = std::string("fstat: ") + std::strerror(errno);
    return StateFile::kRefused;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = "not a regular file (a FIFO, device, socket or directory)";
    return StateFile::kRefused;
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    *why = std::to_string(st.st_size) + " bytes, more than the " + std::to_string(max_bytes) +
           " a state file may hold";
    return StateFile::kRefused;
  }
  // One byte more than fstat said: a file that grew meanwhile is read past
  // its header's length and refused by decode_state, never cut silently.
  out->resize(static_cast<size_t>(st.st_size) + 1);
  size_t got = 0;
  while (got < out->size()) {
    const ssize_t k = ::read(fd.get(), out->data() + got, out->size() - got);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      *why = std::string("read: ") + std::strerror(errno);
      out->clear();
      return StateFile::kRefused;
    }
    if (k == 0) break;
    got += static_cast<size_t>(k);
  }
  if (got > max_bytes) {
    *why = "more than " + std::to_string(max_bytes) + " bytes";
    out->clear();
    return StateFile::kRefused;
  }
  out->resize(got);
  return StateFile::kRead;
}

}  // namespace ringflow
