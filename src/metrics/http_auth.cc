#include "metrics/http_auth.h"

#include <crypt.h>

#include <strings.h>

#include <cstring>
#include <fstream>
#include <memory>

namespace ringflow {
namespace {

// Compares without stopping at the first difference (no timing oracle on
// the token's prefix).
bool same(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

bool base64_decode(std::string_view in, std::string* out) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// crypt(3) of `password` with the settings (and salt) of `hash`; "" on failure.
std::string crypt_of(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();  // 32 KB: not on the event loop's stack
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* r = crypt_r(password.c_str(), hash.c_str(), data.get());
  return r && r[0] != '*' ? std::string(r) : std::string();
}

}  // namespace

bool HttpAuth::load(const std::string& token_file, const std::string& basic_file, HttpAuth* out,
                    std::string* error) {
  *out = HttpAuth{};
  if (!token_file.empty()) {
    std::ifstream f(token_file);
    std::string line;
    if (!f || !std::getline(f, line)) {
      *error = "metrics.auth_token_file " + token_file + ": cannot be read, or is empty";
      return false;
    }
    out->token_ = trim(line);
    if (out->token_.size() < 16) {
      *error = "metrics.auth_token_file " + token_file +
               ": the token (its first line) must be at least 16 characters";
      return false;
    }
  }
  if (!basic_file.empty()) {
    std::ifstream f(basic_file);
    if (!f) {
      *error = "metrics.auth_basic_file " + basic_file + ": cannot be read";
      return false;
    }
    std::string line;
    for (int n = 1; std::getline(f, line); ++n) {
      line = trim(line);
      if (line.empty() || line[0] == '#') continue;
      const size_t colon = line.find(':');
      const std::string where =
          "metrics.auth_basic_file " + basic_file + " line " + std::to_string(n) + ": ";
      if (colon == 0 || colon == std::string::npos) {
        *error = where + "expected user:hash";
        return false;
      }
      std::string user = line.substr(0, colon), hash = line.substr(colon + 1);
      // A hash crypt(3) knows reproduces itself from its own settings.
      if (hash.size() < 3 || hash[0] != '$' || crypt_of("", hash).empty()) {
        *error = where + "the hash is not one crypt(3) knows (make it with `mkpasswd -m " +
                 "sha-256` or `openssl passwd -5`)";
        return false;
      }
      out->users_.emplace_back(std::move(user), std::move(hash));
    }
    if (out->users_.empty()) {
      *error = "metrics.auth_basic_file " + basic_file + ": no user:hash line";
      return false;
    }
  }
  return true;
}

bool HttpAuth::check(const char* authorization) const {
  if (!enabled()) return true;
  if (!authorization) return false;
  const std::string_view h(authorization);
  auto scheme = [&](std::string_view s) {
    return h.size() > s.size() && strncasecmp(h.data(), s.data(), s.size()) == 0;
  };
  if (!token_.empty() && scheme("Bearer ")) return same(trim(std::string(h.substr(7))), token_);
  if (!users_.empty() && scheme("Basic ")) {
    std::string plain;
    if (!base64_decode(trim(std::string(h.substr(6))), &plain)) return false;
    const size_t colon = plain.find(':');
    if (colon == std::string::npos) return false;
    const std::string user = plain.substr(0, colon), password = plain.substr(colon + 1);
    for (const auto& [u, hash] : users_)
      if (u == user) return same(crypt_of(password, hash), hash);
    return false;
  }
  return false;
}

std::vector<std::string> HttpAuth::challenges() const {
  std::vector<std::string> c;
  if (!token_.empty()) c.push_back("Bearer realm=\"ringflow\"");
  if (!users_.empty()) c.push_back("Basic realm=\"ringflow\", charset=\"UTF-8\"");
  return c;
}

}  // namespace ringflow
