// The trained models of ../shared/models against their PyTorch reference.json: greedy
// continuations token for token, and perplexity on heldout.txt within 0.5%.
#include <gtest/gtest.h>

#include <cmath>

#include "model/cpu/cpu_backend.h"
#include "model/generate.h"
#include "model/scoring.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "model_test_support.h"

namespace omlkit::model {
namespace {

class SharedModel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto found = testing::shared_model_dir(GetParam());
    if (!found) GTEST_SKIP() << "../shared/models not found (set OMLKIT_SHARED)";
    dir = *found;
  }
  std::string dir;
};

TEST_P(SharedModel, greedy_continuations_match_pytorch_token_for_token) {
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir), backend);
  for (const auto& g : testing::read_json(dir + "/reference.json")["greedy"]) {
    GenerationOptions options;
    options.max_new_tokens = g["max_new_tokens"];
    EXPECT_EQ(generate(model, g["prompt_ids"].get<std::vector<int32_t>>(), options),
              g["tokens"].get<std::vector<int32_t>>())
        << g["prompt"];
  }
}

TEST_P(SharedModel, heldout_perplexity_is_within_half_a_percent_of_pytorch) {
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir), backend);
  auto ref = testing::read_json(dir + "/reference.json")["perplexity"];
  auto tokens = Tokenizer::from_file(dir + "/tokenizer.json")
                    .encode(read_text_file(dir + "/../" + ref["file"].get<std::string>()));
  EXPECT_EQ(tokens.size(), ref["tokens"].get<size_t>());
  auto result = windowed_perplexity(model, tokens, ref["window"], 4);
  double expected = ref["value"];
  std::cout << "[ measured ] " << GetParam() << " perplexity " << result.perplexity << " (PyTorch " << expected
            << ", mean loss " << result.mean_loss << " vs " << ref["mean_loss"] << ")\n";
  EXPECT_LT(std::fabs(result.perplexity - expected) / expected, 0.005);
}

INSTANTIATE_TEST_SUITE_P(Models, SharedModel, ::testing::Values("gpt2-small", "llama-small"));

}  // namespace
}  // namespace omlkit::model
