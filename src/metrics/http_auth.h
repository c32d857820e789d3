// HttpAuth: who may read the metrics listener (metrics.auth_token_file,
// metrics.auth_basic_file; docs/config.md, "Exposing the listener"). With
// neither file every request is served, as before; with one or both, a
// request must carry
//   Authorization: Bearer <the token file's first line>, or
//   Authorization: Basic base64(user:password) of a line "user:hash" of the
//     basic-auth file, the hash being crypt(3)'s (libcrypt, Debian
//     libcrypt-dev: yescrypt "$y$", SHA-512 "$6$" or SHA-256 "$5$", as
//     `mkpasswd -m sha-256` or `openssl passwd -5` make them; the file stores
//     hashes, never passwords),
// else it is answered 401 with a WWW-Authenticate challenge per scheme.
//
// The files are read once, at start-up (a change needs a restart); a file
// that cannot be read, is empty, or has a line that is not "user:hash" with
// a hash crypt(3) knows, stops the start with the file, line and reason.
//
// Thread safety: immutable after load(); check() from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringflow {

class HttpAuth {
 public:
  // Reads the files ("" = not used). false and *error when one is unusable.
  static bool load(const std::string& token_file, const std::string& basic_file, HttpAuth* out,
                   std::string* error);
  bool enabled() const { return !token_.empty() || !users_.empty(); }
  // True when `authorization` (the header's value; nullptr = absent) is
  // accepted. Always true when !enabled().
  bool check(const char* authorization) const;
  // The WWW-Authenticate value(s) of a 401, one per scheme in use.
  std::vector<std::string> challenges() const;

 private:
  std::string token_;
  std::vector<std::pair<std::string, std::string>> users_;  // user, crypt(3) hash
};

}  // namespace ringflow
