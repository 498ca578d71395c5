// The architecture hyper-parameters of a Hugging Face config.json, for the two supported
// families. Anything the engine would have to approximate (rope scaling, other
// activations, other attention variants) is refused by name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace omlkit::model {

enum class Architecture { gpt2, llama };

struct ModelConfig {
  Architecture architecture = Architecture::gpt2;
  int vocab_size = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_kv_head = 0;      // grouped-query attention: n_head % n_kv_head == 0 (GPT-2: n_head)
  int dim = 0;            // residual width C
  int head_dim = 0;       // usually dim / n_head
  int ffn_dim = 0;        // MLP hidden width
  int max_positions = 0;  // learned positions (GPT-2) or the context the model was made for
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  bool tied_head = true;  // the LM head reuses the token embedding
  bool qkv_bias = false;  // Llama family only: biases on q/k/v (Qwen2 style)
  std::optional<int> bos_token_id;
  std::optional<int> eos_token_id;

  int q_dim() const { return n_head * head_dim; }
  int kv_dim() const { return n_kv_head * head_dim; }
};

std::string_view architecture_name(Architecture a);

// Parses config.json text; `where` names the file in errors (omlkit::Error, exit 65).
ModelConfig parse_model_config(std::string_view json_text, const std::string& where);

}  // namespace omlkit::model
