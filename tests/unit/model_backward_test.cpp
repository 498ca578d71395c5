// The backward pass against PyTorch: every parameter gradient of the tiny fixture models
// (tests/fixtures/*/reference.safetensors, "grad.<tensor name>") within 1e-4 relative, and
// the loss mask, accumulation and frozen tensors checked against the same gradients;
// recomputed activations give the kept ones' gradients bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iomanip>
#include <map>

#include "model/cpu/cpu_backend.h"
#include "model/transformer.h"
#include "model_test_support.h"

namespace omlkit::model {
namespace {

using testing::fixture_dir;
using testing::read_json;

// Tokens (B,T) of the fixture and next-token targets, the last position of each row masked.
struct Batch {
  std::vector<int32_t> tokens, targets;
  int B = 0, T = 0;
  int predictions() const { return B * (T - 1); }
};

Batch fixture_batch(const std::string& dir) {
  auto ids = read_json(dir + "/reference.json")["input_ids"];
  Batch batch;
  batch.B = int(ids.size());
  batch.T = int(ids[0].size());
  for (const auto& row : ids)
    for (int t = 0; t < batch.T; t++) {
      batch.tokens.push_back(row[size_t(t)]);
      batch.targets.push_back(t + 1 < batch.T ? int32_t(row[size_t(t) + 1]) : -1);
    }
  return batch;
}

std::vector<float> download_gradients(Transformer& model) {
  std::vector<float> grads(model.parameters().total_floats());
  model.backend().download(grads.data(), model.gradient_data(), grads.size());
  return grads;
}

std::vector<float> slice(const std::vector<float>& all, const ParameterInfo& e) {
  return {all.begin() + long(e.offset), all.begin() + long(e.offset + e.count)};
}

// "h.1.attn.qkv.weight" -> "attn.qkv.weight": errors are reported per tensor family. (Plain
// string code, not std::regex: GCC 12 at -O1 with the sanitizers warns falsely inside <regex>.)
std::string family(const std::string& role) {
  if (role.rfind("h.", 0) != 0) return role;
  size_t end = role.find_first_not_of("0123456789", 2);
  if (end == 2 || end == std::string::npos || role[end] != '.') return role;
  return role.substr(end + 1);
}

class FixtureBackward : public ::testing::TestWithParam<std::string> {
 protected:
  std::string dir() const { return fixture_dir(GetParam()); }
  std::vector<float> expected(const ParameterInfo& e) const {
    return testing::read_tensor(dir() + "/reference.safetensors", "grad." + e.name);
  }
};

TEST_P(FixtureBackward, every_gradient_matches_pytorch_within_1e4_relative) {
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir()), backend);
  Batch batch = fixture_batch(dir());
  model.zero_gradients();
  double loss = model.forward_backward(batch.tokens, batch.targets, batch.B, batch.T,
                                       1.0f / float(batch.predictions())) / batch.predictions();
  double expected_loss = read_json(dir() + "/reference.json")["loss"];
  EXPECT_LT(std::fabs(loss - expected_loss) / expected_loss, 1e-5);
  auto grads = download_gradients(model);
  std::map<std::string, double> worst;
  for (const auto& e : model.parameters().entries()) {
    double error = testing::relative_error(slice(grads, e), expected(e));
    worst[family(e.role)] = std::max(worst[family(e.role)], error);
    EXPECT_LT(error, 1e-4) << e.name;
  }
  for (const auto& [name, error] : worst)
    std::cout << "[ measured ] " << GetParam() << " grad " << std::left << std::setw(16) << name
              << " max relative error " << std::setprecision(3) << error << "\n";
}

TEST_P(FixtureBackward, masked_halves_accumulate_to_the_full_gradient) {
  // The loss is a sum over positions: gradients of two disjoint loss masks, accumulated,
  // are PyTorch's gradient of the whole loss.
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir()), backend);
  Batch batch = fixture_batch(dir());
  std::vector<int32_t> even = batch.targets, odd = batch.targets;
  for (size_t i = 0; i < even.size(); i++) (i % 2 ? even : odd)[i] = -1;
  float scale = 1.0f / float(batch.predictions());
  model.zero_gradients();
  double loss = model.forward_backward(batch.tokens, even, batch.B, batch.T, scale);
  loss += model.forward_backward(batch.tokens, odd, batch.B, batch.T, scale);
  double expected_loss = read_json(dir() + "/reference.json")["loss"];
  EXPECT_LT(std::fabs(loss / batch.predictions() - expected_loss) / expected_loss, 1e-5);
  auto grads = download_gradients(model);
  for (const auto& e : model.parameters().entries())
    EXPECT_LT(testing::relative_error(slice(grads, e), expected(e)), 1e-4) << e.name;
}

