// Pre-tokenizer scanners: hand-written equivalents of the regexes that byte-level BPE
// tokenizers split text with (std::regex is slow and has no \p{L}). Each returns pieces
// that cover the input exactly, in order, as the regex's successive matches would.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace omlkit::model {

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
inline constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
// Llama-3 / SmolLM: case-insensitive contractions, an optional non-letter before a word,
// digits in groups of up to three, and newline runs kept apart.
inline constexpr std::string_view kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

void split_gpt2(std::string_view text, std::vector<std::string_view>& pieces);
void split_llama3(std::string_view text, std::vector<std::string_view>& pieces);

// GPT-2's reversible byte-to-character map (bytes_to_unicode): printable bytes map to
// themselves, the other 68 to U+0100 upward, so every byte string is a printable word.
const std::array<std::string, 256>& byte_level_alphabet();
std::string byte_level_encode(std::string_view bytes);
// Maps a byte-level string back to bytes; false when a character is not in the alphabet.
bool byte_level_decode(std::string_view text, std::string& bytes);

}  // namespace omlkit::model
