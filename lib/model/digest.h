// The model digest: one SHA-256 over a checkpoint's tensors that does not depend on how
// they are sharded, on header order or padding, or on __metadata__. It names a model in
// model.register and license.grant entries and in fingerprint records
// (man/omlkit-formats.5, MODEL DIGEST, is the byte-exact definition).
#pragma once

#include <string>

#include "model/checkpoint.h"

namespace omlkit::model {

// "sha256:" + 64 lowercase hex digits.
std::string model_digest(const Checkpoint& checkpoint);

}  // namespace omlkit::model
