#include "crypto/sha256.h"

// OpenSSL's SHA-256 functions, not EVP: in OpenSSL 3 an EVP digest goes through the
// provider's dispatch on every init, update and final, which costs about a fifth of a
// 301-byte ledger leaf's hash (a 65-byte node's: a quarter). SHA256_Init/Update/Final are
// the same code under the provider (SHA-NI or AVX2 where the CPU has them), called
// directly. They are deprecated in OpenSSL 3.0 as an API, not as an algorithm.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <algorithm>

namespace omlkit::crypto {

struct Sha256State {
  SHA256_CTX current;
  SHA256_CTX start;  // what reset() returns to: the empty state, or a kept prefix
};

static SHA256_CTX& current(void* ctx) { return static_cast<Sha256State*>(ctx)->current; }

Sha256::Sha256() : ctx_(new Sha256State) {
  Sha256State& s = *static_cast<Sha256State*>(ctx_);
  SHA256_Init(&s.start);
  s.current = s.start;
}

Sha256::~Sha256() { delete static_cast<Sha256State*>(ctx_); }

void Sha256::reset() {
  Sha256State& s = *static_cast<Sha256State*>(ctx_);
  s.current = s.start;
}

void Sha256::keep_prefix() {
  Sha256State& s = *static_cast<Sha256State*>(ctx_);
  s.start = s.current;
}

void Sha256::update(const void* data, size_t n) { SHA256_Update(&current(ctx_), data, n); }

Hash Sha256::finish() {
  Hash h;
  SHA256_Final(h.data(), &current(ctx_));
  reset();
  return h;
}

Hash sha256(std::string_view bytes) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, bytes.data(), bytes.size());
  Hash h;
  SHA256_Final(h.data(), &c);
  return h;
}

Hash leaf_hash(std::string_view data) {
  SHA256_CTX c;
  SHA256_Init(&c);
  static const uint8_t prefix = 0x00;
  SHA256_Update(&c, &prefix, 1);
  SHA256_Update(&c, data.data(), data.size());
  Hash h;
  SHA256_Final(h.data(), &c);
  return h;
}

Hash node_hash(const Hash& left, const Hash& right) {
  uint8_t block[65];
  block[0] = 0x01;
  std::copy(left.begin(), left.end(), block + 1);
  std::copy(right.begin(), right.end(), block + 33);
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, block, sizeof block);
  Hash h;
  SHA256_Final(h.data(), &c);
  return h;
}

void write_hex(const uint8_t* bytes, size_t n, char* out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
}

std::string to_hex(const uint8_t* bytes, size_t n) {
  std::string out(2 * n, '0');
  write_hex(bytes, n, out.data());
  return out;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool from_hex(std::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<uint8_t>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = b(i) << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = b(i) << 16 | b(i + 1) << 8;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  out->clear();
  out->reserve(text.size() / 4 * 3);
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int d = k >= 4 - pad ? 0 : value(text[i + k]);
      if (d < 0) return false;
      v = v << 6 | static_cast<uint32_t>(d);
    }
    // Non-canonical padding bits would let two texts decode alike: refuse them.
    if ((pad == 1 && (v & 0xFF)) || (pad == 2 && (v & 0xFFFF))) return false;
    out->push_back(static_cast<char>(v >> 16));
    if (pad < 2) out->push_back(static_cast<char>((v >> 8) & 0xFF));
    if (pad < 1) out->push_back(static_cast<char>(v & 0xFF));
  }
  return true;
}

}  // namespace omlkit::crypto
