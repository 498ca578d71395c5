#include "crypto/ed25519.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io/error.h"

namespace omlkit::crypto {

struct SigningKey::Key {
  explicit Key(EVP_PKEY* k) : pkey(k) {}
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key() { EVP_PKEY_free(pkey); }
  EVP_PKEY* pkey;
};

SigningKey::SigningKey(std::shared_ptr<Key> key) : key_(std::move(key)) {
  size_t n = public_key_.size();
  if (EVP_PKEY_get_raw_public_key(key_->pkey, public_key_.data(), &n) != 1 || n != 32)
    throw Error(exit_code::internal, "", "cannot read the Ed25519 public key");
}

SigningKey SigningKey::load_pem(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) throw Error(exit_code::no_input, path, std::strerror(errno));
  EVP_PKEY* pkey = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!pkey) throw data_error(path, "not a PEM private key");
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    throw data_error(path, "not an Ed25519 key (make one with: openssl genpkey -algorithm ed25519)");
  }
  return SigningKey(std::make_shared<Key>(pkey));
}

SigningKey SigningKey::from_seed(const uint8_t seed[32]) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32);
  if (!pkey) throw Error(exit_code::internal, "", "cannot make an Ed25519 key");
  return SigningKey(std::make_shared<Key>(pkey));
}

Signature SigningKey::sign(std::string_view message) const {
  Signature sig{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t n = sig.size();
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_->pkey) == 1 &&
            EVP_DigestSign(ctx, sig.data(), &n,
                           reinterpret_cast<const unsigned char*>(message.data()),
                           message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || n != sig.size()) throw Error(exit_code::internal, "", "Ed25519 signing failed");
  return sig;
}

bool verify(const PublicKey& key, std::string_view message, const Signature& signature) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size());
  if (!pkey) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, signature.data(), signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

}  // namespace omlkit::crypto
