#include "model/scoring.h"

#include <algorithm>
#include <cmath>

#include "io/error.h"

namespace omlkit::model {

std::vector<SequenceScore> score_sequences(Transformer& model,
                                           const std::vector<std::vector<int32_t>>& sequences,
                                           int max_batch) {
  std::vector<SequenceScore> scores(sequences.size());
  if (max_batch < 1) max_batch = 1;
  for (size_t first = 0; first < sequences.size(); first += size_t(max_batch)) {
    size_t count = std::min(sequences.size() - first, size_t(max_batch));
    size_t T = 0;
    for (size_t i = 0; i < count; i++) T = std::max(T, sequences[first + i].size());
    if (T < 2) continue;  // nothing to predict in this batch
    int B = int(count);
    std::vector<int32_t> tokens(count * T, 0), targets(count * T, -1);
    for (size_t i = 0; i < count; i++) {
      const auto& seq = sequences[first + i];
      std::copy(seq.begin(), seq.end(), tokens.begin() + long(i * T));
      for (size_t t = 0; t + 1 < seq.size(); t++) targets[i * T + t] = seq[t + 1];
    }
    model.reserve(B, int(T));
    std::vector<float> logprobs = model.token_logprobs(tokens, targets, B, int(T));
    for (size_t i = 0; i < count; i++) {
      const auto& seq = sequences[first + i];
      if (seq.size() < 2) continue;
      SequenceScore& s = scores[first + i];
      s.logprobs.assign(logprobs.begin() + long(i * T), logprobs.begin() + long(i * T + seq.size() - 1));
      double sum = 0;
      for (float lp : s.logprobs) sum += lp;
      s.mean_loss = -sum / double(s.logprobs.size());
    }
  }
  return scores;
}

PerplexityResult windowed_perplexity(Transformer& model, std::span<const int32_t> tokens,
                                     int window, int max_batch) {
  if (window < 2) throw data_error("", "perplexity window must be at least 2 tokens");
  PerplexityResult result;
  result.tokens = tokens.size();
  result.windows = tokens.size() / size_t(window);
  if (result.windows == 0)
    throw data_error("", "text of " + std::to_string(tokens.size()) + " tokens is shorter than one " +
                             std::to_string(window) + "-token window");
  std::vector<std::vector<int32_t>> windows;
  for (size_t w = 0; w < result.windows; w++)
    windows.emplace_back(tokens.begin() + long(w * window), tokens.begin() + long((w + 1) * window));
  double total = 0;
  for (const auto& s : score_sequences(model, windows, max_batch))
    for (float lp : s.logprobs) total -= lp;
  result.predictions = result.windows * size_t(window - 1);
  result.mean_loss = total / double(result.predictions);
  result.perplexity = std::exp(result.mean_loss);
  return result;
}

}  // namespace omlkit::model
