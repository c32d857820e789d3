#include "sink/spool_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/dir_list.h"
#include "common/unique_fd.h"

namespace ringflow {
namespace {

constexpr char kMagic[8] = {'R', 'F', 'C', 'H', 'S', 'P', '0', '1'};
constexpr const char* kExt = ".rfspool";

uint64_t load64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(p[i]);
  return v;
}
uint32_t load32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(p[i]);
  return v;
}
void store64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void store32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

// A 64-bit checksum at memory speed (one 128-bit multiply per word), to
// catch torn or bit-rotted files; not a cryptographic MAC.
uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
uint64_t checksum(uint64_t h, const char* p, size_t n) {
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull;
  h ^= n * k1;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) h = mix(h ^ load64(p + i) ^ k0, k1);
  uint64_t tail = 0;
  for (size_t j = n; j > i; --j) tail = tail << 8 | static_cast<unsigned char>(p[j - 1]);
  return mix(h ^ tail ^ k1, k0);
}

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// "<20 digits>.rfspool" -> seq; false for any other name.
bool parse_name(const char* name, uint64_t* seq) {
  size_t len = std::strlen(name);
  if (len != 20 + std::strlen(kExt) || std::strcmp(name + 20, kExt) != 0) return false;
  uint64_t v = 0;
  for (int i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  *seq = v;
  return true;
}

}  // namespace

std::string Spool::file_name(uint64_t seq) {
  char buf[32];
  snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
  return std::string(buf) + kExt;
}

void Spool::encode(const SpoolRecord& rec, std::string* out) {
  out->resize(kHeaderBytes + rec.columns.size() + rec.payload.size());
  char* p = out->data();
  std::memcpy(p, kMagic, 8);
  store64(p + 8, rec.batch_id);
  store64(p + 16, rec.rows);
  store64(p + 24, static_cast<uint64_t>(rec.start_ms));
  store32(p + 32, static_cast<uint32_t>(rec.columns.size()));
  store32(p + 36, 0);
  store64(p + 40, rec.payload.size());
  std::memcpy(p + kHeaderBytes, rec.columns.data(), rec.columns.size());
  std::memcpy(p + kHeaderBytes + rec.columns.size(), rec.payload.data(), rec.payload.size());
  uint64_t h = checksum(0, p, 48);
  h = checksum(h, p + kHeaderBytes, rec.columns.size() + rec.payload.size());
  store64(p + 48, h);
}

bool Spool::decode(const std::string& f, SpoolRecord* out, std::string* why) {
  if (f.size() < kHeaderBytes) {
    *why = "file of " + std::to_string(f.size()) + " bytes is shorter than the header";
    return false;
  }
  const char* p = f.data();
  if (std::memcmp(p, kMagic, 8) != 0) {
    *why = "bad magic";
    return false;
  }
  uint64_t cols = load32(p + 32), payload = load64(p + 40);
  // Compare without adding (a crafted payload_len near 2^64 must not wrap).
  if (payload > f.size() - kHeaderBytes || cols != f.size() - kHeaderBytes - payload) {
    *why = "lengths (columns " + std::to_string(cols) + ", payload " + std::to_string(payload) +
           ") do not match the file size " + std::to_string(f.size());
    return false;
  }
  uint64_t h = checksum(0, p, 48);
  h = checksum(h, p + kHeaderBytes, cols + payload);
  if (h != load64(p + 48)) {
    *why = "checksum mismatch";
    return false;
  }
  out->batch_id = load64(p + 8);
  out->rows = load64(p + 16);
  out->start_ms = static_cast<int64_t>(load64(p + 24));
  out->columns.assign(p + kHeaderBytes, cols);
  out->payload.assign(p + kHeaderBytes + cols, payload);
  return true;
}

bool Spool::open(const std::string& dir, uint64_t max_bytes, std::string* error) {
  dir_ = dir;
  max_bytes_ = max_bytes;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    *error = "cannot create spool directory " + dir + ": " + ec.message();
    return false;
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *error = errno_text("cannot open spool directory " + dir, errno);
    return false;
  }
  dir_fd_.reset(fd);

  std::vector<std::string> names;
  if (!list_dir(fd, &names)) {
    *error = errno_text("cannot list spool directory " + dir, errno);
    return false;
  }
  std::vector<std::pair<uint64_t, std::string>> found;
  std::vector<std::string> tmp;
  for (std::string& name : names) {
    uint64_t seq;
    size_t len = name.size();
    if (parse_name(name.c_str(), &seq)) {
      found.emplace_back(seq, std::move(name));
    } else if (len > 4 && std::strcmp(name.c_str() + len - 4, ".tmp") == 0) {
      tmp.push_back(std::move(name));
    }
  }
  for (const std::string& t : tmp) ::unlinkat(fd, t.c_str(), 0);  // never renamed: incomplete
  std::sort(found.begin(), found.end());

  std::lock_guard<std::mutex> lock(mu_);
  index_.clear();
  bytes_ = rows_ = 0;
  next_seq_ = found.empty() ? 1 : found.back().first + 1;
  for (const auto& [seq, name] : found) {
    // Only the header here (a large spool is read once, when replayed); the
    // checksum is verified by read_front.
    char h[kHeaderBytes];
    struct stat st;
    const UniqueFd f(::openat(fd, name.c_str(), O_RDONLY | O_CLOEXEC));
    const bool ok = f.valid() && ::fstat(f.get(), &st) == 0 &&
                    ::pread(f.get(), h, sizeof h, 0) == sizeof h &&
                    std::memcmp(h, kMagic, 8) == 0;
    if (!ok) {
      std::string ignored;
      set_aside(name, "corrupt", &ignored);
      ++corrupt_;
      continue;
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    index_.push_back({seq, size, load64(h + 16)});
    bytes_ += size;
    rows_ += load64(h + 16);
  }
  return true;
}