TEST_P(FixtureBackward, a_masked_position_contributes_nothing) {
  // With one target left, the loss is that position's -log p, from PyTorch's own logits.
  CpuBackend backend(1);
  Transformer model(Checkpoint::open(dir()), backend);
  Batch batch = fixture_batch(dir());
  size_t kept = size_t(batch.T) + 5;  // row 1, position 5
  std::vector<int32_t> one(batch.targets.size(), -1);
  one[kept] = batch.targets[kept];
  model.zero_gradients();
  double loss = model.forward_backward(batch.tokens, one, batch.B, batch.T, 1.0f);
  auto logits = testing::read_tensor(dir() + "/reference.safetensors", "logits");
  int V = model.config().vocab_size;
  const float* row = &logits[kept * size_t(V)];
  double max = *std::max_element(row, row + V), sum = 0;
  for (int i = 0; i < V; i++) sum += std::exp(double(row[i]) - max);
  double expected = std::log(sum) + max - row[one[kept]];
  EXPECT_NEAR(loss, expected, 1e-5 * expected);
}

TEST_P(FixtureBackward, frozen_tensors_get_no_gradient_and_trained_ones_match_pytorch) {
  // The last block's MLP output projection and the final norm; then the whole last block,
  // whose norm1 gradient reads the block's input: the one activation kept of the layers
  // below the lowest trained one. Weights widened, and in place where they stay frozen.
  for (bool whole_block : {false, true})
    for (WeightPlacement placement : {WeightPlacement::widened, WeightPlacement::in_place}) {
      SCOPED_TRACE(std::string(whole_block ? "last block" : "mlp.out, normf") +
                   (placement == WeightPlacement::in_place ? ", in place" : ", widened"));
      CpuBackend backend(2);
      Checkpoint checkpoint = Checkpoint::open(dir());
      Transformer model(checkpoint, backend, placement);
      const auto& entries = model.parameters().entries();
      std::vector<bool> trainable(entries.size());
      std::string last = "h." + std::to_string(model.config().n_layer - 1) + ".";
      for (size_t i = 0; i < entries.size(); i++)
        trainable[i] = whole_block ? entries[i].role.rfind(last, 0) == 0
                                   : entries[i].role.rfind(last + "mlp.out", 0) == 0 ||
                                         entries[i].role.rfind("normf", 0) == 0;
      model.set_trainable(trainable);
      Batch batch = fixture_batch(dir());
      model.zero_gradients();
      model.forward_backward(batch.tokens, batch.targets, batch.B, batch.T, 1.0f / float(batch.predictions()));
      auto grads = download_gradients(model);
      for (size_t i = 0; i < entries.size(); i++) {
        auto g = slice(grads, entries[i]);
        if (trainable[i])
          EXPECT_LT(testing::relative_error(g, expected(entries[i])), 1e-4) << entries[i].name;
        else
          EXPECT_TRUE(std::all_of(g.begin(), g.end(), [](float x) { return x == 0.0f; })) << entries[i].name;
      }
    }
}

TEST_P(FixtureBackward, recomputed_activations_give_the_same_gradients_bit_for_bit) {
  // Everything trained, and the last block only (its input: the one kept activation of the
  // layers below); two passes each, so the second reuses the first's buffers.
  for (bool last_block : {false, true}) {
    SCOPED_TRACE(last_block ? "last block" : "every tensor");
    std::vector<std::vector<float>> grads;
    for (bool recompute : {false, true}) {
      CpuBackend backend(2);
      Transformer model(Checkpoint::open(dir()), backend);
      if (last_block) {
        const auto& entries = model.parameters().entries();
        std::vector<bool> trainable(entries.size());
        std::string last = "h." + std::to_string(model.config().n_layer - 1) + ".";
        for (size_t i = 0; i < entries.size(); i++) trainable[i] = entries[i].role.rfind(last, 0) == 0;
        model.set_trainable(trainable);
      }
      model.set_recompute_activations(recompute);
      Batch batch = fixture_batch(dir());
      model.zero_gradients();
      for (int pass = 0; pass < 2; pass++)
        model.forward_backward(batch.tokens, batch.targets, batch.B, batch.T, 1.0f / float(batch.predictions()));
      grads.push_back(download_gradients(model));
    }
    ASSERT_EQ(grads[0].size(), grads[1].size());
    EXPECT_EQ(std::memcmp(grads[0].data(), grads[1].data(), grads[0].size() * sizeof(float)), 0);
    EXPECT_GT(std::count_if(grads[0].begin(), grads[0].end(), [](float x) { return x != 0.0f; }), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureBackward, ::testing::Values("gpt2-tiny", "llama-tiny"));

}  // namespace
}  // namespace omlkit::model
