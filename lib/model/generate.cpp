#include "model/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/error.h"

namespace omlkit::model {

int32_t Sampler::next(std::span<const float> logits) {
  const int V = int(logits.size());
  if (options_.temperature <= 0.0f)
    return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());

  // Candidates in descending logit order (ties by id), cut by top-k, then by top-p: the
  // smallest prefix whose probability mass reaches top_p (Hugging Face's warpers).
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  size_t keep = options_.top_k > 0 ? std::min(size_t(options_.top_k), size_t(V)) : size_t(V);
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; };
  std::partial_sort(order.begin(), order.begin() + long(keep), order.end(), by_logit);
  order.resize(keep);

  std::vector<double> probs(keep);
  double max = logits[order[0]] / double(options_.temperature), sum = 0;
  for (size_t i = 0; i < keep; i++) sum += probs[i] = std::exp(logits[order[i]] / double(options_.temperature) - max);
  if (options_.top_p < 1.0f) {
    double mass = 0;
    size_t cut = 0;
    while (cut < keep) {
      mass += probs[cut++] / sum;
      if (mass >= options_.top_p) break;
    }
    keep = cut;
    sum = std::accumulate(probs.begin(), probs.begin() + long(keep), 0.0);
  }
  double u = double(rng_() >> 11) * 0x1.0p-53 * sum;
  for (size_t i = 0; i < keep; i++) {
    u -= probs[i];
    if (u < 0) return order[i];
  }
  return order[keep - 1];  // rounding left u at the edge
}

std::vector<int32_t> generate(Transformer& model, std::span<const int32_t> prompt,
                              const GenerationOptions& options) {
  const ModelConfig& c = model.config();
  if (prompt.empty()) throw data_error("", "generation needs a prompt of at least one token");
  if (options.max_new_tokens < 0) throw data_error("", "max new tokens must not be negative");
  size_t total = prompt.size() + size_t(options.max_new_tokens);
  if (total > size_t(c.max_positions))
    throw data_error("", "prompt of " + std::to_string(prompt.size()) + " tokens plus " +
                             std::to_string(options.max_new_tokens) + " new ones exceeds the context of " +
                             std::to_string(c.max_positions));
  std::vector<int32_t> out;
  if (options.max_new_tokens == 0) return out;
  model.reserve(1, int(total));
  Sampler sampler(options.sampling);
  std::vector<float> row(size_t(c.vocab_size));
  const float* logits = model.forward(prompt, 1, int(prompt.size()), 0, true);
  int pos = int(prompt.size());
  for (;;) {
    model.backend().download(row.data(), logits, row.size());
    for (float x : row)
      if (!std::isfinite(x))
        throw data_error("", "position " + std::to_string(pos - 1) + ": the model produced a non-finite logit");
    int32_t token = sampler.next(row);
    out.push_back(token);
    if (int(out.size()) == options.max_new_tokens || (options.stop_token && token == *options.stop_token))
      break;
    logits = model.forward(std::span<const int32_t>(&token, 1), 1, 1, pos++, true);
  }
  return out;
}

}  // namespace omlkit::model
