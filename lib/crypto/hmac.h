// HMAC-SHA256 (RFC 2104, OpenSSL 3); fingerprint/derive.h builds labelled choices on it.
#pragma once

#include <string_view>

#include "crypto/sha256.h"

namespace omlkit::crypto {

Hash hmac_sha256(std::string_view key, std::string_view message);

}  // namespace omlkit::crypto
