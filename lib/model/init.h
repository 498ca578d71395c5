// Randomly initialised model folders of a config's shape, for tests and benchmarks that
// need real-shaped models without downloading any.
#pragma once

#include <cstdint>
#include <string>

namespace omlkit::model {

// Writes out_dir/config.json (the config file's bytes) and out_dir/model.safetensors: every
// tensor the architecture expects, in the config's torch_dtype (float32 when absent,
// float16 or bfloat16), Hugging Face style initial values: norm weights 1, biases 0, other
// weights normal(0, initializer_range) (0.02 when absent), GPT-2's residual projections
// scaled by 1/sqrt(2 n_layer). The values depend only on the seed, the config and the
// tensor order: the same inputs give the same bytes. out_dir is created when missing.
// Throws omlkit::Error: 66 when the config cannot be read, 65 when it is invalid or its
// dtype unsupported, 73 when the folder cannot be made or the model would not fit in the
// free space, 74 on a write error.
void write_random_model(const std::string& config_path, uint64_t seed, const std::string& out_dir);

}  // namespace omlkit::model
