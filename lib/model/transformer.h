// A decoder-only transformer (GPT-2 or Llama family) on a Backend: parameters, KV cache,
// activations, the forward pass, and (transformer_backward.cpp) the backward pass.
//
// Buffers are sized by the input at hand, not by the largest the model allows: the KV
// cache by reserve(B, S); activations by each call's B*T rows (attention probabilities
// (B,H,T,S)), grown when a call needs more and then reused. A pass that the backward pass
// will follow keeps the activations of every layer that pass reaches (from the lowest
// trained one up); an inference pass reuses one layer's set for all layers, as nothing
// reads them afterwards. The KV cache doubles as the saved keys and values. Gradients
// live in one flat buffer parallel to the parameters (llm.c style). Not thread-safe: one
// pass at a time per Transformer.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
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

// Gradient pointers parallel to LayerWeights; null where the tensor is frozen. A fused
// matrix (Llama's q|k|v, gate|up) and a layer's weight and bias are one unit: if any
// part trains, the whole unit's gradient is computed.
struct LayerGradients {
  float *norm1_weight = nullptr, *norm1_bias = nullptr;
  float *qkv_weight = nullptr, *qkv_bias = nullptr;
  float *attn_out_weight = nullptr, *attn_out_bias = nullptr;
  float *norm2_weight = nullptr, *norm2_bias = nullptr;
  float *mlp_in_weight = nullptr, *mlp_in_bias = nullptr;
  float *mlp_out_weight = nullptr, *mlp_out_bias = nullptr;
};

// One block's activations, N = B*T rows of the call (capacity may be larger).
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
};

// One block's keys and values for positions [0, S) of B sequences.
struct KvCache {
  DeviceBuffer k, v;  // (B,S,KVH*hs)
};

// Where a Transformer keeps its weights.
enum class WeightPlacement {
  // Every tensor converted to F32 in parameter_data(): what benchmarks of whole-model
  // training, tests that read parameter_data() whole, and the CUDA backend use.
  widened,
  // On a backend that reads_mapped_weights() (the CPU one), tensors are used where the
  // checkpoint's memory map holds them: no copy, no load-time conversion. F32 tensors as
  // they are (a fused matrix, Llama's q|k|v or gate|up, only when its parts lie one after
  // another in the file); BF16/F16 matrices (embedding, head, projections) widened inside
  // the matmul. 16-bit norms and biases, and everything on other backends, are widened.
  // set_trainable() widens what the backward pass will read. The Checkpoint must outlive
  // the Transformer.
  in_place,
};

class Transformer {
 public:
  // Places the checkpoint's weights on the backend (see WeightPlacement), converting to F32
  // one tensor at a time. Throws omlkit::Error 65 when the checkpoint does not fit the
  // architecture or holds a NaN or infinite weight.
  Transformer(const Checkpoint& checkpoint, Backend& backend,
              WeightPlacement placement = WeightPlacement::widened);

  const ModelConfig& config() const { return config_; }
  Backend& backend() { return backend_; }
  const ParameterTable& parameters() const { return table_; }
  // Device F32 values laid out by parameters(), table_.total_floats() floats. A tensor
  // computed in place (in_place(i)) has no F32 values: its slot reads 0.
  float* parameter_data() { return params_.data(); }
  // Whether parameters().entries()[i] is read from the checkpoint's mapping.
  bool in_place(size_t i) const { return in_place_[i]; }

  // Makes a KV cache for B sequences of S positions. Reallocates only when the shape
  // changes; the cache's contents are lost when it does. Activations are not sized here
  // but by each pass (see the top of this file).
  void reserve(int B, int S);
  int reserved_batch() const { return B_; }
  int reserved_positions() const { return S_; }

  // Runs positions [pos0, pos0+T) of B sequences; tokens (B,T) on host. Positions below
  // pos0 must be in the KV cache from earlier calls with the same B. Returns device logits
  // (B,T,V), or (B,V) of each sequence's last position when last_only. Throws 65 for a
  // token id out of range or positions beyond the model's context.
  const float* forward(std::span<const int32_t> tokens, int B, int T, int pos0,
                       bool last_only = false);
  // The same pass, with only the chosen rows through the LM head (final norm output x
  // vocab projection, nearly all of a small model's FLOPs): returns device logits (R,V),
  // row i for row rows[i] = b*T + t of this call. Throws like forward(), and 70 for a row
  // outside [0, B*T).
  const float* forward_rows(std::span<const int32_t> tokens, int B, int T, int pos0,
                            std::span<const int32_t> rows);
  // log softmax(logits)[target] at each position of tokens (B,T) run from position 0, on
  // host; 0 where the target is -1. Only rows with a target go through the LM head,
  // kHeadChunkRows at a time, so no (B*T,V) logits are stored. Throws like forward(), and
  // 65 for a target outside the vocabulary.
  std::vector<float> token_logprobs(std::span<const int32_t> tokens, std::span<const int32_t> targets,
                                    int B, int T);
  static constexpr int kHeadChunkRows = 64;

