// The cuBLAS backend against PyTorch, with the same fixtures and tolerances as the CPU
// tests: logits, every gradient, and the loss after one AdamW step; plus bit-identical
// gradients on a repeat. Skipped where the build has no CUDA backend or there is no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "io/error.h"
#include "model/backend_select.h"
#include "model/cpu/cpu_backend.h"
#include "model/fine_tune.h"
#include "model/scoring.h"
#include "model_test_support.h"

namespace omlkit::model {
namespace {

using testing::fixture_dir;
using testing::read_json;

std::unique_ptr<Backend> gpu_or_skip_reason(std::string* why) {
  try {
    return make_backend("cuda", 1);
  } catch (const Error& e) {
    *why = e.what();
    return nullptr;
  }
}

class CudaFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    backend_ = gpu_or_skip_reason(&why);
    if (!backend_) GTEST_SKIP() << why;
  }
  std::string dir() const { return fixture_dir(GetParam()); }
  nlohmann::json ref() const { return read_json(dir() + "/reference.json"); }
  std::unique_ptr<Backend> backend_;
};

TEST_P(CudaFixture, logits_and_every_gradient_match_pytorch_within_1e4_relative) {
  Transformer model(Checkpoint::open(dir()), *backend_);
  auto ids = ref()["input_ids"];
  int B = int(ids.size()), T = int(ids[0].size()), V = model.config().vocab_size;
  std::vector<int32_t> tokens, targets;
  for (const auto& row : ids)
    for (int t = 0; t < T; t++) {
      tokens.push_back(row[size_t(t)]);
      targets.push_back(t + 1 < T ? int32_t(row[size_t(t) + 1]) : -1);
    }
  std::vector<float> logits(size_t(B) * T * V);
  backend_->download(logits.data(), model.forward(tokens, B, T, 0), logits.size());
  EXPECT_LT(testing::relative_error(logits, testing::read_tensor(dir() + "/reference.safetensors", "logits")), 1e-4);

  auto gradients = [&] {
    model.zero_gradients();
    model.forward_backward(tokens, targets, B, T, 1.0f / float(B * (T - 1)));
    std::vector<float> g(model.parameters().total_floats());
    backend_->download(g.data(), model.gradient_data(), g.size());
    return g;
  };
  auto grads = gradients();
  for (const auto& e : model.parameters().entries()) {
    std::vector<float> mine(grads.begin() + long(e.offset), grads.begin() + long(e.offset + e.count));
    double error = testing::relative_error(mine, testing::read_tensor(dir() + "/reference.safetensors", "grad." + e.name));
    std::cout << "[ measured ] cuda " << GetParam() << " grad " << e.role << " " << error << "\n";
    EXPECT_LT(error, 1e-4) << e.name;
  }
  auto again = gradients();
  EXPECT_EQ(std::memcmp(grads.data(), again.data(), grads.size() * sizeof(float)), 0) << "not deterministic";
}

TEST_P(CudaFixture, one_adamw_step_gives_pytorchs_loss_within_1e4_relative) {
  Transformer model(Checkpoint::open(dir()), *backend_);
  std::vector<TrainingExample> examples;
  for (const auto& row : ref()["input_ids"]) examples.push_back({row.get<std::vector<int32_t>>(), {}});
  FineTuneOptions o;
  o.steps = 1;
  o.batch = 2;
  o.adamw.lr = 1e-3f;
  o.adamw.weight_decay = 0;
  o.clip = 0;
  fine_tune(model, examples, o, nullptr);
  double total = 0, count = 0;
  for (const auto& s : score_sequences(model, ref()["input_ids"].get<std::vector<std::vector<int32_t>>>(), 2))
    for (float lp : s.logprobs) total -= lp, count++;
  double loss = total / count, expected = ref()["loss_after_one_adamw_step"];
  std::cout << "[ measured ] cuda " << GetParam() << " loss after one AdamW step " << loss << " (PyTorch " << expected << ")\n";
  EXPECT_LT(std::fabs(loss - expected) / expected, 1e-4);
}

