// Fine-tuning against PyTorch: one AdamW step on the fixtures' batch gives PyTorch's loss
// after that step (tests/fixtures/*/reference.json), however the batch is accumulated;
// training is deterministic; frozen tensors keep their bits and get no optimizer state;
// trained weights are written back in the source's own layout.
#include <gtest/gtest.h>

#include <cstring>
#include <iomanip>
#include <filesystem>

#include "io/error.h"
#include "model/checkpoint_writer.h"
#include "model/cpu/cpu_backend.h"
#include "model/fine_tune.h"
#include "model/scoring.h"
#include "model_test_support.h"

namespace omlkit::model {
namespace {

using testing::fixture_dir;
using testing::read_json;

std::vector<TrainingExample> fixture_examples(const nlohmann::json& ref) {
  std::vector<TrainingExample> out;
  for (const auto& row : ref["input_ids"]) out.push_back({row.get<std::vector<int32_t>>(), {}});
  return out;
}

// Mean next-token loss over the fixture's batch (the reference's loss definition).
double fixture_loss(Transformer& model, const nlohmann::json& ref) {
  double total = 0, count = 0;
  for (const auto& s : score_sequences(model, ref["input_ids"].get<std::vector<std::vector<int32_t>>>(), 2))
    for (float lp : s.logprobs) total -= lp, count++;
  return total / count;
}

// The "plain AdamW step": lr 1e-3, no decay, no clipping, no warm-up.
FineTuneOptions plain_adamw(int steps, int batch, int accumulate) {
  FineTuneOptions o;
  o.steps = steps;
  o.batch = batch;
  o.accumulate = accumulate;
  o.adamw.lr = 1e-3f;
  o.adamw.weight_decay = 0;
  o.clip = 0;
  return o;
}

std::vector<float> weights(Transformer& model) {
  std::vector<float> w(model.parameters().total_floats());
  model.backend().download(w.data(), model.parameter_data(), w.size());
  return w;
}

class FixtureTrain : public ::testing::TestWithParam<std::string> {
 protected:
  std::string dir() const { return fixture_dir(GetParam()); }
  nlohmann::json ref() const { return read_json(dir() + "/reference.json"); }
};

TEST_P(FixtureTrain, one_adamw_step_gives_pytorchs_loss_within_1e4_relative) {
  // Whole batch at once, and the same batch as two accumulated micro-batches of one.
  for (auto [batch, accumulate] : {std::pair{2, 1}, std::pair{1, 2}}) {
    CpuBackend backend(2);
    Transformer model(Checkpoint::open(dir()), backend);
    fine_tune(model, fixture_examples(ref()), plain_adamw(1, batch, accumulate), nullptr);
    double loss = fixture_loss(model, ref()), expected = ref()["loss_after_one_adamw_step"];
    std::cout << std::setprecision(10) << "[ measured ] " << GetParam() << " batch " << batch << " x " << accumulate
              << ": loss after one AdamW step " << loss << " (PyTorch " << expected << ")\n";
    EXPECT_LT(std::fabs(loss - expected) / expected, 1e-4);
  }
}

TEST_P(FixtureTrain, training_is_bit_identical_for_the_same_seed) {
  auto train = [&](uint64_t seed) {
    CpuBackend backend(2);
    Transformer model(Checkpoint::open(dir()), backend);
    FineTuneOptions o;  // defaults: decay, clipping on; 8 windows of 4, batches of 2
    o.steps = 4;
    o.batch = 2;
    o.seq_len = 4;
    o.seed = seed;
    o.schedule = LrSchedule::cosine;
    o.warmup = 1;
    fine_tune(model, fixture_examples(ref()), o, nullptr);
    return weights(model);
  };
  auto first = train(7), second = train(7), other = train(8);
  ASSERT_EQ(first.size(), second.size());
  EXPECT_EQ(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(first.data(), other.data(), first.size() * sizeof(float)), 0);
}

TEST_P(FixtureTrain, frozen_tensors_keep_their_bits_and_have_no_optimizer_state) {
  CpuBackend backend(2);
  Transformer model(Checkpoint::open(dir()), backend);
  auto trainable = select_trainable(model.parameters(), {"*.mlp.*", "h.0.norm1.weight"});
  model.set_trainable(trainable);
  auto before = weights(model);
  fine_tune(model, fixture_examples(ref()), plain_adamw(2, 2, 1), nullptr);
  auto after = weights(model);
  size_t trainable_floats = 0;
  for (size_t i = 0; i < trainable.size(); i++) {
    const ParameterInfo& e = model.parameters().entries()[i];
    bool same = std::memcmp(&before[e.offset], &after[e.offset], e.count * sizeof(float)) == 0;
    EXPECT_EQ(same, !trainable[i]) << e.name;
    if (trainable[i]) trainable_floats += e.count;
  }
  AdamW optimizer(model, {});
  EXPECT_EQ(optimizer.state_floats(), 2 * trainable_floats);
  EXPECT_THROW(select_trainable(model.parameters(), {"no.such.tensor*"}), omlkit::Error);
}

TEST_P(FixtureTrain, trained_weights_are_written_in_the_sources_layout) {
  namespace fs = std::filesystem;
  fs::path out = fs::temp_directory_path() / ("omlkit-train-" + GetParam() + "-" + std::to_string(::getpid()));
  CpuBackend backend(1);
  // Unchanged BF16 weights come back byte for byte: names, dtypes, order, metadata.
  {
    auto source = Checkpoint::open(dir(), "model-bf16.safetensors");
    Transformer model(source, backend);
    save_checkpoint(source, model.parameters(), weights(model), out.string());
    EXPECT_EQ(read_text_file((out / "model-bf16.safetensors").string()),
              read_text_file(dir() + "/model-bf16.safetensors"));
    EXPECT_EQ(read_text_file((out / "config.json").string()), read_text_file(dir() + "/config.json"));
  }
  // One step, saved and reloaded, still gives PyTorch's loss after the step.
  auto source = Checkpoint::open(dir());
  Transformer model(source, backend);
  fine_tune(model, fixture_examples(ref()), plain_adamw(1, 2, 1), nullptr);
  save_checkpoint(source, model.parameters(), weights(model), out.string());
  Transformer reloaded(Checkpoint::open(out.string()), backend);
  double loss = fixture_loss(reloaded, ref()), expected = ref()["loss_after_one_adamw_step"];
  EXPECT_LT(std::fabs(loss - expected) / expected, 1e-4);
  EXPECT_THROW(save_checkpoint(source, model.parameters(), weights(model), dir()), omlkit::Error);
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureTrain, ::testing::Values("gpt2-tiny", "llama-tiny"));

TEST(LrSchedule, warmup_rises_linearly_and_decays_end_at_the_floor) {
  EXPECT_FLOAT_EQ(scheduled_lr(LrSchedule::constant, 1.0f, 0, 10, 4, 0.1f), 0.25f);
  EXPECT_FLOAT_EQ(scheduled_lr(LrSchedule::constant, 1.0f, 3, 10, 4, 0.1f), 1.0f);
  EXPECT_FLOAT_EQ(scheduled_lr(LrSchedule::constant, 1.0f, 9, 10, 4, 0.1f), 1.0f);
  EXPECT_FLOAT_EQ(scheduled_lr(LrSchedule::cosine, 1.0f, 4, 10, 4, 0.1f), 1.0f);
  EXPECT_FLOAT_EQ(scheduled_lr(LrSchedule::cosine, 1.0f, 9, 10, 4, 0.1f), 0.1f);
  EXPECT_FLOAT_EQ(scheduled_lr(LrSchedule::linear, 2.0f, 5, 11, 0, 0.0f), 1.0f);
}

TEST(CutWindows, long_examples_become_windows_and_ones_with_nothing_to_predict_are_dropped) {
  std::vector<TrainingExample> examples = {{{1, 2, 3, 4, 5, 6, 7}, {}}, {{8, 9}, {1, 0}}, {{8, 9, 10}, {0, 0, 1}}};
  auto windows = cut_windows(examples, 3);
  // [7] and the masked [8,9] have no target; [8,9,10] keeps its mask.
  ASSERT_EQ(windows.size(), 3u);
  EXPECT_EQ(windows[0].tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(windows[1].tokens, (std::vector<int32_t>{4, 5, 6}));
  EXPECT_EQ(windows[2].loss_mask, (std::vector<uint8_t>{0, 0, 1}));
}

}  // namespace
}  // namespace omlkit::model
