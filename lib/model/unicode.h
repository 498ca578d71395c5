// UTF-8 decoding and the code point classes that tokenizer pre-tokenizers split on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace omlkit::model {

struct CodepointRange {
  uint32_t first, last;
  uint8_t classes;  // kLetter | kNumber | kWhitespace bits
};

namespace unicode_tables {
extern const CodepointRange kRanges[];  // sorted, disjoint (unicode_tables.cpp, generated)
extern const size_t kRangeCount;
}  // namespace unicode_tables

inline constexpr uint8_t kLetter = 1;      // \p{L}
inline constexpr uint8_t kNumber = 2;      // \p{N}
inline constexpr uint8_t kWhitespace = 4;  // \s (Unicode White_Space)

uint8_t codepoint_classes(uint32_t codepoint);

struct DecodedChar {
  uint32_t codepoint;  // U+FFFD for a byte that does not start a valid sequence
  uint32_t length;     // bytes consumed, >= 1
};
// Decodes the character at pos (pos < text.size()). Invalid sequences (overlong,
// surrogates, truncated) decode as U+FFFD of length 1, so every byte is consumed once.
DecodedChar decode_utf8(std::string_view text, size_t pos);
void append_utf8(std::string& out, uint32_t codepoint);
// Bytes of the invalid sequence at pos that one U+FFFD replaces (its "maximal subpart").
size_t maximal_subpart(std::string_view text, size_t pos);
// Replaces every invalid sequence with U+FFFD (what decoders return for partial bytes).
std::string replace_invalid_utf8(std::string_view bytes);

}  // namespace omlkit::model
