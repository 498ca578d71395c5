// libFuzzer target: tokenizer.json parsing, then encoding and decoding with whatever was
// accepted. The input is split at its first NUL byte: before it the JSON, after it the
// text to encode. Only omlkit::Error may escape the library.
#include <cstdint>
#include <string_view>

#include "io/error.h"
#include "model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view json = input.substr(0, nul);
  std::string_view text = nul == std::string_view::npos ? "Hello world, it's 2026! 日本 \t\n x" : input.substr(nul + 1);
  try {
    auto tokenizer = omlkit::model::Tokenizer::from_json(json, "fuzz");
    auto ids = tokenizer.encode(text, true);
    tokenizer.decode(ids);
  } catch (const omlkit::Error&) {
  }
  return 0;
}
