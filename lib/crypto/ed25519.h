// Ed25519 signing keys (PEM files from `openssl genpkey -algorithm ed25519`) and
// signature verification, through OpenSSL 3's one-shot PureEdDSA interface.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace omlkit::crypto {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

class SigningKey {
 public:
  // Reads a PKCS#8 PEM Ed25519 private key. Nothing is ever prompted for: an encrypted
  // key needs passphrase_source, "file:PATH" (its first line) or "env:VAR" (OpenSSL's
  // -passin forms). Throws Error 66 (unreadable, not a regular file), 65 (not an Ed25519
  // PEM key, an encrypted key without a passphrase or with a wrong one) or 2 (a
  // passphrase_source of another form).
  static SigningKey load_pem(const std::string& path, const std::string& passphrase_source = "");
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

// The permission bits of a key file when group or others may read or write it (ssh's
// "unprotected private key file"), else nullopt.
std::optional<unsigned> key_file_exposed(const std::string& path);
// "0644".
std::string mode_string(unsigned mode);

bool verify(const PublicKey& key, std::string_view message, const Signature& signature);

}  // namespace omlkit::crypto
