#include "model/init.h"

#include <sys/statvfs.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/error.h"
#include "io/output.h"
#include "model/checkpoint.h"
#include "model/parameters.h"
#include "model/safetensors.h"

namespace omlkit::model {
namespace {

// splitmix64: a counter-based generator, so each value depends on (seed, tensor, index) only.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// n normal(0, stddev) values for positions [first, first+n) of stream `stream`, by
// Box-Muller on pairs (positions 2i and 2i+1 share one pair). first must be even.
void fill_normal(float* out, size_t first, size_t n, uint64_t stream, float stddev) {
  const double two_pi = 6.283185307179586;
  for (size_t i = 0; i < n; i += 2) {
    uint64_t r = mix(stream ^ mix((first + i) / 2));
    double u1 = (double((r >> 11) & ((1ull << 26) - 1)) + 1.0) / double(1ull << 26);  // (0, 1]
    double u2 = double(r >> 37) / double(1ull << 27);                                   // [0, 1)
    double radius = std::sqrt(-2.0 * std::log(u1)) * stddev;
    out[i] = float(radius * std::cos(two_pi * u2));
    if (i + 1 < n) out[i + 1] = float(radius * std::sin(two_pi * u2));
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint64_t checked_bytes(const ExpectedTensor& t, size_t dtype_bytes, const std::string& where) {
  uint64_t n = dtype_bytes;
  for (uint64_t d : t.shape) {
    if (d != 0 && n > UINT64_MAX / d) throw data_error(where, "tensor \"" + t.name + "\" is too large");
    n *= d;
  }
  return n;
}

}  // namespace

void write_random_model(const std::string& config_path, uint64_t seed, const std::string& out_dir) {
  namespace fs = std::filesystem;
  const std::string text = read_text_file(config_path);
  const ModelConfig config = parse_model_config(text, config_path);
  const auto root = nlohmann::json::parse(text);  // parsed successfully just above

  DType dtype = DType::F32;
  if (root.contains("torch_dtype") && !root["torch_dtype"].is_null()) {
    const auto& d = root["torch_dtype"];
    std::string name = d.is_string() ? d.get<std::string>() : d.dump();
    if (name == "float32") dtype = DType::F32;
    else if (name == "bfloat16") dtype = DType::BF16;
    else if (name == "float16") dtype = DType::F16;
    else throw data_error(config_path, "torch_dtype: \"" + name + "\" is not supported (float32, float16, bfloat16 are)");
  }
  float stddev = 0.02f;
  if (root.contains("initializer_range")) {
    const auto& r = root["initializer_range"];
    if (!r.is_number() || !(r.get<double>() >= 0) || r.get<double>() > 1e3)
      throw data_error(config_path, "initializer_range: expected a number in [0, 1000], found " + r.dump());
    stddev = r.get<float>();
  }

  // Size the file before building anything per layer: a hostile config may ask for 2^30
  // layers or a vocabulary of 2^30 by 2^30.
  ModelConfig one_layer = config;
  one_layer.n_layer = 1;
  auto base = expected_tensors(one_layer);
  uint64_t per_layer = 0, outside = 0, layer_tensors = 0;
  for (const auto& t : base) {
    uint64_t b = checked_bytes(t, dtype_size(dtype), config_path);
    bool in_layer = t.role.rfind("h.0.", 0) == 0;
    uint64_t& sum = in_layer ? per_layer : outside;
    if (sum > UINT64_MAX - b) throw data_error(config_path, "model is too large");
    sum += b;
    layer_tensors += in_layer;
  }
  if (per_layer != 0 && uint64_t(config.n_layer) > (UINT64_MAX - outside) / per_layer)
    throw data_error(config_path, "model is too large");
  const uint64_t total = outside + per_layer * uint64_t(config.n_layer);
  const uint64_t n_tensors = base.size() + layer_tensors * uint64_t(config.n_layer - 1);
  if (n_tensors * 96 > kMaxSafetensorsHeader)
    throw data_error(config_path, std::to_string(n_tensors) + " tensors are too many for one safetensors file");

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir))
    throw Error(exit_code::cannot_create, out_dir, "cannot create folder: " + (ec ? ec.message() : "not a folder"));
  struct statvfs vfs;
  if (statvfs(out_dir.c_str(), &vfs) == 0) {
    uint64_t free_bytes = uint64_t(vfs.f_bavail) * vfs.f_frsize;
    if (total > free_bytes)
      throw Error(exit_code::cannot_create, out_dir, "the model needs " + std::to_string(total) + " bytes; " +
                                                         std::to_string(free_bytes) + " are free");
  }

  auto tensors = expected_tensors(config);
  SafetensorsHeader header;
  header.has_metadata = true;
  header.metadata_position = 0;
  header.metadata = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    TensorEntry e{t.name, dtype, t.shape, offset, offset + checked_bytes(t, dtype_size(dtype), config_path)};
    offset = e.end;
    header.tensors.push_back(std::move(e));
  }

  const float residual_scale = 1.0f / std::sqrt(2.0f * float(config.n_layer));
  std::vector<float> chunk;
  std::vector<unsigned char> bytes;
  size_t index = 0;
  write_safetensors(out_dir + "/model.safetensors", header, [&](const TensorEntry& e) -> std::span<const unsigned char> {
    const ExpectedTensor& t = tensors[index];
    const uint64_t stream = mix(seed) ^ mix(0x5eed0000ull + index);
    index++;
    const size_t n = e.element_count();
    bytes.resize(e.end - e.begin);
    bool is_norm = t.role.find("norm") != std::string::npos;
    float constant = is_norm && ends_with(t.role, ".weight") ? 1.0f : 0.0f;
    bool random = !is_norm && !ends_with(t.role, ".bias");
    float sd = stddev;
    if (config.architecture == Architecture::gpt2 && (ends_with(t.role, "attn.out.weight") || ends_with(t.role, "mlp.out.weight")))
      sd *= residual_scale;
    const size_t kChunk = 1 << 20;  // even, so Box-Muller pairs never straddle chunks
    chunk.resize(std::min(n, kChunk));
    for (size_t first = 0; first < n; first += kChunk) {
      size_t m = std::min(kChunk, n - first);
      if (random) fill_normal(chunk.data(), first, m, stream, sd);
      else std::fill(chunk.begin(), chunk.begin() + m, constant);
      convert_from_f32(dtype, chunk.data(), bytes.data() + first * dtype_size(dtype), m);
    }
    return bytes;
  });
  io::AtomicFile out(out_dir + "/config.json");
  out.write(text);
  out.commit();
}

}  // namespace omlkit::model
