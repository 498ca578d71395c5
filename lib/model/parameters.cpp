#include "model/parameters.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <set>

#include "io/error.h"

namespace omlkit::model {
namespace {

struct Spec {
  std::string role;
  std::vector<std::string> names;  // candidate checkpoint names, first match wins
  std::vector<uint64_t> shape;
};

std::vector<std::string> with_prefixes(const std::vector<std::string>& prefixes,
                                       const std::string& name) {
  std::vector<std::string> out;
  for (const auto& p : prefixes) out.push_back(p + name);
  return out;
}

std::vector<Spec> gpt2_specs(const ModelConfig& c) {
  const std::vector<std::string> pre = {"transformer.", ""};
  uint64_t C = c.dim, F = c.ffn_dim;
  std::vector<Spec> specs = {
      {"wte", with_prefixes(pre, "wte.weight"), {uint64_t(c.vocab_size), C}},
      {"wpe", with_prefixes(pre, "wpe.weight"), {uint64_t(c.max_positions), C}},
  };
  for (int l = 0; l < c.n_layer; l++) {
    std::string h = "h." + std::to_string(l) + ".";
    auto add = [&](const std::string& role, const std::string& name, std::vector<uint64_t> shape) {
      specs.push_back({h + role, with_prefixes(pre, h + name), std::move(shape)});
    };
    add("norm1.weight", "ln_1.weight", {C});
    add("norm1.bias", "ln_1.bias", {C});
    add("attn.qkv.weight", "attn.c_attn.weight", {C, 3 * C});
    add("attn.qkv.bias", "attn.c_attn.bias", {3 * C});
    add("attn.out.weight", "attn.c_proj.weight", {C, C});
    add("attn.out.bias", "attn.c_proj.bias", {C});
    add("norm2.weight", "ln_2.weight", {C});
    add("norm2.bias", "ln_2.bias", {C});
    add("mlp.in.weight", "mlp.c_fc.weight", {C, F});
    add("mlp.in.bias", "mlp.c_fc.bias", {F});
    add("mlp.out.weight", "mlp.c_proj.weight", {F, C});
    add("mlp.out.bias", "mlp.c_proj.bias", {C});
  }
  specs.push_back({"normf.weight", with_prefixes(pre, "ln_f.weight"), {C}});
  specs.push_back({"normf.bias", with_prefixes(pre, "ln_f.bias"), {C}});
  return specs;
}

std::vector<Spec> llama_specs(const ModelConfig& c) {
  const std::vector<std::string> pre = {"model.", ""};
  uint64_t C = c.dim, F = c.ffn_dim, Q = c.q_dim(), KV = c.kv_dim();
  std::vector<Spec> specs = {{"wte", with_prefixes(pre, "embed_tokens.weight"), {uint64_t(c.vocab_size), C}}};
  for (int l = 0; l < c.n_layer; l++) {
    std::string h = "h." + std::to_string(l) + ".";
    std::string layer = "layers." + std::to_string(l) + ".";
    auto add = [&](const std::string& role, const std::string& name, std::vector<uint64_t> shape) {
      specs.push_back({h + role, with_prefixes(pre, layer + name), std::move(shape)});
    };
    add("norm1.weight", "input_layernorm.weight", {C});
    // q, k, v adjacent: rows of one (Q + 2KV, C) matrix.
    add("attn.q.weight", "self_attn.q_proj.weight", {Q, C});
    add("attn.k.weight", "self_attn.k_proj.weight", {KV, C});
    add("attn.v.weight", "self_attn.v_proj.weight", {KV, C});
    if (c.qkv_bias) {
      add("attn.q.bias", "self_attn.q_proj.bias", {Q});
      add("attn.k.bias", "self_attn.k_proj.bias", {KV});
      add("attn.v.bias", "self_attn.v_proj.bias", {KV});
    }
    add("attn.out.weight", "self_attn.o_proj.weight", {C, Q});
    add("norm2.weight", "post_attention_layernorm.weight", {C});
    // gate, up adjacent: rows of one (2F, C) matrix.
    add("mlp.gate.weight", "mlp.gate_proj.weight", {F, C});
    add("mlp.up.weight", "mlp.up_proj.weight", {F, C});
    add("mlp.out.weight", "mlp.down_proj.weight", {C, F});
  }
  specs.push_back({"normf.weight", with_prefixes(pre, "norm.weight"), {C}});
  if (!c.tied_head) specs.push_back({"lm_head", {"lm_head.weight"}, {uint64_t(c.vocab_size), C}});
  return specs;
}

// Buffers some checkpoints carry that are not parameters (causal masks, rope tables).
bool is_known_buffer(const std::string& name, const ModelConfig& config) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".attn.bias") || ends_with(".attn.masked_bias") || ends_with("rotary_emb.inv_freq"))
    return true;
  return config.tied_head && name == "lm_head.weight";  // a tied head saved explicitly
}

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); i++) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& config) {
  auto specs = config.architecture == Architecture::gpt2 ? gpt2_specs(config) : llama_specs(config);
  std::vector<ExpectedTensor> out;
  out.reserve(specs.size());
  for (auto& spec : specs) out.push_back({std::move(spec.role), std::move(spec.names[0]), std::move(spec.shape)});
  return out;
}

