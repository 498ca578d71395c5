// The white-box scoring engine against the engine's own independent paths: greedy
// generation token by token (model::generate), per-token log-probabilities from the
// backend's loss kernel (model::score_sequences), and model::Sampler's draws.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "fingerprint/query.h"
#include "io/error.h"
#include "model/cpu/cpu_backend.h"
#include "model/generate.h"
#include "model/scoring.h"
#include "model_test_support.h"

namespace omlkit::fingerprint {
namespace {

using model::testing::fixture_dir;

class QueryEngine : public ::testing::TestWithParam<std::string> {
 protected:
  QueryEngine()
      : backend(2), checkpoint(model::Checkpoint::open(fixture_dir(GetParam()))), model(checkpoint, backend) {}
  model::CpuBackend backend;
  model::Checkpoint checkpoint;
  model::Transformer model;

  // Contexts of different lengths, each with the 3 tokens greedy decoding gives.
  std::vector<Query> greedy_queries() {
    std::vector<Query> queries;
    for (int i = 0; i < 7; i++) {
      Query q;
      for (int t = 0; t < 3 + 2 * i; t++) q.context.push_back((37 * i + 11 * t + 5) % 256);
      model::GenerationOptions greedy;
      greedy.max_new_tokens = 3;
      q.response = model::generate(model, q.context, greedy);
      queries.push_back(q);
    }
    return queries;
  }
};

TEST_P(QueryEngine, greedy_continuations_are_hits_in_any_batch_size) {
  auto queries = greedy_queries();
  for (int batch : {1, 3, 16}) {
    auto results = run_queries(model, queries, batch);
    for (size_t i = 0; i < queries.size(); i++) {
      EXPECT_TRUE(results[i].hit) << "batch " << batch << " query " << i;
      EXPECT_EQ(results[i].first_rank, 0);
      EXPECT_EQ(results[i].matched_prefix, 3);
    }
  }
}

TEST_P(QueryEngine, a_changed_last_token_is_a_miss_with_the_prefix_kept) {
  auto queries = greedy_queries();
  for (auto& q : queries) q.response[2] = (q.response[2] + 1) % 256;
  auto results = run_queries(model, queries, 4);
  for (const auto& r : results) {
    EXPECT_FALSE(r.hit);
    EXPECT_EQ(r.matched_prefix, 2);
  }
}

TEST_P(QueryEngine, logprob_is_the_sum_of_the_backend_token_logprobs) {
  auto queries = greedy_queries();
  for (auto& q : queries) q.response[1] = (q.response[1] + 7) % 256;  // not all argmax
  auto results = run_queries(model, queries, 4);
  for (size_t i = 0; i < queries.size(); i++) {
    std::vector<int32_t> seq = queries[i].context;
    seq.insert(seq.end(), queries[i].response.begin(), queries[i].response.end());
    auto score = model::score_sequences(model, {seq}, 1)[0];
    double expected = 0;
    for (size_t j = queries[i].context.size() - 1; j < score.logprobs.size(); j++) expected += score.logprobs[j];
    EXPECT_NEAR(results[i].logprob, expected, 1e-4) << i;
  }
}

TEST_P(QueryEngine, sampled_probability_matches_the_samplers_frequency) {
  Query q;
  q.context = {3, 1, 4, 1, 5};
  model::GenerationOptions greedy;
  greedy.max_new_tokens = 1;
  q.response = model::generate(model, q.context, greedy);
  model::SamplingOptions sampling;
  sampling.temperature = 0.7f;
  sampling.top_p = 0.9f;
  double p = run_queries(model, std::span<const Query>(&q, 1), 1, sampling)[0].sampled_probability;
  // Draw 4000 tokens from the same row with model::Sampler.
  model.reserve(1, int(q.context.size()));
  std::vector<float> row(256);
  backend.download(row.data(), model.forward(q.context, 1, int(q.context.size()), 0, true), row.size());
  int hits = 0, draws = 4000;
  double total = 0;
  for (int v = 0; v < 256; v++) total += sampling_probability(row, v, sampling);
  EXPECT_NEAR(total, 1.0, 1e-9);
  for (int s = 0; s < draws; s++) {
    sampling.seed = uint64_t(s);
    model::Sampler sampler(sampling);
    if (sampler.next(row) == q.response[0]) hits++;
  }
  double sd = std::sqrt(p * (1 - p) / draws);
  EXPECT_NEAR(double(hits) / draws, p, 5 * sd + 1e-3);
  EXPECT_GT(p, 0.0);
}

TEST_P(QueryEngine, bad_queries_are_refused_with_their_index) {
  std::vector<Query> queries = {{{1, 2}, {3}}, {{1, 2}, {}}};
  try {
    run_queries(model, queries, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), 65);
    EXPECT_STREQ(e.what(), "query 1: empty response");
  }
  queries = {{{1, 999}, {3}}};
  EXPECT_THROW(run_queries(model, queries, 1), Error);
  queries = {{std::vector<int32_t>(size_t(model.config().max_positions), 1), {3, 4}}};  // one too long
  EXPECT_THROW(run_queries(model, queries, 1), Error);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, QueryEngine, ::testing::Values("gpt2-tiny", "llama-tiny"));

}  // namespace
}  // namespace omlkit::fingerprint
