// The white-box scoring engine of fingerprint-check: run a model on many (context,
// response) pairs of token ids in batches and say, for each, whether greedy decoding from
// the context reproduces the response exactly, with the graded evidence beside it.
//
// One teacher-forced forward over context ++ response[0..L-2] gives the next-token logits
// at the L response positions. Greedy decoding emits the response iff every one of those
// argmaxes (lowest id on ties, as model::Sampler) equals the response token at that
// position, so the hit is decided without a decoding loop.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "model/generate.h"
#include "model/transformer.h"

namespace omlkit::fingerprint {

struct Query {
  std::vector<int32_t> context;   // the exact token context (BOS and template included)
  std::vector<int32_t> response;  // the tokens that should follow, at least one
};

struct QueryResult {
  bool hit = false;         // greedy decoding reproduces every response token
  double logprob = 0;       // ln p(response | context), summed over the response tokens
  int first_rank = 0;       // rank of the first response token (0 = the argmax)
  int matched_prefix = 0;   // response tokens reproduced before the first miss
  double first_top_prob = 0;  // the highest next-token probability at the first response position
  // Probability that sampling with the given options emits the response, or -1 when no
  // sampling options were given.
  double sampled_probability = -1;
};

// Scores every query; at most `batch` queries per forward. `sampling`, when given, also
// computes each response's probability under that temperature / top-p (seed unused).
// Throws omlkit::Error 65 for an empty context or response, a token id outside the
// vocabulary, or a query longer than the model's context.
std::vector<QueryResult> run_queries(model::Transformer& model, std::span<const Query> queries, int batch,
                                     const std::optional<model::SamplingOptions>& sampling = std::nullopt);

// The probability that model::Sampler with `options` picks `token` from this row of logits
// (temperature, then top-k, then top-p, as Sampler::next). Greedy (temperature 0): 1 for
// the argmax, else 0.
double sampling_probability(std::span<const float> logits, int32_t token, const model::SamplingOptions& options);

}  // namespace omlkit::fingerprint
