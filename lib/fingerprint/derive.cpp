#include "fingerprint/derive.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "crypto/hmac.h"
#include "io/error.h"
#include "io/line_reader.h"

namespace omlkit::fingerprint {

std::string read_secret(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(exit_code::no_input, path, std::string("cannot read the secret: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(exit_code::no_input, path, "the secret must be a regular file");
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw data_error(path, std::string("the secret is readable or writable by others (mode ") + mode +
                               "); chmod 600 it");
  }
  std::string secret = io::read_file(path);
  if (secret.size() < kMinSecretBytes)
    throw data_error(path, "the secret has " + std::to_string(secret.size()) +
                               " bytes, expected at least 32 random bytes (head -c 32 /dev/urandom)");
  return secret;
}

crypto::Hash Derivation::derive(std::string_view purpose, std::string_view licensee, uint64_t index,
                                uint64_t counter) const {
  std::string message = "omlize/v1";
  message += '\0';
  message += purpose;
  message += '\0';
  message += model_;
  message += '\0';
  message += licensee;
  message += '\0';
  for (uint64_t n : {index, counter})
    for (int i = 0; i < 8; ++i) message += static_cast<char>((n >> (8 * i)) & 0xFF);
  return crypto::hmac_sha256(secret_, message);
}

uint64_t Derivation::u64(std::string_view purpose, std::string_view licensee, uint64_t index, uint64_t counter) const {
  crypto::Hash h = derive(purpose, licensee, index, counter);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | h[i];
  return n;
}

double Derivation::uniform(std::string_view purpose, std::string_view licensee, uint64_t index, uint64_t counter) const {
  return static_cast<double>(u64(purpose, licensee, index, counter) >> 11) * 0x1.0p-53;
}

uint64_t Derivation::below(uint64_t n, std::string_view purpose, std::string_view licensee, uint64_t index,
                           uint64_t counter) const {
  // Rejection sampling over fresh derivations: draw k is the counter's sub-stream k.
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (uint64_t k = 0;; ++k) {
    uint64_t x = u64(purpose, licensee, index, (counter << 8) | (k & 0xFF));
    if (x < limit || k == 255) return x % n;
  }
}

}  // namespace omlkit::fingerprint
