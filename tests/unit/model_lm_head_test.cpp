// The LM head run on chosen rows only (Transformer::forward_rows, token_logprobs, and the
// masked rows that forward_backward leaves out) against the full path: every position's
// logits from forward(), log-softmax taken here in double, and gradients of the full loss
// (every row through the head, the computation PyTorch's gradients check) split into
// masks whose gradients must add up to it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "io/error.h"
#include "model/cpu/cpu_backend.h"
#include "model/transformer.h"
#include "model_test_support.h"

namespace omlkit::model {
namespace {

using testing::fixture_dir;
using testing::read_json;

// Eight sequences of the fixture's T tokens (its two rows, each also cyclically shifted),
// so that B*T = 128 rows is more than one chunk of the head (kHeadChunkRows).
struct Batch {
  std::vector<int32_t> tokens, targets;  // targets: next token, -1 at each last position
  int B = 0, T = 0;
};

Batch eight_sequences(const std::string& dir) {
  auto ids = read_json(dir + "/reference.json")["input_ids"];
  Batch batch;
  batch.T = int(ids[0].size());
  for (int shift = 0; shift < 4; shift++)
    for (const auto& row : ids) {
      batch.B++;
      for (int t = 0; t < batch.T; t++) {
        batch.tokens.push_back(row[size_t((t + shift) % batch.T)]);
        batch.targets.push_back(t + 1 < batch.T ? int32_t(row[size_t((t + 1 + shift) % batch.T)]) : -1);
      }
    }
  return batch;
}

std::vector<float> full_logits(Transformer& model, const Batch& b) {
  std::vector<float> out(size_t(b.B) * b.T * size_t(model.config().vocab_size));
  model.backend().download(out.data(), model.forward(b.tokens, b.B, b.T, 0), out.size());
  return out;
}

std::vector<float> gradients(Transformer& model) {
  std::vector<float> grads(model.parameters().total_floats());
  model.backend().download(grads.data(), model.gradient_data(), grads.size());
  return grads;
}

// Every tensor's gradient in `got` within 1e-5 relative of its gradient in `want`.
void expect_same_gradients(const Transformer& model, const std::vector<float>& got, const std::vector<float>& want) {
  for (const auto& e : model.parameters().entries()) {
    std::vector<float> a(got.begin() + long(e.offset), got.begin() + long(e.offset + e.count));
    std::vector<float> f(want.begin() + long(e.offset), want.begin() + long(e.offset + e.count));
    EXPECT_LT(testing::relative_error(a, f), 1e-5) << e.name;
  }
}

class LmHeadRows : public ::testing::TestWithParam<std::string> {
 protected:
  std::string dir() const { return fixture_dir(GetParam()); }
};

TEST_P(LmHeadRows, chosen_rows_get_the_logits_of_the_full_forward) {
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir()), backend);
  Batch b = eight_sequences(dir());
  const size_t V = size_t(model.config().vocab_size);
  std::vector<float> all = full_logits(model, b);
  // Out of order, repeated, first and last rows.
  std::vector<int32_t> rows = {127, 0, 5, 5, 64, 63, 17, 100};
  std::vector<float> chosen(rows.size() * V), expected;
  backend.download(chosen.data(), model.forward_rows(b.tokens, b.B, b.T, 0, rows), chosen.size());
  for (int32_t r : rows) expected.insert(expected.end(), all.begin() + long(size_t(r) * V), all.begin() + long(size_t(r + 1) * V));
  EXPECT_LT(testing::relative_error(chosen, expected), 1e-6);
  // Every row, in order, is the full forward itself.
  std::vector<int32_t> every(size_t(b.B) * b.T);
  for (size_t i = 0; i < every.size(); i++) every[i] = int32_t(i);
  std::vector<float> again(all.size());
  backend.download(again.data(), model.forward_rows(b.tokens, b.B, b.T, 0, every), again.size());
  EXPECT_EQ(again, all);
}

TEST_P(LmHeadRows, a_row_outside_the_batch_is_refused) {
  CpuBackend backend(1);
  Transformer model(Checkpoint::open(dir()), backend);
  Batch b = eight_sequences(dir());
  for (int32_t bad : {-1, b.B * b.T}) {
    std::vector<int32_t> rows = {0, bad};
    try {
      model.forward_rows(b.tokens, b.B, b.T, 0, rows);
      ADD_FAILURE() << "row " << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), exit_code::internal);
    }
  }
}

TEST_P(LmHeadRows, token_logprobs_equal_log_softmax_of_the_full_logits) {
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir()), backend);
  Batch b = eight_sequences(dir());
  const size_t V = size_t(model.config().vocab_size);
  std::vector<float> all = full_logits(model, b);
  // Every target (more rows than one head chunk), then a sparse mask.
  std::vector<int32_t> sparse = b.targets;
  for (size_t i = 0; i < sparse.size(); i++)
    if (i % 7 != 3) sparse[i] = -1;
  for (const auto* targets : {&b.targets, &sparse}) {
    std::vector<float> got = model.token_logprobs(b.tokens, *targets, b.B, b.T);
    ASSERT_EQ(got.size(), targets->size());
    for (size_t i = 0; i < got.size(); i++) {
      int32_t target = (*targets)[i];
      if (target < 0) {
        EXPECT_EQ(got[i], 0.0f) << "row " << i;
        continue;
      }
      const float* row = &all[i * V];
      double max = *std::max_element(row, row + V), sum = 0;
      for (size_t v = 0; v < V; v++) sum += std::exp(double(row[v]) - max);
      double expected = double(row[target]) - max - std::log(sum);
      EXPECT_NEAR(got[i], expected, 1e-5 * std::max(1.0, std::fabs(expected))) << "row " << i;
    }
  }
}