Spool::Append Spool::append(const SpoolRecord& rec, std::string* error) {
  const uint64_t size = kHeaderBytes + rec.columns.size() + rec.payload.size();
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (bytes_ + size > max_bytes_) {
      *error = "spool " + dir_ + " is full (" + std::to_string(bytes_) + " of " +
               std::to_string(max_bytes_) + " bytes used, entry needs " + std::to_string(size) + ")";
      return Append::kFull;
    }
    seq = next_seq_++;
  }
  encode(rec, &scratch_);
  const std::string name = file_name(seq);
  const std::string tmp = name.substr(0, 20) + ".tmp";
  int fd = ::openat(dir_fd_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    *error = errno_text("cannot create " + dir_ + "/" + tmp, errno);
    return Append::kError;
  }
  UniqueFd file(fd);
  if (!write_all(fd, scratch_.data(), scratch_.size()) || ::fsync(fd) != 0) {
    *error = errno_text("cannot write " + dir_ + "/" + tmp, errno);
    ::unlinkat(dir_fd_.get(), tmp.c_str(), 0);
    return Append::kError;
  }
  file.reset();
  if (::renameat(dir_fd_.get(), tmp.c_str(), dir_fd_.get(), name.c_str()) != 0) {
    *error = errno_text("cannot rename " + dir_ + "/" + tmp, errno);
    ::unlinkat(dir_fd_.get(), tmp.c_str(), 0);
    return Append::kError;
  }
  ::fsync(dir_fd_.get());  // the rename itself must survive a crash
  std::lock_guard<std::mutex> lock(mu_);
  index_.push_back({seq, size, rec.rows});
  bytes_ += size;
  rows_ += rec.rows;
  return Append::kOk;
}

Spool::Read Spool::read_front(SpoolRecord* out, std::string* error) {
  Entry e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (index_.empty()) return Read::kEmpty;
    e = index_.front();
  }
  const std::string name = file_name(e.seq);
  int fd = ::openat(dir_fd_.get(), name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {  // removed behind our back: nothing to replay
      std::lock_guard<std::mutex> lock(mu_);
      index_.pop_front();
      bytes_ -= e.bytes;
      rows_ -= e.rows;
      *error = "spool file " + dir_ + "/" + name + " disappeared";
      ++corrupt_;
      return Read::kCorrupt;
    }
    *error = errno_text("cannot open " + dir_ + "/" + name, err);
    return Read::kError;
  }
  UniqueFd file(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    *error = errno_text("cannot stat " + dir_ + "/" + name, errno);
    return Read::kError;
  }
  std::string buf(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t r = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      *error = errno_text("cannot read " + dir_ + "/" + name, errno);
      return Read::kError;
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  buf.resize(got);
  std::string why;
  if (!decode(buf, out, &why)) {
    std::string ignored;
    set_aside_front("corrupt", &ignored);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++corrupt_;
    }
    *error = "spool file " + dir_ + "/" + name + " is corrupt (" + why + "); set aside as " +
             name + ".corrupt";
    return Read::kCorrupt;
  }
  return Read::kOk;
}

bool Spool::pop_front(std::string* error) {
  Entry e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (index_.empty()) return true;
    e = index_.front();
  }
  const std::string name = file_name(e.seq);
  // No directory fsync: if a crash brings the file back, the replay finds
  // its batch id already in the table and skips it.
  if (::unlinkat(dir_fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
    *error = errno_text("cannot delete " + dir_ + "/" + name, errno);
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  index_.pop_front();
  bytes_ -= e.bytes;
  rows_ -= e.rows;
  return true;
}

bool Spool::set_aside_front(const char* suffix, std::string* error) {
  Entry e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (index_.empty()) return true;
    e = index_.front();
  }
  bool ok = set_aside(file_name(e.seq), suffix, error);
  std::lock_guard<std::mutex> lock(mu_);
  index_.pop_front();
  bytes_ -= e.bytes;
  rows_ -= e.rows;
  return ok;
}

bool Spool::set_aside(const std::string& name, const char* suffix, std::string* error) {
  std::string to = name + "." + suffix;
  if (::renameat(dir_fd_.get(), name.c_str(), dir_fd_.get(), to.c_str()) != 0) {
    *error = errno_text("cannot rename " + dir_ + "/" + name + " to " + to, errno);
    // Never replay it again in this run, renamed or not.
    return false;
  }
  return true;
}

size_t Spool::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.size();
}
uint64_t Spool::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}
uint64_t Spool::rows() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rows_;
}
uint64_t Spool::corrupt() const {
  std::lock_guard<std::mutex> lock(mu_);
  return corrupt_;
}

}  // namespace ringflow
