// The owner's secret and every random choice omlize makes from it.
//
// Each choice is HMAC-SHA256(secret, "omlize/v1" 0 purpose 0 model-digest 0 licensee 0
// u64le(index) u64le(counter)): a purpose label per kind of choice (key word, key sample,
// response pick, salt, pool membership...), the base model's digest, the licensee (empty
// for the choices of a shared --pool), the fingerprint index and a retry counter. The same
// inputs therefore always give the same fingerprints, a lost private file can be
// regenerated, and without the secret nobody can predict or forge a choice
// (notes/fingerprinting.md 2.2, "unforgeability").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/sha256.h"

namespace omlkit::fingerprint {

inline constexpr size_t kMinSecretBytes = 32;

// Reads a secret file. Throws 66 when it cannot be read, 65 when it holds fewer than 32
// bytes or when its mode lets the group or others read or write it.
std::string read_secret(const std::string& path);

class Derivation {
 public:
  Derivation(std::string secret, std::string model_digest) : secret_(std::move(secret)), model_(std::move(model_digest)) {}

  crypto::Hash derive(std::string_view purpose, std::string_view licensee, uint64_t index, uint64_t counter = 0) const;
  // The first 8 bytes of derive() as a little-endian integer.
  uint64_t u64(std::string_view purpose, std::string_view licensee, uint64_t index, uint64_t counter = 0) const;
  // Uniform in [0, 1) with 53 bits.
  double uniform(std::string_view purpose, std::string_view licensee, uint64_t index, uint64_t counter = 0) const;
  // Uniform in [0, n) without modulo bias (n >= 1).
  uint64_t below(uint64_t n, std::string_view purpose, std::string_view licensee, uint64_t index, uint64_t counter = 0) const;

 private:
  std::string secret_, model_;
};

}  // namespace omlkit::fingerprint
