// Suffix array construction over a token stream (SA-IS, linear time).
//
// Why our own: libdivsufsort (Debian) sorts bytes only and libsais is not packaged; token
// ids need a 16- or 32-bit alphabet. This is Nong, Zhang and Chan's SA-IS ("Two Efficient
// Algorithms for Linear Time Suffix Array Construction", IEEE TC 2011), with the reduced
// problem kept inside the output array, so the working space beyond the text and the
// array is one bit per token plus one bucket counter per alphabet symbol and level.
//
// Order: suffixes compare token by token as unsigned numbers; a suffix that is a proper
// prefix of another sorts first. The datanet separator is the largest value of the token
// width (0xFFFF or 0xFFFFFFFF), so it sorts after every real token.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace omlkit::attribution {

// Largest stream the int32 construction handles (one slot is the virtual sentinel).
inline constexpr uint64_t max_suffix_array_tokens = (uint64_t(1) << 31) - 2;

// Every token must be < vocab_size or equal to separator. Returns text.size() suffix
// start positions in sorted order. Throws Error 70 when a token breaks that rule (the
// caller tokenized with another vocabulary) and 65 past max_suffix_array_tokens.
std::vector<uint32_t> build_suffix_array(std::span<const uint16_t> text, uint32_t vocab_size, uint16_t separator);
std::vector<uint32_t> build_suffix_array(std::span<const uint32_t> text, uint32_t vocab_size, uint32_t separator);

}  // namespace omlkit::attribution