ParameterTable ParameterTable::from_checkpoint(const Checkpoint& checkpoint) {
  const ModelConfig& config = checkpoint.config();
  // config.json against the tensors before anything is sized by it: every layer has at
  // least this many tensors, so a layer count the checkpoint cannot hold is refused here
  // rather than after building a table for it.
  const size_t per_layer = config.architecture == Architecture::gpt2 ? 12 : 9;
  if (uint64_t(config.n_layer) * per_layer > checkpoint.tensors().size())
    throw data_error(checkpoint.dir() + "/config.json",
                     std::string(config.architecture == Architecture::gpt2 ? "n_layer" : "num_hidden_layers") +
                         " is " + std::to_string(config.n_layer) + ", but the checkpoint holds " +
                         std::to_string(checkpoint.tensors().size()) + " tensors (a layer has " +
                         std::to_string(per_layer) + ")");
  auto specs = config.architecture == Architecture::gpt2 ? gpt2_specs(config) : llama_specs(config);
  ParameterTable table;
  std::set<std::string> used;
  for (const auto& spec : specs) {
    const TensorLocation* found = nullptr;
    std::string found_name;
    for (const auto& name : spec.names)
      if ((found = checkpoint.find(name))) {
        found_name = name;
        break;
      }
    if (!found) throw data_error(checkpoint.dir(), "missing tensor \"" + spec.names[0] + "\"");
    if (found->entry->shape != spec.shape)
      throw data_error(found->file->path(), "tensor \"" + found_name + "\": expected shape " +
                                                shape_text(spec.shape) + ", found " +
                                                shape_text(found->entry->shape));
    if (!dtype_is_float_convertible(found->entry->dtype))
      throw data_error(found->file->path(), "tensor \"" + found_name + "\": dtype " +
                                                std::string(dtype_name(found->entry->dtype)) +
                                                " is not supported (F32, F16, BF16 are)");
    ParameterInfo info{spec.role, found_name, spec.shape, found->entry->dtype, table.total_,
                       size_t(found->entry->element_count())};
    table.total_ += info.count;
    table.entries_.push_back(std::move(info));
    used.insert(found_name);
  }
  for (const auto& [name, location] : checkpoint.tensors())
    if (!used.count(name) && !is_known_buffer(name, config))
      throw data_error(location.file->path(), "unexpected tensor \"" + name + "\" for " +
                                                  std::string(architecture_name(config.architecture)));
  return table;
}

bool ParameterTable::has(const std::string& role) const {
  for (const auto& e : entries_)
    if (e.role == role) return true;
  return false;
}

size_t ParameterTable::offset(const std::string& role) const {
  for (const auto& e : entries_)
    if (e.role == role) return e.offset;
  throw Error(exit_code::internal, "", "no parameter with role " + role);
}

void ParameterTable::load_f32(const Checkpoint& checkpoint, size_t i, float* dst) const {
  const TensorLocation* location = checkpoint.find(entries_[i].name);
  location->file->read_f32(*location->entry, dst);
  check_finite(checkpoint, i, dst);
}

namespace {

Error non_finite(const Checkpoint& checkpoint, const ParameterInfo& e, size_t element, bool nan) {
  return data_error(checkpoint.find(e.name)->file->path(),
                    "tensor \"" + e.name + "\": element " + std::to_string(element) + " is " +
                        (nan ? "NaN" : "infinite") + "; the weights are unusable");
}

}  // namespace

void ParameterTable::check_finite(const Checkpoint& checkpoint, size_t i, const float* values) const {
  const ParameterInfo& e = entries_[i];
  for (size_t k = 0; k < e.count; k++)
    if (!std::isfinite(values[k])) throw non_finite(checkpoint, e, k, std::isnan(values[k]));
}

void ParameterTable::check_finite_16bit(const Checkpoint& checkpoint, size_t i) const {
  const ParameterInfo& e = entries_[i];
  const TensorLocation* location = checkpoint.find(e.name);
  std::span<const unsigned char> bytes = location->file->bytes(*location->entry);
  // All exponent bits set: an infinity (mantissa 0) or a NaN.
  const uint16_t exponent = e.storage_dtype == DType::BF16 ? 0x7f80 : 0x7c00;
  auto element = [&](size_t k) { return uint16_t(bytes[2 * k] | (bytes[2 * k + 1] << 8)); };
  // Blocks of a fixed length, copied out (the mapping may be unaligned) and counted without
  // an early exit, so the compiler vectorises the scan: it reads the whole model at load.
  // The element is looked for only on a hit.
  constexpr size_t kBlock = 4096;
  uint16_t block[kBlock];
  for (size_t k0 = 0; k0 < e.count; k0 += kBlock) {
    if (k0 + kBlock <= e.count) {
      std::memcpy(block, bytes.data() + 2 * k0, sizeof block);
      unsigned hits = 0;
      for (size_t k = 0; k < kBlock; k++) hits += (block[k] & exponent) == exponent;
      if (hits == 0) continue;
    }
    for (size_t k = k0; k < std::min(e.count, k0 + kBlock); k++)
      if ((element(k) & exponent) == exponent) throw non_finite(checkpoint, e, k, (element(k) & ~exponent & 0x7fff) != 0);
  }
}

}  // namespace omlkit::model
