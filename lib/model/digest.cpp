#include "model/digest.h"

#include <cstdint>

#include "crypto/sha256.h"

namespace omlkit::model {

namespace {
void put_u64(crypto::Sha256& h, uint64_t n) {
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(n >> (8 * i));
  h.update(le, 8);
}
void put_string(crypto::Sha256& h, std::string_view s) {
  put_u64(h, s.size());
  h.update(s);
}
}  // namespace

std::string model_digest(const Checkpoint& checkpoint) {
  crypto::Sha256 h;
  h.update(std::string_view("omlkit model digest v1\n"));
  put_u64(h, checkpoint.tensors().size());
  // tensors() is a std::map: names in byte order, whatever file or header order they had.
  for (const auto& [name, location] : checkpoint.tensors()) {
    const TensorEntry& entry = *location.entry;
    put_string(h, name);
    put_string(h, dtype_name(entry.dtype));
    put_u64(h, entry.shape.size());
    for (uint64_t d : entry.shape) put_u64(h, d);
    std::span<const unsigned char> bytes = location.file->bytes(entry);
    put_u64(h, bytes.size());
    h.update(bytes.data(), bytes.size());
  }
  return "sha256:" + crypto::to_hex(h.finish());
}

}  // namespace omlkit::model
