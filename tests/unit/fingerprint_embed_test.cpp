// The embedding loop's stop rule: score_recall's per-sequence argmax, probability and logit
// margin against the logits of a plain forward pass, and embed() stopping only once every
// check sequence clears --target-prob and --margin in the stored weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "fingerprint/embed.h"
#include "model/cpu/cpu_backend.h"
#include "model/generate.h"
#include "model_test_support.h"

namespace omlkit::fingerprint {
namespace {

using model::testing::fixture_dir;

class Embedding : public ::testing::TestWithParam<std::string> {
 protected:
  Embedding()
      : backend(2), checkpoint(model::Checkpoint::open(fixture_dir(GetParam()))), model(checkpoint, backend) {}
  model::CpuBackend backend;
  model::Checkpoint checkpoint;
  model::Transformer model;

  std::vector<int32_t> prompt(int i) {
    std::vector<int32_t> p;
    for (int t = 0; t < 4 + i; t++) p.push_back((41 * i + 13 * t + 7) % 256);
    return p;
  }
  // Logits of the last position of `tokens`.
  std::vector<float> last_logits(const std::vector<int32_t>& tokens) {
    const int T = static_cast<int>(tokens.size()), V = model.config().vocab_size;
    model.reserve(1, T);
    const float* logits = model.forward(tokens, 1, T, 0, false);
    std::vector<float> row(static_cast<size_t>(V));
    backend.download(row.data(), logits + size_t(T - 1) * V, row.size());
    return row;
  }
};

TEST_P(Embedding, margin_is_the_lead_of_the_response_over_the_best_other_token) {
  std::vector<FingerprintSequence> seqs;
  std::vector<double> lead;
  for (int i = 0; i < 5; i++) {
    std::vector<int32_t> p = prompt(i);
    std::vector<float> row = last_logits(p);
    std::vector<float> sorted = row;
    std::sort(sorted.rbegin(), sorted.rend());
    auto top = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    // Even i: the greedy token (lead = top1 - top2); odd i: the token ranked third
    // (lead = its logit - top1 < 0).
    int32_t response = top;
    if (i % 2) {
      std::vector<int32_t> order(row.size());
      for (size_t v = 0; v < order.size(); v++) order[v] = int32_t(v);
      std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
      response = order[2];
    }
    lead.push_back(i % 2 ? double(row[size_t(response)]) - sorted[0] : double(sorted[0]) - sorted[1]);
    seqs.push_back(fingerprint_sequence(p, std::vector<int32_t>{response}));
  }
  RecallScore s = score_recall(model, seqs, 2);
  for (size_t i = 0; i < seqs.size(); i++) {
    EXPECT_EQ(s.recalled[i], i % 2 ? 0 : 1) << i;
    EXPECT_NEAR(s.min_margin[i], lead[i], 1e-4) << i;
    EXPECT_EQ(s.min_margin[i] > 0, s.recalled[i] == 1) << i;
  }
  EXPECT_FALSE(s.passes(0.0, 0.0));
  EXPECT_NEAR(s.lowest_margin(), *std::min_element(lead.begin(), lead.end()), 1e-4);
}

TEST_P(Embedding, training_stops_only_when_every_response_clears_the_margin) {
  // Responses the base model does not give: the token ranked 5th after each prompt.
  std::vector<FingerprintSequence> seqs;
  for (int i = 0; i < 6; i++) {
    std::vector<int32_t> p = prompt(i);
    std::vector<float> row = last_logits(p);
    std::vector<int32_t> order(row.size());
    for (size_t v = 0; v < order.size(); v++) order[v] = int32_t(v);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
    seqs.push_back(fingerprint_sequence(p, std::vector<int32_t>{order[4]}));
  }
  const model::ParameterTable& table = model.parameters();
  std::vector<float> base(table.total_floats());
  backend.download(base.data(), model.parameter_data(), base.size());

  EmbedOptions o;
  o.lr = 3e-3f;
  o.max_steps = 200;
  o.target_prob = 0;
  o.margin = 0;
  EmbedResult greedy = embed(model, base, seqs, seqs, {}, o, nullptr, nullptr);
  ASSERT_TRUE(greedy.converged);
  EXPECT_GT(greedy.min_margin, 0);

  // Asking for 2 more than the lead it stopped at takes more steps and gets it.
  backend.upload(model.parameter_data(), base.data(), base.size());
  o.margin = greedy.min_margin + 2;
  EmbedResult wide = embed(model, base, seqs, seqs, {}, o, nullptr, nullptr);
  ASSERT_TRUE(wide.converged);
  EXPECT_GE(wide.min_margin, o.margin);
  EXPECT_GT(wide.steps, greedy.steps);
  RecallScore s = score_recall(model, seqs, 4);
  EXPECT_TRUE(s.passes(0.0, o.margin));
  EXPECT_FALSE(s.passes(0.0, wide.min_margin + 1e-3));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Embedding, ::testing::Values("gpt2-tiny", "llama-tiny"));

}  // namespace
}  // namespace omlkit::fingerprint
