// A decoder-only transformer (GPT-2 or Llama family) on a Backend: parameters, KV cache,
// activations, and the forward pass.
//
// Every activation of every layer is kept (allocated once by reserve(), reused by each
// call) because part 2's backward pass needs them; the KV cache doubles as the saved
// keys and values. Not thread-safe: one forward at a time per Transformer.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/backend.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/parameters.h"

namespace omlkit::model {

// Pointers into the flat parameter buffer for one block.
struct LayerWeights {
  const float* norm1_weight = nullptr;
  const float* norm1_bias = nullptr;  // GPT-2 only
  Linear qkv;                         // (C) -> (H*hs + 2*KVH*hs)
  Linear attn_out;                    // (H*hs) -> (C)
  const float* norm2_weight = nullptr;
  const float* norm2_bias = nullptr;
  Linear mlp_in;                      // (C) -> (F), or (2F) gate+up for SwiGLU
  Linear mlp_out;                     // (F) -> (C)
};

// One block's saved activations, N = B*T rows.
struct LayerActivations {
  DeviceBuffer norm1, norm1_mean, norm1_rstd;  // (N,C), (N), (N)
  DeviceBuffer qkv;                            // (N, H*hs + 2*KVH*hs), after rotary
  DeviceBuffer att;                            // (B,H,T,S) attention probabilities
  DeviceBuffer att_y;                          // (N, H*hs)
  DeviceBuffer att_out;                        // (N,C)
  DeviceBuffer residual2;                      // (N,C) input + attention
  DeviceBuffer norm2, norm2_mean, norm2_rstd;  // (N,C), (N), (N)
  DeviceBuffer mlp_h;                          // (N,F) or (N,2F)
  DeviceBuffer mlp_act;                        // (N,F)
  DeviceBuffer mlp_out;                        // (N,C)
  DeviceBuffer residual3;                      // (N,C) block output
  DeviceBuffer k_cache, v_cache;               // (B,S,KVH*hs)
};

class Transformer {
 public:
  // Converts the checkpoint's weights to F32 on the backend. Throws omlkit::Error 65 when
  // the checkpoint does not fit the architecture.
  Transformer(const Checkpoint& checkpoint, Backend& backend);

  const ModelConfig& config() const { return config_; }
  Backend& backend() { return backend_; }
  const ParameterTable& parameters() const { return table_; }
  float* parameter_data() { return params_.data(); }  // device, table_.total_floats()

  // Makes room for B sequences of S positions. Reallocates only when the shape changes;
  // the KV cache's contents are lost when it does.
  void reserve(int B, int S);
  int reserved_batch() const { return B_; }
  int reserved_positions() const { return S_; }

  // Runs positions [pos0, pos0+T) of B sequences; tokens (B,T) on host. Positions below
  // pos0 must be in the KV cache from earlier calls with the same B. Returns device logits
  // (B,T,V), or (B,V) of each sequence's last position when last_only. Throws 65 for a
  // token id out of range or positions beyond the model's context.
  const float* forward(std::span<const int32_t> tokens, int B, int T, int pos0,
                       bool last_only = false);

 private:
  void bind_weights();
  void ensure_logits(size_t rows);

  ModelConfig config_;
  Backend& backend_;
  ParameterTable table_;
  DeviceBuffer params_;
  const float* wte_ = nullptr;
  const float* wpe_ = nullptr;
  const float* normf_weight_ = nullptr;
  const float* normf_bias_ = nullptr;
  Linear lm_head_;
  std::vector<LayerWeights> layers_;

  int B_ = 0, S_ = 0;
  DeviceBuffer encoded_;                        // (N,C)
  std::vector<LayerActivations> acts_;
  DeviceBuffer normf_, normf_mean_, normf_rstd_;  // (N,C), (N), (N)
  DeviceBuffer logits_;                         // (rows,V), grown on demand
};

}  // namespace omlkit::model
