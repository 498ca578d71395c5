#include "crypto/call_receipt.h"

#include <openssl/rand.h>

#include "crypto/sha256.h"
#include "io/error.h"

namespace omlkit::crypto {
namespace {

constexpr std::string_view kPrefix = "cmpl-";
constexpr size_t kNonceHex = 32, kSignatureHex = 128;

std::string receipt_message(std::string_view nonce, std::string_view prompt, std::string_view output) {
  return "omlkit-call-receipt-v1\n" + std::string(nonce) + "\n" + to_hex(sha256(prompt)) + "\n" +
         to_hex(sha256(output)) + "\n";
}

}  // namespace

std::string make_call_id(const SigningKey& key, std::string_view prompt, std::string_view output) {
  uint8_t random[kNonceHex / 2];
  if (RAND_bytes(random, sizeof random) != 1) throw Error(exit_code::internal, "", "no random bytes for a call id");
  std::string nonce = to_hex(random, sizeof random);
  Signature signature = key.sign(receipt_message(nonce, prompt, output));
  return std::string(kPrefix) + nonce + "-" + to_hex(signature.data(), signature.size());
}

bool verify_call_id(const PublicKey& key, std::string_view id, std::string_view prompt, std::string_view output) {
  if (id.size() != kPrefix.size() + kNonceHex + 1 + kSignatureHex || id.substr(0, kPrefix.size()) != kPrefix ||
      id[kPrefix.size() + kNonceHex] != '-')
    return false;
  std::string_view nonce = id.substr(kPrefix.size(), kNonceHex);
  uint8_t check[kNonceHex / 2];
  if (!from_hex(nonce, check, sizeof check)) return false;
  Signature signature;
  if (!from_hex(id.substr(kPrefix.size() + kNonceHex + 1), signature.data(), signature.size())) return false;
  return verify(key, receipt_message(nonce, prompt, output), signature);
}

}  // namespace omlkit::crypto
