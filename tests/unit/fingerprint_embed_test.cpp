// The embedding loop's stop rule: score_recall's per-sequence argmax, probability and logit
// margin against the logits of a plain forward pass, and embed() stopping only once every
// check sequence clears --target-prob and --margin in the stored weights; replay taken from
// its pool in turn; the simulated fine-tune (meta_drift) adding to the gradient and nothing
// else; distillation (replay_distill) holding the replay to the base model's predictions.
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
  EmbedResult greedy = embed(model, seqs, seqs, {}, {}, o, nullptr, nullptr);
  ASSERT_TRUE(greedy.converged);
  EXPECT_GT(greedy.min_margin, 0);

  // Asking for 2 more than the lead it stopped at takes more steps and gets it.
  backend.upload(model.parameter_data(), base.data(), base.size());
  o.margin = greedy.min_margin + 2;
  EmbedResult wide = embed(model, seqs, seqs, {}, {}, o, nullptr, nullptr);
  ASSERT_TRUE(wide.converged);
  EXPECT_GE(wide.min_margin, o.margin);
  EXPECT_GT(wide.steps, greedy.steps);
  RecallScore s = score_recall(model, seqs, 4);
  EXPECT_TRUE(s.passes(0.0, o.margin));
  EXPECT_FALSE(s.passes(0.0, wide.min_margin + 1e-3));
}

TEST_P(Embedding, replay_is_taken_from_its_pool_in_turn) {
  std::vector<FingerprintSequence> seqs;
  for (int i = 0; i < 3; i++) seqs.push_back(fingerprint_sequence(prompt(i), std::vector<int32_t>{int32_t(200 + i)}));
  std::vector<std::vector<int32_t>> pool;
  for (int i = 0; i < 4; i++) {
    pool.push_back(prompt(10 + i));
    pool.back().resize(12);
  }
  std::vector<float> base(model.parameters().total_floats());
  backend.download(base.data(), model.parameter_data(), base.size());
  auto train = [&](const std::vector<std::vector<int32_t>>& replay, size_t per_step, int steps) {
    backend.upload(model.parameter_data(), base.data(), base.size());
    EmbedOptions o;
    o.max_steps = steps;
    o.replay_per_step = per_step;
    EmbedResult r = embed(model, seqs, seqs, replay, {}, o, nullptr, nullptr);
    std::vector<float> w(base.size());
    backend.download(w.data(), model.parameter_data(), w.size());
    return std::make_pair(r, w);
  };
  // The first step takes the pool's first two; it is the step of a pool of just those two.
  EXPECT_EQ(train(pool, 2, 1).second, train({pool[0], pool[1]}, 0, 1).second);
  // The second takes the next two, so two steps differ from two steps on the first two.
  auto [rotated, w] = train(pool, 2, 2);
  EXPECT_NE(w, train({pool[0], pool[1]}, 0, 2).second);
  // Tokens through the model per step: the fingerprints padded to the longest (one batch),
  // and two replay sequences (the pool's are all of one length).
  size_t T = 0;
  for (const auto& s : seqs) T = std::max(T, s.tokens.size());
  EXPECT_EQ(rotated.training_tokens, 2 * (3 * T + 2 * pool[0].size()));
}

TEST_P(Embedding, the_simulated_fine_tune_changes_the_gradient_and_nothing_else) {
  std::vector<FingerprintSequence> seqs;
  for (int i = 0; i < 3; i++) seqs.push_back(fingerprint_sequence(prompt(i), std::vector<int32_t>{int32_t(200 + i)}));
  std::vector<std::vector<int32_t>> replay{prompt(10), prompt(11)}, meta{prompt(20), prompt(21)};
  std::vector<float> base(model.parameters().total_floats());
  backend.download(base.data(), model.parameter_data(), base.size());
  auto train = [&](double drift, double weight) {
    backend.upload(model.parameter_data(), base.data(), base.size());
    EmbedOptions o;
    o.max_steps = 3;
    o.meta_drift = drift;
    o.meta_weight = weight;
    embed(model, seqs, seqs, replay, meta, o, nullptr, nullptr);
    std::vector<float> w(base.size());
    backend.download(w.data(), model.parameter_data(), w.size());
    return w;
  };
  const std::vector<float> plain = train(0, 1);
  // Weight 0: the weights moved and restored, a zero gradient added: bit for bit the same.
  EXPECT_EQ(train(0.01, 0), plain);
  // Weight 1: the fingerprint gradient at the moved weights changes the update.
  EXPECT_NE(train(0.01, 1), plain);
}

TEST_P(Embedding, distilled_replay_stays_closer_to_the_base_than_replayed_tokens) {
  std::vector<FingerprintSequence> seqs;
  for (int i = 0; i < 3; i++) seqs.push_back(fingerprint_sequence(prompt(i), std::vector<int32_t>{int32_t(200 + i)}));
  std::vector<std::vector<int32_t>> replay{prompt(10), prompt(11)};
  std::vector<float> base(model.parameters().total_floats());
  backend.download(base.data(), model.parameter_data(), base.size());
  // Mean KL(base || model) over every position of the replay sequences.
  auto replay_logits = [&]() {
    std::vector<std::vector<float>> out;
    for (const auto& r : replay)
      for (size_t t = 1; t <= r.size(); t++) out.push_back(last_logits({r.begin(), r.begin() + long(t)}));
    return out;
  };
  const std::vector<std::vector<float>> teacher = replay_logits();
  auto kl_from_base = [&]() {
    auto log_softmax = [](const std::vector<float>& x) {
      double m = *std::max_element(x.begin(), x.end()), s = 0;
      for (float v : x) s += std::exp(v - m);
      std::vector<double> out;
      for (float v : x) out.push_back(v - m - std::log(s));
      return out;
    };
    std::vector<std::vector<float>> now = replay_logits();
    double kl = 0;
    for (size_t r = 0; r < now.size(); r++) {
      std::vector<double> lp = log_softmax(teacher[r]), lq = log_softmax(now[r]);
      for (size_t i = 0; i < lp.size(); i++) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
    }
    return kl / double(now.size());
  };
  auto train = [&](bool distill) {
    backend.upload(model.parameter_data(), base.data(), base.size());
    EmbedOptions o;
    o.lr = 1e-2f;
    o.max_steps = 10;
    o.target_prob = 1.1;  // never met: all 10 steps
    o.replay_distill = distill;
    embed(model, seqs, seqs, replay, {}, o, nullptr, nullptr);
    return kl_from_base();
  };
  const double tokens = train(false), distilled = train(true);
  EXPECT_GT(tokens, 0.05);
  EXPECT_LT(distilled, tokens / 10) << "replayed tokens: " << tokens;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Embedding, ::testing::Values("gpt2-tiny", "llama-tiny"));

}  // namespace
}  // namespace omlkit::fingerprint
