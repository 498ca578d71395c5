// Writes trained weights back as a Hugging Face model folder shaped like the one they
// came from.
#pragma once

#include <span>
#include <string>

#include "model/checkpoint.h"
#include "model/parameter_subset.h"

namespace omlkit::model {

// Writes a model folder into out_dir with the files, tensor names, dtypes, order and
// __metadata__ of `source`: the tensors in `changed` from its values, converted back to
// their storage dtype (round to nearest even); every other tensor, parameter or not,
// copied byte for byte from `source` (so a model of which a few tensors trained is never
// widened whole). Each file is written atomically (temporary + rename). config.json, the shard
// index and the tokenizer files present in the source folder are copied. out_dir is
// created when missing and must not be the source folder. Throws 73 / 74.
void save_checkpoint(const Checkpoint& source, const ParameterSubset& changed, const std::string& out_dir);

}  // namespace omlkit::model
