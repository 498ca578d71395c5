// Ed25519 signing keys (PEM files from `openssl genpkey -algorithm ed25519`) and
// signature verification, through OpenSSL 3's one-shot PureEdDSA interface.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace omlkit::crypto {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

class SigningKey {
 public:
  // Reads a PKCS#8 PEM Ed25519 private key. Throws Error 66 (unreadable) or 65 (not Ed25519).
  static SigningKey load_pem(const std::string& path);
  // From the 32-byte RFC 8032 seed (tests and vectors).
  static SigningKey from_seed(const uint8_t seed[32]);

  Signature sign(std::string_view message) const;
  const PublicKey& public_key() const { return public_key_; }

 private:
  struct Key;
  explicit SigningKey(std::shared_ptr<Key> key);
  std::shared_ptr<Key> key_;
  PublicKey public_key_{};
};

bool verify(const PublicKey& key, std::string_view message, const Signature& signature);

}  // namespace omlkit::crypto
