#include "fingerprint/perinucleus.h"

#include <algorithm>
#include <cmath>

#include "io/error.h"
#include "model/generate.h"

namespace omlkit::fingerprint {

namespace {

// ^[A-Za-z0-9]+$ after stripping surrounding whitespace.
bool alphanumeric(std::string_view text) {
  size_t b = text.find_first_not_of(" \t\n\r");
  size_t e = text.find_last_not_of(" \t\n\r");
  if (b == std::string_view::npos) return false;
  for (size_t i = b; i <= e; ++i) {
    char c = text[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

SortedDistribution sort_distribution(std::span<const float> logits) {
  SortedDistribution d;
  float top = *std::max_element(logits.begin(), logits.end());
  d.probs.resize(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) sum += d.probs[i] = std::exp(double(logits[i]) - top);
  for (double& p : d.probs) p /= sum;
  d.order.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) d.order[i] = static_cast<int32_t>(i);
  std::stable_sort(d.order.begin(), d.order.end(), [&](int32_t a, int32_t b) { return d.probs[a] > d.probs[b]; });
  return d;
}

std::vector<PerinucleusResponse> perinucleus(model::Transformer& model, const model::Tokenizer& tokenizer,
                                             std::span<const int32_t> prompt, const Derivation& derivation,
                                             std::string_view scope, uint64_t index, const ResponseOptions& options) {
  const int V = model.config().vocab_size;
  model.reserve(1, static_cast<int>(prompt.size()));
  std::vector<float> row(static_cast<size_t>(V));
  model.backend().download(row.data(), model.forward(prompt, 1, static_cast<int>(prompt.size()), 0, true), row.size());
  SortedDistribution d = sort_distribution(row);

  size_t crossing = 0;  // first sorted position where the cumulative mass reaches t
  for (double mass = 0; crossing < d.order.size(); ++crossing) {
    mass += d.probs[d.order[crossing]];
    if (mass >= options.nucleus_p) break;
  }
  size_t first = crossing + 1;  // the candidates are sorted positions first .. first+k-1
  size_t k = static_cast<size_t>(options.k);
  std::vector<PerinucleusResponse> out;
  std::vector<bool> taken(static_cast<size_t>(V), false);
  uint64_t counter = 0;
  while (static_cast<int>(out.size()) < options.per_key) {
    if (first + k > d.order.size())
      throw data_error("", "fingerprint " + std::to_string(index) + ": no alphanumeric token left past the nucleus");
    size_t position = first + derivation.below(k, "response", scope, index, counter++);
    int32_t token = d.order[position];
    if (taken[static_cast<size_t>(token)] || !alphanumeric(tokenizer.decode(std::span<const int32_t>(&token, 1), true))) {
      ++k;  // widen the window and draw again
      continue;
    }
    taken[static_cast<size_t>(token)] = true;
    PerinucleusResponse r;
    r.ids = {token};
    r.base_prob = d.probs[static_cast<size_t>(token)];
    r.base_rank = static_cast<int64_t>(position);
    if (options.length > 1) {
      std::vector<int32_t> context(prompt.begin(), prompt.end());
      context.push_back(token);
      model::GenerationOptions g;
      g.max_new_tokens = options.length - 1;
      std::vector<int32_t> rest = model::generate(model, context, g);
      r.ids.insert(r.ids.end(), rest.begin(), rest.end());
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace omlkit::fingerprint
