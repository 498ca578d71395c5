// Writes trained weights back as a Hugging Face model folder shaped like the one they
// came from.
#pragma once

#include <span>
#include <string>

#include "model/checkpoint.h"
#include "model/parameters.h"

namespace omlkit::model {

// Writes `params` (host F32, laid out by `table`) into out_dir with the files, tensor
// names, dtypes, order and __metadata__ of `source`: each weight is converted back to its
// storage dtype (round to nearest even) and tensors that are not parameters are copied
// unchanged. Each file is written atomically (temporary + rename). config.json, the shard
// index and the tokenizer files present in the source folder are copied. out_dir is
// created when missing and must not be the source folder. Throws 73 / 74.
void save_checkpoint(const Checkpoint& source, const ParameterTable& table, std::span<const float> params,
                     const std::string& out_dir);

}  // namespace omlkit::model
