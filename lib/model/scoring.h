// Scoring text under a model: per-token log-probabilities of many sequences in batches,
// and windowed perplexity over a long token stream.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/transformer.h"

namespace omlkit::model {

struct SequenceScore {
  // logprobs[i] = log p(tokens[i+1] | tokens[0..i]); size T-1 (empty for T < 2).
  std::vector<float> logprobs;
  double mean_loss = 0;  // -mean(logprobs), 0 when there is nothing to predict
};

// Scores each sequence; up to `max_batch` sequences run as one (B,T) forward, shorter
// ones padded on the right (causal attention keeps padding out of earlier positions).
std::vector<SequenceScore> score_sequences(Transformer& model,
                                           const std::vector<std::vector<int32_t>>& sequences,
                                           int max_batch);

struct PerplexityResult {
  size_t tokens = 0;       // tokens in the stream
  size_t windows = 0;      // full windows scored
  size_t predictions = 0;  // windows * (window - 1)
  double mean_loss = 0;
  double perplexity = 0;   // exp(mean_loss)
};

// Non-overlapping windows of `window` tokens from the start, a trailing partial window
// dropped; mean next-token cross-entropy over the window-1 predictions of every window.
// (The definition of ../shared/models/*/reference.json.) Throws 65 when no window fits.
PerplexityResult windowed_perplexity(Transformer& model, std::span<const int32_t> tokens,
                                     int window, int max_batch);

}  // namespace omlkit::model