  // ---- Training (transformer_backward.cpp) ----
  // One flag per parameters() entry: which tensors get gradients (all by default; none
  // while weights are in place and set_trainable has not been called). With
  // WeightPlacement::in_place, the matrices the backward pass reads (those of every layer
  // from the lowest trained one up, and the head) are widened to F32 first; they stay so.
  void set_trainable(const std::vector<bool>& trainable);
  // Activation recomputation (gradient checkpointing): forward_backward keeps only each
  // trained layer's input, and runs each layer's forward again just before its backward
  // pass. Activation memory falls from one set per trained layer to one set in all, for
  // about a third more compute in those layers; the gradients are bit for bit the same.
  void set_recompute_activations(bool on) { recompute_ = on; }
  const std::vector<bool>& trainable() const { return trainable_; }
  // Device gradients, parallel to parameter_data(); allocated on first use. Only the
  // slots of tensors whose gradient is computed (trainable ones, and the rest of their
  // unit) are ever written; the others read 0. On the CPU backend those are untouched
  // zero pages, so a 1B model with a few tensors trained holds gradients for those alone.
  float* gradient_data();
  // Zeroes the computed gradients' slots.
  void zero_gradients();
  // Forward over tokens (B,T) from position 0, softmax cross-entropy against targets (B,T)
  // (-1 = no loss at that position: the loss mask), then the backward pass, which adds
  // loss_scale * d(sum of losses)/d(parameter) into the gradients of trainable tensors.
  // Returns the sum of the unmasked losses. Throws like forward(). Only the unmasked rows
  // go through the LM head, forward and backward: masked rows' logits would get a zero
  // gradient, so they contribute nothing. With teacher logits (host, (R,V) for the R
  // unmasked positions in order), the loss at each is KL(softmax(teacher) || softmax(logits))
  // instead (distillation; the targets then only say where).
  double forward_backward(std::span<const int32_t> tokens, std::span<const int32_t> targets,
                          int B, int T, float loss_scale, std::span<const float> teacher = {});

 private:
  void bind_weights();
  void bind_gradients();
  // Converts entry i to F32 into its slot of params_ and marks it not in place.
  void widen(const Checkpoint& checkpoint, size_t i);
  // With in-place weights: widens those the backward pass for trainable_ reads.
  void widen_for_backward();
  // forward() up to the final norm's output normf_ (B*T,C). Layers from kept_from up keep
  // their activations for block_backward, each in its own slot of acts_; the layers below
  // share slot 0, so the last of them leaves there the input of layer kept_from. When
  // recomputing, every layer runs in slot 0 and the layers from kept_from up keep only
  // their input, in layer_inputs_. The default, n_layer: nothing kept, every layer in
  // slot 0 (inference).
  void forward_trunk(std::span<const int32_t> tokens, int B, int T, int pos0, int kept_from = INT32_MAX);
  // One block of forward_trunk: layer_input(l) -> layer_output(l), activations in its slot.
  void layer_forward(int l, int B, int T, int pos0);
  // Where the last forward_trunk put layer l's activations, input and output.
  size_t activation_slot(int l) const;
  const float* layer_input(int l) const;
  float* layer_output(int l);
  // Grows the first `layers` entries of acts_ (and encoded_, normf_) to hold `rows` rows
  // and `att` attention probabilities; never shrinks.
  void ensure_activations(size_t layers, size_t rows, size_t att);
  void ensure_logits(size_t rows);
  // normf_ rows `rows` (C floats each, one after another): a view of normf_ when they are
  // consecutive, else gathered into head_input_.
  const float* head_input(std::span<const int32_t> rows);
  // The positions i of targets (B*T) with a target (>= 0) into rows, their targets into
  // wanted; throws 65 for a target outside [-1, vocab).
  void target_rows(std::span<const int32_t> targets, std::vector<int32_t>& rows, std::vector<int32_t>& wanted) const;
  void ensure_training_buffers(size_t N);
  void block_backward(int l, int B, int T, float* d_residual, bool need_d_input);

  ModelConfig config_;
  Backend& backend_;
  ParameterTable table_;
  DeviceBuffer params_;
  std::vector<bool> in_place_;              // per table entry
  const Checkpoint* checkpoint_ = nullptr;  // the mapping in-place weights are read from
  Linear wte_;                              // (V,C): in = C, out = V
  const float* wpe_ = nullptr;
  const float* normf_weight_ = nullptr;
  const float* normf_bias_ = nullptr;
  Linear lm_head_;
  std::vector<LayerWeights> layers_;

  int B_ = 0, S_ = 0;
  DeviceBuffer encoded_;                        // (N,C)
  std::vector<KvCache> kv_;                     // one per layer
  std::vector<LayerActivations> acts_;          // see forward_trunk
  int kept_from_ = 0;                           // forward_trunk's kept_from, clamped
  size_t rows_ = 0;                             // forward_trunk's B*T
  bool recompute_ = false;
  DeviceBuffer layer_inputs_;                   // recomputing: inputs of layers kept_from.. (N,C) each
  DeviceBuffer normf_, normf_mean_, normf_rstd_;  // (N,C), (N), (N)
  DeviceBuffer logits_;                         // (rows,V), grown on demand
  DeviceBuffer teacher_;                        // forward_backward's teacher logits, likewise
  DeviceBuffer head_input_;                     // (rows,C) gathered normf_ rows, grown on demand

  // Training state: gradients (parallel to params_) and the activation gradients, reused
  // by every layer. backward_floor_ is the lowest layer the backward pass must reach
  // (-1: down to the embeddings; n_layer: none).
  std::vector<bool> trainable_;
  DeviceBuffer grads_;
  float *d_wte_ = nullptr, *d_wpe_ = nullptr, *d_normf_weight_ = nullptr, *d_normf_bias_ = nullptr;
  float* d_lm_head_ = nullptr;
  std::vector<LayerGradients> layer_grads_;
  std::vector<std::pair<size_t, size_t>> gradient_runs_;  // (offset, count) of the computed slots
  int backward_floor_ = -1;
  size_t training_rows_ = 0;
  DeviceBuffer d_residual_, d_norm_, d_qkv_, d_att_y_, d_mlp_h_, d_mlp_act_, losses_;
};

}  // namespace omlkit::model
