// libFuzzer target: a whole safetensors file image through the header validator. Any
// input must either parse into a header whose tensors tile the data, or throw
// omlkit::Error; a crash, hang, leak or ASan report is a bug.
#include <cstdint>
#include <string_view>

#include "io/error.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view image(reinterpret_cast<const char*>(data), size);
  try {
    auto header = omlkit::model::parse_safetensors_bytes(image, "fuzz");
    uint64_t covered = 0;
    for (const auto& t : header.tensors) covered += t.end - t.begin;
    if (covered != header.data_size()) __builtin_trap();  // tiling must hold when accepted
    // A parsed header must serialize to one that parses to the same layout.
    auto again = omlkit::model::parse_safetensors_header(omlkit::model::serialize_safetensors_header(header),
                                                         header.data_size(), "fuzz");
    if (!again.same_layout(header)) __builtin_trap();
  } catch (const omlkit::Error&) {
  }
  return 0;
}
