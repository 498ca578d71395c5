// The forward pass against PyTorch: logits, loss and greedy continuations of the tiny
// fixture models (tests/fixtures/*/reference.{json,safetensors}, computed by PyTorch).
#include <gtest/gtest.h>

#include <iomanip>

#include "model/cpu/cpu_backend.h"
#include "model/generate.h"
#include "model/scoring.h"
#include "model/transformer.h"
#include "model_test_support.h"

namespace omlkit::model {
namespace {

using testing::fixture_dir;
using testing::read_json;

class FixtureForward : public ::testing::TestWithParam<std::string> {
 protected:
  std::string dir() const { return fixture_dir(GetParam()); }
  nlohmann::json reference() const { return read_json(dir() + "/reference.json"); }
  static std::vector<int32_t> flatten(const nlohmann::json& rows) {
    std::vector<int32_t> out;
    for (const auto& row : rows)
      for (int id : row) out.push_back(id);
    return out;
  }
};

TEST_P(FixtureForward, logits_match_pytorch_within_1e4_relative) {
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir()), backend);
  auto ref = reference();
  std::vector<int32_t> tokens = flatten(ref["input_ids"]);
  int B = int(ref["input_ids"].size()), T = int(ref["input_ids"][0].size());
  const float* device_logits = model.forward(tokens, B, T, 0);
  std::vector<float> logits(size_t(B) * T * model.config().vocab_size);
  backend.download(logits.data(), device_logits, logits.size());
  auto expected = testing::read_tensor(dir() + "/reference.safetensors", "logits");
  ASSERT_EQ(logits.size(), expected.size());
  double error = testing::relative_error(logits, expected);
  std::cout << "[ measured ] " << GetParam() << " logits max relative error " << error << "\n";
  EXPECT_LT(error, 1e-4);
}

TEST_P(FixtureForward, loss_matches_pytorch_in_f32_and_bf16) {
  CpuBackend backend(2);
  auto ref = reference();
  std::vector<std::vector<int32_t>> sequences = ref["input_ids"];
  for (const auto& [weights, key] : {std::pair{"model.safetensors", "loss"},
                                     std::pair{"model-bf16.safetensors", "loss_bf16_weights"}}) {
    Transformer model(Checkpoint::open(dir(), weights), backend);
    double total = 0, count = 0;
    for (const auto& s : score_sequences(model, sequences, 2))
      for (float lp : s.logprobs) total -= lp, count++;
    double loss = total / count, expected = ref[key];
    std::cout << std::setprecision(10) << "[ measured ] " << GetParam() << " " << key << " " << loss << " (PyTorch " << expected << ")\n";
    EXPECT_LT(std::fabs(loss - expected) / expected, 1e-4) << weights;
  }
}

TEST_P(FixtureForward, greedy_continuation_matches_pytorch_token_for_token) {
  CpuBackend backend(1);
  Transformer model(Checkpoint::open(dir()), backend);
  auto greedy = reference()["greedy"];
  std::vector<int32_t> prompt = greedy["prompt"];
  GenerationOptions options;
  options.max_new_tokens = greedy["max_new_tokens"];
  EXPECT_EQ(generate(model, prompt, options), greedy["tokens"].get<std::vector<int32_t>>());
}

TEST_P(FixtureForward, kv_cache_steps_give_the_logits_of_a_full_forward) {
  // Position-by-position decoding must see exactly what one pass over the whole sequence
  // sees; PyTorch's logits are the independent expectation for both.
  CpuBackend backend(1);
  Transformer model(Checkpoint::open(dir()), backend);
  auto ref = reference();
  std::vector<int32_t> tokens = ref["input_ids"][1];
  int T = int(tokens.size()), V = model.config().vocab_size;
  auto expected = testing::read_tensor(dir() + "/reference.safetensors", "logits");
  std::vector<float> step_logits(size_t(T) * V);
  model.reserve(1, T);
  for (int t = 0; t < T; t++) {
    const float* row = model.forward(std::span<const int32_t>(&tokens[size_t(t)], 1), 1, 1, t, true);
    backend.download(step_logits.data() + size_t(t) * V, row, size_t(V));
  }
  std::vector<float> expected_row1(expected.begin() + long(T) * V, expected.end());
  EXPECT_LT(testing::relative_error(step_logits, expected_row1), 1e-4);
}

TEST_P(FixtureForward, sampling_is_reproducible_from_the_seed_and_top_k_1_is_greedy) {
  CpuBackend backend(1);
  Transformer model(Checkpoint::open(dir()), backend);
  auto greedy = reference()["greedy"];
  std::vector<int32_t> prompt = greedy["prompt"];
  GenerationOptions options;
  options.max_new_tokens = 12;
  options.sampling = {1.0f, 1, 1.0f, 7};  // top-k 1 leaves only the argmax
  EXPECT_EQ(generate(model, prompt, options), greedy["tokens"].get<std::vector<int32_t>>());
  options.sampling = {0.9f, 50, 0.95f, 42};
  auto first = generate(model, prompt, options), second = generate(model, prompt, options);
  EXPECT_EQ(first, second);
  options.sampling.seed = 43;
  EXPECT_NE(first, generate(model, prompt, options));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureForward, ::testing::Values("gpt2-tiny", "llama-tiny"));

}  // namespace
}  // namespace omlkit::model