TEST_P(LmHeadRows, a_target_outside_the_vocabulary_is_refused) {
  CpuBackend backend(1);
  Transformer model(Checkpoint::open(dir()), backend);
  Batch b = eight_sequences(dir());
  for (int32_t bad : {-2, model.config().vocab_size}) {
    std::vector<int32_t> targets = b.targets;
    targets[3] = bad;
    try {
      model.token_logprobs(b.tokens, targets, b.B, b.T);
      ADD_FAILURE() << "target " << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), exit_code::data);
    }
  }
}

TEST_P(LmHeadRows, masked_training_adds_up_to_the_full_head_gradient) {
  // A response-like mask (the last 3 targets of each sequence) and its complement each run
  // the head on their own rows; accumulated, they must give the gradient and loss of every
  // row through the head at once (no row left out: the full computation).
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir()), backend);
  Batch b = eight_sequences(dir());
  std::vector<int32_t> response(b.targets.size(), -1), rest = b.targets;
  for (size_t i = 0; i < b.targets.size(); i++)
    if (int(i % size_t(b.T)) >= b.T - 4) response[i] = b.targets[i], rest[i] = -1;
  const float scale = 1.0f / float(b.B * (b.T - 1));

  model.zero_gradients();
  double full_loss = model.forward_backward(b.tokens, b.targets, b.B, b.T, scale);
  std::vector<float> full = gradients(model);

  model.zero_gradients();
  double response_loss = model.forward_backward(b.tokens, response, b.B, b.T, scale);
  double split_loss = response_loss + model.forward_backward(b.tokens, rest, b.B, b.T, scale);
  std::vector<float> split = gradients(model);

  EXPECT_NEAR(split_loss, full_loss, 1e-6 * full_loss);
  expect_same_gradients(model, split, full);
  // The response mask's loss is -sum of the same positions' log-probabilities.
  std::vector<float> lp = model.token_logprobs(b.tokens, response, b.B, b.T);
  double expected = 0;
  for (float x : lp) expected -= x;
  EXPECT_NEAR(response_loss, expected, 1e-5 * expected);
  // And a mask with nothing in it changes no gradient.
  std::vector<int32_t> none(b.targets.size(), -1);
  model.zero_gradients();
  EXPECT_EQ(model.forward_backward(b.tokens, none, b.B, b.T, scale), 0.0);
  for (float g : gradients(model)) ASSERT_EQ(g, 0.0f);
}

TEST_P(LmHeadRows, distillation_is_the_kl_from_the_teacher) {
  // forward_backward with teacher logits: from a one-hot teacher it is the cross-entropy
  // (same loss, same gradients); from the model's own logits it is zero; from another
  // model's logits its loss is the KL divergence computed here in double.
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir()), backend);
  Batch b = eight_sequences(dir());
  const size_t V = size_t(model.config().vocab_size);
  std::vector<int32_t> rows;
  for (size_t i = 0; i < b.targets.size(); i++)
    if (b.targets[i] >= 0) rows.push_back(int32_t(i));
  const float scale = 1.0f / float(rows.size());

  std::vector<float> one_hot(rows.size() * V, 0.0f);
  for (size_t r = 0; r < rows.size(); r++) one_hot[r * V + size_t(b.targets[size_t(rows[r])])] = 200.0f;
  model.zero_gradients();
  double ce = model.forward_backward(b.tokens, b.targets, b.B, b.T, scale);
  std::vector<float> ce_grads = gradients(model);
  model.zero_gradients();
  double kl = model.forward_backward(b.tokens, b.targets, b.B, b.T, scale, one_hot);
  std::vector<float> kl_grads = gradients(model);
  EXPECT_NEAR(kl, ce, 1e-5 * ce);
  expect_same_gradients(model, kl_grads, ce_grads);

  std::vector<float> own(rows.size() * V);
  backend.download(own.data(), model.forward_rows(b.tokens, b.B, b.T, 0, rows), own.size());
  model.zero_gradients();
  EXPECT_NEAR(model.forward_backward(b.tokens, b.targets, b.B, b.T, scale, own), 0.0, 1e-4);
  for (float g : gradients(model)) ASSERT_LT(std::abs(g), 1e-6f);

  // A teacher that differs: the same logits, shifted by a position within each sequence.
  std::vector<float> other(own.size());
  for (size_t r = 0; r < rows.size(); r++)
    std::copy_n(own.begin() + long(((r + 1) % rows.size()) * V), V, other.begin() + long(r * V));
  double expected = 0;
  for (size_t r = 0; r < rows.size(); r++) {
    auto log_softmax = [&](const float* x) {
      double m = *std::max_element(x, x + V), s = 0;
      for (size_t i = 0; i < V; i++) s += std::exp(double(x[i]) - m);
      std::vector<double> out(V);
      for (size_t i = 0; i < V; i++) out[i] = double(x[i]) - m - std::log(s);
      return out;
    };
    std::vector<double> lp = log_softmax(&other[r * V]), lq = log_softmax(&own[r * V]);
    for (size_t i = 0; i < V; i++) expected += std::exp(lp[i]) * (lp[i] - lq[i]);
  }
  model.zero_gradients();
  EXPECT_NEAR(model.forward_backward(b.tokens, b.targets, b.B, b.T, scale, other), expected, 1e-4 * expected);
  EXPECT_GT(expected, 1.0);

  std::vector<float> wrong(V);
  EXPECT_THROW(model.forward_backward(b.tokens, b.targets, b.B, b.T, scale, wrong), Error);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LmHeadRows, ::testing::Values("gpt2-tiny", "llama-tiny"));

}  // namespace
}  // namespace omlkit::model
