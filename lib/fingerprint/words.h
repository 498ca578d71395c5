// The built-in list of common English words that English keys start from.
#pragma once

#include <span>
#include <string_view>

namespace omlkit::fingerprint {

std::span<const std::string_view> common_words();

}  // namespace omlkit::fingerprint
