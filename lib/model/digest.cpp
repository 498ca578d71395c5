#include "model/digest.h"

#include "crypto/sha256.h"

namespace omlkit::model {

namespace {

void put_u64(crypto::Sha256& hash, uint64_t n) {
  unsigned char le[8];
  for (int i = 0; i < 8; i++) le[i] = static_cast<unsigned char>(n >> (8 * i));
  hash.update(le, 8);
}

}  // namespace

std::string model_digest(const Checkpoint& checkpoint) {
  crypto::Sha256 hash;
  for (const auto& [name, location] : checkpoint.tensors()) {  // std::map: ascending byte order
    const TensorEntry& entry = *location.entry;
    put_u64(hash, name.size());
    hash.update(name);
    std::string_view dtype = dtype_name(entry.dtype);
    put_u64(hash, dtype.size());
    hash.update(dtype);
    put_u64(hash, entry.shape.size());
    for (uint64_t dim : entry.shape) put_u64(hash, dim);
    auto bytes = location.file->bytes(entry);
    put_u64(hash, bytes.size());
    hash.update(bytes.data(), bytes.size());
  }
  return "sha256:" + crypto::to_hex(hash.finish());
}

}  // namespace omlkit::model
