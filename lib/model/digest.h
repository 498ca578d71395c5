// The model digest: one SHA-256 over a checkpoint's tensors that does not depend on how
// they are sharded across files or ordered in a header, so the same weights have the same
// digest however they are stored. It is what model.register entries and evaluations name.
//
//   digest = "sha256:" + hex(SHA-256(M)), M = for each tensor, by ascending byte order of name:
//       u64le(len(name)) name  u64le(len(dtype)) dtype  u64le(rank) u64le(dim)...  u64le(n) bytes
//   where dtype is the safetensors spelling ("F32", "BF16", ...) and bytes are the tensor's
//   n stored bytes (little-endian, as in the file). Metadata is not included.
#pragma once

#include <string>

#include "model/checkpoint.h"

namespace omlkit::model {

// "sha256:" and 64 lowercase hex digits.
std::string model_digest(const Checkpoint& checkpoint);

}  // namespace omlkit::model
