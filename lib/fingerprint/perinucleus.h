// Perinucleus responses (notes/fingerprinting.md 2.2; Nasery et al. 2502.07760 3.1): the
// base model's next-token distribution after the prompt, sorted; the k tokens just past the
// top-p nucleus (the token that crosses p excluded); one of them picked by the secret,
// widening the window by one while the pick is not alphanumeric. Longer responses continue
// greedily from the base model.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "fingerprint/derive.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace omlkit::fingerprint {

struct ResponseOptions {
  double nucleus_p = 0.8;  // t
  int k = 3;
  int length = 1;          // tokens per response
  int per_key = 1;         // distinct first tokens per key
};

struct PerinucleusResponse {
  std::vector<int32_t> ids;
  double base_prob = 0;  // p(ids[0] | prompt) under the base model
  int64_t base_rank = 0;  // 0 = the base model's most likely token
};

// Probabilities of one logits row, and the ids sorted by descending probability (ties: lower
// id first).
struct SortedDistribution {
  std::vector<double> probs;  // by id
  std::vector<int32_t> order;
};
SortedDistribution sort_distribution(std::span<const float> logits);

// options.per_key responses for the prompt of fingerprint `index` of `scope`. Throws 65 when
// no alphanumeric token is left past the nucleus.
std::vector<PerinucleusResponse> perinucleus(model::Transformer& model, const model::Tokenizer& tokenizer,
                                             std::span<const int32_t> prompt, const Derivation& derivation,
                                             std::string_view scope, uint64_t index, const ResponseOptions& options);

}  // namespace omlkit::fingerprint
