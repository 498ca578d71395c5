// Text generation with the KV cache: greedy decoding and seeded sampling (temperature,
// top-k, top-p). The random stream is std::mt19937_64 from the given seed, converted to
// [0,1) by hand, so a seed gives the same tokens on every platform.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "model/transformer.h"

namespace omlkit::model {

struct SamplingOptions {
  float temperature = 0.0f;  // 0 = greedy (argmax, lowest id on ties)
  int top_k = 0;             // 0 = no limit
  float top_p = 1.0f;        // 1 = no limit
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {}
  // Picks the next token from one row of logits (V floats, host memory).
  int32_t next(std::span<const float> logits);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

struct GenerationOptions {
  int max_new_tokens = 20;
  SamplingOptions sampling;
  std::optional<int32_t> stop_token;  // generation ends after emitting it
};

// Returns the new tokens only. Throws 65 when prompt + max_new_tokens exceeds the model's
// context or the prompt is empty.
std::vector<int32_t> generate(Transformer& model, std::span<const int32_t> prompt,
                              const GenerationOptions& options);

}  // namespace omlkit::model
