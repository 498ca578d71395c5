#include "crypto/hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "io/error.h"

namespace omlkit::crypto {

Hash hmac_sha256(std::string_view key, std::string_view message) {
  Hash out{};
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &length) ||
      length != out.size())
    throw Error(exit_code::internal, "", "HMAC-SHA256 failed in OpenSSL");
  return out;
}

}  // namespace omlkit::crypto