TEST_P(CudaFixture, head_on_chosen_rows_agrees_with_the_cpu_backend) {
  // forward_rows, token_logprobs and a response-only training mask (gather_rows and
  // scatter_rows on the GPU) against the CPU reference on the same calls.
  CpuBackend cpu_backend(1);
  Transformer gpu(Checkpoint::open(dir()), *backend_), cpu(Checkpoint::open(dir()), cpu_backend);
  auto ids = ref()["input_ids"];
  int B = int(ids.size()), T = int(ids[0].size()), V = gpu.config().vocab_size;
  std::vector<int32_t> tokens, targets, response;
  for (const auto& row : ids)
    for (int t = 0; t < T; t++) {
      tokens.push_back(row[size_t(t)]);
      targets.push_back(t + 1 < T ? int32_t(row[size_t(t) + 1]) : -1);
      response.push_back(t + 1 < T && t >= T - 4 ? int32_t(row[size_t(t) + 1]) : -1);
    }
  std::vector<int32_t> rows = {B * T - 1, 0, 3, 3, T};
  std::vector<float> mine(rows.size() * size_t(V)), theirs(mine.size());
  backend_->download(mine.data(), gpu.forward_rows(tokens, B, T, 0, rows), mine.size());
  cpu_backend.download(theirs.data(), cpu.forward_rows(tokens, B, T, 0, rows), theirs.size());
  EXPECT_LT(testing::relative_error(mine, theirs), 1e-4);
  EXPECT_LT(testing::relative_error(gpu.token_logprobs(tokens, targets, B, T), cpu.token_logprobs(tokens, targets, B, T)),
            1e-4);
  auto masked_gradients = [&](Transformer& model) {
    model.zero_gradients();
    model.forward_backward(tokens, response, B, T, 0.25f);
    std::vector<float> g(model.parameters().total_floats());
    model.backend().download(g.data(), model.gradient_data(), g.size());
    return g;
  };
  auto g_gpu = masked_gradients(gpu), g_cpu = masked_gradients(cpu);
  for (const auto& e : gpu.parameters().entries()) {
    std::vector<float> a(g_gpu.begin() + long(e.offset), g_gpu.begin() + long(e.offset + e.count));
    std::vector<float> b(g_cpu.begin() + long(e.offset), g_cpu.begin() + long(e.offset + e.count));
    EXPECT_LT(testing::relative_error(a, b), 1e-4) << e.name;
  }
  // Distillation (distill_kernel): the response rows against a teacher of other rows' logits.
  std::vector<int32_t> response_rows;
  for (size_t i = 0; i < response.size(); i++)
    if (response[i] >= 0) response_rows.push_back(int32_t(i));
  std::vector<int32_t> shifted = response_rows;
  std::rotate(shifted.begin(), shifted.begin() + 1, shifted.end());
  std::vector<float> teacher(shifted.size() * size_t(V));
  cpu_backend.download(teacher.data(), cpu.forward_rows(tokens, B, T, 0, shifted), teacher.size());
  auto distilled = [&](Transformer& model, double* loss) {
    model.zero_gradients();
    *loss = model.forward_backward(tokens, response, B, T, 0.25f, teacher);
    std::vector<float> g(model.parameters().total_floats());
    model.backend().download(g.data(), model.gradient_data(), g.size());
    return g;
  };
  double loss_gpu = 0, loss_cpu = 0;
  g_gpu = distilled(gpu, &loss_gpu), g_cpu = distilled(cpu, &loss_cpu);
  EXPECT_NEAR(loss_gpu, loss_cpu, 1e-4 * loss_cpu);
  EXPECT_LT(testing::relative_error(g_gpu, g_cpu), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaFixture, ::testing::Values("gpt2-tiny", "llama-tiny"));

TEST(BackendSelection, auto_falls_back_to_the_cpu_and_unknown_devices_are_refused) {
  auto backend = make_backend("auto", 1);
  ASSERT_TRUE(backend);
  EXPECT_FALSE(backend->name().empty());
  EXPECT_EQ(make_backend("cpu", 1)->name().rfind("cpu", 0), 0u);
  EXPECT_THROW(make_backend("tpu", 1), Error);
}

}  // namespace
}  // namespace omlkit::model
