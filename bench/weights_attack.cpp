// Attacks on a model's weights for bench/fingerprint-check.sh, in C++ because gpt2-small's
// 124M weights take minutes and gigabytes in tests/cli/tiny_model.py's pure Python:
//   weights_attack round IN_DIR OUT_DIR {BF16|F16}   every float tensor rounded (nearest even)
//   weights_attack average OUT_DIR IN_DIR...         element-wise mean of copies of one model
// The safetensors files keep their names and tensor order (sharded folders stay sharded);
// the other files (config, tokenizer, index) are copied from the (first) input folder.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/error.h"
#include "model/dtype.h"
#include "model/safetensors.h"

using namespace omlkit;
namespace fs = std::filesystem;

namespace {

// Writes `out` from `inputs` (the same file in each input folder): the header's float
// tensors become `target` (nullopt: the first input's dtype), each the mean of the inputs.
void rewrite(const std::vector<std::unique_ptr<model::SafetensorsFile>>& inputs, const std::string& out,
             std::optional<model::DType> target) {
  const model::SafetensorsHeader& first = inputs[0]->header();
  for (const auto& in : inputs)
    if (!in->header().same_layout(first)) throw data_error(in->path(), "not the same tensors as " + inputs[0]->path());
  model::SafetensorsHeader header = first;
  header.raw.clear();
  uint64_t offset = 0;
  for (model::TensorEntry& t : header.tensors) {
    if (target && model::dtype_is_float_convertible(t.dtype)) t.dtype = *target;
    t.begin = offset;
    t.end = offset += t.element_count() * model::dtype_size(t.dtype);
  }
  std::vector<float> sum, one;
  std::vector<unsigned char> bytes;
  model::write_safetensors(out, header, [&](const model::TensorEntry& t) -> std::span<const unsigned char> {
    const model::TensorEntry& src = *first.find(t.name);
    if (!model::dtype_is_float_convertible(src.dtype)) return inputs[0]->bytes(src);
    const size_t n = t.element_count();
    sum.assign(n, 0.0f);
    one.resize(n);
    for (const auto& in : inputs) {
      in->read_f32(src, one.data());
      for (size_t i = 0; i < n; i++) sum[i] += one[i];
    }
    for (float& x : sum) x /= float(inputs.size());
    bytes.resize(n * model::dtype_size(t.dtype));
    model::convert_from_f32(t.dtype, sum.data(), bytes.data(), n);
    return bytes;
  });
}

void attack(const std::vector<std::string>& in_dirs, const std::string& out_dir, std::optional<model::DType> target) {
  fs::create_directory(out_dir);
  for (const auto& entry : fs::directory_iterator(in_dirs[0])) {
    const std::string name = entry.path().filename();
    if (entry.path().extension() != ".safetensors") {
      fs::copy_file(entry.path(), fs::path(out_dir) / name);
      continue;
    }
    std::vector<std::unique_ptr<model::SafetensorsFile>> inputs;
    for (const auto& dir : in_dirs) inputs.push_back(model::SafetensorsFile::open((fs::path(dir) / name).string()));
    rewrite(inputs, (fs::path(out_dir) / name).string(), target);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 4 && args[0] == "round" && (args[3] == "BF16" || args[3] == "F16")) {
      attack({args[1]}, args[2], model::dtype_from_name(args[3]));
      return 0;
    }
    if (args.size() >= 3 && args[0] == "average") {
      attack({args.begin() + 2, args.end()}, args[1], std::nullopt);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weights_attack: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: weights_attack round IN_DIR OUT_DIR {BF16|F16}\n"
                       "       weights_attack average OUT_DIR IN_DIR...\n");
  return 2;
}
