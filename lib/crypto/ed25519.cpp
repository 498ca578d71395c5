#include "crypto/ed25519.h"

#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
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

namespace {

// The passphrase named by "file:PATH" or "env:VAR".
std::string read_passphrase(const std::string& source) {
  if (source.rfind("env:", 0) == 0) {
    const char* value = std::getenv(source.c_str() + 4);
    if (!value) throw Error(exit_code::usage, "", "--key-pass " + source + ": the variable is not set");
    return value;
  }
  if (source.rfind("file:", 0) == 0) {
    std::string path = source.substr(5);
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) throw Error(exit_code::no_input, path, std::strerror(errno));
    std::string text;
    char buffer[1024];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
    std::fclose(f);
    return text.substr(0, text.find_first_of("\r\n"));
  }
  throw Error(exit_code::usage, "", "--key-pass: expected file:PATH or env:VAR, found \"" + source + "\"");
}

// OpenSSL's passphrase callback: hands over the passphrase given, never prompts.
int give_passphrase(char* buffer, int size, int, void* user) {
  const std::string* passphrase = static_cast<const std::string*>(user);
  if (!passphrase || passphrase->size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buffer, passphrase->data(), passphrase->size());
  return static_cast<int>(passphrase->size());
}

}  // namespace

std::optional<unsigned> key_file_exposed(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return std::nullopt;
  return static_cast<unsigned>(st.st_mode & 07777);
}

std::string mode_string(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 07777);
  return text;
}

SigningKey SigningKey::load_pem(const std::string& path, const std::string& passphrase_source) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) throw Error(exit_code::no_input, path, std::strerror(errno));
  struct stat st;
  if (::fstat(::fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(f);
    throw Error(exit_code::no_input, path, "not a regular file (expected a PEM private key file)");
  }
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0 && text.size() < (1 << 20);) text.append(buffer, n);
  std::fclose(f);
  bool encrypted = text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
                   text.find("Proc-Type: 4,ENCRYPTED") != std::string::npos;
  std::optional<std::string> passphrase;
  if (!passphrase_source.empty()) passphrase = read_passphrase(passphrase_source);
  if (encrypted && !passphrase)
    throw data_error(path, "the private key is encrypted: give its passphrase with --key-pass file:PATH or env:VAR "
                           "(it is never read from the terminal or stdin)");
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  if (!bio) throw Error(exit_code::internal, "", "out of memory reading the key");
  // The callback never prompts: without a passphrase, OpenSSL gets -1 and fails.
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, give_passphrase, passphrase ? &*passphrase : nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (!pkey && encrypted) throw data_error(path, "cannot decrypt the private key: wrong passphrase");
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
