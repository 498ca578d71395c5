// Weights used where the checkpoint's mapping holds them (WeightPlacement::in_place: F32
// as it lies, BF16/F16 widened inside the matmul) against the same weights widened to an
// F32 copy: widening is exact, so the two may differ only by the order of the additions.
// The expectation is always the widened F32 path (OpenBLAS sgemm on the exactly converted
// values), never the in-place path's own output.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <tuple>

#include "model/cpu/cpu_backend.h"
#include "model/cpu/matmul_16bit.h"
#include "model/dtype.h"
#include "model/transformer.h"
#include "model_test_support.h"
#include "test_support.h"

namespace omlkit::model {
namespace {

using testing::fixture_dir;
using testing::relative_error;

std::vector<float> download(Backend& backend, const float* device, size_t n) {
  std::vector<float> host(n);
  backend.download(host.data(), device, n);
  return host;
}

// Both layouts, both dtypes, and every row count either side of the dot-product limit:
// a 16-bit Linear (its (out,in) rows split into three blocks, as Llama's q, k, v are)
// against an F32 Linear of the widened values.
TEST(MatmulForward16bit, agrees_with_sgemm_on_the_widened_weights_within_1e5_relative) {
  CpuBackend backend(2);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int in = 77, out = 45;  // not multiples of the kernels' 16-wide steps: tails run
  for (DType dtype : {DType::BF16, DType::F16})
    for (bool in_out : {false, true})
      for (int N : {1, 3, 6, kDotProductMaxRows, kDotProductMaxRows + 1, 37}) {
        std::vector<uint16_t> w16(size_t(in) * out);
        std::vector<float> w32(w16.size()), x(size_t(N) * in), bias(static_cast<size_t>(out));
        for (size_t i = 0; i < w16.size(); i++) {
          float v = normal(rng) * 0.1f;
          w16[i] = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
          w32[i] = dtype == DType::BF16 ? bf16_to_f32(w16[i]) : f16_to_f32(w16[i]);
        }
        for (float& v : x) v = normal(rng);
        for (float& v : bias) v = normal(rng);
        Linear wide{w32.data(), bias.data(), in, out, in_out};
        Linear half{nullptr, bias.data(), in, out, in_out};
        half.dtype16 = dtype;
        if (in_out) {
          half.blocks16[0] = {w16.data(), in};
        } else {
          half.blocks16[0] = {w16.data(), 10};
          half.blocks16[1] = {w16.data() + 10 * size_t(in), 30};
          half.blocks16[2] = {w16.data() + 40 * size_t(in), out - 40};
        }
        std::vector<float> expected(size_t(N) * out), actual(expected.size());
        backend.matmul_forward(expected.data(), x.data(), in, wide, N);
        backend.matmul_forward(actual.data(), x.data(), in, half, N);
        EXPECT_LT(relative_error(actual, expected), 1e-5)
            << dtype_name(dtype) << (in_out ? " (in,out)" : " (out,in)") << " N=" << N;
      }
}

class InPlaceFixture : public ::testing::TestWithParam<std::string> {
 protected:
  std::string dir() const { return fixture_dir(GetParam()); }
  std::vector<int32_t> tokens() const {
    std::vector<int32_t> out;
    nlohmann::json reference = testing::read_json(dir() + "/reference.json");
    for (const auto& row : reference["input_ids"])
      for (int id : row) out.push_back(id);
    return out;
  }
  // check(file, backend, widened, in_place) for the fixture's BF16 file and its F32 file,
  // each loaded both ways.
  template <typename Check>
  void for_each_file(Check check) {
    CpuBackend backend(2);
    for (const char* file : {"model-bf16.safetensors", "model.safetensors"}) {
      SCOPED_TRACE(file);
      Checkpoint checkpoint = Checkpoint::open(dir(), file);
      Transformer widened(checkpoint, backend, WeightPlacement::widened);
      Transformer in_place(checkpoint, backend, WeightPlacement::in_place);
      check(std::string(file), backend, widened, in_place);
    }
  }
  static size_t count_in_place(const Transformer& model) {
    size_t n = 0;
    for (size_t i = 0; i < model.parameters().entries().size(); i++) n += model.in_place(i);
    return n;
  }
};

TEST_P(InPlaceFixture, in_place_gives_the_widened_logits_within_1e5_relative_in_bf16_and_f32) {
  for_each_file([&](const std::string& file, CpuBackend& backend, Transformer& widened, Transformer& in_place) {
    ASSERT_EQ(count_in_place(widened), 0u);
    if (file == "model-bf16.safetensors") {
      // Every matrix (embedding, head, projections) stays in BF16; norms and biases do not.
      size_t matrices = 0;
      for (const auto& e : in_place.parameters().entries()) matrices += e.shape.size() == 2 && e.role != "wpe";
      ASSERT_EQ(count_in_place(in_place), matrices);
    } else {
      // F32: every tensor whose fused unit lies in file order, which the fixtures' files
      // keep: all of them.
      ASSERT_EQ(count_in_place(in_place), in_place.parameters().entries().size());
    }
    std::cout << "[ measured ] " << GetParam() << " " << file << ": " << count_in_place(in_place) << " of "
              << in_place.parameters().entries().size() << " tensors in place\n";

    std::vector<int32_t> ids = tokens();
    const int B = 2, T = int(ids.size()) / B, V = widened.config().vocab_size;
    // All rows (the widened-tile sgemm path), then each sequence's last row (the dot products).
    for (bool last_only : {false, true}) {
      size_t n = size_t(last_only ? B : B * T) * V;
      auto expected = download(backend, widened.forward(ids, B, T, 0, last_only), n);
      auto actual = download(backend, in_place.forward(ids, B, T, 0, last_only), n);
      double error = relative_error(actual, expected);
      std::cout << "[ measured ] " << GetParam() << " " << file << (last_only ? " last rows" : " all rows")
                << " in-place vs widened relative error " << error << "\n";
      EXPECT_LT(error, 1e-5);
    }
    // Token-by-token with the KV cache: one row per step.
    widened.reserve(1, T);
    in_place.reserve(1, T);
    for (int t = 0; t < T; t++) {
      std::span<const int32_t> step(&ids[size_t(t)], 1);
      auto expected = download(backend, widened.forward(step, 1, 1, t, true), size_t(V));
      auto actual = download(backend, in_place.forward(step, 1, 1, t, true), size_t(V));
      EXPECT_LT(relative_error(actual, expected), 1e-5) << "position " << t;
    }
  });
}

TEST_P(InPlaceFixture, training_the_last_layer_widens_what_backward_reads_and_matches_widened) {
  for_each_file([&](const std::string& file, CpuBackend& backend, Transformer& widened, Transformer& in_place) {
    const auto& entries = widened.parameters().entries();
    const std::string last = "h." + std::to_string(widened.config().n_layer - 1) + ".";
    std::vector<bool> trainable(entries.size());
    for (size_t i = 0; i < entries.size(); i++) trainable[i] = entries[i].role.rfind(last, 0) == 0;
    widened.set_trainable(trainable);
    in_place.set_trainable(trainable);
    // The last layer and the head are widened; the layers below stay in place.
    for (size_t i = 0; i < entries.size(); i++) {
      bool head = entries[i].role == "lm_head" || (widened.config().tied_head && entries[i].role == "wte");
      if (trainable[i] || head) {
        EXPECT_FALSE(in_place.in_place(i)) << entries[i].role;
      }
      if (std::string(file) == "model-bf16.safetensors" && entries[i].role.rfind("h.0.", 0) == 0 &&
          entries[i].shape.size() == 2) {
        EXPECT_TRUE(in_place.in_place(i)) << entries[i].role;
      }
    }

    std::vector<int32_t> ids = tokens();
    const int B = 2, T = int(ids.size()) / B;
    std::vector<int32_t> targets(ids.size(), -1);
    for (size_t i = 0; i + 1 < ids.size(); i++)
      if ((i + 1) % size_t(T) != 0) targets[i] = ids[i + 1];
    widened.zero_gradients();
    in_place.zero_gradients();
    double expected_loss = widened.forward_backward(ids, targets, B, T, 1.0f);
    double loss = in_place.forward_backward(ids, targets, B, T, 1.0f);
    EXPECT_LT(std::fabs(loss - expected_loss) / expected_loss, 1e-5);
    const size_t n = widened.parameters().total_floats();
    auto expected = download(backend, widened.gradient_data(), n);
    auto actual = download(backend, in_place.gradient_data(), n);
    for (size_t i = 0; i < entries.size(); i++) {
      if (!trainable[i]) continue;
      auto slice = [&](const std::vector<float>& all) {
        auto from = all.begin() + long(entries[i].offset);
        return std::vector<float>(from, from + long(entries[i].count));
      };
      EXPECT_LT(relative_error(slice(actual), slice(expected)), 1e-5) << entries[i].role;
    }
  });
}

TEST(InPlaceF32, a_fused_matrix_whose_parts_lie_apart_in_the_file_is_widened_and_gives_the_same_logits) {
  // A copy of llama-tiny's F32 file with layer 0's v data moved before its q data: q|k|v
  // can no longer be read as one matrix from the mapping.
  test::TempDir dir;
  std::filesystem::copy_file(fixture_dir("llama-tiny") + "/config.json", dir.file("config.json"));
  auto source = SafetensorsFile::open(fixture_dir("llama-tiny") + "/model.safetensors");
  SafetensorsHeader header = source->header();
  header.raw.clear();
  std::vector<TensorEntry*> order;
  for (auto& t : header.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
  auto q = std::find_if(order.begin(), order.end(), [](const TensorEntry* t) { return t->name == "model.layers.0.self_attn.q_proj.weight"; });
  auto v = std::find_if(order.begin(), order.end(), [](const TensorEntry* t) { return t->name == "model.layers.0.self_attn.v_proj.weight"; });
  ASSERT_TRUE(q != order.end() && v != order.end());
  ASSERT_LT(q, v);
  std::rotate(q, v, v + 1);  // v now comes first
  uint64_t offset = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> original;
  for (const auto& t : source->header().tensors) original[t.name] = {t.begin, t.end};
  for (TensorEntry* t : order) {
    uint64_t size = t->end - t->begin;
    t->begin = offset;
    t->end = offset += size;
  }
  write_safetensors(dir.file("model.safetensors"), header, [&](const TensorEntry& t) {
    TensorEntry at = t;
    std::tie(at.begin, at.end) = original.at(t.name);
    return source->bytes(at);
  });

  CpuBackend backend(2);
  Checkpoint moved = Checkpoint::open(dir.file(""));
  Transformer in_place(moved, backend, WeightPlacement::in_place);
  Checkpoint fixture = Checkpoint::open(fixture_dir("llama-tiny"));
  Transformer widened(fixture, backend, WeightPlacement::widened);
  const auto& entries = in_place.parameters().entries();
  for (size_t i = 0; i < entries.size(); i++) {
    bool apart = entries[i].role == "h.0.attn.q.weight" || entries[i].role == "h.0.attn.k.weight" ||
                 entries[i].role == "h.0.attn.v.weight";
    EXPECT_EQ(in_place.in_place(i), !apart) << entries[i].role;
  }
  std::vector<int32_t> ids = {3, 14, 15, 92, 65, 35, 89, 79};
  size_t n = ids.size() * size_t(in_place.config().vocab_size);
  auto expected = download(backend, widened.forward(ids, 1, int(ids.size()), 0), n);
  auto actual = download(backend, in_place.forward(ids, 1, int(ids.size()), 0), n);
  EXPECT_LT(relative_error(actual, expected), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, InPlaceFixture, ::testing::Values("gpt2-tiny", "llama-tiny"));

}  // namespace
}  // namespace omlkit::model
