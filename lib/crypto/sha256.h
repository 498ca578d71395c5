// SHA-256 (OpenSSL's SHA256_* functions) and the RFC 6962 leaf and node hashes built on it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace omlkit::crypto {

using Hash = std::array<uint8_t, 32>;

// One-shot SHA-256.
Hash sha256(std::string_view bytes);

// Incremental SHA-256 with a reusable context (cheap to reset, not thread-safe).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  // Back to the empty state, or to the state keep_prefix() kept.
  void reset();
  // Keeps the bytes given so far as a prefix of every later hash (hashed once: a keyed
  // hash whose key fills whole 64-byte blocks costs no compression per use).
  void keep_prefix();
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  Hash finish();  // also resets (to the kept prefix, if any)

 private:
  void* ctx_;
};

// RFC 6962 section 2.1: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right).
Hash leaf_hash(std::string_view data);
Hash node_hash(const Hash& left, const Hash& right);

std::string to_hex(const uint8_t* bytes, size_t n);
// Writes the 2*n lowercase hex digits of bytes to out (no allocation).
void write_hex(const uint8_t* bytes, size_t n, char* out);
inline std::string to_hex(const Hash& h) { return to_hex(h.data(), h.size()); }
// Lowercase or uppercase hex of exactly 2*N digits; false otherwise.
bool from_hex(std::string_view hex, uint8_t* out, size_t n);

std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding; false on any malformed input.
bool base64_decode(std::string_view text, std::string* out);

}  // namespace omlkit::crypto
