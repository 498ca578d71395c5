// safetensors: hostile headers are refused with a clear error, files read and written back
// unchanged are byte-identical, and sharded checkpoints load.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/error.h"
#include "model/checkpoint.h"
#include "model/cpu/cpu_backend.h"
#include "model/safetensors.h"
#include "model/transformer.h"
#include "model_test_support.h"

namespace omlkit::model {
namespace {

std::string file_image(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; i++) out[size_t(i)] = char(uint64_t(header.size()) >> (8 * i));
  return out + header + std::string(data_bytes, '\x01');
}

// Expects the image to be refused as bad data with `fragment` in the message.
void expect_refused(const std::string& image, const std::string& fragment) {
  try {
    parse_safetensors_bytes(image, "test.safetensors");
    ADD_FAILURE() << "accepted a bad header; expected: " << fragment;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), exit_code::data);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Safetensors, hostile_headers_are_refused_with_a_reason) {
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_NO_THROW(parse_safetensors_bytes(file_image(ok, 8), "t"));
  expect_refused("1234", "too short");
  std::string huge(8, '\0');
  huge[4] = 0x10;  // 2^36 bytes
  expect_refused(huge, "100 MB");
  expect_refused(file_image(ok, 8).substr(0, 20), "runs past the end");
  expect_refused(file_image(" " + ok, 8), "starting with '{'");
  expect_refused(file_image(R"({"a":)", 0), "invalid JSON");
  expect_refused(file_image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "duplicate key");
  expect_refused(file_image(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8), "unknown dtype");
  expect_refused(file_image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12 bytes");
  expect_refused(file_image(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8), "overflows");
  expect_refused(file_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), "out of range");
  expect_refused(file_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "out of range");
  expect_refused(file_image(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "non-negative integer");
  expect_refused(file_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "overlap");
  expect_refused(file_image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "hole");
  expect_refused(file_image(ok, 12), "data section has 12");
  expect_refused(file_image(R"({"__metadata__":{"k":1}})", 0), "expected a string");
  expect_refused(file_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8), "unknown field");
  expect_refused(file_image(R"({"a":[[[[[[]]]]]]})", 0), "nested");
}

TEST(Safetensors, read_and_written_back_unchanged_is_byte_identical) {
  std::vector<std::string> paths;
  for (const char* name : {"gpt2-tiny", "llama-tiny"})
    for (const char* file : {"model.safetensors", "model-bf16.safetensors"})
      paths.push_back(testing::fixture_dir(name) + "/" + file);
  if (auto shared = testing::shared_model_dir("gpt2-small")) paths.push_back(*shared + "/model.safetensors");
  auto out = std::filesystem::temp_directory_path() / ("omlkit-st-" + std::to_string(getpid()));
  for (const auto& path : paths) {
    auto in = SafetensorsFile::open(path);
    // The serializer alone reproduces PyTorch's header bytes (order, metadata, padding).
    EXPECT_EQ(serialize_safetensors_header(in->header()), in->header().raw) << path;
    write_safetensors(out.string(), in->header(), [&](const TensorEntry& e) { return in->bytes(e); });
    EXPECT_EQ(read_text_file(out.string()), read_text_file(path)) << path;
  }
  std::filesystem::remove(out);
}

TEST(Safetensors, float_conversions_match_the_stored_bf16_copy) {
  // PyTorch wrote the BF16 file by rounding the F32 one: our rounding must agree bit for bit.
  auto f32 = SafetensorsFile::open(testing::fixture_dir("llama-tiny") + "/model.safetensors");
  auto bf16 = SafetensorsFile::open(testing::fixture_dir("llama-tiny") + "/model-bf16.safetensors");
  for (const auto& entry : f32->header().tensors) {
    std::vector<float> values(entry.element_count());
    f32->read_f32(entry, values.data());
    std::vector<unsigned char> rounded(values.size() * 2);
    convert_from_f32(DType::BF16, values.data(), rounded.data(), values.size());
    auto stored = bf16->bytes(*bf16->header().find(entry.name));
    ASSERT_TRUE(std::equal(rounded.begin(), rounded.end(), stored.begin(), stored.end())) << entry.name;
  }
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), 5.9604644775390625e-08f);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);  // tie rounds to even
}

TEST(Safetensors, sharded_checkpoint_gives_the_same_logits_as_one_file) {
  std::string src = testing::fixture_dir("gpt2-tiny");
  auto dir = std::filesystem::temp_directory_path() / ("omlkit-shards-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(src + "/config.json", dir / "config.json");
  auto in = SafetensorsFile::open(src + "/model.safetensors");
  const auto& all = in->header().tensors;
  nlohmann::json index = {{"metadata", {{"total_size", in->header().data_size()}}}, {"weight_map", {}}};
  for (int shard = 0; shard < 2; shard++) {
    SafetensorsHeader part;
    size_t half = all.size() / 2, first = shard ? half : 0, last = shard ? all.size() : half;
    std::string name = "model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors";
    uint64_t offset = 0;
    for (size_t i = first; i < last; i++) {
      TensorEntry e = all[i];
      e.end = offset + (e.end - e.begin);
      e.begin = offset;
      offset = e.end;
      part.tensors.push_back(e);
      index["weight_map"][e.name] = name;
    }
    write_safetensors((dir / name).string(), part,
                      [&](const TensorEntry& e) { return in->bytes(*in->header().find(e.name)); });
  }
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();

  CpuBackend backend(1);
  Transformer model(Checkpoint::open(dir.string()), backend);
  auto ref = testing::read_json(src + "/reference.json");
  std::vector<int32_t> tokens = ref["input_ids"][0];
  const float* device = model.forward(tokens, 1, int(tokens.size()), 0);
  std::vector<float> logits(tokens.size() * 256);
  backend.download(logits.data(), device, logits.size());
  auto expected = testing::read_tensor(src + "/reference.safetensors", "logits");
  expected.resize(logits.size());
  EXPECT_LT(testing::relative_error(logits, expected), 1e-4);

  // An index that points outside the folder is refused.
  index["weight_map"]["transformer.wte.weight"] = "../model.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  EXPECT_THROW(Checkpoint::open(dir.string()), Error);
  std::filesystem::remove_all(dir);
}

TEST(Checkpoint, unsupported_architectures_and_options_are_refused_by_name) {
  auto refused = [](const std::string& json, const std::string& fragment) {
    try {
      parse_model_config(json, "config.json");
      ADD_FAILURE() << "accepted " << json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  refused(R"({"architectures":["BertModel"]})", "BertModel");
  refused(R"({"model_type":"llama","vocab_size":10,"num_hidden_layers":1,"num_attention_heads":2,"hidden_size":8,"intermediate_size":8,"rope_scaling":{"rope_type":"llama3"}})", "rope_scaling");
  refused(R"({"model_type":"gpt2","vocab_size":10,"n_layer":1,"n_head":2,"n_embd":8,"activation_function":"relu"})", "relu");
  auto c = parse_model_config(R"({"model_type":"llama","vocab_size":10,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"hidden_size":8,"intermediate_size":8})", "x");
  EXPECT_EQ(c.head_dim, 2);
  EXPECT_EQ(c.kv_dim(), 4);
}

}  // namespace
}  // namespace omlkit::model
