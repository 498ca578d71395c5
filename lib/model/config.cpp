#include "model/config.h"

#include <nlohmann/json.hpp>

#include "io/error.h"

namespace omlkit::model {
namespace {

using json = nlohmann::json;

struct ConfigReader {
  const json& root;
  const std::string& where;

  [[noreturn]] void fail(const std::string& message) const { throw data_error(where, message); }

  int integer(const char* key, std::optional<int> fallback = std::nullopt) const {
    auto it = root.find(key);
    if (it == root.end() || it->is_null()) {
      if (!fallback) fail(std::string(key) + ": missing");
      return *fallback;
    }
    if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (1 << 30))
      fail(std::string(key) + ": expected a positive integer, found " + it->dump());
    return it->get<int>();
  }
  std::optional<int> optional_id(const char* key) const {
    auto it = root.find(key);
    if (it == root.end() || !it->is_number_integer()) return std::nullopt;  // may be a list
    return it->get<int>();
  }
  float number(const char* key, float fallback) const {
    auto it = root.find(key);
    if (it == root.end() || it->is_null()) return fallback;
    if (!it->is_number()) fail(std::string(key) + ": expected a number, found " + it->dump());
    return it->get<float>();
  }
  bool boolean(const char* key, bool fallback) const {
    auto it = root.find(key);
    if (it == root.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(std::string(key) + ": expected true or false, found " + it->dump());
    return it->get<bool>();
  }
  std::string text(const char* key, const std::string& fallback) const {
    auto it = root.find(key);
    if (it == root.end() || it->is_null()) return fallback;
    if (!it->is_string()) fail(std::string(key) + ": expected a string, found " + it->dump());
    return it->get<std::string>();
  }
};

ModelConfig parse_gpt2(const ConfigReader& r) {
  ModelConfig c;
  c.architecture = Architecture::gpt2;
  c.vocab_size = r.integer("vocab_size");
  c.n_layer = r.integer("n_layer");
  c.n_head = r.integer("n_head");
  c.n_kv_head = c.n_head;
  c.dim = r.integer("n_embd");
  // n_inner defaults to 4 x n_embd; n_embd may be up to 2^30, so the product is taken wide.
  bool wide_default = int64_t(4) * c.dim > (1 << 30);
  auto n_inner = r.root.find("n_inner");
  if (wide_default && (n_inner == r.root.end() || n_inner->is_null())) r.fail("model is too large");
  c.ffn_dim = r.integer("n_inner", wide_default ? std::nullopt : std::optional<int>(4 * c.dim));
  c.max_positions = r.integer("n_positions", r.integer("n_ctx", 1024));
  c.norm_eps = r.number("layer_norm_epsilon", 1e-5f);
  c.tied_head = r.boolean("tie_word_embeddings", true);
  std::string act = r.text("activation_function", "gelu_new");
  if (act != "gelu_new" && act != "gelu_pytorch_tanh")
    r.fail("activation_function: \"" + act + "\" is not supported (gelu_new, gelu_pytorch_tanh are)");
  if (!r.boolean("scale_attn_weights", true) || r.boolean("scale_attn_by_inverse_layer_idx", false) ||
      r.boolean("reorder_and_upcast_attn", false))
    r.fail("attention scaling variants (scale_attn_weights=false, scale_attn_by_inverse_layer_idx, "
           "reorder_and_upcast_attn) are not supported");
  if (!c.tied_head) r.fail("tie_word_embeddings: GPT-2 with an untied head is not supported");
  if (c.dim % c.n_head != 0) r.fail("n_embd must be a multiple of n_head");
  c.head_dim = c.dim / c.n_head;
  return c;
}

ModelConfig parse_llama(const ConfigReader& r) {
  ModelConfig c;
  c.architecture = Architecture::llama;
  c.vocab_size = r.integer("vocab_size");
  c.n_layer = r.integer("num_hidden_layers");
  c.n_head = r.integer("num_attention_heads");
  c.n_kv_head = r.integer("num_key_value_heads", c.n_head);
  c.dim = r.integer("hidden_size");
  c.ffn_dim = r.integer("intermediate_size");
  c.max_positions = r.integer("max_position_embeddings", 2048);
  c.norm_eps = r.number("rms_norm_eps", 1e-6f);
  c.rope_theta = r.number("rope_theta", 10000.0f);
  c.tied_head = r.boolean("tie_word_embeddings", false);
  c.qkv_bias = r.boolean("attention_bias", false);
  if (r.root.contains("model_type") && r.root["model_type"] == "qwen2") c.qkv_bias = true;
  c.head_dim = r.integer("head_dim", c.dim % c.n_head == 0 ? c.dim / c.n_head : 0);
  std::string act = r.text("hidden_act", "silu");
  if (act != "silu") r.fail("hidden_act: \"" + act + "\" is not supported (silu is)");
  if (r.root.contains("rope_scaling") && !r.root["rope_scaling"].is_null())
    r.fail("rope_scaling: " + r.root["rope_scaling"].dump() + " is not supported");
  if (r.boolean("mlp_bias", false)) r.fail("mlp_bias: biases on the MLP are not supported");
  if (c.n_head % c.n_kv_head != 0)
    r.fail("num_attention_heads must be a multiple of num_key_value_heads");
  if (c.head_dim % 2 != 0) r.fail("head_dim must be even for rotary embeddings");
  return c;
}

}  // namespace

std::string_view architecture_name(Architecture a) {
  return a == Architecture::gpt2 ? "GPT2LMHeadModel" : "LlamaForCausalLM";
}

ModelConfig parse_model_config(std::string_view json_text, const std::string& where) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    throw data_error(where, std::string("invalid JSON: ") + e.what());
  }
  if (!root.is_object()) throw data_error(where, "expected a JSON object");
  ConfigReader reader{root, where};

  std::string name;
  if (root.contains("architectures") && root["architectures"].is_array() &&
      !root["architectures"].empty() && root["architectures"][0].is_string())
    name = root["architectures"][0].get<std::string>();
  else
    name = reader.text("model_type", "");

  ModelConfig config;
  if (name == "GPT2LMHeadModel" || name == "gpt2")
    config = parse_gpt2(reader);
  else if (name == "LlamaForCausalLM" || name == "MistralForCausalLM" || name == "Qwen2ForCausalLM" ||
           name == "llama" || name == "mistral" || name == "qwen2")
    config = parse_llama(reader);
  else
    reader.fail("architecture \"" + name + "\" is not supported (GPT2LMHeadModel, LlamaForCausalLM are)");
  if (root.contains("sliding_window") && root["sliding_window"].is_number_integer() &&
      root["sliding_window"].get<int64_t>() < config.max_positions &&
      !(root.contains("use_sliding_window") && root["use_sliding_window"] == false))
    reader.fail("sliding_window attention is not supported");
  config.bos_token_id = reader.optional_id("bos_token_id");
  config.eos_token_id = reader.optional_id("eos_token_id");
  return config;
}

}  // namespace omlkit::model
