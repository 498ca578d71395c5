// Fine-tuning against PyTorch: one AdamW step on the fixtures' batch gives PyTorch's loss
// after that step (tests/fixtures/*/reference.json), however the batch is accumulated;
// training is deterministic; frozen tensors keep their bits and get no optimizer state;
// trained weights are written back in the source's own layout; a subset trained with the
// frozen weights left in place gives the widened model's result and writes the frozen
// tensors back byte for byte.
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

// Every tensor's F32 values, as save_checkpoint takes them.
ParameterSubset all_weights(Transformer& model) {
  ParameterSubset all(model.parameters(), std::vector<bool>(model.parameters().entries().size(), true));
  all.download(model.backend(), model.parameter_data());
  return all;
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
    save_checkpoint(source, all_weights(model), out.string());
    EXPECT_EQ(read_text_file((out / "model-bf16.safetensors").string()),
              read_text_file(dir() + "/model-bf16.safetensors"));
    EXPECT_EQ(read_text_file((out / "config.json").string()), read_text_file(dir() + "/config.json"));
  }
  // One step, saved and reloaded, still gives PyTorch's loss after the step.
  auto source = Checkpoint::open(dir());
  Transformer model(source, backend);
  fine_tune(model, fixture_examples(ref()), plain_adamw(1, 2, 1), nullptr);
  save_checkpoint(source, all_weights(model), out.string());
  Transformer reloaded(Checkpoint::open(out.string()), backend);
  double loss = fixture_loss(reloaded, ref()), expected = ref()["loss_after_one_adamw_step"];
  EXPECT_LT(std::fabs(loss - expected) / expected, 1e-4);
  EXPECT_THROW(save_checkpoint(source, all_weights(model), dir()), omlkit::Error);
  fs::remove_all(out);
}

TEST_P(FixtureTrain, a_subset_trained_with_the_rest_in_place_matches_the_widened_model) {
  namespace fs = std::filesystem;
  const std::vector<std::string> patterns = {"h.1.mlp.*"};
  for (const char* file : {"model.safetensors", "model-bf16.safetensors"}) {
    SCOPED_TRACE(file);
    CpuBackend backend(2);
    auto source = Checkpoint::open(dir(), file);
    Transformer widened(source, backend), in_place(source, backend, WeightPlacement::in_place);
    for (Transformer* m : {&widened, &in_place}) {
      m->set_trainable(select_trainable(m->parameters(), patterns));
      fine_tune(*m, fixture_examples(ref()), plain_adamw(2, 2, 1), nullptr);
    }
    // The layer below the trained one stays in the file's mapping.
    const auto& entries = in_place.parameters().entries();
    bool layer0_in_place = false;
    for (size_t i = 0; i < entries.size(); i++)
      layer0_in_place = layer0_in_place || (entries[i].role.rfind("h.0.", 0) == 0 && in_place.in_place(i));
    EXPECT_TRUE(layer0_in_place);

    ParameterSubset a(widened.parameters(), widened.trainable()), b(in_place.parameters(), in_place.trainable());
    a.download(backend, widened.parameter_data());
    b.download(backend, in_place.parameter_data());
    ASSERT_EQ(a.values().size(), b.values().size());
    ASSERT_GT(a.values().size(), 0u);
    for (size_t i = 0; i < a.values().size(); i++)
      ASSERT_NEAR(a.values()[i], b.values()[i], 1e-6f * (1 + std::fabs(a.values()[i]))) << i;

    // Written: trained tensors from their values, the rest copied from the file unchanged.
    fs::path out = fs::temp_directory_path() / ("omlkit-subset-" + GetParam() + "-" + std::to_string(::getpid()));
    save_checkpoint(source, b, out.string());
    auto written = Checkpoint::open(out.string(), file);
    for (size_t i = 0; i < entries.size(); i++) {
      const TensorLocation* was = source.find(entries[i].name);
      const TensorLocation* now = written.find(entries[i].name);
      auto before = was->file->bytes(*was->entry), after = now->file->bytes(*now->entry);
      bool same = before.size() == after.size() && std::memcmp(before.data(), after.data(), before.size()) == 0;
      EXPECT_EQ(same, !in_place.trainable()[i]) << entries[i].name;
    }
    Transformer reloaded(written, backend);
    for (size_t i = 0; i < entries.size(); i++)
      if (b.has(i)) {
        std::vector<float> loaded(entries[i].count);
        reloaded.parameters().load_f32(written, i, loaded.data());
        ParameterSubset rounded = b;
        rounded.round_to_storage();
        EXPECT_EQ(std::memcmp(loaded.data(), rounded.tensor(i).data(), loaded.size() * sizeof(float)), 0)
            << entries[i].name;
      }
    fs::remove_all(out);
  }
}

TEST_P(FixtureTrain, gradients_are_computed_and_zeroed_for_the_trained_tensors_only) {
  CpuBackend backend(1);
  Transformer model(Checkpoint::open(dir()), backend);
  const size_t n = model.parameters().total_floats();
  auto rows = ref()["input_ids"].get<std::vector<std::vector<int32_t>>>();
  const int B = int(rows.size()), T = int(rows[0].size());
  std::vector<int32_t> tokens, targets;
  for (const auto& r : rows)
    for (size_t t = 0; t < r.size(); t++) tokens.push_back(r[t]), targets.push_back(t + 1 < r.size() ? r[t + 1] : -1);
  auto gradients = [&] {
    std::vector<float> g(n);
    backend.download(g.data(), model.gradient_data(), n);
    return g;
  };
  model.zero_gradients();
  model.forward_backward(tokens, targets, B, T, 1.0f);
  std::vector<float> all = gradients();
  const auto& entries = model.parameters().entries();
  auto nonzero = [&](const std::vector<float>& g, const ParameterInfo& e) {
    for (size_t k = e.offset; k < e.offset + e.count; k++)
      if (g[k] != 0) return true;
    return false;
  };
  for (const auto& e : entries) EXPECT_TRUE(nonzero(all, e)) << e.name;

  // Narrowed: the stale gradients of the now-frozen tensors are cleared, and stay 0.
  auto trainable = select_trainable(model.parameters(), {"h.1.*"});
  model.set_trainable(trainable);
  for (int pass = 0; pass < 2; pass++) {
    model.zero_gradients();
    model.forward_backward(tokens, targets, B, T, 1.0f);
    std::vector<float> some = gradients();
    for (size_t i = 0; i < entries.size(); i++) {
      EXPECT_EQ(nonzero(some, entries[i]), bool(trainable[i])) << entries[i].name;
      if (!trainable[i]) continue;
      EXPECT_EQ(std::memcmp(&some[entries[i].offset], &all[entries[i].offset], entries[i].count * sizeof(float)), 0)
          << entries[i].name;
    }
  }
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
