#include "fingerprint/query.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "io/error.h"

namespace omlkit::fingerprint {

double sampling_probability(std::span<const float> logits, int32_t token, const model::SamplingOptions& options) {
  const size_t V = logits.size();
  auto before = [&](int32_t a, int32_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; };
  if (options.temperature <= 0.0f) {
    for (size_t i = 0; i < V; i++)
      if (int32_t(i) != token && before(int32_t(i), token)) return 0;
    return 1;
  }
  // The same candidate list as model::Sampler::next: descending logits (ties by id), cut
  // by top-k, then the smallest prefix whose mass reaches top-p.
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  size_t keep = options.top_k > 0 ? std::min(size_t(options.top_k), V) : V;
  std::partial_sort(order.begin(), order.begin() + long(keep), order.end(), before);
  order.resize(keep);
  std::vector<double> probs(keep);
  double max = logits[order[0]] / double(options.temperature), sum = 0;
  for (size_t i = 0; i < keep; i++) sum += probs[i] = std::exp(logits[order[i]] / double(options.temperature) - max);
  if (options.top_p < 1.0f) {
    double mass = 0;
    size_t cut = 0;
    while (cut < keep) {
      mass += probs[cut++] / sum;
      if (mass >= options.top_p) break;
    }
    keep = cut;
    sum = std::accumulate(probs.begin(), probs.begin() + long(keep), 0.0);
  }
  for (size_t i = 0; i < keep; i++)
    if (order[i] == token) return probs[i] / sum;
  return 0;
}

std::vector<QueryResult> run_queries(model::Transformer& model, std::span<const Query> queries, int batch,
                                     const std::optional<model::SamplingOptions>& sampling) {
  const int V = model.config().vocab_size;
  const size_t max_positions = size_t(model.config().max_positions);
  for (size_t q = 0; q < queries.size(); q++) {
    const Query& query = queries[q];
    std::string which = "query " + std::to_string(q) + ": ";
    if (query.context.empty()) throw data_error("", which + "empty token context");
    if (query.response.empty()) throw data_error("", which + "empty response");
    if (query.context.size() + query.response.size() - 1 > max_positions)
      throw data_error("", which + std::to_string(query.context.size() + query.response.size()) +
                               " tokens exceed the model's context of " + std::to_string(max_positions));
    for (const auto* ids : {&query.context, &query.response})
      for (int32_t id : *ids)
        if (id < 0 || id >= V)
          throw data_error("", which + "token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                                   std::to_string(V));
  }
  std::vector<QueryResult> results(queries.size());
  if (batch < 1) batch = 1;
  std::vector<float> row(static_cast<size_t>(V));
  for (size_t first = 0; first < queries.size(); first += size_t(batch)) {
    size_t count = std::min(queries.size() - first, size_t(batch));
    size_t T = 0;
    for (size_t i = 0; i < count; i++) {
      const Query& q = queries[first + i];
      T = std::max(T, q.context.size() + q.response.size() - 1);
    }
    // Right padding with token 0: causal attention keeps it out of the rows we read.
    std::vector<int32_t> tokens(count * T, 0);
    for (size_t i = 0; i < count; i++) {
      const Query& q = queries[first + i];
      auto out = tokens.begin() + long(i * T);
      out = std::copy(q.context.begin(), q.context.end(), out);
      std::copy(q.response.begin(), q.response.end() - 1, out);
    }
    // Logits of the positions that predict a response token only.
    std::vector<int32_t> rows;
    for (size_t i = 0; i < count; i++) {
      const Query& q = queries[first + i];
      for (size_t j = 0; j < q.response.size(); j++) rows.push_back(int32_t(i * T + q.context.size() - 1 + j));
    }
    model.reserve(int(count), int(T));
    const float* logits = model.forward_rows(tokens, int(count), int(T), 0, rows);
    size_t next_row = 0;
    for (size_t i = 0; i < count; i++) {
      const Query& q = queries[first + i];
      QueryResult& r = results[first + i];
      r.hit = true;
      if (sampling) r.sampled_probability = 1;
      for (size_t j = 0; j < q.response.size(); j++) {
        model.backend().download(row.data(), logits + (next_row++) * size_t(V), row.size());
        const int32_t want = q.response[j];
        // Rank: tokens greedy decoding prefers to `want` (higher logit, or equal and lower id).
        int rank = 0;
        float top = row[0];
        for (int v = 0; v < V; v++) {
          if (row[v] > row[want] || (row[v] == row[want] && v < want)) rank++;
          top = std::max(top, row[v]);
        }
        double sum = 0;
        for (int v = 0; v < V; v++) sum += std::exp(double(row[v]) - top);
        r.logprob += double(row[want]) - top - std::log(sum);
        if (j == 0) r.first_rank = rank, r.first_top_prob = 1.0 / sum;
        if (rank != 0) r.hit = false;
        if (r.hit) r.matched_prefix = int(j) + 1;
        if (sampling) r.sampled_probability *= sampling_probability(row, want, *sampling);
      }
    }
  }
  return results;
}

}  // namespace omlkit::fingerprint
